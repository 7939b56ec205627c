"""The template's own releases: `.github/workflows/tag.yml` under act tags the newest CHANGELOG.md
version in a local bare repository standing in for GitHub (this checkout has no tags of its own;
tags are made in a scratch clone), does nothing the second time, and refuses a version that is not
above the last tag."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import TEMPLATE, project_env, run_in

CHECKOUT = re.compile(r"uses: (actions/checkout@[0-9a-f]{40})")


def act_tag_workflow(repo: Path, origin: Path, succeed: bool = True) -> str:
    workflow = repo / ".github" / "workflows" / "tag.yml"
    event = repo.parent / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/fullstack-ml"}}))
    result = subprocess.run(
        [
            "act",
            "push",
            "-W",
            ".github/workflows/tag.yml",
            "-P",
            "ubuntu-latest=-self-hosted",
            "--local-repository",
            f"{CHECKOUT.search(workflow.read_text()).group(1)}={TEMPLATE / 'tests' / 'act' / 'checkout'}",
            "--env",
            f"STANDIN_REPO={origin}",
            "--no-skip-checkout",  # a real clone of origin (its tags), not act's copy of this folder
            "-e",
            str(event),
        ],
        cwd=repo,
        env=project_env(repo),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode == 0) == succeed, result.stdout[-4000:] + result.stderr[-2000:]
    assert "stand-in checkout:" in result.stdout, "the job worked on a clone of origin"
    return result.stdout


def tags(origin: Path) -> dict[str, str]:
    """Tag -> the commit it points at, in the bare repository."""
    listing = run_in(
        origin, "git", "for-each-ref", "--format=%(refname:short) %(*objectname)", "refs/tags"
    ).stdout
    return dict(line.split() for line in listing.splitlines())


@pytest.fixture
def scratch(tmp_path):
    """A scratch repository with the template's CHANGELOG.md, tag script and workflow, whose bare
    'origin' has only v0.1.0 (on an earlier commit)."""
    repo, origin = tmp_path / "fullstack-ml", tmp_path / "origin.git"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "scripts").mkdir()
    run_in(tmp_path, "git", "init", "-q", "-b", "main", str(repo))
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## v0.1.0 — first\n\n- the start\n")
    run_in(repo, "git", "add", "-A")
    run_in(repo, "git", "commit", "-qm", "v0.1.0")
    run_in(repo, "git", "tag", "-a", "v0.1.0", "-m", "v0.1.0")
    shutil.copy(TEMPLATE / "CHANGELOG.md", repo / "CHANGELOG.md")
    shutil.copy(TEMPLATE / "scripts" / "changelog_tag.py", repo / "scripts")
    shutil.copy(TEMPLATE / ".github" / "workflows" / "tag.yml", repo / ".github" / "workflows")
    run_in(repo, "git", "add", "-A")
    run_in(repo, "git", "commit", "-qm", "Newest CHANGELOG entry")
    run_in(tmp_path, "git", "init", "-q", "--bare", str(origin))
    run_in(repo, "git", "remote", "add", "origin", str(origin))
    run_in(repo, "git", "push", "-q", "origin", "main", "v0.1.0")
    return repo, origin


def test_tag_workflow_tags_the_newest_changelog_version_once(scratch):
    repo, origin = scratch
    newest = re.search(r"^## (v\d+\.\d+\.\d+)", (TEMPLATE / "CHANGELOG.md").read_text(), re.MULTILINE).group(
        1
    )
    head = run_in(repo, "git", "rev-parse", "HEAD").stdout.strip()
    output = act_tag_workflow(repo, origin)
    assert f"changelog-tag: pushed {newest}" in output
    assert tags(origin)[newest] == head
    message = run_in(origin, "git", "tag", "--list", "--format=%(contents)", newest).stdout
    assert message.startswith(newest)
    assert message.count("\n- ") >= 1, "the entry's notes are the tag message"

    again = act_tag_workflow(repo, origin)
    assert f"changelog-tag: {newest} is tagged already; nothing to do" in again
    assert set(tags(origin)) == {"v0.1.0", newest}


def test_tag_workflow_refuses_a_version_not_above_the_last_tag(scratch):
    repo, origin = scratch
    run_in(repo, "git", "tag", "-a", "v9.0.0", "-m", "v9.0.0")
    run_in(repo, "git", "push", "-q", "origin", "v9.0.0")
    output = act_tag_workflow(repo, origin, succeed=False)
    assert "is not above the last tag v9.0.0" in output
    assert set(tags(origin)) == {"v0.1.0", "v9.0.0"}
