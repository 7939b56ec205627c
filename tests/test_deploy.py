"""Release -> deploy -> automatic rollback, for real on this machine.

A local registry (Debian's `docker-registry`) receives the images that the generated `release.yml`
builds under act; `deploy.yml` under act then deploys v1.0.0 to the local Docker engine, v1.1.0
(good), v1.2.0 (its server listens on the wrong port, so readiness never passes), which
`scripts/deploy.sh` rolls back to v1.1.0 by itself, and finally v1.0.0 by hand (the manual rollback
path). A client polls /api/predict through the frontend's proxy the whole time; no request may
fail outside the switch windows that deploy.sh prints. The figures go to
test-artifacts/deploy-report.txt.

The release's `images` job runs with the job it needs, `artifacts`, which pulls the models from a
DVC remote that the fixture filled (so the pipeline does not run again for each release).
"""

import json
import re
import subprocess
import threading
import time
import urllib.request

import pytest
import yaml

from .conftest import TEMPLATE, project_env, render, reproduce_for_plumbing, run_in, wait_for_http
from .databases import free_port
from .test_docker import docker, docker_engine, post_image  # noqa: F401 (docker_engine is a fixture)
from .test_workflows import TOKEN, act, tag_event

pytestmark = pytest.mark.e2e
ARTIFACTS = TEMPLATE / "test-artifacts"
VERSIONS = ["v1.0.0", "v1.1.0", "v1.2.0"]
ENVIRONMENT = "staging"
COMPOSE_PROJECT = f"digit-recognizer-{ENVIRONMENT}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory, docker_engine):  # noqa: F811
    """A real registry on 127.0.0.1 (no TLS; Docker allows plain HTTP to localhost)."""
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    log = open(root / "registry.log", "wb")  # noqa: SIM115 (lives as long as the registry)
    server = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", root / "registry.log", "docker-registry")
        yield f"localhost:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def registry_tags(registry: str, image: str) -> set[str]:
    host = registry.replace("localhost", "127.0.0.1")
    with urllib.request.urlopen(f"http://{host}/v2/acme/{image}/tags/list", timeout=5) as response:
        return set(json.loads(response.read())["tags"])


@pytest.fixture(scope="module")
def released(tmp_path_factory, registry, plumbed_pipeline):
    """A render whose three tags are released under act into the local registry."""
    root = tmp_path_factory.mktemp("deploy")
    project = render(root / "digit-recognizer", container_registry=f"{registry}/acme")
    origin, artifacts = root / "origin.git", root / "artifacts"
    reproduce_for_plumbing(project, plumbed_pipeline)
    # A remote every clone reaches (an absolute path, as a team's shared storage would be).
    run_in(project, "dvc", "remote", "modify", "storage", "url", str(root / "dvc-storage"))
    run_in(project, "dvc", "push", "--quiet")
    run_in(project, "git", "add", "-A")
    run_in(project, "git", "commit", "-qm", "Baseline model")
    run_in(project, "git", "tag", "v1.0.0")
    config = project / "src" / "digit_recognizer" / "settings.py"
    text = config.read_text()
    threads = re.compile(r"GUNICORN_THREADS: Count = (\d+)")
    more_threads = threads.sub(lambda m: f"GUNICORN_THREADS: Count = {int(m[1]) * 2}", text)
    assert more_threads != text, "settings.py gives GUNICORN_THREADS a default"
    config.write_text(more_threads)
    run_in(project, "git", "commit", "-qam", "More threads per worker")
    run_in(project, "git", "tag", "v1.1.0")
    # The broken release: the server comes up on another port, so /readyz never answers on 8000.
    config.write_text(config.read_text().replace('"0.0.0.0:8000"', '"0.0.0.0:8001"'))
    run_in(project, "git", "commit", "-qam", "Listen on 8001 (a regression)")
    run_in(project, "git", "tag", "v1.2.0")
    run_in(root, "git", "init", "-q", "--bare", str(origin))
    run_in(project, "git", "push", "-q", str(origin), "main", *VERSIONS)
    outputs = {}
    for version in VERSIONS:
        run_in(project, "git", "checkout", "-q", version)  # act takes github.sha from the checkout
        outputs[version] = act(
            project,
            origin,
            "push",
            "release.yml",
            artifacts,
            "--job",
            "images",
            "--secret",
            f"GITHUB_TOKEN={TOKEN}",
            event_file=tag_event(root, version),
        )
    run_in(project, "git", "checkout", "-q", "main")
    return project, origin, artifacts, outputs


def test_release_pushes_the_image_tag_that_deploys_pull(released, registry):
    project, _, _, outputs = released
    for version in VERSIONS:
        tag = run_in(project, "scripts/image-tag.sh", version).stdout.strip()
        assert tag == version.removeprefix("v")
        assert "stand-in build-push: pushed every tag" in outputs[version]
        assert f"--tag {registry}/acme/digit-recognizer-backend:{tag}" in outputs[version]
        # compose, given the tag by deploy.sh, names exactly the pushed images.
        config = run_in(project, "docker-compose", "config", env_extra={"IMAGE_TAG": tag}).stdout
        images = set(re.findall(r"image: (\S+)", config))
        assert images == {
            f"{registry}/acme/digit-recognizer-{part}:{tag}" for part in ("backend", "frontend")
        }
    for image in ("digit-recognizer-backend", "digit-recognizer-frontend"):
        assert registry_tags(registry, image) == {"1.0.0", "1.0", "1.1.0", "1.1", "1.2.0", "1.2", "latest"}
    latest = re.compile(r"--tag \S+:latest\b")
    assert latest.search(outputs["v1.2.0"])
    assert not latest.search(outputs["v1.0.0"] + outputs["v1.1.0"]), "latest only for the newest version"
    deploy_script = (project / "scripts" / "deploy.sh").read_text()
    assert 'tag="$(scripts/image-tag.sh "$version")"' in deploy_script
    assert "scripts/image-tag.sh" in (project / "scripts" / "k8s.sh").read_text()


class Poller(threading.Thread):
    """POSTs a digit to /api/predict every 0.1 s and records (start, end, status); status 0 is a
    connection error."""

    def __init__(self, url: str, image: bytes):
        super().__init__(daemon=True)
        self.url, self.image = url, image
        self.results: list[tuple[float, float, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.time()
            try:
                status, _ = post_image(self.url, self.image)
            except OSError:
                status = 0
            self.results.append((started, time.time(), status))
            self.stopped.wait(0.1)


def switch_windows(output: str) -> list[tuple[float, float]]:
    starts = [float(t) for t in re.findall(r"deploy: switch started at ([\d.]+)", output)]
    ends = [float(t) for t in re.findall(r"deploy: switch ended at ([\d.]+)", output)]
    assert len(starts) == len(ends) == 1, output[-3000:]
    return [(starts[0], ends[0])]


def live_tag() -> str:
    """The image tag of the environment's backend container (found by compose's labels)."""
    project = f"label=com.docker.compose.project={COMPOSE_PROJECT}"
    service = "label=com.docker.compose.service=backend"
    container = docker("ps", "--quiet", "--filter", project, "--filter", service).stdout.split()
    assert len(container) == 1, container
    image = docker("inspect", "--format", "{{.Config.Image}}", container[0]).stdout.strip()
    return image.rsplit(":", 1)[1]


def test_deploy_verifies_rolls_back_a_failed_version_and_keeps_serving(released):
    project, origin, artifacts, _ = released
    port = free_port()
    settings = ("--env", f"WEB_PORT={port}", "--env", "DEPLOY_READY_TIMEOUT=30")

    def deploy(version: str, succeed: bool = True) -> str:
        return act(
            project,
            origin,
            "workflow_dispatch",
            "deploy.yml",
            artifacts,
            "--input",
            f"version={version}",
            "--input",
            f"environment={ENVIRONMENT}",
            *settings,
            succeed=succeed,
        )

    digit = next((project / "data" / "raw" / "7").glob("*.png")).read_bytes()
    poller = Poller(f"http://127.0.0.1:{port}/api/predict", digit)
    report, windows = [], []
    try:
        output = deploy("v1.0.0")
        assert "runs nothing; deploying v1.0.0 as image tag 1.0.0" in output
        assert f"deploy: {ENVIRONMENT} now runs 1.0.0 (v1.0.0)" in output
        assert live_tag() == "1.0.0"
        poller.start()
        time.sleep(2)
        for version, succeed, live in (
            ("v1.1.0", True, "1.1.0"),
            ("v1.2.0", False, "1.1.0"),
            ("v1.0.0", True, "1.0.0"),
        ):
            output = deploy(version, succeed)
            window = switch_windows(output)[0]
            windows.append(window)
            assert live_tag() == live
            report.append((version, succeed, live, window))
            if not succeed:
                assert "deploy: v1.2.0 failed on staging: not ready after 30s" in output
                assert "rolled back, staging runs 1.1.0" in output
                assert "Job failed" in output
            time.sleep(2)  # requests after the switch, to catch late failures
    finally:
        poller.stopped.set()
        if poller.is_alive():
            poller.join(timeout=30)
        subprocess.run(
            ["docker-compose", "--project-name", COMPOSE_PROJECT, "down", "--volumes", "--timeout", "5"],
            cwd=project,
            capture_output=True,
            env=project_env(project) | {"IMAGE_TAG": "1.0.0"},
        )

    def inside(request: tuple[float, float, int]) -> bool:
        return any(start <= request[1] and request[0] <= end for start, end in windows)

    failed = [r for r in poller.results if r[2] != 200]
    failed_outside = [r for r in failed if not inside(r)]
    lines = [
        f"requests: {len(poller.results)}, failed: {len(failed)}, "
        f"failed outside switch windows: {len(failed_outside)}"
    ]
    for version, succeed, live, (start, end) in report:
        in_window = [r for r in poller.results if start <= r[1] and r[0] <= end]
        failed_in_window = sum(r[2] != 200 for r in in_window)
        lines.append(
            f"{version}: {'deployed' if succeed else 'failed, rolled back'}; live {live}; switch window "
            f"{end - start:.1f} s; requests in it {len(in_window)}, failed {failed_in_window}"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "deploy-report.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert len(poller.results) > 100
    assert not failed_outside, failed_outside[:10]
