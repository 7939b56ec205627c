"""A corpus of odd real-world files for the upload and decoding tests, built with Pillow at run time.

`odd_files()` maps a name to (bytes, expected): "ok" when the decoding policy must accept the file,
or the HTTP status it must be refused with (400 unreadable, 413 too many pixels, 415 unsupported).
"""

import io
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels (8-bit grey) with almost no data: a bomb header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


def dds_with_fourcc(fourcc: bytes) -> bytes:
    """A DDS header with a compressed pixel format Pillow recognises but may not implement."""
    header = struct.pack("<4sI", b"DDS ", 124)
    header += struct.pack("<IIIIII", 0x1007, 8, 8, 0, 0, 0) + bytes(44)
    header += struct.pack("<II4s", 32, 0x4, fourcc) + bytes(20)
    header += struct.pack("<IIII", 0x1000, 0, 0, 0) + bytes(4)
    return header + bytes(64)


def odd_files() -> dict[str, tuple[bytes, str | int]]:
    rng = np.random.default_rng(7)
    photo = Image.fromarray(rng.integers(0, 255, size=(40, 60, 3), dtype=np.uint8), "RGB")
    jpeg = encode(photo, "JPEG")
    png = encode(photo, "PNG")
    bad_crc = bytearray(png)
    bad_crc[png.index(b"IDAT") + 8] ^= 0xFF  # flip a compressed byte: the chunk's CRC no longer matches
    frames = [Image.new("P", (20, 20), color) for color in (1, 50, 120)]
    sideways = Image.new("RGB", (30, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    wrong_orientation = Image.Exif()
    wrong_orientation[0x0112] = 99
    transparent_palette = Image.new("P", (16, 16), 3)
    files: dict[str, tuple[bytes, str | int]] = {
        "photo.jpg": (jpeg, "ok"),
        "photo.png": (png, "ok"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], 400),
        "truncated.png": (png[: len(png) // 2], 400),
        "zero_bytes.png": (b"", 400),
        "random.bin": (rng.bytes(2048), 400),
        "text.txt": (b"hello, this is not an image\n" * 20, 400),
        "html.png": (b"<!doctype html><html><body>nope</body></html>", 400),
        "pdf.jpg": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", 400),
        "bad_crc.png": (bytes(bad_crc), 400),
        "only_signature.png": (b"\x89PNG\r\n\x1a\n", 400),
        "jpeg_header_only.jpg": (jpeg[:20], 400),
        "huge_dimensions.png": (png_header_only(100_000, 100_000), 413),
        "zero_width.png": (png_header_only(0, 10), 400),
        "sixteen_bit.png": (encode(Image.fromarray(np.full((8, 8), 40000, np.uint16)), "PNG"), "ok"),
        "sixteen_bit.tiff": (encode(Image.fromarray(np.full((8, 8), 40000, np.uint16)), "TIFF"), "ok"),
        "float.tiff": (encode(Image.fromarray(np.full((8, 8), 0.5, np.float32)), "TIFF"), "ok"),
        "int32.tiff": (encode(Image.fromarray(np.full((8, 8), 70000, np.int32)), "TIFF"), "ok"),
        "cmyk.jpg": (encode(photo.convert("CMYK"), "JPEG"), "ok"),
        "cmyk.tiff": (encode(photo.convert("CMYK"), "TIFF"), "ok"),
        "rgba.png": (encode(photo.convert("RGBA"), "PNG"), "ok"),
        "la.png": (encode(photo.convert("LA"), "PNG"), "ok"),
        "one_bit.png": (encode(photo.convert("1"), "PNG"), "ok"),
        "palette_transparency.png": (encode(transparent_palette, "PNG", transparency=3), "ok"),
        "exif_rotated.jpg": (encode(sideways, "JPEG", exif=exif.tobytes()), "ok"),
        "exif_nonsense_orientation.jpg": (encode(sideways, "JPEG", exif=wrong_orientation.tobytes()), "ok"),
        "animated.gif": (encode(frames[0], "GIF", save_all=True, append_images=frames[1:]), "ok"),
        "truncated.gif": (encode(frames[0], "GIF", save_all=True, append_images=frames[1:])[:40], 400),
        "camera.mpo": (encode(photo, "MPO", save_all=True, append_images=[photo.rotate(90)]), "ok"),
        "photo.bmp": (encode(photo, "BMP"), "ok"),
        "truncated.bmp": (encode(photo, "BMP")[:200], 400),
        "icon.ico": (encode(photo, "ICO"), 415),
        "uncompressed.dds": (encode(photo.convert("RGBA"), "DDS"), 415),
        "exotic_fourcc.dds": (dds_with_fourcc(b"ATI1"), (400, 415)),
        "unknown_fourcc.dds": (dds_with_fourcc(b"ZZZZ"), (400, 415)),
        "photoshop.psd": (
            b"8BPS\x00\x01" + bytes(6) + struct.pack(">HIIHH", 3, 40, 60, 8, 3) + bytes(64),
            415,
        ),
        "pcx.pcx": (encode(photo, "PCX"), 415),
        "tga.tga": (encode(photo, "TGA"), 415),
    }
    if "WEBP" in Image.SAVE:
        files["photo.webp"] = (encode(photo, "WEBP"), "ok")
        animated = [photo, photo.rotate(90), photo.rotate(180)]
        files["animated.webp"] = (
            encode(animated[0], "WEBP", save_all=True, append_images=animated[1:]),
            "ok",
        )
    return files
