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


def add_missing_params(stage: str) -> None:
    """params.yaml is the user's and never overwritten: after an update, settings the new template
    reads but the project's file lacks are added with the template's defaults (values kept)."""
    params = Path("params.yaml")
    template = Path(__file__).resolve().parents[1] / "template" / "params.yaml.jinja"
    if stage != "after" or not params.is_file() or not template.is_file():
        return
    ours = params.read_text()
    theirs = top_level_blocks(template.read_text())
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


V0_3_0_QUANTIZE = """\
  calibrate_method: MinMax  # MinMax | Entropy | Percentile
  # 7-bit weights: right on every CPU ONNX Runtime dispatches to. Without VNNI (AVX2, AVX-512F) its
  # U8S8 kernels saturate 8-bit weights (ORT quantization docs, FAQ); VNNI, AMX, ARM64 lose nothing.
  reduce_range: true
  # Signed int8 with zero points of 0 (symmetric): the explicit INT8 that TensorRT builds from.
  activation_type: QInt8
  weight_type: QInt8
  symmetric_activations: true
"""
V0_3_0_GOLDEN = """
golden:                 # the self-test each model runs wherever it is loaded (runtime/golden.py)
  samples: 32           # test images shipped with every model, with the reference logits
  # top-1 agreement with the FP32 reference, and max logit error vs this artifact's own outputs
  # on the build machine as a fraction of their range
  fp32: {min_top1_agreement: 1.0, max_logit_error: 0.001}
  int8: {min_top1_agreement: 0.9, max_logit_error: 0.02}
  tensorrt_fp16: {min_top1_agreement: 0.95, max_logit_error: 0.02}
  tensorrt_int8: {min_top1_agreement: 0.9, max_logit_error: 0.05}
"""


def v0_3_0(stage: str) -> None:
    """params.yaml is yours and never overwritten: add the new `quantize` settings and the `golden`
    section where they are missing, as text, so your values and comments stay as they are."""
    params = Path("params.yaml")
    if stage != "after" or not params.is_file():
        return
    lines = params.read_text().splitlines(keepends=True)
    text = "".join(lines)
    if "reduce_range:" not in text:
        header = next((i for i, line in enumerate(lines) if line.rstrip() == "quantize:"), None)
        if header is None:
            lines += ["\nquantize:\n", V0_3_0_QUANTIZE]
        else:
            end = header + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
                end += 1
            while end > header + 1 and not lines[end - 1].strip():
                end -= 1
            lines.insert(end, V0_3_0_QUANTIZE)
        print("migration v0.3.0: added the portable int8 settings to params.yaml", file=sys.stderr)
    if not any(line.startswith("golden:") for line in lines):
        lines.append(V0_3_0_GOLDEN)
        print("migration v0.3.0: added the golden-set tolerances to params.yaml (golden:)", file=sys.stderr)
    params.write_text("".join(lines))


MIGRATIONS = {"v0.2.0": v0_2_0, "v0.3.0": v0_3_0}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MIGRATIONS or sys.argv[2] not in ("before", "after"):
        sys.exit(f"usage: migrations.py {{{'|'.join(MIGRATIONS)}}} before|after")
    MIGRATIONS[sys.argv[1]](sys.argv[2])
