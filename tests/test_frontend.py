"""The generated web UI: locked install under Node 24, build, unit tests, ESLint and Prettier, and
the typed API client's drift checks. Its real-browser e2e test (Chromium via playwright-core
against the render's real Flask backend) runs in the CI workflow's e2e job under act
(test_workflows.py), which keeps its screenshots."""

import json
import subprocess

import pytest

from .conftest import project_env, render, run_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web_project(tmp_path_factory):
    return render(tmp_path_factory.mktemp("web") / "digit-recognizer")


def test_npm_ci_build_and_unit_tests_pass(web_project):
    frontend = web_project / "frontend"
    wanted = (frontend / ".nvmrc").read_text().strip()
    assert wanted == "24", "Node 24 LTS"
    assert run_in(frontend, "node", "--version").stdout.startswith(f"v{wanted}."), ".nvmrc's Node"
    install = run_in(frontend, "npm", "ci", "--no-audit", "--no-fund")
    assert "EBADENGINE" not in install.stdout + install.stderr, "package.json engines accept this Node"
    build = run_in(frontend, "npm", "run", "build")
    assert "vue-tsc --build" in build.stdout, "the build type-checks first"
    assert (frontend / "dist" / "index.html").is_file(), build.stdout
    unit = run_in(frontend, "npm", "test")
    assert " passed" in unit.stdout
    assert "failed" not in unit.stdout


def test_eslint_and_prettier_are_clean_on_a_fresh_render(web_project):
    """`make lint` adds the web UI's ESLint (create-vue's flat config) and Prettier checks once
    `make frontend` (here: the npm ci above) has installed them."""
    assert (web_project / "frontend" / "node_modules").is_dir(), "needs the build test first"
    lint = run_in(web_project, "make", "lint")
    assert "eslint . --max-warnings 0" in lint.stdout
    assert "All matched files use Prettier code style!" in lint.stdout
    assert "not checked" not in lint.stdout


def test_generated_api_client_is_committed_and_regenerates_unchanged(web_project):
    """`make api-client` (the app in-process, then openapi-typescript) reproduces the committed
    frontend/openapi.json and src/api/schema.d.ts byte for byte."""
    assert (web_project / "frontend" / "node_modules").is_dir(), "needs the build test first"
    run_in(web_project, "make", "api-client")
    changed = run_in(web_project, "git", "status", "--porcelain", "--", "frontend").stdout
    assert changed == "", changed


def test_api_client_checks_fail_when_the_committed_client_is_stale(web_project):
    """Both drift checks can fail: a committed document the app no longer serves (the project's
    pytest) and types generated from another document (`npm run check:api`)."""
    document = web_project / "frontend" / "openapi.json"
    original = document.read_text()
    stale = json.loads(original)
    del stale["paths"]["/api/predict"]
    document.write_text(json.dumps(stale, indent=2) + "\n")
    env = project_env(web_project)
    try:
        types = subprocess.run(
            ["npm", "run", "check:api"], cwd=document.parent, env=env, capture_output=True, text=True
        )
        assert types.returncode != 0, types.stdout + types.stderr
        served = subprocess.run(
            ["python", "-m", "pytest", "-q", "tests/serving/test_openapi_client.py"],
            cwd=web_project,
            env=env,
            capture_output=True,
            text=True,
        )
        assert served.returncode != 0
        assert "make api-client" in served.stdout
    finally:
        document.write_text(original)
    run_in(document.parent, "npm", "run", "check:api")


def test_render_without_frontend_has_no_web_ui(tmp_path):
    project = render(tmp_path / "api-only", include_frontend=False)
    assert not (project / "frontend").exists()
    assert not list(project.rglob("test_browser_e2e.py"))
    assert not list(project.rglob("test_openapi_client.py"))
    assert not (project / "scripts" / "export_openapi.py").exists()
    assert "test-e2e" not in (project / "Makefile").read_text()
    assert "api-client" not in (project / "Makefile").read_text()
    assert "annotation guide" in (project / "docs" / "annotation-guide.md").read_text().lower()
