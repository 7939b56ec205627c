"""Blueprints, one per area: health, predict, models, annotations, predictions (log), evaluation, openapi."""

from flask import current_app

from ..registry import LoadedModel, ModelHolder


def current_model() -> LoadedModel:
    holder: ModelHolder = current_app.extensions["model_holder"]
    return holder.refresh()
