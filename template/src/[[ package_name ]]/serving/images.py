"""Safe decoding of untrusted uploads: size, pixel-count and format checks before full decode."""

import io
import warnings

from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "BMP", "GIF", "WEBP"}


class BadImage(ValueError):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise BadImage("the uploaded file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise BadImage(
                    f"unsupported image format {image.format}; use PNG, JPEG, BMP, GIF or WEBP", 415
                )
            width, height = image.size
            if width * height > max_pixels:  # checked from the header, before decoding
                raise BadImage(f"image is {width}x{height} pixels, more than the limit of {max_pixels}", 413)
            image.load()
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadImage(f"image rejected as a decompression bomb: {error}", 413) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BadImage("the uploaded file is not a readable image") from error
    return image
