"""Copier migrations: structural changes between template versions, run by `copier update`
(see `_migrations` in copier.yml) in the project being updated. Each step is idempotent.

    python hooks/migrations.py v0.2.0 before|after
"""

from __future__ import annotations

import filecmp
import os
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
    """Render params.yaml.jinja with the project's answers, as Copier does (its `[[ ]]` / `[% %]`
    delimiters from copier.yml); a project from before the `task` question is a classification one."""
    import jinja2  # Copier's own dependency: the interpreter running this hook has it

    envops = yaml_envops()
    env = jinja2.Environment(keep_trailing_newline=True, **envops)
    return env.from_string(text).render(**({"task": "classification"} | dict(answers)))


def yaml_envops() -> dict[str, str]:
    """The Jinja delimiters of copier.yml's `_envops` (read as text: no YAML library needed)."""
    copier_yml = (Path(__file__).resolve().parents[1] / "copier.yml").read_text()
    found = re.findall(r'^  ((?:block|variable|comment)_(?:start|end)_string): "(.+)"$', copier_yml, re.M)
    return dict(found)


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


# v0.5.0: one folder per kind of code. Old module (relative to the package) -> new module.
MODULE_MOVES_V0_5_0 = {
    "data.collect": "stages.collect",
    "data.validate": "stages.validate",
    "data.split": "stages.split",
    "train": "stages.train",
    "evaluate": "stages.evaluate",
    "distill": "stages.distill",
    "prune": "stages.prune",
    "export": "stages.export",
    "quantize": "stages.quantize",
    "tensorrt": "stages.build_engine",
    "check": "stages.check",
    "benchmark": "stages.benchmark",
    "release": "tools.release",
    "bench_memory": "tools.bench_memory",
    "review": "tools.review",
    "loadtest": "tools.loadtest",
}


def rewrite_module_paths(text: str, package: str, moves: dict[str, str] = MODULE_MOVES_V0_5_0) -> str:
    """`<package>.train` -> `<package>.stages.train` and `src/<package>/train.py` ->
    `src/<package>/stages/train.py` (also `<package>/review` folders) for every move in `moves`;
    names that only start like a moved module (`<package>.training`) are left alone."""
    pkg = re.escape(package)
    for old, new in moves.items():
        dotted = re.escape(old)
        text = re.sub(rf"(?<![\w.]){pkg}\.{dotted}(?![\w])", f"{package}.{new}", text)
        slashed = re.escape(old.replace(".", "/"))
        new_path = new.replace(".", "/")
        text = re.sub(rf"(?<![\w.]){pkg}/{slashed}(\.py)?(?![\w])", rf"{package}/{new_path}\1", text)
    return text


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


# Names that left a moved module for a library in v0.5.0: (old module, name) -> new module.
NAME_MOVES_V0_5_0 = {
    **{("train", name): "training" for name in ("seed_everything", "setup_device", "evaluate_loss_accuracy")},
    **{("evaluate", name): "training" for name in ("predict_logits", "parameter_count")},
    **{("export", name): "model.onnx" for name in ("INPUT_NAME", "OUTPUT_NAME", "export_onnx")},
    **{("quantize", name): "quantization" for name in ("ArrayCalibrationReader", "quantize_int8", "advice")},
    **{
        ("check", name): "budgets"
        for name in (
            "MEASURES",
            "RequirementError",
            "BudgetResult",
            "split_key",
            "lookup",
            "read_workspace",
            "evaluate_budgets",
        )
    },
    **{
        ("data.validate", name): "data.folders"
        for name in ("LABELS_MANIFEST", "DataLayoutError", "class_folders")
    },
    ("evaluation", "softmax"): "scores",
}


def rewrite_imports(text: str, package: str) -> str:
    """`from <package>.<old> import a, b` lines: each name goes to where it lives now (a library
    for the names in NAME_MOVES_V0_5_0, the moved module for the rest); then module paths."""

    def split(match: re.Match) -> str:
        indent, old, names = match[1], match[2], [n.strip() for n in match[3].split(",") if n.strip()]
        groups: dict[str, list[str]] = {}
        for name in names:
            target = NAME_MOVES_V0_5_0.get((old, name.split(" as ")[0].strip()))
            groups.setdefault(target or old, []).append(name)
        return "\n".join(
            f"{indent}from {package}.{module} import {', '.join(group)}" for module, group in groups.items()
        )

    modules = "|".join(re.escape(old) for old in {old for old, _ in NAME_MOVES_V0_5_0})
    text = re.sub(rf"(?m)^([ \t]*)from {re.escape(package)}\.({modules}) import ([^()\n]+)$", split, text)
    return rewrite_module_paths(text, package)


def template_file_at(version: str, relative: str, package: str) -> str | None:
    """A file of the generated project as template `version` rendered it, read from the template's
    git history (Copier's clone of the template keeps its tags); None when it cannot be read.
    Only `[[ package_name ]]` is substituted in .jinja files; a file with other expressions is None."""
    template = Path(__file__).resolve().parents[1]
    source = "template/" + relative.replace(f"src/{package}/", "src/[[ package_name ]]/", 1)
    for candidate, templated in ((source, False), (source + ".jinja", True)):
        shown = subprocess.run(
            ["git", "-C", str(template), "cat-file", "blob", f"{version}:{candidate}"],
            capture_output=True,
            text=True,
        )
        if shown.returncode == 0:
            if not templated:
                return shown.stdout
            text = shown.stdout.replace("[[ package_name ]]", package)
            return None if re.search(r"\[\[ |\[% ", text) else text
    return None


def new_location(old: Path, package: str) -> Path | None:
    """Where v0.5.0 put the file `old` (src/<package>/...), or None when it did not move."""
    root = Path("src") / package
    for old_module, new_module in MODULE_MOVES_V0_5_0.items():
        old_base, new_base = root / Path(*old_module.split(".")), root / Path(*new_module.split("."))
        if old == old_base.with_suffix(".py"):
            return new_base.with_suffix(".py")
        if old_base in old.parents:  # a file of a moved folder (review/, loadtest/), yours too
            return new_base / old.relative_to(old_base)
    return None


def v0_5_0(stage: str) -> None:
    """One folder per kind of code: stages/ (one module per dvc.yaml stage; `tensorrt` is now
    `build_engine`), tools/ (release, review, loadtest, bench_memory), the fit loop in training.py.

    before: every file of a moved module is saved, with the template's own copy of it at the
    version being left (VERSION_FROM). after: a file you edited gets your edits merged into its
    new place (git merge-file: your changes on top of the template's move); a change that cannot
    be merged is left between conflict markers, which the pre-commit hook refuses until resolved.
    Then `<package>.<old>` module paths and imports of moved names are rewritten in dvc.yaml, the
    Makefile and your Python files.
    """
    package = read_answers().get("package_name", "")
    version = os.environ.get("VERSION_FROM") or read_answers().get("_commit", "")
    if not package or not (Path("src") / package).is_dir():
        return
    saved_root = saved_copy("v0.5.0", Path("."))
    if stage == "before":
        for old in sorted((Path("src") / package).rglob("*")):
            if old.is_file() and "__pycache__" not in old.parts and new_location(old, package):
                saved = saved_copy("v0.5.0", old)
                saved.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(old, saved)
                base = template_file_at(version, old.as_posix(), package)
                if base is not None:
                    ours = old.read_text()
                    if base.rstrip("\n") == ours.rstrip("\n"):  # Jinja drops a template's last newline
                        base = ours
                    saved.with_name(saved.name + ".base").write_text(base)
        return
    saved_files = sorted(saved_root.rglob("*")) if saved_root.is_dir() else []
    for saved in (path for path in saved_files if path.is_file() and not path.name.endswith(".base")):
        old = saved.relative_to(saved_root)
        new = new_location(old, package)
        if new is None:
            continue
        base_file = saved.with_name(saved.name + ".base")
        ours = saved.read_text()
        if old.exists():
            old.unlink()  # Copier kept the old file; its content is handled here
        if base_file.is_file() and base_file.read_text() == ours:
            pass  # not edited: the template's new file stands
        elif not new.is_file():
            new.parent.mkdir(parents=True, exist_ok=True)
            new.write_text(rewrite_imports(ours, package))
            print(f"migration v0.5.0: your {old} is now {new}", file=sys.stderr)
        elif base_file.is_file():
            merged = subprocess.run(
                [
                    "git",
                    "merge-file",
                    "-p",
                    "-L",
                    f"yours ({old})",
                    "-L",
                    version,
                    "-L",
                    f"template ({new})",
                    str(saved),
                    str(base_file),
                    str(new),
                ],
                capture_output=True,
                text=True,
            )
            new.write_text(merged.stdout)
            if merged.returncode == 0:
                print(f"migration v0.5.0: your edits to {old} are merged into {new}", file=sys.stderr)
            else:
                print(
                    f"migration v0.5.0: your edits to {old} touch code that moved; resolve the "
                    f"conflict markers in {new} (the code may now live in training.py or another library)",
                    file=sys.stderr,
                )
        else:  # the template's old copy is unknown: keep both, say so
            kept = new.with_name(new.name + ".yours")
            kept.write_text(rewrite_imports(ours, package))
            print(
                f"migration v0.5.0: your edited {old} is kept as {kept}; merge it into {new}", file=sys.stderr
            )
        saved.unlink()
        base_file.unlink(missing_ok=True)
    for old_module in MODULE_MOVES_V0_5_0:  # emptied folders (review/, loadtest/) go too
        folder = Path("src", package, *old_module.split("."))
        if folder.is_dir() and not any(
            p.is_file() and "__pycache__" not in p.parts for p in folder.rglob("*")
        ):
            shutil.rmtree(folder)
    for path in [
        Path("dvc.yaml"),
        Path("Makefile"),
        *Path("src").rglob("*.py"),
        *Path("tests").rglob("*.py"),
    ]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            new_text = rewrite_imports(text, package)
            if new_text != text:
                path.write_text(new_text, encoding="utf-8")
                print(f"migration v0.5.0: module paths rewritten in {path}", file=sys.stderr)
    add_missing_params(stage)


# v0.8.0: the INT8 settings are per format (the runtimes want different ones).
OLD_QUANTIZE_KEYS = ("activation_type", "weight_type", "reduce_range", "symmetric_activations")


def move_quantize_formats(stage: str) -> None:
    """`quantize.activation_type`, `weight_type`, `reduce_range` and `symmetric_activations` became
    `quantize.formats.cpu` (U8S8, for ONNX Runtime and OpenVINO) and `quantize.formats.tensorrt`
    (S8S8, the old defaults): the old lines and their comments go, the template's formats come in
    (add_missing_params), and the old values are printed so that an edited one can be carried over."""
    params = Path("params.yaml")
    if stage != "after" or not params.is_file():
        return
    lines = params.read_text().splitlines()
    block = top_level_blocks("\n".join(lines)).get("quantize")
    old: dict[str, str] = {}
    if block:
        start = lines.index(block[0])
        end = start + len(block)
        kept, comments = [], []
        for line in lines[start + 1 : end]:
            key = re.match(r"^  ([a-z_]+):\s*([^\s#]*)", line)
            if line.startswith("  #"):
                comments.append(line)
            elif key and key[1] in OLD_QUANTIZE_KEYS:
                old[key[1]] = key[2]
                comments = []  # the comments that explained the old key go with it
            else:
                kept += [*comments, line]
                comments = []
        lines[start + 1 : end] = kept + comments
        params.write_text("\n".join(lines) + "\n")
    add_missing_params(stage)
    if old:
        values = ", ".join(f"{key}: {value}" for key, value in old.items())
        print(
            f"migration v0.8.0: quantize.{{{','.join(old)}}} -> quantize.formats.cpu (U8S8, served on a CPU) "
            f"and quantize.formats.tensorrt (S8S8); your old values were {values}",
            file=sys.stderr,
        )


def v0_8_0(stage: str) -> None:
    """Per-runtime INT8 formats (move_quantize_formats), the model bundle and its new settings."""
    move_quantize_formats(stage)


MIGRATIONS = {"v0.2.0": v0_2_0, "v0.3.0": v0_3_0, "v0.4.0": v0_4_0, "v0.5.0": v0_5_0, "v0.8.0": v0_8_0}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MIGRATIONS or sys.argv[2] not in ("before", "after"):
        sys.exit(f"usage: migrations.py {{{'|'.join(MIGRATIONS)}}} before|after")
    MIGRATIONS[sys.argv[1]](sys.argv[2])
