"""The request mix: digit images as multipart uploads, half PNG and half JPEG."""

import io
import uuid
from pathlib import Path

from PIL import Image


def image_files(png_paths: list[Path], folder: Path) -> list[Path]:
    """Copy each PNG into `folder` and add a JPEG of it; returns the files, PNG and JPEG alternating."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index, source in enumerate(png_paths):
        png = folder / f"{index}.png"
        png.write_bytes(source.read_bytes())
        jpeg = folder / f"{index}.jpg"
        buffer = io.BytesIO()
        Image.open(source).convert("RGB").save(buffer, format="JPEG", quality=90)
        jpeg.write_bytes(buffer.getvalue())
        files += [png, jpeg]
    return files


def multipart(field: str, file: Path) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field; returns (body, Content-Type header)."""
    boundary = uuid.uuid4().hex
    kind = "image/png" if file.suffix == ".png" else "image/jpeg"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{file.name}"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    body = head + file.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
