"""What APIFlask's generated OpenAPI document cannot say by itself, added once it is built:
which files an upload takes, which bodies are required, one component per schema."""

import warnings

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


def finish_document(spec: dict) -> dict:
    """The generated document, finished: uploads get their `encoding`, a body with required fields
    is itself required, and a schema apispec registered twice (`Name`, `Name1`) is one again."""
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
