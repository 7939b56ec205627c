"""Stage `validate`: check the raw image tree before anything trains on it.

Checks: every file opens as an image, has the configured size and mode, is not a byte-for-byte
duplicate of another file, sits in a folder named after a configured class, every configured
class has images, and classes are balanced within `min_class_ratio`. Writes a JSON report and
exits non-zero with a readable list of problems when the data is bad.
"""

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..params import load_params, write_json

REPORT_PATH = Path("reports/validation.json")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
LABELS_MANIFEST = "labels.csv"  # written next to the class folders by the annotation export
MAX_LISTED = 20  # problems listed per kind; the counts are always complete


@dataclass
class ValidationReport:
    images: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, detail: str) -> None:
        self.errors.setdefault(kind, []).append(detail)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "images": self.images,
            "class_counts": self.class_counts,
            "error_counts": {kind: len(items) for kind, items in self.errors.items()},
            "errors": {kind: items[:MAX_LISTED] for kind, items in self.errors.items()},
        }

    def summary(self) -> str:
        lines = [f"{len(items)} {kind}: " + ", ".join(items[:5]) for kind, items in self.errors.items()]
        return "\n".join(lines)


def check_image(path: Path, image_size: int, mode: str, max_bytes: int) -> str | None:
    """Return a problem description, or None when the image is usable."""
    if path.stat().st_size > max_bytes:
        return f"larger than {max_bytes} bytes"
    try:
        with Image.open(path) as image:
            image.verify()  # catches truncated/corrupt files without decoding everything
        with Image.open(path) as image:
            image.load()
            if image.size != (image_size, image_size):
                return f"size {image.size[0]}x{image.size[1]}, expected {image_size}x{image_size}"
            if image.mode != mode:
                return f"mode {image.mode}, expected {mode}"
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        return f"unreadable ({type(error).__name__})"
    return None


def validate_dataset(
    raw_dir: Path,
    classes: list[str],
    image_size: int,
    mode: str,
    min_class_ratio: float,
    max_image_bytes: int = 5_000_000,
) -> ValidationReport:
    report = ValidationReport()
    if not raw_dir.is_dir():
        report.add("missing data", f"{raw_dir} does not exist")
        return report
    seen_hashes: dict[str, Path] = {}
    counts: Counter[str] = Counter()
    for path in sorted(raw_dir.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(raw_dir).as_posix()
        if relative == LABELS_MANIFEST:
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            report.add("unexpected files", relative)
            continue
        label = path.parent.name if path.parent != raw_dir else ""
        if label not in classes:
            report.add("unknown labels", relative)
            continue
        report.images += 1
        problem = check_image(path, image_size, mode, max_image_bytes)
        if problem:
            report.add("bad images", f"{relative} ({problem})")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen_hashes:
            report.add("duplicates", f"{relative} == {seen_hashes[digest].relative_to(raw_dir).as_posix()}")
            continue
        seen_hashes[digest] = path
        counts[label] += 1

    report.class_counts = {name: counts.get(name, 0) for name in classes}
    for name, count in report.class_counts.items():
        if count == 0:
            report.add("empty classes", name)
    largest = max(report.class_counts.values(), default=0)
    if largest:
        for name, count in report.class_counts.items():
            if count and count / largest < min_class_ratio:
                report.add(
                    "imbalanced classes", f"{name} has {count} images vs {largest} in the largest class"
                )
    return report


def main() -> None:
    data = load_params()["data"]
    raw_dir = Path(data["raw_dir"])
    report = validate_dataset(
        raw_dir,
        classes=[str(name) for name in data["classes"]],
        image_size=int(data["image_size"]),
        mode=str(data["mode"]),
        min_class_ratio=float(data["min_class_ratio"]),
        max_image_bytes=int(data["max_image_bytes"]),
    )
    write_json(REPORT_PATH, report.as_dict())
    if not report.ok:
        sys.exit(
            f"validate: data in {raw_dir} failed validation (full report: {REPORT_PATH})\n{report.summary()}"
        )
    print(f"validate: {report.images} images OK, classes {report.class_counts}")


if __name__ == "__main__":
    main()
