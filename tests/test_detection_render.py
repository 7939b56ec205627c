"""The `task` question: a detection render holds the detection data layer, the detectors (model,
training step, mAP, ONNX export, INT8) and a DVC pipeline of detection stages, and passes their
tests;
a classification render (the default, also after `copier update` of a project from before the
question) holds none of it."""

import re
import sys
from pathlib import Path

import pytest
import yaml
from copier import run_update

from .conftest import defined_stages, render, run_in

DETECTION_ONLY = [
    "src/{package}/data/boxes.py",
    "src/{package}/data/formats.py",
    "src/{package}/data/detection_sample.py",
    "src/{package}/data/detection_dataset.py",
    "src/{package}/model/detection.py",
    "src/{package}/detection_training.py",
    "src/{package}/detection_evaluation.py",
    "src/{package}/detection_quantization.py",
    "src/{package}/tools/detection_baseline.py",
    "src/{package}/runtime/detection.py",
    "detection-sample",
    "tests/data",
    "tests/detection",
]


def detection_paths(project: Path) -> list[Path]:
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    return [project / path.format(package=package) for path in DETECTION_ONLY]


@pytest.fixture(scope="module")
def detection_project(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("detection") / "parts-counter", task="detection")


def test_a_detection_render_holds_the_data_layer_and_detectors_and_passes_their_tests(detection_project):
    assert yaml.safe_load((detection_project / ".copier-answers.yml").read_text())["task"] == "detection"
    assert all(path.exists() for path in detection_paths(detection_project))
    readme = (detection_project / "README.md").read_text()
    assert "**Detection: the pipeline and the server.**" in readme
    assert "not yet the server" not in readme
    tests = ["tests/data", "tests/detection", "tests/test_readme.py", "tests/test_layout.py"]
    result = run_in(detection_project, sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider")
    assert re.search(r"\b\d+ passed\b", result.stdout)
    assert "failed" not in result.stdout


def test_a_detection_render_s_pipeline_is_the_detection_stage_list(detection_project):
    listed = run_in(detection_project, "dvc", "stage", "list", "--name-only").stdout.split()
    assert listed == defined_stages("detection")
    assert {"distill", "prune", "build_engine", "package"}.isdisjoint(listed)
    package = yaml.safe_load((detection_project / ".copier-answers.yml").read_text())["package_name"]
    stage_modules = {path.stem for path in (detection_project / "src" / package / "stages").glob("*.py")}
    assert stage_modules == {*listed, "__init__"}, "one module per stage, only the detection ones"
    params = yaml.safe_load((detection_project / "params.yaml").read_text())
    assert params["collect"]["source"] == "detection-sample"
    assert params["model"]["architecture"] == "tiny_fcos"


def test_a_default_render_is_classification_without_any_detection_file(default_project):
    assert yaml.safe_load((default_project / ".copier-answers.yml").read_text())["task"] == "classification"
    assert [path for path in detection_paths(default_project) if path.exists()] == []
    assert "detection" not in (default_project / "README.md").read_text().lower()


def test_update_of_a_project_without_the_task_answer_keeps_classification(tmp_path):
    project = render(tmp_path / "older")
    answers = project / ".copier-answers.yml"
    answers.write_text(re.sub(r"(?m)^task: .*\n", "", answers.read_text()))  # as before the question
    run_in(project, "git", "commit", "-qam", "A project from before the task question")

    run_update(str(project), defaults=True, unsafe=True, vcs_ref="HEAD", overwrite=True, quiet=True)

    assert yaml.safe_load(answers.read_text())["task"] == "classification"
    assert [path for path in detection_paths(project) if path.exists()] == []
    assert run_in(project, "git", "status", "--porcelain").stdout.split() == ["M", ".copier-answers.yml"]
