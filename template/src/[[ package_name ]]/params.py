"""Reads params.yaml, the single source of truth for the pipeline's settings."""

import json
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


def load_params(path: Path | str = PARAMS_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def write_json(path: Path | str, payload: Any) -> None:
    """Write a metrics/report file, creating its directory; sorted keys keep diffs stable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
