"""WSGI entry point for gunicorn: `gunicorn '<pkg>.serving.wsgi:app'`.

The project's loggers write through gunicorn's error log at INFO, so the model each worker serves
and its golden-set self-test (model, CPU instruction set, agreement) appear in the server's log.
"""

import logging

from . import create_app

_gunicorn = logging.getLogger("gunicorn.error")
_project = logging.getLogger(__name__.split(".")[0])
if _gunicorn.handlers:
    _project.handlers = _gunicorn.handlers
    _project.setLevel(logging.INFO)
    _project.propagate = False

app = create_app()
