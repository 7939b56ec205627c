"""Every error leaves as JSON `{"error": ...}` with the right status; nothing crashes a worker."""

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..artifacts import ArtifactError
from ..data.images import BadImage
from .annotations_store import StorageUnavailable

log = logging.getLogger(__name__)


def error_response(message: str, status: int):
    response = jsonify(error=message)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413:
            return error_response(f"upload larger than {app.config['MAX_CONTENT_LENGTH']} bytes", 413)
        return error_response(error.description or error.name, error.code or 500)

    @app.errorhandler(BadImage)
    def bad_image(error: BadImage):
        return error_response(str(error), error.status)

    @app.errorhandler(SQLAlchemyError)
    def database_error(error: SQLAlchemyError):
        log.error("database error: %s", error)
        from .extensions import db

        db.session.rollback()
        return error_response("database unavailable, try again later", 503)

    @app.errorhandler(StorageUnavailable)
    def storage_unavailable(error: StorageUnavailable):
        log.error("annotation storage: %s", error)
        from .extensions import db

        db.session.rollback()  # rows flushed earlier in the same request are not kept either
        return error_response(str(error), 507)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")  # the worker keeps running; the client gets JSON
        return error_response("internal error", 500)

    @app.errorhandler(ArtifactError)
    def artifact_error(error: ArtifactError):
        return error_response(str(error), 503)
