"""Stage `validate`: look at every file in data/raw, say what is there, and write the label map.

Layout: data/raw/<class>/<image> (images may sit in subfolders of their class folder). Accepted:
any image data/images.py reads, at any size and mode. Ignored: OS and archiver junk (dot-files,
Thumbs.db, desktop.ini, __MACOSX; the same names are in data/.dvcignore). Class names are the folder
names in Unicode NFC; the sorted names become data/label_map.json, the model's output order.

Excluded from the split and listed in full in reports/validation.json: unreadable files and
images whose shorter side is below `data.min_image_side`, and second copies of a file within a
class (duplicates). Non-image files are listed as skipped.

The stage fails, saying why, when: excluded images are more than `data.max_excluded_fraction` of
all images; the same file sits under two classes (label conflict); a class folder has no usable
image; a class has fewer usable images than the split needs; two folder names are the same after
NFC normalisation; there are fewer than two classes. Imbalance beyond `data.min_class_ratio` is a
warning.
"""

import hashlib
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..data.folders import DataLayoutError, class_folders
from ..data.images import DEFAULT_MAX_PIXELS, BadImage, class_image_files, is_junk, read_image
from ..data.label_map import write_label_map
from ..params import load_params, write_json
from ..paths import LABEL_MAP, RAW_DIR, VALIDATION_REPORT

SIDE_BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)  # shorter-side histogram edges, pixels


def min_images_per_class(val_fraction: float, test_fraction: float) -> int:
    """Fewest images a class needs for at least one in each of train, val and test."""
    smallest = min(val_fraction, test_fraction, 1.0 - val_fraction - test_fraction)
    return max(3, math.ceil(1.0 / smallest))


def side_bucket(side: int) -> str:
    lower = 0
    for edge in SIDE_BUCKETS:
        if side < edge:
            return f"{lower}-{edge - 1}"
        lower = edge
    return f">={SIDE_BUCKETS[-1]}"


@dataclass
class ValidationReport:
    class_counts: dict[str, int] = field(default_factory=dict)  # usable images per class
    images_seen: int = 0
    excluded: dict[str, list[dict]] = field(default_factory=lambda: {"unreadable": [], "too_small": []})
    duplicates: list[dict] = field(default_factory=list)
    label_conflicts: list[dict] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    junk_ignored: int = 0
    shorter_side: Counter = field(default_factory=Counter)
    modes: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def images(self) -> int:
        return sum(self.class_counts.values())

    @property
    def excluded_count(self) -> int:
        return sum(len(items) for items in self.excluded.values())

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "images": self.images,
            "images_seen": self.images_seen,
            "class_counts": self.class_counts,
            "excluded_count": self.excluded_count,
            "excluded_fraction": round(self.excluded_count / max(self.images_seen, 1), 6),
            "excluded": self.excluded,
            "duplicates": self.duplicates,
            "label_conflicts": self.label_conflicts,
            "skipped_files": self.skipped_files,
            "junk_ignored": self.junk_ignored,
            "shorter_side_histogram": dict(self.shorter_side),
            "mode_histogram": dict(self.modes),
            "format_histogram": dict(self.formats),
        }

    def summary(self) -> str:
        return "\n".join(f"- {line}" for line in self.errors)


def validate_dataset(
    raw_dir: Path,
    min_image_side: int = 8,
    max_excluded_fraction: float = 0.01,
    min_class_ratio: float = 0.0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ValidationReport:
    """Decode every image under `raw_dir` and return the report (nothing raises for bad data)."""
    report = ValidationReport()
    try:
        folders = class_folders(raw_dir)
    except DataLayoutError as error:
        report.errors.append(str(error))
        return report
    for path in sorted(raw_dir.iterdir()):
        if is_junk(path.name):
            report.junk_ignored += 1
        elif path.is_file():
            report.skipped_files.append(path.name)  # not inside a class folder

    first_seen: dict[str, tuple[str, str]] = {}  # sha256 -> (class, path)
    conflicts: dict[str, dict] = {}
    seen_per_class: Counter[str] = Counter()
    for name, folder in folders.items():
        images, others = class_image_files(folder)
        report.junk_ignored += sum(1 for p in folder.rglob("*") if is_junk(p.relative_to(folder)))
        report.skipped_files += [p.relative_to(raw_dir).as_posix() for p in others]
        usable = 0
        for path in images:
            relative = path.relative_to(raw_dir).as_posix()
            report.images_seen += 1
            seen_per_class[name] += 1
            data = path.read_bytes()
            try:
                decoded = read_image(data, max_pixels)
            except BadImage as error:
                report.excluded["unreadable"].append({"path": relative, "reason": str(error)})
                continue
            width, height = decoded.source_size
            report.modes[decoded.source_mode] += 1
            report.formats[decoded.format] += 1
            report.shorter_side[side_bucket(min(width, height))] += 1
            if min(width, height) < min_image_side:
                report.excluded["too_small"].append(
                    {"path": relative, "reason": f"{width}x{height}, shorter side below {min_image_side}"}
                )
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in first_seen:
                other_class, other_path = first_seen[digest]
                if other_class == name:
                    report.duplicates.append({"path": relative, "same_as": other_path})
                else:
                    conflict = conflicts.setdefault(digest, {"paths": [other_path], "classes": [other_class]})
                    conflict["paths"].append(relative)
                    conflict["classes"].append(name)
                continue
            first_seen[digest] = (name, relative)
            usable += 1
        report.class_counts[name] = usable

    report.label_conflicts = list(conflicts.values())
    check_report(report, seen_per_class, max_excluded_fraction, min_class_ratio, val_fraction, test_fraction)
    return report


def check_report(
    report: ValidationReport,
    seen_per_class: Counter,
    max_excluded_fraction: float,
    min_class_ratio: float,
    val_fraction: float,
    test_fraction: float,
) -> None:
    """Turn the counts into errors (the stage fails) and warnings (it does not)."""
    counts = report.class_counts
    if len(counts) < 2:
        report.errors.append(f"found {len(counts)} class folder(s); a classifier needs at least two")
    fraction = report.excluded_count / max(report.images_seen, 1)
    if fraction > max_excluded_fraction:
        report.errors.append(
            f"{report.excluded_count} of {report.images_seen} images ({fraction:.1%}) are unreadable or too "
            f"small, more than data.max_excluded_fraction ({max_excluded_fraction:.1%}); see `excluded`"
        )
    for conflict in report.label_conflicts:
        report.errors.append(
            "label conflict: the same file is in classes "
            + ", ".join(map(repr, conflict["classes"]))
            + ": "
            + ", ".join(conflict["paths"])
        )
    needed = min_images_per_class(val_fraction, test_fraction)
    for name, count in counts.items():
        if seen_per_class[name] == 0:
            report.errors.append(f"class {name!r} has no images")
        elif count == 0:
            report.errors.append(f"class {name!r}: all {seen_per_class[name]} images were excluded")
        elif count < needed:
            report.errors.append(
                f"class {name!r} has {count} usable images; the split (val_fraction {val_fraction}, "
                f"test_fraction {test_fraction}) needs at least {needed} per class"
            )
    largest = max(counts.values(), default=0)
    for name, count in counts.items():
        if largest and count and count / largest < min_class_ratio:
            report.warnings.append(f"class {name!r} has {count} images vs {largest} in the largest class")
    if report.duplicates:
        count = len(report.duplicates)
        report.warnings.append(f"{count} duplicate files within a class left out of the split")


def main() -> None:
    data = load_params()["data"]
    report = validate_dataset(
        RAW_DIR,
        min_image_side=int(data["min_image_side"]),
        max_excluded_fraction=float(data["max_excluded_fraction"]),
        min_class_ratio=float(data["min_class_ratio"]),
        val_fraction=float(data["val_fraction"]),
        test_fraction=float(data["test_fraction"]),
        max_pixels=int(data["max_image_pixels"]),
    )
    write_json(VALIDATION_REPORT, report.as_dict())
    if not report.ok:
        sys.exit(
            f"validate: data in {RAW_DIR} failed validation (full report: {VALIDATION_REPORT})\n"
            + report.summary()
        )
    write_label_map(list(report.class_counts))
    for warning in report.warnings:
        print(f"validate: warning: {warning}")
    print(
        f"validate: {report.images} images in {len(report.class_counts)} classes {report.class_counts}; "
        f"{report.excluded_count} excluded, {report.junk_ignored} junk files ignored; labels in {LABEL_MAP}"
    )


if __name__ == "__main__":
    main()
