"""THE image decoding policy: every path that turns a file into pixels goes through `read_image`.

Validation, the training dataset (and so evaluation, export checks and quantize calibration),
the server's uploads and the annotation store all call this module, then `preprocessing.preprocess`
for the model's size and mode. The policy, in order:

1. Formats: PNG, JPEG (and MPO, the multi-picture JPEG that cameras write), BMP, GIF, WebP, TIFF.
   Anything else is refused as unsupported (status 415); multi-frame files use their first frame.
2. Size: the pixel count is read from the header and refused above `max_pixels` before any decode
   (status 413), so a decompression bomb never allocates its pixels.
3. Full decode: a truncated or corrupt file passes `Image.verify()` but fails a full load; every
   exception Pillow raises here (OSError, SyntaxError, ValueError, NotImplementedError for formats
   it recognises but cannot decode, ...) becomes `BadImage` (status 400).
4. EXIF orientation is applied (a phone photo is upright, as a browser shows it).
5. Modes become 8-bit "L" (no colour) or "RGB":
   - transparency (RGBA, LA, PA, P or L with a transparent colour) is composited on
     `BACKGROUND` (white, like a page behind a transparent PNG), never dropped to black;
   - 16-bit and 32-bit integer greys (I;16*, I) are scaled from 0..65535 to 0..255 (divided by
     257), not clipped; float greys (F) are taken as 0..1 when their maximum is at most 1, else as
     0..65535 like integers;
   - CMYK, YCbCr, LAB, HSV, 1 and P without transparency go through Pillow's own conversion.
"""

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# File extensions read as images (compared lower-cased); everything else in a class folder is listed
# as skipped, never decoded.
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".mpo", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
)
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "BMP", "GIF", "WEBP", "TIFF"})
# Names that operating systems and archivers leave in folders. Any dot-file is junk too; the
# generated data/.dvcignore lists the same names so DVC hashes ignore them as well.
JUNK_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin"})
BACKGROUND = (255, 255, 255)
DEFAULT_MAX_PIXELS = 100_000_000  # about a 12,000 x 8,000 photo; Pillow's own bomb limit is 89M

_GREY_MODES = {"1", "L", "LA", "La", "I", "F"}
_TRANSPARENT_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


class BadImage(ValueError):
    """A file that is not a usable image; `status` is the HTTP status the server answers with.

    400: unreadable (corrupt, truncated, empty, not an image); 413: more pixels than allowed;
    415: an image format outside ACCEPTED_FORMATS.
    """

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image in "L" or "RGB", with what the file itself held (for validation reports)."""

    image: Image.Image
    format: str
    source_mode: str
    source_size: tuple[int, int]  # (width, height) after EXIF orientation


def is_junk(relative: Path | str) -> bool:
    """True for OS/archiver junk: a dot-file or dot-folder anywhere in the path, or a JUNK_NAMES entry."""
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in Path(relative).parts)


def is_image_name(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(source: bytes | str | Path | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode `source` (bytes, a path or a binary file) with the policy in the module docstring.

    Returns a `DecodedImage` whose `image` is fully loaded, upright, in mode "L" or "RGB".
    Raises BadImage (with .status 400, 413 or 415) for anything that is not such an image.
    """
    if isinstance(source, bytes | bytearray):
        if not source:
            raise BadImage("the file is empty")
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; our own limit is checked first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                if opened.format not in ACCEPTED_FORMATS:
                    raise BadImage(
                        f"unsupported image format {opened.format}; use PNG, JPEG, BMP, GIF, WebP or TIFF",
                        415,
                    )
                width, height = opened.size
                if width * height > max_pixels:  # from the header, before decoding
                    raise BadImage(
                        f"image is {width}x{height} pixels, more than the limit of {max_pixels}", 413
                    )
                if width == 0 or height == 0:
                    raise BadImage(f"image is {width}x{height} pixels")
                opened.load()  # full decode: truncated data fails here, not in verify()
                source_mode = opened.mode
                image_format = "JPEG" if opened.format == "MPO" else opened.format
                upright = ImageOps.exif_transpose(opened)
                image = to_8bit(upright)
                image.load()
    except BadImage:
        raise
    except FileNotFoundError:
        raise
    except UnidentifiedImageError as error:
        raise BadImage("not a readable image (no format Pillow recognises)") from error
    except Image.DecompressionBombError as error:
        raise BadImage(f"image rejected as a decompression bomb: {error}", 413) from error
    except Exception as error:  # noqa: BLE001 - untrusted bytes: any decoder failure means "unreadable"
        raise BadImage(f"not a readable image ({type(error).__name__}: {error})") from error
    return DecodedImage(image=image, format=image_format, source_mode=source_mode, source_size=image.size)


def decode_image(source: bytes | str | Path | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """`read_image(...).image`: an upright, fully loaded "L" or "RGB" image, or BadImage."""
    return read_image(source, max_pixels).image


def to_8bit(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> "L" or "RGB" by the documented policy (transparency on BACKGROUND)."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return _scale_wide_grey(image)
    if mode == "P" or (mode in {"L", "RGB"} and "transparency" in image.info):
        has_alpha = "transparency" in image.info or (mode == "P" and image.palette.mode == "RGBA")
        if not has_alpha:
            return image.convert("RGB")
        image = image.convert("RGBA")  # tRNS chunk or transparent palette entries -> real alpha
        mode = "RGBA"
    if mode in _TRANSPARENT_MODES:
        grey = mode in {"LA", "La"}
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        flat = Image.alpha_composite(background, rgba).convert("RGB")
        return flat.convert("L") if grey else flat
    if mode in _GREY_MODES:
        return image.convert("L")
    return image.convert("RGB")


def _scale_wide_grey(image: Image.Image) -> Image.Image:
    """16/32-bit integer or float grey -> 8-bit "L", scaled (0..65535 -> 0..255), never clipped at 255."""
    pixels = np.asarray(image, dtype=np.float64)
    if image.mode == "F" and pixels.size and np.nanmax(pixels) <= 1.0:
        scaled = pixels * 255.0
    else:
        scaled = pixels / 257.0
    return Image.fromarray(np.clip(np.nan_to_num(scaled), 0, 255).round().astype(np.uint8), mode="L")


def class_image_files(class_dir: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under one class folder, recursively, junk left out, sorted."""
    images, others = [], []
    for path in sorted(class_dir.rglob("*")):
        if is_junk(path.relative_to(class_dir)) or not path.is_file():
            continue
        (images if is_image_name(path) else others).append(path)
    return images, others


def visible(entries: Iterable[Path]) -> list[Path]:
    """Entries of a folder without OS/archiver junk, sorted."""
    return sorted(path for path in entries if not is_junk(path.name))
