"""The generated GitHub Actions: static checks on several renders (zizmor, the workflow JSON
schema, shellcheck), then real act runs on a render: `ci` on push, `train` + its model-review
job on a labelled pull request, and the release's model artifacts (its images and `deploy.yml`
run in test_deploy.py). Remote actions are replaced by the stand-ins in tests/act/, and
GitHub's comment API by tests/github_standin.py."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, project_env, render, reproduce_for_plumbing, run_in
from .github_standin import GitHubStandIn

STANDINS = TEMPLATE / "tests" / "act"
USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")
REPOSITORY = "acme/digit-recognizer"
TOKEN = "standin-token"
SCREENSHOTS = TEMPLATE / "test-artifacts" / "e2e-screenshots"

STATIC_RENDERS = {
    "defaults": {},
    "s3-no-frontend": {"dvc_remote": "s3", "dvc_remote_url": "s3://bucket/dvc", "include_frontend": False},
    "ssh-postgresql": {
        "dvc_remote": "ssh",
        "dvc_remote_url": "ssh://user@host/srv/dvc",
        "database": "postgresql",
    },
}


def workflows(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("answers", STATIC_RENDERS.values(), ids=STATIC_RENDERS.keys())
def test_workflows_pass_zizmor_schema_and_shellcheck(tmp_path, answers):
    project = render(tmp_path / "project", **answers)
    files = workflows(project)
    assert {f.name for f in files} == {"ci.yml", "train.yml", "release.yml", "deploy.yml"}
    zizmor = run_in(
        project, "zizmor", "--offline", "--persona", "pedantic", "--no-progress", *map(str, files)
    )
    assert "No findings" in zizmor.stdout
    run_in(project, "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, files))
    dependabot = project / ".github" / "dependabot.yml"
    run_in(project, "check-jsonschema", "--builtin-schema", "vendor.dependabot", str(dependabot))
    updates = yaml.safe_load(dependabot.read_text())["updates"]
    ecosystems = {update["package-ecosystem"]: update for update in updates}
    expected = {"github-actions", "pip", "docker", "docker-compose"} | (
        {"npm"} if answers.get("include_frontend", True) else set()
    )
    assert set(ecosystems) == expected
    if "npm" in ecosystems:
        assert ecosystems["npm"]["directory"] == "/frontend"
    for path in files:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] in ({}, {"contents": "read"}), f"{path.name}: read-only at the top"
        for name, job in workflow["jobs"].items():
            assert job.get("timeout-minutes"), f"{path.name}/{name} has a timeout"
            for index, step in enumerate(job["steps"]):
                if step.get("uses", "").startswith("actions/checkout"):
                    assert step["with"]["persist-credentials"] is False
                if "run" not in step:
                    continue
                assert "${{" not in step["run"], f"{path.name}/{name}: expressions go through env, not run"
                script = tmp_path / f"{path.stem}-{name}-{index}.sh"
                script.write_text("#!/usr/bin/env bash\n" + step["run"])
                run_in(project, "shellcheck", "--shell=bash", str(script))
    # The scripts the workflows call (deploy, image tag, Kubernetes render).
    run_in(project, "shellcheck", *sorted(str(p) for p in (project / "scripts").glob("*.sh")))
    for uses, sha in USES.findall("".join(f.read_text() for f in files)):
        assert re.search(rf"{re.escape(uses)}@{sha} # v\d", "".join(f.read_text() for f in files)), uses


@pytest.fixture(scope="module")
def act_project(tmp_path_factory, plumbed_pipeline):
    """A MariaDB render with a trained baseline on main (plumbing params: the workflows, not the
    accuracy, are under test here), pushed to a bare 'origin'. Its pipeline is the default
    render's (the database answer changes compose, deploy and docs only), so plumbed_pipeline's
    run-cache restores it."""
    root = tmp_path_factory.mktemp("act")
    project = render(root / "digit-recognizer", database="mariadb")
    origin = root / "origin.git"
    reproduce_for_plumbing(project, plumbed_pipeline)
    run_in(project, "git", "add", "-A")
    run_in(project, "git", "commit", "-qm", "Baseline model")
    run_in(root, "git", "init", "-q", "--bare", str(origin))
    run_in(project, "git", "remote", "add", "origin", str(origin))
    run_in(project, "git", "push", "-q", "-u", "origin", "main")
    return project, origin


def act(
    project: Path,
    origin: Path,
    event: str,
    workflow: str,
    artifacts: Path,
    *extra: str,
    event_file=None,
    succeed: bool = True,
):
    """Run one workflow under act on this machine; assert it succeeds (or, with succeed=False, fails)."""
    text = (project / ".github" / "workflows" / workflow).read_text()
    command = [
        "act",
        event,
        "-W",
        f".github/workflows/{workflow}",
        "--env",
        f"STANDIN_REPO={origin}",
        "--env",
        f"STANDIN_ARTIFACTS={artifacts}",
        "--env",
        f"GITHUB_REPOSITORY={REPOSITORY}",
    ]
    labels = {"ubuntu-latest"} | set(
        json.loads(
            re.search(
                r"runs-on: (\[.*\])", (project / ".github" / "workflows" / "train.yml").read_text()
            ).group(1)
        )
    )
    for label in sorted(labels):
        command += ["-P", f"{label}=-self-hosted"]  # GPU labels map to this machine: the CPU path
    for uses, sha in sorted(set(USES.findall(text))):
        standin = STANDINS / uses.split("/")[1]
        assert standin.is_dir(), f"no stand-in for {uses}"
        command += ["--local-repository", f"{uses}@{sha}={standin}"]
    if event_file:
        command += ["-e", str(event_file)]
    result = subprocess.run(
        [*command, *extra], cwd=project, env=project_env(project), capture_output=True, text=True, timeout=900
    )
    assert (result.returncode == 0) == succeed, failed_jobs_log(result.stdout) + result.stderr[-3000:]
    return result.stdout


def failed_jobs_log(output: str, limit: int = 8000) -> str:
    """The tail of each failed job's own lines (act prefixes them `[workflow/job name]`), so that a
    failure report shows why that job failed, not the last lines of whichever job ran last."""
    failed = re.findall(r"^\[([^\]]+)\]\s+🏁\s+Job failed", output, re.MULTILINE)
    if not failed:
        return output[-limit:]
    share, lines = limit // len(failed), output.splitlines()
    logs = ("\n".join(line for line in lines if line.startswith(f"[{job}]")) for job in failed)
    return "\n".join(log[-share:] for log in logs)


def test_act_ci_workflow_passes_lint_tests_validation_and_frontend(act_project, database_servers, tmp_path):
    """The render's CI on push; its `make test` runs the serving tests on a real MariaDB server
    (TEST_DATABASE_URL, as a team's CI would give it a service container): the MariaDB render's
    own suite on its database, which test_render.py runs for PostgreSQL."""
    project, origin = act_project
    url = database_servers.url("mariadb")
    # One job at a time: the jobs that install the project share the tests' venv here.
    output = act(
        project,
        origin,
        "push",
        "ci.yml",
        tmp_path / "artifacts",
        "--concurrent-jobs",
        "1",
        "--env",
        f"TEST_DATABASE_URL={url}",
    )
    assert re.search(r"\[ci/Lint and tests\s*\] 🏁  Job succeeded", output)
    assert re.search(r"\[ci/Web UI\s*\] 🏁  Job succeeded", output)
    assert re.search(r"\[ci/Web UI in Chromium\s*\] 🏁  Job succeeded", output)
    for step in ("Lint", "Tests", "Validate data", "ESLint and Prettier", "Unit tests", "Browser e2e test"):
        assert f"Success - Main {step}" in output
    assert re.search(r"\[ci/Lint and tests\s*\]\s+\|\s+serving tests' database: mysql\+pymysql://", output)
    # pytest colours its summary line under act: "\x1b[32m241 passed", so no word boundary before the count
    assert re.search(r"\[ci/Lint and tests\s*\]\s+\|.*\d+ passed", output)
    assert "stand-in setup-node: wanted 24, found v24." in output
    # The e2e job's artifact: a screenshot of every page the browser test visited, kept for the
    # template's own CI (test-artifacts/, uploaded there).
    shots = {
        path.name: path.stat().st_size for path in (tmp_path / "artifacts" / "e2e-screenshots").glob("*.png")
    }
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
        "login.png",
        "users.png",
        "audit.png",
    }
    assert min(shots.values()) > 5_000, "screenshots show rendered pages"
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    shutil.copytree(tmp_path / "artifacts" / "e2e-screenshots", SCREENSHOTS)


def pr_event(path: Path, head_repo: str, labels: list[str], head: str, base: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "action": "labeled",
                "number": 7,
                "pull_request": {
                    "number": 7,
                    "labels": [{"name": label} for label in labels],
                    "head": {"ref": "more-epochs", "sha": head, "repo": {"full_name": head_repo}},
                    "base": {"ref": "main", "sha": base, "repo": {"full_name": REPOSITORY}},
                },
                "repository": {"full_name": REPOSITORY},
            }
        )
    )
    return path


def test_act_train_on_cpu_and_model_review_updates_one_comment(act_project, tmp_path):
    """A PR that trains longer and tightens the size budget past what any model here meets: the
    train job fails on the budget, but only after the review was written, and the review comment
    marks the budget FAIL next to the base branch's figure."""
    project, origin = act_project
    base = run_in(project, "git", "rev-parse", "main").stdout.strip()
    run_in(project, "git", "checkout", "-q", "-b", "more-epochs")
    params = project / "params.yaml"
    text = re.sub(r"(?m)^  epochs: \d+", "  epochs: 6", params.read_text(), count=1)  # train.epochs
    params.write_text(re.sub(r"(?m)^  max_model_size_mb: [\d.]+", "  max_model_size_mb: 0.001", text))
    run_in(project, "git", "commit", "-qam", "Train for 6 epochs, under a 1 KB size budget")
    run_in(project, "git", "push", "-q", "origin", "more-epochs")
    head = run_in(project, "git", "rev-parse", "HEAD").stdout.strip()
    event = pr_event(tmp_path / "event.json", REPOSITORY, ["train"], head=head, base=base)
    artifacts = tmp_path / "artifacts"
    with GitHubStandIn(TOKEN) as github:
        github.comments += [
            {"id": 1, "repo": REPOSITORY, "issue": 7, "body": "Looks good to me"},
            {"id": 2, "repo": REPOSITORY, "issue": 7, "body": "<!-- model-review -->\nan earlier run"},
        ]
        output = act(
            project,
            origin,
            "pull_request",
            "train.yml",
            artifacts,
            "--env",
            f"GITHUB_API_URL={github.url}",
            "--secret",
            f"GITHUB_TOKEN={TOKEN}",
            event_file=event,
            succeed=False,
        )
    assert re.search(r"\[train/Train on the GPU runner\s*\] 🏁  Job failed", output)
    assert "check: FAIL  requirements.max_model_size_mb: measured" in output
    assert "check: pass  requirements.min_test_accuracy" in output
    assert re.search(r"\[train/Model review comment\s*\] 🏁  Job succeeded", output)
    assert "model review comment updated on acme/digit-recognizer#7" in output
    assert re.search(r"Running stage 'train'", output)
    assert "Running stage 'benchmark'" in output
    report = (artifacts / "model-review" / "reports" / "model-review.md").read_text()
    assert report.startswith("<!-- model-review -->")
    assert re.search(r"\| \*\*accuracy\*\* \| 0\.\d+ \| 0\.\d+ \| [+-]", report), "accuracy base vs PR"
    assert re.search(r"\| \*\*served latency p50 \(ms\)\*\* \| [\d.]+ \| [\d.]+ \|", report)
    assert re.search(r"\| \*\*ORT INT8 latency p50 \(ms\)\*\* \| [\d.]+ \| [\d.]+ \|", report)
    assert "| `train.epochs` | 3 | 6 |" in report
    assert re.search(
        r"\| `max_model_size_mb` \| 0\.001 \| [\d.]+ \(fail\) \| [\d.]+ \(fail\) \| ❌ \*\*FAIL\*\* \|",
        report,
    )
    assert re.search(
        r"\| `min_test_accuracy` \| 0 \| [\d.]+ \(pass\) \| [\d.]+ \(pass\) \| ✅ pass \|", report
    )
    assert "Confusion matrix" in report
    assert "### Confusion matrix, base → PR\n```mermaid\nxychart-beta\n" in report, "recall chart"
    # The `dvc plots diff` page is this run's artifact, linked from the review.
    run_link = rf"\[this workflow run\]\(https://\S+/{REPOSITORY}/actions/runs/\w+\)"
    assert re.search(rf"\*\*model-review-plots\*\* artifact of {run_link}", report), report
    page = (artifacts / "model-review-plots" / "index.html").read_text()
    assert "reports/distill/plots/metrics/val/accuracy.tsv" in page, "the student's curves, base vs PR"
    # The review reads this PR's figures, every stage (evaluate too) having run before it.
    evaluated = json.loads((artifacts / "model-review" / "metrics" / "evaluate.json").read_text())
    shown = re.search(r"\| \*\*accuracy\*\* \| (0\.\d+) \| (0\.\d+) \|", report)
    assert abs(float(shown.group(2)) - evaluated["accuracy"]) < 1e-3, (shown.group(0), evaluated)
    assert output.index("Running stage 'evaluate'") < output.index("Model review against the base branch")
    assert [c["body"] for c in github.comments] == ["Looks good to me", report], "one review comment, updated"
    assert ("POST", f"/repos/{REPOSITORY}/issues/7/comments") not in github.requests


@pytest.mark.parametrize(
    ("head_repo", "labels"), [("someone/fork", ["train"]), (REPOSITORY, ["docs"])], ids=["fork", "no-label"]
)
def test_act_train_never_runs_for_fork_or_unlabelled_prs(act_project, tmp_path, head_repo, labels):
    project, origin = act_project
    head = run_in(project, "git", "rev-parse", "HEAD").stdout.strip()
    event = pr_event(tmp_path / "event.json", head_repo, labels, head=head, base=head)
    output = act(
        project, origin, "pull_request", "train.yml", tmp_path / "artifacts", "--verbose", event_file=event
    )
    assert re.search(
        r"expression 'github.event_name == 'workflow_dispatch' \|\|.*' evaluated to 'false'", output
    )
    assert "Running stage" not in output
    assert not re.search(r"Job succeeded", output)


def tag_event(tmp_path: Path, tag: str) -> Path:
    event = tmp_path / f"{tag}.json"
    event.write_text(json.dumps({"ref": f"refs/tags/{tag}", "repository": {"full_name": REPOSITORY}}))
    return event


def test_act_release_builds_verified_model_artifacts(act_project, tmp_path):
    """The release's `artifacts` job; its `images` job pushes to a real registry in test_deploy.py."""
    project, origin = act_project
    run_in(project, "git", "checkout", "-q", "main")
    run_in(project, "git", "tag", "v1.0.0")
    run_in(project, "git", "push", "-q", "origin", "v1.0.0")
    artifacts = tmp_path / "artifacts"
    output = act(
        project,
        origin,
        "push",
        "release.yml",
        artifacts,
        "--job",
        "artifacts",
        "--secret",
        f"GITHUB_TOKEN={TOKEN}",
        event_file=tag_event(tmp_path, "v1.0.0"),
    )
    assert re.search(r"\[release/Model artifacts\s*\] 🏁  Job succeeded", output)
    release = artifacts / "release-artifacts" / "v1.0.0"
    files = sorted(path.name for path in release.iterdir())
    assert files == ["MODEL_CARD.md", "SHA256SUMS", "model-v1.0.0-fp32.onnx", "model-v1.0.0-int8.onnx"]
    run_in(release, "sha256sum", "--check", "SHA256SUMS")
    card = (release / "MODEL_CARD.md").read_text()
    assert re.search(r"- trained model \(teacher\) accuracy: 0\.\d+", card)
    assert re.search(r"- INT8 accuracy: 0\.\d+ \(drop -?[\d.e-]+\)", card)
    assert "Served model: **teacher**: cnn" in card
    assert "skipped: no TensorRT" in card
