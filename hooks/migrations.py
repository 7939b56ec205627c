"""Copier migrations: structural changes between template versions, run by `copier update`
(see `_migrations` in copier.yml) in the project being updated. Each step is idempotent.

    python hooks/migrations.py v0.2.0 before|after
"""

from __future__ import annotations

import filecmp
import re
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


def top_level_blocks(text: str) -> dict[str, list[str]]:
    """YAML text -> {top-level key: its lines (header + indented body)}; comments stay with a block."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and ":" in line:
            current = line.split(":", 1)[0]
            blocks[current] = []
        if current is not None:
            blocks[current].append(line)
    return blocks


def child_entries(block: list[str]) -> dict[str, list[str]]:
    """A section's lines -> {direct child key: its lines}, for children indented by two spaces."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in block[1:]:
        if line.startswith("  ") and not line.startswith("   ") and not line.strip().startswith("#"):
            current = line.strip().split(":", 1)[0]
            entries[current] = []
        if current is not None and line.strip():
            entries[current].append(line)
    return entries


def read_answers(path: Path = Path(".copier-answers.yml")) -> dict[str, str]:
    """The project's answers (`key: value` lines; no YAML library needed in the migration's Python)."""
    answers = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            match = re.match(r"^([a-z_]+): (.*)$", line)
            if match:
                answers[match[1]] = match[2].strip().strip("'\"")
    return answers


def render_expressions(text: str, answers: dict[str, str]) -> str:
    """Evaluate the template's own `[[ expression ]]`s in params.yaml.jinja with the project's
    answers (plain Python syntax: names, `x if c else y`, `in (...)`); the template is trusted."""

    def value(match: re.Match) -> str:
        return str(eval(match[1], {"__builtins__": {}}, dict(answers)))  # noqa: S307 - the template's text

    return re.sub(r"\[\[\s*(.+?)\s*\]\]", value, text)


def add_missing_params(stage: str) -> None:
    """params.yaml is the user's and never overwritten: after an update, settings the new template
    reads but the project's file lacks are added with the template's defaults (values kept)."""
    params = Path("params.yaml")
    template = Path(__file__).resolve().parents[1] / "template" / "params.yaml.jinja"
    if stage != "after" or not params.is_file() or not template.is_file():
        return
    ours = params.read_text()
    theirs = top_level_blocks(render_expressions(template.read_text(), read_answers()))
    mine = top_level_blocks(ours)
    lines = ours.rstrip("\n").splitlines()
    added = []
    for section, block in theirs.items():
        if section not in mine:
            lines += ["", *block]
            added.append(section)
            continue
        missing = [key for key in child_entries(block) if key not in child_entries(mine[section])]
        if not missing:
            continue
        end = lines.index(mine[section][0]) + len(mine[section])
        while lines[end - 1].strip() == "":  # insert before the blank lines that end the section
            end -= 1
        new = [line for key in missing for line in child_entries(block)[key]]
        lines[end:end] = new
        mine = top_level_blocks("\n".join(lines))
        added += [f"{section}.{key}" for key in missing]
    if added:
        params.write_text("\n".join(lines).rstrip("\n") + "\n")
        print(
            f"migration: added to params.yaml with the template's defaults: {', '.join(added)}",
            file=sys.stderr,
        )


def v0_2_0(stage: str) -> None:
    """The merge-leftover check moved from scripts/ to scripts/hooks/ (scripts/ now holds deploy.sh)."""
    old, new = Path("scripts/check_merge_leftovers.py"), Path("scripts/hooks/check_merge_leftovers.py")
    move_keeping_edits("v0.2.0", stage, old, new)
    add_missing_params(stage)


def v0_3_0(stage: str) -> None:
    """New settings (portable int8 `quantize.*`, `golden`, `collect.source`, image checks) are added
    to params.yaml where missing; your values and comments stay."""
    add_missing_params(stage)


def move_int8_budget(stage: str) -> None:
    """`quantize.max_accuracy_drop` became `requirements.max_int8_accuracy_drop` (one place for the
    product's budgets): the project's value moves there and the old line goes."""
    params = Path("params.yaml")
    if stage != "after" or not params.is_file():
        return
    text = params.read_text()
    old = re.search(r"(?m)^  max_accuracy_drop: *([^\s#]+).*\n", text)
    add_missing_params(stage)
    if old is None:
        return
    text = params.read_text().replace(old[0], "", 1)
    text = re.sub(r"(?m)^(  max_int8_accuracy_drop:) *[^\s#]+", rf"\g<1> {old[1]}", text, count=1)
    params.write_text(text)
    moved = f"quantize.max_accuracy_drop -> requirements.max_int8_accuracy_drop ({old[1]})"
    print(f"migration v0.4.0: {moved}", file=sys.stderr)


def v0_4_0(stage: str) -> None:
    """Own images and backbones (`data.workers`, `model.pretrained`/`weights_path`, `train.augment`),
    requirement budgets (`requirements:`), distillation, pruning and `serve.model` are added to
    params.yaml where missing (move_int8_budget runs the generic step); the INT8 budget moves from
    `quantize` to `requirements`."""
    move_int8_budget(stage)


MIGRATIONS = {"v0.2.0": v0_2_0, "v0.3.0": v0_3_0, "v0.4.0": v0_4_0}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MIGRATIONS or sys.argv[2] not in ("before", "after"):
        sys.exit(f"usage: migrations.py {{{'|'.join(MIGRATIONS)}}} before|after")
    MIGRATIONS[sys.argv[1]](sys.argv[2])
