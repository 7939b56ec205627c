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

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Model serving API", "version": "1.0.0"},
    "paths": {
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json({"type": "object"})}}},
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
        "/api/models": {
            "get": {
                "summary": "Model versions with metrics; which one is active",
                "responses": {"200": _json({"type": "object", "properties": {"models": {"type": "array"}}})},
            }
        },
        "/api/models/{version_id}/activate": {
            "post": {
                "summary": "Make a version active (hot reload, no dropped requests)",
                "parameters": [
                    {"name": "version_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": _json({"type": "object"}),
                    "401": ERROR,
                    "404": ERROR,
                    "409": ERROR,
                    "503": ERROR,
                },
            }
        },
        "/api/annotations/items": {
            "get": {
                "summary": "List annotation items",
                "parameters": [
                    {
                        "name": "labeled",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["any", "true", "false"]},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                ],
                "responses": {"200": _json({"type": "object"}), "400": ERROR},
            },
            "post": {
                "summary": "Queue images for annotation",
                "requestBody": _upload("images", {"type": "array", "items": BINARY}),
                "responses": {"201": _json({"type": "object"}), "400": ERROR, "413": ERROR, "415": ERROR},
            },
        },
        "/api/annotations/next": {
            "get": {
                "summary": "Next unlabelled item (item is null when done)",
                "responses": {"200": ITEM_AND_PROGRESS},
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
        "/api/annotations/items/{item_id}/label": {
            "put": {
                "summary": "Label an item",
                "parameters": ITEM_ID,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["label"],
                                "properties": {"label": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"200": ITEM_AND_PROGRESS, "400": ERROR, "404": ERROR},
            },
            "delete": {
                "summary": "Undo a label",
                "parameters": ITEM_ID,
                "responses": {"200": ITEM_AND_PROGRESS, "404": ERROR},
            },
        },
        "/api/annotations/stats": {
            "get": {"summary": "Labelling progress", "responses": {"200": _json({"type": "object"})}}
        },
        "/api/annotations/export": {
            "post": {
                "summary": "Export labelled images into the DVC data layout (data/raw/<label>/)",
                "responses": {
                    "200": _json({"type": "object", "properties": {"exported": {"type": "integer"}}})
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Progress": {
                "type": "object",
                "properties": {"total": {"type": "integer"}, "labeled": {"type": "integer"}},
            },
            "AnnotationItem": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "id": {"type": "integer"},
                    "original_name": {"type": "string"},
                    "label": {"type": "string", "nullable": True},
                    "image_url": {"type": "string"},
                },
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
