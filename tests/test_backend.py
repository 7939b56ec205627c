"""The served API under load and faults, with real database servers started by the render's own
test (its serving tests on MariaDB and PostgreSQL run in test_render.py, inside those renders'
`make test`)."""

import json

from .conftest import run_in


def test_served_api_survives_load_and_faults(default_project):
    """The render's `make test-faults`: locust load through a database restart, a killed worker, a
    model swap and a read-only annotation storage; the counts are printed and kept in the report."""
    result = run_in(default_project, "make", "test-faults", timeout=900)
    assert " passed" in result.stdout
    assert "failed" not in result.stdout
    report = json.loads((default_project / "reports" / "faults.json").read_text())
    assert set(report["phases"]) == {"database_down", "worker_killed", "model_swapped", "storage_read_only"}
    print("\nload and faults:", json.dumps(report, indent=1))
