"""POST /api/predict: one image in, class + probabilities + model version + latency out.

POST /api/upload-check: the same upload parsed and answered without decoding or inference; the
benchmark's measure of what the HTTP stack alone costs.
"""

import time

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, Float, Integer, String
from flask import current_app
from marshmallow import EXCLUDE
from prometheus_client import Counter, Histogram

from ...data.images import decode_image
from ...data.preprocessing import preprocess
from ..auth import public, requires
from ..batching import MicroBatcher
from ..prediction_log import after_prediction
from . import current_model, image_file

bp = APIBlueprint("predict", __name__, url_prefix="/api", tag="Predict")
PREDICTIONS = Counter("predictions_total", "Predictions served", ["model_version"])
INFERENCE_SECONDS = Histogram("inference_seconds", "Preprocessing + inference time per request")
UPLOAD_ERRORS = {
    400: "Not a readable image, or no file in the field `image`",
    413: "Upload over MAX_UPLOAD_BYTES, or more pixels than MAX_IMAGE_PIXELS (decompression bomb)",
    415: "An image format the model does not read (PNG, JPEG, BMP, GIF, WebP and TIFF are read)",
}


class ImageUpload(Schema):
    class Meta:
        unknown = EXCLUDE  # other form fields are ignored (and so not `additionalProperties: false`)

    image = image_file("image", "PNG, JPEG, BMP, GIF, WebP or TIFF; any size and colour mode")


class Prediction(Schema):
    label = String(required=True, metadata={"description": "the most probable class"})
    confidence = Float(required=True, metadata={"description": "its probability"})
    probabilities = Dict(
        keys=String(), values=Float(), required=True, metadata={"description": "class -> probability"}
    )
    model_version = String(required=True)
    engine = String(required=True, metadata={"description": "the runtime: onnxruntime, openvino or tensorrt"})
    candidate = String(
        required=True,
        metadata={
            "description": "this version's candidate serving here: runtime/precision, e.g. openvino/int8"
        },
    )
    latency_ms = Float(required=True, metadata={"description": "preprocessing + inference"})


class UploadCheck(Schema):
    bytes = Integer(required=True, metadata={"description": "size of the uploaded file"})


@bp.post("/predict")
@requires("annotator", only_if="PREDICT_REQUIRES_LOGIN")
@bp.input(ImageUpload, location="files")
@bp.output(Prediction)
@bp.doc(responses=UPLOAD_ERRORS | {503: "Model not loaded, or failed its golden-set self-test"})
def predict(files_data):
    """Classify one image"""
    data = files_data["image"].read()
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
    return {
        "label": model.classes[best],
        "confidence": confidence,
        "probabilities": {
            name: round(float(p), 6) for name, p in zip(model.classes, probabilities, strict=True)
        },
        "model_version": model.version,
        "engine": model.engine.name,
        "candidate": model.candidate,
        "latency_ms": round(latency * 1000, 3),
    }


@bp.post("/upload-check")
@public
@bp.input(ImageUpload, location="files")
@bp.output(UploadCheck)
@bp.doc(responses={400: UPLOAD_ERRORS[400], 413: UPLOAD_ERRORS[413]})
def upload_check(files_data):
    """Parse an upload like /api/predict; answer without decoding (the benchmark's baseline)"""
    return {"bytes": len(files_data["image"].read())}
