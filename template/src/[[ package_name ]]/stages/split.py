"""Stage `split`: stratified, seeded train/val/test split written as CSV files (path,label).

Takes the images `validate` accepted: the files it listed as excluded or duplicate in
reports/validation.json are left out, and labels are the class names of data/label_map.json.
"""

import csv
import json
from pathlib import Path

from sklearn.model_selection import train_test_split

from ..data.folders import class_folders
from ..data.images import class_image_files
from ..data.label_map import read_label_map
from ..params import load_params
from ..paths import RAW_DIR, SPLITS_DIR, VALIDATION_REPORT

SPLITS = ("train", "val", "test")


def excluded_paths(report: dict) -> set[str]:
    """Paths relative to the raw folder that validation excluded (unreadable, too small, duplicate)."""
    listed = [item["path"] for items in report.get("excluded", {}).values() for item in items]
    return set(listed) | {item["path"] for item in report.get("duplicates", [])}


def list_images(raw_dir: Path, classes: list[str], excluded: set[str] = frozenset()) -> list[tuple[str, str]]:
    """(path, class name) for every image of `classes` under `raw_dir`, minus `excluded` paths."""
    folders = class_folders(raw_dir)
    items = []
    for label in classes:
        images, _ = class_image_files(folders[label])
        for path in images:
            if path.relative_to(raw_dir).as_posix() not in excluded:
                items.append((path.as_posix(), label))
    return items


def split_dataset(
    raw_dir: Path,
    out_dir: Path,
    classes: list[str],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    excluded: set[str] = frozenset(),
) -> dict[str, int]:
    """Write {train,val,test}.csv to `out_dir` and return their sizes."""
    items = list_images(raw_dir, classes, excluded)
    labels = [label for _, label in items]
    rest, test = train_test_split(items, test_size=test_fraction, stratify=labels, random_state=seed)
    rest_labels = [label for _, label in rest]
    train, val = train_test_split(
        rest, test_size=val_fraction / (1.0 - test_fraction), stratify=rest_labels, random_state=seed
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, rows in zip(SPLITS, (train, val, test), strict=True):
        with open(out_dir / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label"])
            writer.writerows(sorted(rows))
        sizes[name] = len(rows)
    return sizes


def main() -> None:
    params = load_params()
    data = params["data"]
    report = json.loads(VALIDATION_REPORT.read_text(encoding="utf-8"))
    sizes = split_dataset(
        RAW_DIR,
        SPLITS_DIR,
        classes=read_label_map(),
        val_fraction=float(data["val_fraction"]),
        test_fraction=float(data["test_fraction"]),
        seed=int(params["seed"]),
        excluded=excluded_paths(report),
    )
    print(f"split: {sizes}, {len(excluded_paths(report))} excluded files left out")


if __name__ == "__main__":
    main()
