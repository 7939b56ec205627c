"""A small folder of "own photos" as a user would bring them, generated with Pillow.

Three classes (one with a space, one with a non-ASCII letter) of varied-size RGB JPEGs and PNGs,
plus what real folders hold: macOS/Windows junk, an EXIF-rotated JPEG, a CMYK JPEG, an RGBA PNG,
a 16-bit PNG and one truncated JPEG. Each class has its own colour and stripe pattern, so a small
network learns it in a few epochs.

    python -m tests.photos OUT_DIR     # used by the template's own end-to-end test
"""

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# class -> (colour, pattern): the pattern tells the classes apart in grey ("L") models too
CLASSES = {
    "red stripes": ((200, 40, 40), "horizontal"),
    "green": ((40, 170, 60), "vertical"),
    "blåbär": ((40, 60, 200), "plain"),
}
TRUNCATED = "green/truncated.jpg"
JUNK = (".DS_Store", "Thumbs.db", "._x.png", "desktop.ini")


def photo(name: str, rng: np.random.Generator) -> Image.Image:
    """An RGB image 48-96 px a side: the class colour with noise, and the class's stripe pattern."""
    colour, pattern = CLASSES[name]
    width, height = (int(v) for v in rng.integers(48, 97, size=2))
    noise = rng.normal(0, 15, (height, width, 3))
    pixels = np.array(colour, dtype=np.float32) * rng.uniform(0.8, 1.1) + noise
    if pattern == "horizontal":
        pixels[(np.arange(height) // 8) % 2 == 0] *= 0.3
    elif pattern == "vertical":
        pixels[:, (np.arange(width) // 8) % 2 == 0] *= 0.3
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def write_photo_folder(root: Path, per_class: int = 35, seed: int = 0) -> dict[str, int]:
    """Write the folder under `root`; returns the number of readable images per class."""
    rng = np.random.default_rng(seed)
    counts = {}
    for name in CLASSES:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = photo(name, rng)
            suffix = ".JPG" if index % 3 == 0 else (".jpg" if index % 3 == 1 else ".png")
            image.save(folder / f"IMG_{index:04d}{suffix}", quality=90)
        counts[name] = per_class
        for junk in JUNK:
            (folder / junk).write_bytes(b"\x00\x05\x16\x07 not an image")
    red, green, blue = (root / name for name in CLASSES)
    sideways = photo("red stripes", rng).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    sideways.save(red / "exif_rotated.jpg", exif=exif.tobytes())
    photo("red stripes", rng).convert("CMYK").save(red / "cmyk.jpg")
    rgba = photo("blåbär", rng).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    rgba.save(blue / "transparent.png")
    wide = (np.asarray(photo("green", rng).convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(wide).save(green / "sixteen_bit.png")
    buffer = io.BytesIO()
    photo("green", rng).save(buffer, format="JPEG")
    (root / TRUNCATED).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    counts["red stripes"] += 2
    counts["blåbär"] += 1
    counts["green"] += 1
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return counts


if __name__ == "__main__":
    print(write_photo_folder(Path(sys.argv[1])))
