"""The generated backend's tests on every database it supports, with real servers."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .conftest import run_in
from .databases import MariaDB, PostgreSQL


@pytest.fixture(scope="module")
def database_urls():
    # Not under pytest's 0700 temp dir: PostgreSQL runs as the `postgres` user and must reach it.
    root = Path(tempfile.mkdtemp(prefix="fsml-databases-"))
    os.chmod(root, 0o755)
    servers = [MariaDB(root), PostgreSQL(root)]
    urls = {}
    try:
        urls["mariadb"] = servers[0].start()
        urls["postgresql"] = servers[1].start()
        yield urls
    finally:
        for server in servers:
            try:
                server.stop()
            except Exception as error:  # noqa: BLE001 - report, keep stopping the others
                print(f"stopping {server.__class__.__name__}: {error}")
        shutil.rmtree(root, ignore_errors=True)


# SQLite, the default, runs these same tests in test_first_run.py (the default render's `make test`).
@pytest.mark.parametrize("database", ["mariadb", "postgresql"])
def test_backend_tests_pass_on_each_database(default_project, database_urls, database):
    result = run_in(
        default_project,
        "python",
        "-m",
        "pytest",
        "tests/serving",
        "-q",
        "-p",
        "no:cacheprovider",
        env_extra={"TEST_DATABASE_URL": database_urls[database]},
    )
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


def test_served_api_survives_load_and_faults(default_project):
    """The render's `make test-faults`: locust load through a database restart, a killed worker, a
    model swap and a read-only annotation storage; the counts are printed and kept in the report."""
    result = run_in(default_project, "make", "test-faults", timeout=900)
    assert " passed" in result.stdout
    assert "failed" not in result.stdout
    report = json.loads((default_project / "reports" / "faults.json").read_text())
    assert set(report["phases"]) == {"database_down", "worker_killed", "model_swapped", "storage_read_only"}
    print("\nload and faults:", json.dumps(report, indent=1))
