"""The generated Dockerfiles and compose.yaml, for real: hadolint (HEALTHCHECK required), compose
validation per database, then on a local Docker engine the backend and frontend images are built
(on stand-in base images from scripts/build_standin_images.sh), started with the project's own
compose.yaml, and a prediction goes through the frontend's /api proxy."""

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from .conftest import TEMPLATE, pipeline_for_plumbing, project_env, render, run_in
from .databases import free_port

pytestmark = pytest.mark.e2e
ARTIFACTS = TEMPLATE / "test-artifacts"


def docker(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="session")
def docker_engine():
    """The machine's Docker engine; dockerd is started here when it is not running."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        log = open("/tmp/fullstack-ml-dockerd.log", "ab")  # noqa: SIM115 (lives as long as dockerd)
        subprocess.Popen(
            ["dockerd", "--storage-driver=overlay2"], stdout=log, stderr=log, start_new_session=True
        )
        for _ in range(60):
            if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail("dockerd did not start; see /tmp/fullstack-ml-dockerd.log")
    subprocess.run(
        ["bash", str(TEMPLATE / "scripts" / "build_standin_images.sh")],
        check=True,
        capture_output=True,
        timeout=1200,
    )


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"database": "postgresql", "include_frontend": False},
        {"database": "mariadb"},
        {"database": "mysql"},
    ],
    ids=["sqlite", "postgresql-no-frontend", "mariadb", "mysql"],
)
def test_dockerfiles_pass_hadolint_and_compose_file_is_valid(tmp_path, answers, docker_engine):
    project = render(tmp_path / "project", **answers)
    dockerfiles = sorted(p.name for p in (project / "docker").glob("*.Dockerfile"))
    expected = ["backend.Dockerfile", "train.Dockerfile"]
    assert dockerfiles == sorted(
        expected + (["frontend.Dockerfile"] if answers.get("include_frontend", True) else [])
    )
    run_in(project, "make", "docker-lint")
    # The config really enforces HEALTHCHECK: a Dockerfile without one fails.
    (project / "docker" / "nohealth.Dockerfile").write_text("FROM python:3.11-slim-bookworm\nUSER 1000\n")
    missing = subprocess.run(
        ["hadolint", "docker/nohealth.Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        env=project_env(project),
    )
    assert missing.returncode != 0
    assert "DL3057" in missing.stdout
    config = run_in(
        project, "docker-compose", "config", env_extra={"DB_PASSWORD": "pw", "DB_ROOT_PASSWORD": "pw"}
    )
    if answers.get("database", "sqlite") != "sqlite":
        assert "condition: service_healthy" in config.stdout
        assert "healthcheck:" in config.stdout
    without_secret = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=project, capture_output=True, text=True
    )
    if answers.get("database", "sqlite") != "sqlite":
        assert without_secret.returncode != 0, "no default database password"
        assert "DB_PASSWORD" in without_secret.stderr


def wait_healthy(container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", container).stdout)[0]["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        if state["Status"] in ("exited", "dead"):
            break
        time.sleep(1)
    logs = docker("logs", container, check=False)
    pytest.fail(f"{container} is not healthy: {state}\n{logs.stdout[-3000:]}\n{logs.stderr[-3000:]}")


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post_image(url: str, data: bytes) -> tuple[int, bytes]:
    body, content_type = multipart("image", "digit.png", data)
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def built_project(tmp_path_factory, docker_engine):
    project = render(tmp_path_factory.mktemp("docker") / "digit-recognizer")
    pipeline_for_plumbing(project)  # the images, not the accuracy, are under test here
    run_in(project, "dvc", "repro", "--quiet")
    return project


def test_images_build_run_non_root_and_serve_a_prediction_through_the_frontend(built_project):
    project = built_project
    name, tag = f"fsmltest{uuid.uuid4().hex[:8]}", "test"
    images = {part: f"local/digit-recognizer-{part}:{tag}" for part in ("backend", "frontend")}
    sizes = {}
    for part, image in images.items():
        started = time.monotonic()
        docker(
            "build",
            "-q",
            "-f",
            str(project / "docker" / f"{part}.Dockerfile"),
            "-t",
            image,
            str(project),
            timeout=1200,
        )
        info = json.loads(docker("image", "inspect", image).stdout)[0]
        sizes[part] = (info["Size"] / 1e6, time.monotonic() - started)
        assert info["Config"]["User"] not in ("", "0", "root", "0:0"), f"{part} runs as non-root"
        assert info["Config"]["Healthcheck"]["Test"][0] == "CMD", f"{part} has an exec-form HEALTHCHECK"
        assert isinstance(info["Config"]["Cmd"], list)
        assert info["Config"]["Cmd"][0] in ("gunicorn", "nginx")
    assert sizes["backend"][0] < 500, f"backend image is {sizes['backend'][0]:.0f} MB"
    no_torch = docker(
        "run", "--rm", "--entrypoint", "python", images["backend"], "-c", "import torch", check=False
    )
    assert "No module named 'torch'" in no_torch.stderr, "the serving image has no PyTorch"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "docker-images.txt").write_text(
        "".join(
            f"{part}: {size:.1f} MB (built in {seconds:.1f} s on stand-in bases)\n"
            for part, (size, seconds) in sizes.items()
        )
    )
    print(f"image sizes: {sizes}")

    port = free_port()
    env = {"REGISTRY": "local", "IMAGE_TAG": tag, "WEB_PORT": str(port)}
    compose = ["docker-compose", "--project-name", name]
    try:
        run_in(project, *compose, "up", "--detach", "--no-build", env_extra=env, timeout=300)
        for part in ("backend", "frontend"):
            wait_healthy(f"{name}_{part}_1")
        assert docker("exec", f"{name}_backend_1", "id", "-u").stdout.strip() == "10001"
        started = docker("logs", f"{name}_backend_1")
        assert "golden set passed" in started.stdout + started.stderr, "the backend self-tests at start"
        digit = sorted((project / "data" / "raw" / "7").glob("*.png"))[0].read_bytes()
        status, body = post_image(f"http://127.0.0.1:{port}/api/predict", digit)
        assert status == 200, body
        prediction = json.loads(body)
        assert prediction["label"] == "7"
        assert prediction["model_version"].startswith("local-")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/evaluation", timeout=30) as response:
            shown = {model["name"]: model for model in json.loads(response.read())["models"]}
        assert list(shown) == ["teacher", "student", "pruned"], "the Evaluation page has the image's reports"
        assert shown["teacher"]["benchmark"], "and the benchmark of the same run"
        status, body = post_image(f"http://127.0.0.1:{port}/api/predict", b"not an image")
        assert 400 <= status < 500
        assert "error" in json.loads(body)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/models", timeout=10) as page:
            assert b'<div id="app">' in page.read(), "Vue routes are served by nginx"
        docker("stop", f"{name}_backend_1")
        status, _ = post_image(f"http://127.0.0.1:{port}/api/predict", digit)
        assert status in (502, 504), "the UI stays up and reports the backend as down"
    finally:
        subprocess.run(
            [*compose, "down", "--volumes", "--timeout", "5"],
            cwd=project,
            capture_output=True,
            env=project_env(project) | env,
        )
