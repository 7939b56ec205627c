"""What APIFlask's generated OpenAPI document cannot say by itself, added once it is built:
which files an upload takes, which bodies are required, one component per schema, and who may call
each operation (its `security`, `x-required-role`, 401 and 403), read from the views' own marks
(auth.py), so the document cannot disagree with what the server enforces."""

import re
import warnings

from flask import Flask

from ..auth import SAFE_METHODS, SIGNED_IN, required_role

# A schema used both nested and as a route's output is registered twice by apispec and APIFlask;
# finish_document() makes it one component again, so the warning about it says nothing.
warnings.filterwarnings("ignore", message=r".* has already been added to the spec", category=UserWarning)

# Uploads say which files they take with OpenAPI's multipart `encoding` (contentType per field), so
# that a client, and the contract test's schemathesis hooks (tests/serving/schemathesis_hooks.py),
# know a valid value is a real image or a real .zip, not any bytes. APIFlask has no place for
# `encoding`, so the field carries a marker that finish_document() turns into it.
UPLOAD_MARKER = "x-upload"
UPLOAD_MEDIA_TYPES = {
    "image": "image/png, image/jpeg, image/bmp, image/gif, image/webp, image/tiff",
    "images": "image/*",  # each part of an array of files: one of the above
    "zip": "application/zip",
}
IMAGE_FILE = {UPLOAD_MARKER: "image"}
IMAGE_FILES = {UPLOAD_MARKER: "images"}
ZIP_FILE = {UPLOAD_MARKER: "zip"}


def upload_encoding(schema: dict) -> dict:
    """The multipart `encoding` of a form schema's marked file fields (markers removed)."""
    encoding = {}
    for name, field in schema.get("properties", {}).items():
        for node in (field, field.get("items", {})):
            kind = node.pop(UPLOAD_MARKER, None)
            if kind:
                encoding[name] = {"contentType": UPLOAD_MEDIA_TYPES[kind]}
    return encoding


def replace_refs(node, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in renamed:
            node["$ref"] = f"#/components/schemas/{renamed[ref.rsplit('/', 1)[1]]}"
        for value in node.values():
            replace_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            replace_refs(value, renamed)


def error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_path(rule: str) -> str:
    """`/api/items/<int:item_id>/label` -> `/api/items/{item_id}/label`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def add_security(spec: dict, app: Flask) -> None:
    """Each operation's `security` (none, or a token or the session cookie), the role it needs as
    `x-required-role`, and its 401/403 answers."""
    paths = spec.get("paths", {})
    for rule in app.url_map.iter_rules():
        operations = paths.get(openapi_path(rule.rule), {})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = operations.get(method.lower())
            if operation is None:
                continue
            role = required_role(app.view_functions[rule.endpoint], method, app.config)
            if role is None:
                operation["security"] = []
                continue
            operation["security"] = SIGNED_IN
            operation["x-required-role"] = role
            responses = operation.setdefault("responses", {})
            responses["401"] = error_response(
                "Not logged in: no valid session cookie or bearer token (with AUTH_REQUIRED=0: "
                "a client other than this host)"
            )
            forbidden = [f"the account's role is below {role}"] if role != "annotator" else []
            if method not in SAFE_METHODS:
                forbidden.append("the session cookie came without its X-CSRFToken header")
            if forbidden:
                responses["403"] = error_response("Forbidden: " + ", or ".join(forbidden))


def finish_document(spec: dict, app: Flask) -> dict:
    """The generated document, finished: uploads get their `encoding`, a body with required fields
    is itself required, a schema apispec registered twice (`Name`, `Name1`) is one again, and every
    operation says who may call it."""
    add_security(spec, app)
    schemas = spec.get("components", {}).get("schemas", {})
    encodings = {name: upload_encoding(schema) for name, schema in schemas.items()}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody", {})
            for media_type, content in body.get("content", {}).items():
                name = content["schema"].get("$ref", "").rsplit("/", 1)[-1]
                if schemas.get(name, {}).get("required"):
                    body["required"] = True  # a body with required fields cannot be left out
                if media_type == "multipart/form-data" and encodings.get(name):
                    content["encoding"] = encodings[name]
    twins = {
        name: name.rstrip("0123456789")
        for name, schema in schemas.items()
        if name[-1].isdigit() and schemas.get(name.rstrip("0123456789")) == schema
    }
    for name in twins:
        del schemas[name]
    replace_refs(spec, twins)
    return spec
