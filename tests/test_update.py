"""`copier update` from earlier releases to this checkout keeps a user's work: a project rendered
at a release tag, with the user's own code, edits to the template's training code, params, a
pipeline stage and a Makefile target, is updated with no conflicts left into exactly a fresh render
of this checkout plus those edits, its pipeline and the user's tests pass, and the pre-commit hook
blocks commits that still hold conflict markers or .rej files."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

from .conftest import TEMPLATE, pipeline_for_plumbing, project_env, run_in

pytestmark = pytest.mark.e2e
RELEASE = re.compile(r"^## (v\d+\.\d+\.\d+) — \S+ \(commit ([0-9a-f]{7,40})\)", re.MULTILINE)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=project_env(cwd)
    ).stdout


def differences_from_a_fresh_render(project: Path, template: Path, version: str, scratch: Path) -> set[str]:
    """Paths (relative, git-tracked or not, outside .git) whose content differs between `project`
    and a fresh render of `version` with the same answers, or that only one of them has. An
    update that leaves exactly the user's edits here is the fresh render plus those edits, and the
    fresh render's whole suite runs in test_first_run.py and under act."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    fresh = scratch / project.name
    run_copy(str(template), fresh, data=data, defaults=True, unsafe=True, vcs_ref=version, quiet=True)

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(root).parts
        }

    ours, theirs = files(project), files(fresh)
    return {path for path in ours.keys() | theirs.keys() if ours.get(path) != theirs.get(path)}


def assert_updated_cleanly(project: Path, version: str) -> None:
    """The project records `version` and the update left no rejected hunks or conflict markers."""
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == version
    leftovers = [p for p in project.rglob("*.rej") if ".git" not in p.parts]
    markers = subprocess.run(
        ["git", "grep", "-lE", "^(<<<<<<<|>>>>>>>)( |$)"], cwd=project, capture_output=True, text=True
    ).stdout
    assert not leftovers, f"rejected hunks: {leftovers}"
    assert not markers.strip(), f"conflict markers in: {markers}"


@pytest.fixture(scope="module")
def versioned_template(tmp_path_factory) -> tuple[Path, str, str]:
    """A clone of this template with the earlier releases tagged (from CHANGELOG.md, so the test
    does not depend on tags being fetched) and this checkout, uncommitted edits included, tagged
    as the next version. Returns (clone, {release: commit}, this version)."""
    releases = dict(RELEASE.findall((TEMPLATE / "CHANGELOG.md").read_text()))
    current = re.search(r"^## (v\d+\.\d+\.\d+)", (TEMPLATE / "CHANGELOG.md").read_text(), re.MULTILINE)[1]
    clone = tmp_path_factory.mktemp("template") / "fullstack-ml"
    git(TEMPLATE.parent, "clone", "--quiet", "--no-tags", str(TEMPLATE), str(clone))
    for previous, commit in releases.items():
        in_history = git(clone, "cat-file", "-t", commit).strip() == "commit"
        assert in_history, f"{previous} ({commit}) is in the history"
        git(clone, "tag", "-f", previous, commit)
    tracked = git(TEMPLATE, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    git(clone, "rm", "-r", "--quiet", "--cached", ".")
    for path in filter(None, tracked):
        source, target = TEMPLATE / path, clone / path
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(clone, "add", "--all")
    git(
        clone,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "This checkout",
    )
    git(clone, "tag", "-f", current)
    return clone, releases, current


def test_update_from_first_release_keeps_user_edits(versioned_template, tmp_path):
    template, releases, current = versioned_template
    previous = "v0.1.0"
    project = tmp_path / "digit-recognizer"
    run_copy(str(template), project, defaults=True, unsafe=True, vcs_ref=previous, quiet=True)
    assert (project / "scripts" / "check_merge_leftovers.py").is_file(), f"{previous} layout"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == previous

    # The user's work on top of the previous version.
    package = project / "src" / "digit_recognizer"
    (package / "confidence.py").write_text(
        '"""Confidence summary of the evaluation, added by the user."""\n\n\n'
        "def margin(top: float, second: float) -> float:\n    return top - second\n"
    )
    (project / "tests" / "test_confidence.py").write_text(
        "import pytest\n\nfrom digit_recognizer.confidence import margin\n\n\n"
        "def test_margin_is_the_gap_between_the_two_best():\n"
        "    assert margin(0.9, 0.06) == pytest.approx(0.84)\n"
    )
    params = project / "params.yaml"
    params.write_text(re.sub(r"(?m)^  epochs: \d+", "  epochs: 7", params.read_text()))
    dvc_yaml = project / "dvc.yaml"
    dvc_yaml.write_text(
        dvc_yaml.read_text().replace(
            "\nplots:",
            (
                "\n  confidence_report:\n    cmd: python -c \"print('user stage')\"\n    deps:\n"
                "      - metrics/evaluate.json\n\nplots:"
            ),
            1,
        )
    )
    assert "confidence_report" in yaml.safe_load(dvc_yaml.read_text())["stages"]
    makefile = project / "Makefile"
    makefile.write_text(makefile.read_text() + "\nconfidence: ## the user's own target\n\t@echo confident\n")
    checker = project / "scripts" / "check_merge_leftovers.py"
    checker.write_text(checker.read_text().replace('"""Fail when', '"""Team rule: fail when', 1))
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "User work")

    run_update(str(project), defaults=True, unsafe=True, vcs_ref=current, overwrite=True, quiet=True)

    assert_updated_cleanly(project, current)
    # The user's edits survived ...
    assert "def margin" in (package / "confidence.py").read_text()
    assert re.search(r"(?m)^  epochs: 7$", params.read_text())
    assert "confidence_report" in yaml.safe_load(dvc_yaml.read_text())["stages"]
    assert "confidence: ## the user's own target" in makefile.read_text()
    # ... next to what the new version brings, including the moved hook (migration v0.2.0).
    assert (package / "serving" / "__init__.py").is_file()
    assert (project / "compose.yaml").is_file()
    assert "\nserve:" in makefile.read_text()
    assert "docker-build" in makefile.read_text()
    assert not (project / "scripts" / "check_merge_leftovers.py").exists()
    moved = project / "scripts" / "hooks" / "check_merge_leftovers.py"
    assert moved.read_text().startswith('"""Team rule: fail when'), "the user's edit moved with the file"

    edited = {
        "src/digit_recognizer/confidence.py",
        "tests/test_confidence.py",
        "params.yaml",
        "dvc.yaml",
        "Makefile",
        "scripts/hooks/check_merge_leftovers.py",
    }
    assert differences_from_a_fresh_render(project, template, current, tmp_path / "fresh") == edited
    run_in(project, "make", "lint")
    tests = ("tests/test_confidence.py", "tests/test_layout.py", "tests/serving/test_predict.py")
    result = run_in(project, "python", "-m", "pytest", "-v", *tests, timeout=1200)
    assert "test_confidence.py::test_margin_is_the_gap_between_the_two_best PASSED" in result.stdout
    assert "tests/serving/test_predict.py" in result.stdout, "the new version's tests ran too"
    assert " failed" not in result.stdout
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "-m", f"Update to {current}")

    # The generated pre-commit hook refuses leftovers of a bad merge.
    run_in(project, "pre-commit", "install")
    (project / "notes.txt").write_text("<<<<<<< before\nmine\n=======\ntheirs\n>>>>>>> after\n")
    (project / "Makefile.rej").write_text("@@ -1 +1 @@\n")
    git(project, "add", "notes.txt", "Makefile.rej")
    blocked = subprocess.run(
        ["git", "commit", "-m", "oops"], cwd=project, capture_output=True, text=True, env=project_env(project)
    )
    assert blocked.returncode != 0
    report = blocked.stdout + blocked.stderr
    assert "notes.txt: contains conflict markers" in report
    assert "Makefile.rej: rejected update hunk" in report


def test_update_from_previous_release_moves_user_edits_to_the_new_layout(versioned_template, tmp_path):
    """v0.4.0 had the stages at the package's top level; the user edited the train stage, wrote a
    module importing moved names, changed params and added a dvc.yaml stage and a Makefile target.
    After the update (migration v0.5.0) every edit is in its new place and the pipeline runs."""
    template, releases, current = versioned_template
    previous = "v0.4.0"
    assert previous in releases, "CHANGELOG.md records v0.4.0's commit"
    project = tmp_path / "digit-recognizer"
    run_copy(str(template), project, defaults=True, unsafe=True, vcs_ref=previous, quiet=True)
    package = project / "src" / "digit_recognizer"
    assert (package / "train.py").is_file(), f"{previous} layout"
    assert not (package / "stages").exists(), f"{previous} layout"

    train = package / "train.py"
    original = 'print(f"train: best validation accuracy {best:.4f}, weights in {CHECKPOINT}")'
    edited = 'print(f"train: best validation accuracy {best:.4f} (team log), weights in {CHECKPOINT}")'
    assert original in train.read_text()
    train.write_text(train.read_text().replace(original, edited))
    (package / "confidence.py").write_text(
        '"""Confidence of the trained model, added by the user."""\n\n'
        "from digit_recognizer.evaluate import parameter_count, predict_logits\n\n"
        '__all__ = ["parameter_count", "predict_logits"]\n'
    )
    (project / "tests" / "test_confidence.py").write_text(
        "from digit_recognizer.confidence import parameter_count\n\n\n"
        "def test_the_users_module_still_imports_the_moved_names():\n"
        "    import torch\n\n    assert parameter_count(torch.nn.Linear(2, 3)) == 9\n"
    )
    params = project / "params.yaml"
    params.write_text(re.sub(r"(?m)^  epochs: \d+", "  epochs: 7", params.read_text(), count=1))
    dvc_yaml = project / "dvc.yaml"
    user_stage = (
        "\n  confidence_report:\n    cmd: python -c \"print('user stage')\"\n    deps:\n"
        "      - metrics/evaluate.json\n\nplots:"
    )
    dvc_yaml.write_text(dvc_yaml.read_text().replace("\nplots:", user_stage, 1))
    makefile = project / "Makefile"
    makefile.write_text(makefile.read_text() + "\nconfidence: ## the user's own target\n\t@echo confident\n")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "User work")

    run_update(str(project), defaults=True, unsafe=True, vcs_ref=current, overwrite=True, quiet=True)

    assert_updated_cleanly(project, current)
    # The new layout ...
    for old in (train, package / "review", package / "loadtest", package / "tensorrt.py"):
        assert not old.exists(), f"{old} is gone"
    for new in ("stages/build_engine.py", "training.py", "tools/review/report.py"):
        assert (package / new).is_file(), f"{new} exists"
    # ... with the user's edit merged into the moved stage, next to the template's new imports.
    moved = (package / "stages" / "train.py").read_text()
    assert edited in moved, "the user's edit moved with the train stage"
    assert "from ..training import" in moved
    confidence = (package / "confidence.py").read_text()
    assert "from digit_recognizer.training import parameter_count, predict_logits" in confidence
    assert re.search(r"(?m)^  epochs: 7$", params.read_text())
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    assert {"confidence_report", "build_engine"} <= set(stages)
    assert "tensorrt" not in stages
    assert stages["train"]["cmd"] == "python -m digit_recognizer.stages.train"
    assert "confidence: ## the user's own target" in makefile.read_text()

    edited = {
        "src/digit_recognizer/stages/train.py",
        "src/digit_recognizer/confidence.py",
        "tests/test_confidence.py",
        "params.yaml",
        "dvc.yaml",
        "Makefile",
    }
    assert differences_from_a_fresh_render(project, template, current, tmp_path / "fresh") == edited

    pipeline_for_plumbing(project)
    run_in(project, "make", "lint")
    repro = run_in(project, "make", "repro", timeout=2400)
    assert "(team log)" in repro.stdout + repro.stderr, "the edited train stage ran"
    tests = ("tests/test_confidence.py", "tests/test_layout.py")
    result = run_in(project, "python", "-m", "pytest", "-v", *tests)
    assert "test_confidence.py::test_the_users_module_still_imports_the_moved_names PASSED" in result.stdout
    assert "tests/test_layout.py::test_no_stage_imports_another_stage PASSED" in result.stdout
