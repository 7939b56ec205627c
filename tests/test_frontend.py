"""The generated web UI: locked install, build and unit tests, then the real-browser e2e test
(Debian's Chromium via playwright-core) against the render's real Flask backend."""

import shutil

import pytest

from .conftest import TEMPLATE, render, run_in

pytestmark = pytest.mark.e2e
ARTIFACTS = TEMPLATE / "test-artifacts" / "e2e-screenshots"


@pytest.fixture(scope="module")
def web_project(tmp_path_factory):
    return render(tmp_path_factory.mktemp("web") / "digit-recognizer")


def test_npm_ci_build_and_unit_tests_pass(web_project):
    frontend = web_project / "frontend"
    run_in(frontend, "npm", "ci", "--no-audit", "--no-fund")
    build = run_in(frontend, "npm", "run", "build")
    assert (frontend / "dist" / "index.html").is_file(), build.stdout
    unit = run_in(frontend, "npm", "test")
    assert " passed" in unit.stdout
    assert "failed" not in unit.stdout


def test_browser_predicts_and_labels_two_images_seen_by_the_backend(web_project):
    assert (web_project / "frontend" / "dist" / "index.html").is_file(), "needs the build test first"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    result = run_in(
        web_project,
        "python",
        "-m",
        "pytest",
        "-m",
        "e2e",
        "-p",
        "no:cacheprovider",
        env_extra={"E2E_ARTIFACTS": str(ARTIFACTS)},
    )
    assert "1 passed" in result.stdout
    shots = {path.name: path.stat().st_size for path in ARTIFACTS.glob("*.png")}
    assert set(shots) == {
        "predict.png",
        "predict-error.png",
        "annotate.png",
        "annotate-suggestions.png",
        "review.png",
        "models.png",
        "guide.png",
        "evaluation.png",
        "evaluation-enlarged.png",
    }
    assert min(shots.values()) > 5_000, "screenshots show rendered pages"


def test_render_without_frontend_has_no_web_ui(tmp_path):
    project = render(tmp_path / "api-only", include_frontend=False)
    assert not (project / "frontend").exists()
    assert not list(project.rglob("test_browser_e2e.py"))
    assert "test-e2e" not in (project / "Makefile").read_text()
    assert "annotation guide" in (project / "docs" / "annotation-guide.md").read_text().lower()
