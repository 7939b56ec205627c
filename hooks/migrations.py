"""Copier migrations: structural changes between template versions, run by `copier update`
(see `_migrations` in copier.yml) in the project being updated. Each step is idempotent.

    python hooks/migrations.py v0.2.0
"""

from __future__ import annotations

import filecmp
import shutil
import sys
from pathlib import Path


def v0_2_0() -> None:
    """The merge-leftover check moved from scripts/ to scripts/hooks/ (scripts/ now holds deploy.sh).

    Runs after the update. Copier has written the new file; the old one is still there only when
    the user had changed it, and then the user's version wins and moves to the new place.
    """
    old = Path("scripts/check_merge_leftovers.py")
    new = Path("scripts/hooks/check_merge_leftovers.py")
    if not old.exists():
        return
    new.parent.mkdir(parents=True, exist_ok=True)
    if new.exists() and not filecmp.cmp(old, new, shallow=False):
        print(f"migration v0.2.0: keeping your edited {old} as {new}", file=sys.stderr)
    shutil.move(old, new)


MIGRATIONS = {"v0.2.0": v0_2_0}

if __name__ == "__main__":
    for version in sys.argv[1:]:
        if version not in MIGRATIONS:
            sys.exit(f"migrations.py: no migration named {version}; known: {', '.join(MIGRATIONS)}")
        MIGRATIONS[version]()
