"""Every error leaves as JSON `{"error": ..., "detail": ...}` (the `Error` schema of the OpenAPI
document) with the right status; nothing crashes a worker."""

import logging

from apiflask import APIFlask, HTTPError, Schema
from apiflask.fields import Dict, Raw, String
from flask import jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..artifacts import ArtifactError
from ..data.images import BadImage
from .annotations_store import StorageUnavailable

log = logging.getLogger(__name__)


class Error(Schema):
    error = String(required=True, metadata={"description": "what went wrong, for a person to read"})
    detail = Dict(
        keys=String(),
        values=Raw(),
        metadata={
            "description": "validation errors only: location (query, json, files, headers) -> field -> "
            'messages, e.g. {"query": {"limit": ["Must be greater than or equal to 1 ..."]}}'
        },
    )


def error_response(message: str, status: int, detail: dict | None = None, headers=None):
    response = jsonify({"error": message} | ({"detail": detail} if detail else {}))
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def validation_summary(detail: dict) -> str:
    """One line naming each invalid field and why, e.g. `limit: Must be between 1 and 500.`;
    nested fields and list items by their path (`images.0: Not a valid file.`)."""
    parts = []

    def add(path: str, messages) -> None:
        if isinstance(messages, dict):
            for key, value in messages.items():
                add(f"{path}.{key}" if path else str(key), value)
        else:
            parts.append(f"{path}: {' '.join(str(message) for message in messages)}")

    for fields in detail.values():  # location (query, json, files, headers) -> fields
        add("", fields)
    return "; ".join(parts) or "invalid request"


def register_error_handlers(app: APIFlask) -> None:
    @app.error_processor
    def api_error(error: HTTPError):
        """Request validation errors (APIFlask/webargs) and apiflask.abort()."""
        message = validation_summary(error.detail) if error.detail else error.message
        return error_response(message, error.status_code, error.detail, error.headers.items())

    @app.errorhandler(HTTPException)  # registered after error_processor's, so this one answers
    def http_error(error: HTTPException):
        headers = error.get_headers()  # e.g. Allow on 405
        if error.code == 413:
            message = f"upload larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
            return error_response(message, 413, headers=headers)
        return error_response(error.description or error.name, error.code or 500, headers=headers)

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

    @app.errorhandler(RecursionError)
    def too_deep(error: RecursionError):
        if request.is_json:  # json.loads recursing through thousands of nested arrays or objects
            return error_response("JSON body nested too deeply", 400)
        return unexpected_error(error)

    @app.errorhandler(ArtifactError)
    def artifact_error(error: ArtifactError):
        return error_response(str(error), 503)
