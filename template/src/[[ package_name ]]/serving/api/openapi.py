"""GET /api/openapi.json: the OpenAPI 3.0 document of this API (fuzzed by schemathesis in tests)."""

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api")


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _upload(field: str, schema: dict) -> dict:
    """A required multipart/form-data body with one file field."""
    body = {"type": "object", "required": [field], "properties": {field: schema}}
    return {"required": True, "content": {"multipart/form-data": {"schema": body}}}


BINARY = {"type": "string", "format": "binary"}
ERROR = _json({"$ref": "#/components/schemas/Error"}, "Error")
PROGRESS = {"$ref": "#/components/schemas/Progress"}
ITEM = {"$ref": "#/components/schemas/AnnotationItem"}
ITEM_ID = [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
ITEM_AND_PROGRESS = _json({"type": "object", "properties": {"item": ITEM, "progress": PROGRESS}})
ANNOTATOR = {
    "name": "X-Annotator",
    "in": "header",
    "required": False,
    "description": "Who is labeling; recorded with every label (required when ADMIN_TOKEN is set)",
    "schema": {"type": "string", "maxLength": 64},
}
MODEL_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 32}}
SUMMARY = {"$ref": "#/components/schemas/EvaluationSummary"}
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
QUEUED = _json(
    {
        "type": "object",
        "properties": {
            "added": {"type": "array", "items": ITEM},
            "duplicates": {"type": "integer"},
            "rejected": {"type": "array", "items": {"$ref": "#/components/schemas/Rejected"}},
            "progress": PROGRESS,
        },
    },
    "Queued; files that could not be queued are listed in `rejected`",
)
LABEL_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": {"type": "string"},
                    "accepted": {
                        "type": "boolean",
                        "description": "true when the model's suggestion was taken as is",
                    },
                },
            }
        }
    },
}

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Model serving API", "version": "1.0.0"},
    "paths": {
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json({"type": "object"})}}},
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Prometheus text format"}},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: database up, model loaded, golden-set self-test passed",
                "responses": {
                    "200": _json({"type": "object"}),
                    "503": _json({"type": "object"}, "Not ready"),
                },
            }
        },
        "/api/predict": {
            "post": {
                "summary": "Classify one image",
                "requestBody": _upload("image", BINARY),
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Prediction"}),
                    "400": ERROR,
                    "413": ERROR,
                    "415": ERROR,
                },
            }
        },
        "/api/upload-check": {
            "post": {
                "summary": "Parse an upload like /api/predict, answer without decoding (benchmark baseline)",
                "requestBody": _upload("image", BINARY),
                "responses": {
                    "200": _json({"type": "object", "properties": {"bytes": {"type": "integer"}}}),
                    "400": ERROR,
                    "413": ERROR,
                },
            }
        },
        "/api/evaluation": {
            "get": {
                "summary": "The pipeline's models with an evaluation report (teacher, student, pruned)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["models"],
                            "properties": {
                                "models": {"type": "array", "items": SUMMARY},
                            },
                        }
                    )
                },
            }
        },
        "/api/evaluation/{name}": {
            "get": {
                "summary": "One model's test-split evaluation: per-class precision/recall/F1, "
                "confusion matrix, training curves, misclassified images",
                "parameters": [MODEL_NAME],
                "responses": {"200": _json({"$ref": "#/components/schemas/EvaluationReport"}), "404": ERROR},
            }
        },
        "/api/evaluation/{name}/misclassified/{index}": {
            "get": {
                "summary": "A misclassified test image of the report (PNG)",
                "parameters": [
                    MODEL_NAME,
                    {"name": "index", "in": "path", "required": True, "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {"description": "PNG image", "content": {"image/png": {"schema": BINARY}}},
                    "404": ERROR,
                },
            }
        },
        "/api/models": {
            "get": {
                "summary": "Model versions with metrics; which one is active",
                "responses": {"200": _json({"type": "object", "properties": {"models": {"type": "array"}}})},
            }
        },
        "/api/models/{version_id}/activate": {
            "post": {
                "summary": "Make a version active (hot reload, no dropped requests); without ADMIN_TOKEN "
                "only from a loopback address (403 otherwise)",
                "parameters": [
                    {"name": "version_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": _json({"type": "object"}),
                    "401": ERROR,
                    "403": ERROR,
                    "404": ERROR,
                    "409": ERROR,
                    "503": ERROR,
                },
            }
        },
        "/api/annotations/items": {
            "get": {
                "summary": "List annotation items with their current labels and the model's suggestion",
                "parameters": [
                    {
                        "name": "labeled",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["any", "true", "false"]},
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["queued", "labeled", "disputed", "settled"]},
                    },
                    {
                        "name": "labeled_by",
                        "in": "query",
                        "description": "only items this annotator has a current label on, newest first",
                        "schema": {"type": "string", "maxLength": 64},
                    },
                    LIMIT,
                ],
                "responses": {"200": _json({"type": "object"}), "400": ERROR},
            },
            "post": {
                "summary": "Queue up to 100 images; each gets the active model's suggestion",
                "parameters": [ANNOTATOR],
                "requestBody": _upload("images", {"type": "array", "items": BINARY}),
                "responses": {
                    "201": QUEUED,
                    "400": ERROR,
                    "401": ERROR,
                    "413": ERROR,
                    "415": ERROR,
                    "503": ERROR,
                    "507": _json({"$ref": "#/components/schemas/Error"}, "Annotation storage not writable"),
                },  # fmt: skip
            },
        },
        "/api/annotations/archive": {
            "post": {
                "summary": "Queue the images in one .zip (unsafe or non-image members are listed)",
                "parameters": [ANNOTATOR],
                "requestBody": _upload("archive", BINARY),
                "responses": {
                    "201": QUEUED,
                    "400": ERROR,
                    "401": ERROR,
                    "413": ERROR,
                    "503": ERROR,
                    "507": _json({"$ref": "#/components/schemas/Error"}, "Annotation storage not writable"),
                },  # fmt: skip
            }
        },
        "/api/annotations/next": {
            "get": {
                "summary": "Next item for this annotator (item is null when done)",
                "parameters": [
                    {
                        "name": "order",
                        "in": "query",
                        "description": "uncertainty: least confidence first (lowest top-class probability)",
                        "schema": {"type": "string", "enum": ["oldest", "uncertainty", "random"]},
                    },
                    {
                        "name": "queue",
                        "in": "query",
                        "description": "unlabeled, or second-opinion: labeled once, by another annotator",
                        "schema": {"type": "string", "enum": ["unlabeled", "second-opinion"]},
                    },
                    ANNOTATOR,
                ],
                "responses": {"200": ITEM_AND_PROGRESS, "400": ERROR},
            }
        },
        "/api/annotations/items/{item_id}/image": {
            "get": {
                "summary": "The item's image",
                "parameters": ITEM_ID,
                "responses": {
                    "200": {
                        "description": "PNG",
                        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "404": ERROR,
                },
            }
        },
        "/api/annotations/items/{item_id}/history": {
            "get": {
                "summary": "Every label ever given to the item, superseded ones included",
                "parameters": ITEM_ID,
                "responses": {"200": _json({"type": "object"}), "404": ERROR},
            }
        },
        "/api/annotations/items/{item_id}/label": {
            "put": {
                "summary": "Label an item as this annotator (an earlier label of theirs is superseded)",
                "parameters": [*ITEM_ID, ANNOTATOR],
                "requestBody": LABEL_BODY,
                "responses": {"200": ITEM_AND_PROGRESS, "400": ERROR, "401": ERROR, "404": ERROR},
            },
            "delete": {
                "summary": "Undo this annotator's label",
                "parameters": [*ITEM_ID, ANNOTATOR],
                "responses": {
                    "200": ITEM_AND_PROGRESS,
                    "400": ERROR,
                    "401": ERROR,
                    "404": ERROR,
                    "409": ERROR,
                },
            },
        },
        "/api/annotations/items/{item_id}/review": {
            "put": {
                "summary": "Settle an item as reviewer (annotators' labels stay in the history)",
                "parameters": [*ITEM_ID, ANNOTATOR],
                "requestBody": LABEL_BODY,
                "responses": {"200": ITEM_AND_PROGRESS, "400": ERROR, "401": ERROR, "404": ERROR},
            }
        },
        "/api/annotations/review": {
            "get": {
                "summary": "Disputed items and agreement (percent agreement, Cohen's kappa)",
                "parameters": [LIMIT],
                "responses": {"200": _json({"type": "object"}), "400": ERROR},
            }
        },
        "/api/annotations/stats": {
            "get": {
                "summary": "Labeling progress, labels per class, agreement",
                "responses": {"200": _json({"type": "object"})},
            }
        },
        "/api/annotations/export": {
            "post": {
                "summary": (
                    "Export labeled images into EXPORT_DIR/<label>/ plus EXPORT_DIR/labels.csv"
                    " (default data/annotated)"
                ),
                "parameters": [ANNOTATOR],
                "responses": {
                    "200": _json({"type": "object", "properties": {"exported": {"type": "integer"}}}),
                    "400": ERROR,
                    "401": ERROR,
                },
            }
        },
        "/api/predictions": {
            "get": {
                "summary": "Served-prediction log: summary and newest rows (logging is off by default)",
                "parameters": [
                    LIMIT,
                    {
                        "name": "threshold",
                        "in": "query",
                        "schema": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": True},
                    },
                ],
                "responses": {"200": _json({"type": "object"}), "400": ERROR},
            }
        },
        "/api/predictions/queue-low-confidence": {
            "post": {
                "summary": "Send logged predictions under the threshold (whose image was kept) to annotation",
                "parameters": [ANNOTATOR],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"threshold": {"type": "number"}}}
                        }
                    },
                },
                "responses": {"200": _json({"type": "object"}), "400": ERROR, "401": ERROR},
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Progress": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer"},
                    "labeled": {"type": "integer"},
                    "disputed": {"type": "integer"},
                },
            },
            "Rejected": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "error": {"type": "string"}},
            },
            "AnnotationItem": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "id": {"type": "integer"},
                    "original_name": {"type": "string"},
                    "sha256": {"type": "string"},
                    "label": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": ["queued", "labeled", "disputed", "settled"]},
                    "suggestion": {
                        "type": "object",
                        "nullable": True,
                        "properties": {
                            "label": {"type": "string"},
                            "confidence": {"type": "number"},
                            "model_version": {"type": "string"},
                        },
                    },
                    "labels": {"type": "array", "items": {"type": "object"}},
                    "image_url": {"type": "string"},
                },
            },
            "EvaluationSummary": {
                "type": "object",
                "required": ["name", "accuracy", "f1_macro", "samples"],
                "properties": {
                    "name": {"type": "string", "description": "teacher, student or pruned"},
                    "model": {"type": "object", "description": "architecture, parameters, origin"},
                    "samples": {"type": "integer"},
                    "accuracy": {"type": "number"},
                    "f1_macro": {"type": "number"},
                    "misclassified_total": {"type": "integer"},
                    "benchmark": {"type": "object", "description": "latency, throughput, size"},
                },
            },
            "EvaluationReport": {
                "allOf": [
                    SUMMARY,
                    {
                        "type": "object",
                        "required": ["classes", "per_class", "confusion", "history", "misclassified"],
                        "properties": {
                            "classes": {"type": "array", "items": {"type": "string"}},
                            "per_class": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "class": {"type": "string"},
                                        "precision": {"type": "number"},
                                        "recall": {"type": "number"},
                                        "f1": {"type": "number"},
                                        "support": {"type": "integer"},
                                    },
                                },
                            },
                            "confusion": {
                                "type": "array",
                                "description": "rows: true class, columns: predicted class (counts)",
                                "items": {"type": "array", "items": {"type": "integer"}},
                            },
                            "history": {
                                "type": "object",
                                "description": "training curves: column -> per-epoch values",
                                "additionalProperties": {"type": "array", "items": {"type": "number"}},
                            },
                            "misclassified": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "true": {"type": "string"},
                                        "predicted": {"type": "string"},
                                        "confidence": {"type": "number"},
                                        "url": {"type": "string"},
                                        "source": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                ]
            },
            "Prediction": {
                "type": "object",
                "required": ["label", "probabilities", "model_version", "latency_ms"],
                "properties": {
                    "label": {"type": "string"},
                    "confidence": {"type": "number"},
                    "probabilities": {"type": "object", "additionalProperties": {"type": "number"}},
                    "model_version": {"type": "string"},
                    "engine": {"type": "string"},
                    "latency_ms": {"type": "number"},
                },
            },
        }
    },
}


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(DOCUMENT)
