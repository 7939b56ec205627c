"""Stage `collect`: write the bundled sample dataset as an ImageFolder tree of PNGs.

Layout: data/raw/<class name>/<file>.png. To use your own images, put them in the same layout,
remove this stage from dvc.yaml and track the folder with `dvc add data/raw`.
"""

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from ..params import load_params


def collect_digits(out_dir: Path, upscale: int, limit_per_class: int | None = None) -> int:
    """Write scikit-learn's handwritten digits (offline, 1797 images of 8x8) as PNGs."""
    digits = load_digits()
    counts: dict[int, int] = {}
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        label = int(label)
        if limit_per_class is not None and counts.get(label, 0) >= limit_per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        grey = np.clip(pixels * (255.0 / 16.0), 0, 255).astype(np.uint8)
        image = Image.fromarray(grey)
        image = image.resize((8 * upscale, 8 * upscale), Image.Resampling.BILINEAR)
        class_dir = out_dir / str(label)
        class_dir.mkdir(parents=True, exist_ok=True)
        image.save(class_dir / f"digit_{index:05d}.png")
    return sum(counts.values())


def main() -> None:
    params = load_params()
    out_dir = Path(params["data"]["raw_dir"])
    written = collect_digits(out_dir, upscale=int(params["collect"]["upscale"]))
    print(f"collect: wrote {written} images to {out_dir}")


if __name__ == "__main__":
    main()
