"""A small folder of "own photos" as a user would bring them, generated with Pillow.

Three classes (one with a space, one with a non-ASCII letter) of varied-size RGB JPEGs and PNGs,
plus what real folders hold: macOS/Windows junk, an EXIF-rotated JPEG, a CMYK JPEG, an RGBA PNG,
a 16-bit PNG and one truncated JPEG. Each class has its own colour and stripe direction, so a small
network learns it in a few epochs.

    python -m tests.photos OUT_DIR     # used by the template's own end-to-end test
"""

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = {"red stripes": (200, 40, 40), "green": (40, 170, 60), "blåbär": (40, 60, 200)}
TRUNCATED = "green/truncated.jpg"
JUNK = (".DS_Store", "Thumbs.db", "._x.png", "desktop.ini")


def photo(colour: tuple[int, int, int], index: int, rng: np.random.Generator) -> Image.Image:
    """An RGB image 48-96 px a side: the class colour, noise, and stripes whose direction is per class."""
    width, height = (int(v) for v in rng.integers(48, 97, size=2))
    base = np.array(colour, dtype=np.float32) * rng.uniform(0.7, 1.1)
    pixels = base + rng.normal(0, 25, size=(height, width, 3))
    stripes = (np.arange(width if sum(colour) % 2 else height) // 6) % 2 == 0
    if sum(colour) % 2:
        pixels[:, stripes] *= 0.5
    else:
        pixels[stripes] *= 0.5
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def write_photo_folder(root: Path, per_class: int = 35, seed: int = 0) -> dict[str, int]:
    """Write the folder under `root`; returns the number of readable images per class."""
    rng = np.random.default_rng(seed)
    counts = {}
    for name, colour in CLASSES.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = photo(colour, index, rng)
            suffix = ".JPG" if index % 3 == 0 else (".jpg" if index % 3 == 1 else ".png")
            image.save(folder / f"IMG_{index:04d}{suffix}", quality=90)
        counts[name] = per_class
        for junk in JUNK:
            (folder / junk).write_bytes(b"\x00\x05\x16\x07 not an image")
    red, green, blue = (root / name for name in CLASSES)
    sideways = photo(CLASSES["red stripes"], 0, rng).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    sideways.save(red / "exif_rotated.jpg", exif=exif.tobytes())
    photo(CLASSES["red stripes"], 1, rng).convert("CMYK").save(red / "cmyk.jpg")
    rgba = photo(CLASSES["blåbär"], 2, rng).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    rgba.save(blue / "transparent.png")
    wide = (np.asarray(photo(CLASSES["green"], 3, rng).convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(wide).save(green / "sixteen_bit.png")
    buffer = io.BytesIO()
    photo(CLASSES["green"], 4, rng).save(buffer, format="JPEG")
    (root / TRUNCATED).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    counts["red stripes"] += 2
    counts["blåbär"] += 1
    counts["green"] += 1
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return counts


if __name__ == "__main__":
    print(write_photo_folder(Path(sys.argv[1])))
