"""WSGI entry point for gunicorn: `gunicorn '<pkg>.serving.wsgi:app'`."""

from . import create_app

app = create_app()
