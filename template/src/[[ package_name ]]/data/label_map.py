"""The label map: class names in model-output order, found in the data by `validate`.

Written to paths.LABEL_MAP (a DVC output) and read by training; the checkpoint and every model
manifest carry the same list, so serving, the PR review and the web UI never need a hand-kept copy.
"""

import json
from pathlib import Path

from ..paths import LABEL_MAP


def write_label_map(classes: list[str], path: Path = LABEL_MAP) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"classes": classes}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_label_map(path: Path = LABEL_MAP) -> list[str]:
    """Class names; index i is the model's output i. Raises FileNotFoundError before `validate` ran."""
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `dvc repro validate` (it lists the classes found in the data)"
        )
    return [str(name) for name in json.loads(Path(path).read_text(encoding="utf-8"))["classes"]]
