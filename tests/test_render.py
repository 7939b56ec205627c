"""Render the template for a matrix of answers and run each render's own checks."""

import subprocess

import pytest
import yaml

from .conftest import DEFINED_STAGES, render, run_in

MATRIX = {
    "defaults": {},
    "resnet-postgresql-s3": {
        "project_name": "Defect Finder",
        "model_architecture": "resnet",
        "database": "postgresql",
        "dvc_remote": "s3",
        "dvc_remote_url": "s3://ml-bucket/defects",
        "include_frontend": False,
        "python_version": "3.12",
        "license": "Apache-2.0",
    },
    "mariadb-ssh": {
        "project_name": "Leaf Disease",
        "package_name": "leafy",
        "database": "mariadb",
        "dvc_remote": "ssh",
        "dvc_remote_url": "ssh://dvc@storage.internal/srv/dvc/leafy",
        "license": "Proprietary",
    },
    "mysql": {"project_name": "Quality Gate", "database": "mysql", "description": 'Says "pass" or "fail"'},
}


@pytest.fixture(scope="module", params=sorted(MATRIX))
def rendered(request, tmp_path_factory):
    answers = MATRIX[request.param]
    return render(tmp_path_factory.mktemp(request.param) / "project", **answers), answers


def git(project, *args):
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout


def test_post_generation_hook_makes_a_committed_git_and_dvc_repo(rendered):
    project, answers = rendered
    assert git(project, "log", "--format=%s") == "Initial project from fullstack-ml\n"
    assert git(project, "status", "--porcelain") == ""
    tracked = git(project, "ls-files").splitlines()
    assert {".dvc/config", ".copier-answers.yml", "dvc.yaml", "params.yaml", "Makefile"} <= set(tracked)
    name, url, default = run_in(project, "dvc", "remote", "list").stdout.split()
    assert (name, default) == ("storage", "(default)")
    expected = answers.get("dvc_remote_url", "../dvc-storage")
    if expected.startswith("../"):
        expected = str((project / expected).resolve())
    assert url == expected


def test_answers_file_records_the_answers(rendered):
    project, answers = rendered
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for key, value in answers.items():
        assert recorded[key] == value
    assert (project / "src" / recorded["package_name"] / "stages" / "train.py").is_file()
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["model"]["architecture"] == recorded["model_architecture"]


def test_render_passes_its_own_lint(rendered):
    project, _ = rendered
    run_in(project, "make", "lint")


# Each render's whole `make test`, its serving tests on a real server of the database it was
# rendered for (TEST_DATABASE_URL). The default render's (SQLite) runs in test_first_run.py, after
# `make install` and `make repro`; a MariaDB render's inside its CI workflow under act
# (test_workflows.py). Not the mysql render's: it differs from a MariaDB render only in
# compose.yaml's image (validated in test_docker.py); both serve through mysql+pymysql, and this
# machine has a MariaDB server, not a MySQL one, so its run would repeat the MariaDB one.
@pytest.mark.parametrize(
    ("rendered", "database"), [("resnet-postgresql-s3", "postgresql")], indirect=["rendered"]
)
def test_render_passes_its_own_tests_on_its_database(rendered, database, database_servers):
    project, answers = rendered
    assert answers["database"] == database
    url = database_servers.url(database)
    result = run_in(project, "make", "test", env_extra={"TEST_DATABASE_URL": url})
    assert f"serving tests' database: {url.split('://')[0]}://" in result.stdout
    assert " passed" in result.stdout
    assert " failed" not in result.stdout


def test_dvc_pipeline_definition_is_valid(rendered):
    project, _ = rendered
    stages = run_in(project, "dvc", "stage", "list", "--name-only").stdout.split()
    assert stages == DEFINED_STAGES
