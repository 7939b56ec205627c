"""Post-generation hook shared by the Copier and Cookiecutter forms of the template.

Turns a freshly rendered directory into a working repository: `git init`, `dvc init`,
a default DVC remote (the project's own `make dvc-init`, with the answers' remote URL), and a
first commit. Runs with the rendered project as the working directory, on the interpreter
Copier (or Cookiecutter) runs on. When neither that interpreter nor PATH has DVC (Copier
installed with pipx or `uv tool`), the DVC part is left to `make install`, which runs the same
`make dvc-init` with the project's own DVC. Never destroys anything: an existing git or DVC
repo is left as is.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True)


def dvc_command() -> list[str] | None:
    if shutil.which("dvc"):
        return ["dvc"]
    probe = subprocess.run([sys.executable, "-c", "import dvc"], capture_output=True)
    return [sys.executable, "-m", "dvc"] if probe.returncode == 0 else None


def git_identity(name: str, email: str) -> list[str]:
    """Use the user's git identity when configured, the template answers otherwise."""
    configured = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True)
    if configured.stdout.strip():
        return []
    return ["-c", f"user.name={name}", "-c", f"user.email={email}"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--author-name", required=True)
    parser.add_argument("--author-email", required=True)
    args = parser.parse_args()
    project = Path.cwd()

    if not (project / ".git").exists():
        run("git", "init", "--quiet", "--initial-branch=main")

    dvc = dvc_command()
    if dvc is None or shutil.which("make") is None:
        print(
            "post_gen: DVC is not installed beside Copier, so the DVC repository is not created yet: "
            "`make install` creates it (and its default remote) with the project's own DVC.",
            file=sys.stderr,
        )
    elif not (project / ".dvc").exists():
        run("make", "--no-print-directory", "dvc-init", f"DVC={shlex.join(dvc)}")

    run("git", "add", "--all")
    staged = subprocess.run(["git", "diff", "--cached", "--quiet"])
    if staged.returncode != 0:
        identity = git_identity(args.author_name, args.author_email)
        run("git", *identity, "commit", "--quiet", "--no-verify", "-m", "Initial project from fullstack-ml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
