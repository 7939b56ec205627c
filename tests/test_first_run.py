"""A new user's first run, however Copier was installed: Copier in a venv of its own that is not on
PATH (as pipx or `uv tool install` leave it), a shell with only the system's tools (no DVC, no
project venv), and the generated README's "first 10 minutes" commands run exactly as written.

The one change to the render before those commands: plumbing params (tests/conftest.py), so that
`make repro` checks the pipeline's wiring in minutes rather than its accuracy, which
test_pipeline_e2e.py measures with the defaults."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from .conftest import NODE_BIN, TEMPLATE, pipeline_for_plumbing

pytestmark = pytest.mark.e2e
# What a machine has before the project is set up: system tools (git, make, python3) and a Node 24
# install (here PyPI's, scripts/bootstrap.sh; Debian's is too old).
SYSTEM_PATH = f"{NODE_BIN}:/usr/local/bin:/usr/bin:/bin"
LOCK_LINE = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def readme_first_commands(readme: str) -> list[str]:
    """The command lines of the README's "Your first 10 minutes" block, as written."""
    section = readme.split("## Your first 10 minutes", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def locked_versions(lock: Path) -> dict[str, str]:
    """name -> version of every lock entry whose environment marker holds on this interpreter."""
    versions = {}
    for line in lock.read_text().splitlines():
        if match := LOCK_LINE.match(line):
            name, version, marker = match.groups()
            if marker is None or Marker(marker).evaluate():
                versions[canonicalize_name(name)] = version
    return versions


def shell_script(commands: list[str], port: int) -> str:
    """The commands in one bash session (`source` carries over); `make serve` runs in the
    background until /readyz answers and one prediction is served, then the rest go on."""
    lines, base = ["set -euo pipefail", f"export GUNICORN_BIND=127.0.0.1:{port}"], f"http://127.0.0.1:{port}"
    for command in commands:
        if command.startswith("make serve"):
            bare = re.sub(r"\s+#\s.*$", "", command)
            lines += [
                f"{bare} > serve.log 2>&1 &",
                "server=$!",
                f"for _ in {{1..120}}; do curl -fs {base}/readyz >/dev/null && break; sleep 1; done",
                'sample="$(find data/raw/7 -name "*.png" | head -n 1)"',
                f'curl -fsS -F "image=@$sample" {base}/api/predict > served.json',
                'kill "$server"; wait "$server" || true',
            ]
        else:
            lines.append(command)
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("first-run")
    copier_venv = root / "copier-venv"
    subprocess.run([sys.executable, "-m", "venv", str(copier_venv)], check=True)
    subprocess.run(
        [copier_venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "copier>=9.4,<10"],
        check=True,
    )
    # The machine's own environment (its CA bundle, pip's index settings), without any venv.
    machine = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "VIRTUAL_ENV", "PYTHON"))}
    env = machine | {
        "PATH": SYSTEM_PATH,
        "GIT_AUTHOR_NAME": "New User",
        "GIT_AUTHOR_EMAIL": "new.user@example.com",
        "GIT_COMMITTER_NAME": "New User",
        "GIT_COMMITTER_EMAIL": "new.user@example.com",
    }
    project = root / "digit-recognizer"
    copied = subprocess.run(
        [
            copier_venv / "bin" / "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            TEMPLATE,
            project,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert copied.returncode == 0, copied.stderr[-3000:]
    after_copy_has_dvc = (project / ".dvc").exists()
    pipeline_for_plumbing(project)
    commands = readme_first_commands((project / "README.md").read_text())
    port = free_port()
    run = subprocess.run(
        ["bash", "-c", shell_script(commands, port)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    log = (project / "serve.log").read_text() if (project / "serve.log").exists() else ""
    assert run.returncode == 0, f"{run.stdout[-5000:]}\n{run.stderr[-5000:]}\nserve.log:\n{log[-2000:]}"
    return project, copied, after_copy_has_dvc, commands, run


def test_copier_without_dvc_leaves_the_dvc_repository_to_make_install(first_run):
    _, copied, after_copy_has_dvc, _, _ = first_run
    assert not after_copy_has_dvc
    assert "`make install` creates it" in copied.stderr


def test_readme_commands_run_verbatim_from_install_to_serving(first_run):
    project, _, _, commands, run = first_run
    assert commands[0].startswith("make install")
    assert any(c.startswith("make repro") for c in commands)
    assert "dvc-init: created the DVC repository" in run.stdout
    remotes = subprocess.run(
        [project / ".venv" / "bin" / "dvc", "remote", "list"], cwd=project, capture_output=True, text=True
    ).stdout.split()
    assert remotes[0] == "storage"
    assert remotes[-1] == "(default)"
    assert "Running stage 'check'" in run.stdout or "Running stage 'check'" in run.stderr
    assert re.search(r"\d+ passed", run.stdout)
    assert " failed" not in run.stdout
    served = (project / "served.json").read_text()
    assert '"label"' in served, served


def test_make_install_installs_exactly_the_locked_versions(first_run):
    project, *_ = first_run
    freeze = subprocess.run(
        [project / ".venv" / "bin" / "pip", "freeze", "--all", "--exclude-editable", "--exclude", "pip"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {}
    for line in freeze.splitlines():
        name, _, version = line.partition("==")
        installed[canonicalize_name(name)] = version
    expected = locked_versions(project / "requirements" / "dev.lock")
    assert installed == expected
    assert installed["torch"] == expected["torch"]
    assert installed["torchvision"] == expected["torchvision"]


def test_the_shipped_locks_are_what_make_lock_writes(first_run):
    """`make lock` (uv, from pyproject.toml and requirements/pins.txt, releases before the
    `exclude-newer` date) reproduces the committed locks; the CPU lock is the full one without
    PyPI's CUDA build of torch/torchvision and the CUDA libraries it pulls."""
    project, *_ = first_run
    subprocess.run(["make", "lock"], cwd=project, check=True, capture_output=True, timeout=600)
    diff = subprocess.run(
        ["git", "diff", "--stat", "--", "requirements"], cwd=project, capture_output=True, text=True
    )
    assert diff.stdout == "", diff.stdout
    full = locked_versions(project / "requirements" / "dev.lock")
    cpu = locked_versions(project / "requirements" / "dev-cpu.lock")
    left_out = set(full) - set(cpu)
    assert {"torch", "torchvision", "triton"} <= left_out
    assert all(re.match(r"torch$|torchvision$|triton$|cuda-|nvidia-(cu|n)", name) for name in left_out), (
        left_out
    )
    assert set(cpu) <= set(full)
    assert {"torch-pruning", "onnxruntime", "dvc"} <= set(cpu)
    serve = locked_versions(project / "requirements" / "serve.lock")
    assert "torch" not in serve
    assert all(full[name] == version for name, version in serve.items())
