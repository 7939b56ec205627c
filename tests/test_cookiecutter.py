"""The Cookiecutter form, generated from the single Copier source by scripts/build_cookiecutter.py,
renders exactly the tree Copier renders for the same answers, and refuses the same bad answers."""

import filecmp
import importlib.util
import subprocess
from pathlib import Path

import pytest

from .conftest import TEMPLATE, render

spec = importlib.util.spec_from_file_location(
    "build_cookiecutter", TEMPLATE / "scripts" / "build_cookiecutter.py"
)
build_cookiecutter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_cookiecutter)

COPIER_ONLY = {".copier-answers.yml"}  # the record `copier update` needs; cookiecutter has none
ANSWER_SETS = {
    "defaults": {},
    "postgresql-resnet-s3-no-frontend": {
        "project_name": "Leaf Finder",
        "database": "postgresql",
        "model_architecture": "resnet",
        "dvc_remote": "s3",
        "include_frontend": False,
        "python_version": "3.12",
    },
    "detection": {"task": "detection"},  # detection-only files, kept or removed by the hook
}


@pytest.fixture(scope="module")
def cookiecutter_form(tmp_path_factory) -> Path:
    return build_cookiecutter.build(tmp_path_factory.mktemp("form") / "cookiecutter")


def tree(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and ".git" not in path.relative_to(root).parts[:1]
        and str(path.relative_to(root)) not in COPIER_ONLY
    }


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_cookiecutter_and_copier_render_identical_trees(cookies, cookiecutter_form, tmp_path, answers):
    baked = cookies.bake(template=str(cookiecutter_form), extra_context=answers)
    assert baked.exit_code == 0, baked.exception
    copier_project = render(tmp_path / baked.project_path.name, **answers)
    cookie_files, copier_files = tree(baked.project_path), tree(copier_project)
    assert cookie_files == copier_files, cookie_files ^ copier_files
    _, mismatch, errors = filecmp.cmpfiles(
        copier_project, baked.project_path, sorted(copier_files), shallow=False
    )
    assert mismatch == [], f"different content: {mismatch}"
    assert errors == [], f"unreadable: {errors}"
    # The shared post-generation hook ran: a repository with the first commit and the DVC remote.
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=baked.project_path, capture_output=True, text=True
    )
    assert log.stdout.strip() == "Initial project from fullstack-ml"
    assert "['remote \"storage\"']" in (baked.project_path / ".dvc" / "config").read_text()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"package_name": "class"}, "is a Python keyword or shadows a dependency"),
        ({"project_slug": "Bad Slug"}, "Slug 'Bad Slug' is invalid"),
        ({"database": "oracle"}, "oracle"),
        ({"task": "segmentation"}, "segmentation"),
        ({"dvc_remote": "s3", "dvc_remote_url": "/tmp/x"}, "An S3 remote URL must start with s3://"),
    ],
)
def test_cookiecutter_refuses_bad_answers_like_copier(cookies, cookiecutter_form, capfd, answers, message):
    baked = cookies.bake(template=str(cookiecutter_form), extra_context=answers)
    assert baked.exit_code != 0
    assert baked.project_path is None or not baked.project_path.exists()
    assert message in capfd.readouterr().err + str(baked.exception)
