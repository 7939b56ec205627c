"""Schemathesis strategies for the media types this API's uploads declare (the multipart `encoding`
of /api/openapi.json: image/png, image/jpeg, ... for images, application/zip for archives): real,
small files of that type, so that a request the document calls valid is one the server can accept.
Without them schemathesis sends random bytes, which the server rightly refuses (400/415), and
reports as a valid request rejected. Negative cases (wrong types, missing files) still reach the
server and must be refused.

Used by tests/serving/test_openapi_contract.py, and by the CLI against a live server:
    SCHEMATHESIS_HOOKS=tests.serving.schemathesis_hooks schemathesis run \\
        http://127.0.0.1:8000/api/openapi.json --checks all
"""

import io
import zipfile

import schemathesis
from hypothesis import strategies as st
from PIL import Image

FORMATS = {"PNG": "png", "JPEG": "jpg", "BMP": "bmp", "GIF": "gif", "WEBP": "webp", "TIFF": "tif"}


def encoded(size: tuple[int, int], mode: str, colour: int, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour if mode == "L" else (colour, 255 - colour, colour // 2)).save(
        buffer, format=image_format
    )
    return buffer.getvalue()


def archive(images: list[tuple[bytes, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zip_file:
        for index, (data, suffix) in enumerate(images):
            zip_file.writestr(f"class/{index}.{suffix}", data)
    return buffer.getvalue()


def images(image_format: str) -> st.SearchStrategy[bytes]:
    return st.builds(
        encoded,
        st.tuples(st.integers(1, 48), st.integers(1, 48)),
        st.sampled_from(["L", "RGB"]),
        st.integers(0, 255),
        st.just(image_format),
    )


for image_format in FORMATS:
    schemathesis.openapi.media_type(f"image/{image_format.lower()}", images(image_format))
ANY_IMAGE = st.sampled_from(sorted(FORMATS)).flatmap(lambda f: images(f).map(lambda data: (data, FORMATS[f])))
schemathesis.openapi.media_type("application/zip", st.lists(ANY_IMAGE, min_size=1, max_size=4).map(archive))
# `image/*` is the encoding of an array of files (POST /api/annotations/items): its strategy draws the
# whole list, as a media-type strategy replaces the field's value rather than each item.
IMAGE_LISTS = st.lists(ANY_IMAGE.map(lambda pair: pair[0]), min_size=1, max_size=3)
schemathesis.openapi.media_type("image/*", IMAGE_LISTS)
