"""Blueprints, one per area: health, predict, models, annotations, predictions (log), evaluation.
Each route declares its request and response schemas beside it; they make /api/openapi.json
(finished by document.py)."""

from apiflask.fields import Boolean, File, Float
from apiflask.validators import OneOf, Range
from flask import current_app
from marshmallow import ValidationError

from ..registry import LoadedModel, ModelHolder
from .document import IMAGE_FILE

LIMIT = Range(1, 500, error="must be between 1 and 500")  # rows per page of every listing


def choice(allowed: tuple[str, ...]) -> OneOf:
    return OneOf(allowed, error="must be one of {choices}")


def image_file(field: str, description: str) -> File:
    return File(
        required=True,
        metadata=IMAGE_FILE | {"description": description},
        error_messages={"required": f"send the image as multipart/form-data in a field named '{field}'"},
    )


class JSONBoolean(Boolean):
    """A JSON body's boolean: true or false only (marshmallow's Boolean also takes 1, "yes", ...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class JSONNumber(Float):
    """A JSON body's number: not a string holding one, nor a boolean (marshmallow's Float takes both)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a number")
        return super()._deserialize(value, attr, data, **kwargs)


def current_model() -> LoadedModel:
    holder: ModelHolder = current_app.extensions["model_holder"]
    return holder.refresh()
