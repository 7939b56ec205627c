"""Copier migrations: structural changes between template versions, run by `copier update`
(see `_migrations` in copier.yml) in the project being updated. Each step is idempotent.

    python hooks/migrations.py v0.2.0 before|after
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path


def saved_copy(version: str, path: Path) -> Path:
    """Where a file is kept across the update: inside .git, so Copier never sees it."""
    git_dir = subprocess.run(["git", "rev-parse", "--git-dir"], capture_output=True, text=True, check=True)
    return Path(git_dir.stdout.strip()) / "fullstack-ml-migrations" / version / path


def move_keeping_edits(version: str, stage: str, old: Path, new: Path) -> None:
    """A file the template moved from `old` to `new`. Copier deletes `old` (edited or not) and
    writes the template's `new`; so before the update the user's `old` is saved, and after it,
    if it differs from the template's `new`, the user's version takes its place."""
    saved = saved_copy(version, old)
    if stage == "before":
        if old.is_file():
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(old, saved)
        return
    if not saved.is_file():
        return
    if old.exists():  # Copier kept it: same content as ours, now stale
        old.unlink()
    if not new.exists() or not filecmp.cmp(saved, new, shallow=False):
        new.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(saved, new)
        print(f"migration {version}: your edited {old} is now {new}", file=sys.stderr)
    saved.unlink()


def v0_2_0(stage: str) -> None:
    """The merge-leftover check moved from scripts/ to scripts/hooks/ (scripts/ now holds deploy.sh)."""
    old, new = Path("scripts/check_merge_leftovers.py"), Path("scripts/hooks/check_merge_leftovers.py")
    move_keeping_edits("v0.2.0", stage, old, new)


MIGRATIONS = {"v0.2.0": v0_2_0}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MIGRATIONS or sys.argv[2] not in ("before", "after"):
        sys.exit(f"usage: migrations.py {{{'|'.join(MIGRATIONS)}}} before|after")
    MIGRATIONS[sys.argv[1]](sys.argv[2])
