"""Stage `split`: stratified, seeded train/val/test split written as CSV files (path,label)."""

import csv
from pathlib import Path

from sklearn.model_selection import train_test_split

from ..params import load_params
from .validate import IMAGE_SUFFIXES

SPLITS = ("train", "val", "test")


def list_images(raw_dir: Path, classes: list[str]) -> list[tuple[str, str]]:
    items = []
    for label in classes:
        for path in sorted((raw_dir / label).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                items.append((path.as_posix(), label))
    return items


def split_dataset(
    raw_dir: Path, out_dir: Path, classes: list[str], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, int]:
    items = list_images(raw_dir, classes)
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
    sizes = split_dataset(
        Path(data["raw_dir"]),
        Path(data["splits_dir"]),
        classes=[str(name) for name in data["classes"]],
        val_fraction=float(data["val_fraction"]),
        test_fraction=float(data["test_fraction"]),
        seed=int(params["seed"]),
    )
    print(f"split: {sizes}")


if __name__ == "__main__":
    main()
