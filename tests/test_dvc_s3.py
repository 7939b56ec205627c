"""The DVC S3 remote, for real: a render with `dvc_remote=s3` pushes its pipeline outputs to a local
S3-compatible server (moto's server mode, on 127.0.0.1 only), a fresh clone pulls them back, and
`dvc repro` there has nothing to do."""

import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .conftest import TOOLS_BIN, render, reproduce_for_plumbing, run_in, wait_for_http
from .databases import free_port

pytestmark = pytest.mark.e2e
BUCKET = "models-bucket"


@pytest.fixture
def s3_endpoint(tmp_path):
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115 (lives as long as the server)
    server = subprocess.Popen(
        [str(Path(TOOLS_BIN) / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{endpoint}/", tmp_path / "moto.log", "moto_server")
        # Create the bucket (moto's server accepts unsigned requests).
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"), timeout=5)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def use_endpoint(project: Path, endpoint: str) -> None:
    """What a user does once per machine: the endpoint and credentials, kept out of git (--local)."""
    for option, value in (
        ("endpointurl", endpoint),
        ("access_key_id", "testing"),
        ("secret_access_key", "testing"),
        ("region", "us-east-1"),
    ):
        run_in(project, "dvc", "remote", "modify", "--local", "storage", option, value)


def bucket_keys(endpoint: str) -> list[str]:
    with urllib.request.urlopen(f"{endpoint}/{BUCKET}?list-type=2&max-keys=1000", timeout=10) as response:
        return re.findall(r"<Key>([^<]+)</Key>", response.read().decode())


def test_dvc_push_to_s3_then_fresh_clone_pulls_and_has_nothing_to_reproduce(
    tmp_path, s3_endpoint, plumbed_pipeline
):
    project = render(tmp_path / "digit-recognizer", dvc_remote="s3", dvc_remote_url=f"s3://{BUCKET}/dvc")
    assert f"url = s3://{BUCKET}/dvc" in (project / ".dvc" / "config").read_text()
    use_endpoint(project, s3_endpoint)
    reproduce_for_plumbing(project, plumbed_pipeline)
    run_in(project, "git", "add", "-A")
    run_in(project, "git", "commit", "-qm", "Baseline model")
    pushed = run_in(project, "dvc", "push")
    assert re.search(r"\d+ files? pushed", pushed.stdout), pushed.stdout
    keys = bucket_keys(s3_endpoint)  # the first 1000 are enough to see where they went
    assert keys
    assert all(key.startswith("dvc/files/md5/") for key in keys)

    clone = tmp_path / "clone"
    run_in(tmp_path, "git", "clone", "-q", str(project), str(clone))
    assert not (clone / "models").exists()
    use_endpoint(clone, s3_endpoint)
    pulled = run_in(clone, "dvc", "pull")
    model = Path("models") / "int8" / "model.onnx"
    assert (clone / model).read_bytes() == (project / model).read_bytes()
    repro = run_in(clone, "dvc", "repro")
    assert "Data and pipelines are up to date." in repro.stdout
    assert "Running stage" not in repro.stdout
    last_line = [output.stdout.strip().splitlines()[-1] for output in (pushed, pulled)]
    print(f"S3 round trip: {last_line[0]}; {last_line[1]}")
