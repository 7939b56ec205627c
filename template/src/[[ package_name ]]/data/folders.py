"""The raw data's folder layout: data/raw/<class>/<image>, one folder per class.

Read by the validate and split stages and written by the annotation export, so all three agree on
what a class folder is (junk ignored, names in Unicode NFC).
"""

import unicodedata
from pathlib import Path

from .images import visible

LABELS_MANIFEST = "labels.csv"  # written next to the class folders by the annotation export


class DataLayoutError(ValueError):
    """The raw folder cannot be read as <class>/<image> at all."""


def class_folders(raw_dir: Path) -> dict[str, Path]:
    """{class name (NFC): folder} for every non-junk folder in `raw_dir`, sorted by name.

    Raises DataLayoutError when `raw_dir` is missing or two folders normalise to the same name.
    """
    if not raw_dir.is_dir():
        raise DataLayoutError(f"{raw_dir} does not exist: run `dvc repro collect`")
    folders: dict[str, Path] = {}
    for path in visible(raw_dir.iterdir()):
        if not path.is_dir():
            continue
        name = unicodedata.normalize("NFC", path.name)
        if name in folders:
            raise DataLayoutError(
                f"folders {folders[name].name!r} and {path.name!r} are the same class name {name!r} "
                "after Unicode NFC normalisation: merge or rename one"
            )
        folders[name] = path
    return dict(sorted(folders.items()))
