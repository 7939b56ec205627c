"""Print the requirements of a default render (runtime + train + dev extras, not gpu), one per line.

Keeps the generated project's pyproject.toml the single list of its dependencies: the shared test
venv installs exactly what a user's `make install` would, minus the project itself.
"""

import sys
import tempfile
import tomllib
from pathlib import Path

from copier import run_copy

TEMPLATE = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        destination = Path(tmp) / "project"
        run_copy(
            str(TEMPLATE),
            destination,
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            skip_tasks=True,
            quiet=True,
        )
        project = tomllib.loads((destination / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for name, extra in project.get("optional-dependencies", {}).items():
        if name != "gpu":  # CUDA bindings: only where a GPU is
            requirements.extend(extra)
    print("\n".join(dict.fromkeys(requirements)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
