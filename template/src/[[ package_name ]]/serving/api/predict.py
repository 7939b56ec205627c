"""POST /api/predict: one image in, class + probabilities + model version + latency out.

POST /api/upload-check: the same upload parsed and answered without decoding or inference; the
benchmark's measure of what the HTTP stack alone costs.
"""

import time

from flask import Blueprint, current_app, jsonify, request
from prometheus_client import Counter, Histogram

from ...data.images import BadImage, decode_image
from ...data.preprocessing import preprocess
from ..batching import MicroBatcher
from ..prediction_log import after_prediction
from . import current_model

bp = Blueprint("predict", __name__, url_prefix="/api")
PREDICTIONS = Counter("predictions_total", "Predictions served", ["model_version"])
INFERENCE_SECONDS = Histogram("inference_seconds", "Preprocessing + inference time per request")


def uploaded_image() -> bytes:
    upload = request.files.get("image")
    if upload is None:
        raise BadImage("send the image as multipart/form-data in a field named 'image'")
    return upload.read()


@bp.post("/predict")
def predict():
    data = uploaded_image()
    batcher: MicroBatcher = current_app.extensions["batcher"]
    with batcher.admitted():
        image = decode_image(data, current_app.config["MAX_IMAGE_PIXELS"])
        model = current_model()
        start = time.perf_counter()
        probabilities = batcher.probabilities(model, preprocess(image, model.preprocess))
        latency = time.perf_counter() - start
    INFERENCE_SECONDS.observe(latency)
    PREDICTIONS.labels(model.version).inc()
    best = int(probabilities.argmax())
    confidence = round(float(probabilities[best]), 6)
    after_prediction(current_app.config, data, model, model.classes[best], confidence)  # off by default
    return jsonify(
        label=model.classes[best],
        confidence=confidence,
        probabilities={
            name: round(float(p), 6) for name, p in zip(model.classes, probabilities, strict=True)
        },
        model_version=model.version,
        engine=model.engine.name,
        latency_ms=round(latency * 1000, 3),
    )


@bp.post("/upload-check")
def upload_check():
    return jsonify(bytes=len(uploaded_image()))
