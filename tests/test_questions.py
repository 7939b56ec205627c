"""Copier questions: validators refuse bad answers before anything is written."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, project_env, render

COPIER = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]


def copier_copy(destination: Path, *data: str) -> subprocess.CompletedProcess:
    args = [part for item in data for part in ("--data", item)]
    return subprocess.run(
        [*COPIER, *args, str(TEMPLATE), str(destination)],
        capture_output=True,
        text=True,
        env=project_env(destination),
        timeout=300,
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("package_name=1bad", "is not a valid Python package name"),
        ("package_name=my-pkg", "is not a valid Python package name"),
        ("package_name=import", "is a Python keyword or shadows a dependency"),
        ("package_name=torch", "is a Python keyword or shadows a dependency"),
        ("project_name=   ", "Project name must not be empty"),
        ("project_slug=Bad Slug", "Slug 'Bad Slug' is invalid"),
        ("author_email=nobody", "'nobody' is not an e-mail address"),
        ("container_registry=not a registry", "is not a registry path like ghcr.io/my-org"),
        ("gpu_runner_labels=self-hosted, gpu", "comma-separated list of label names without spaces"),
        ("database=oracle", "Invalid choice"),
        ("task=segmentation", "Invalid choice"),
    ],
)
def test_bad_answer_is_refused_with_a_clear_message_and_nothing_is_written(tmp_path, answer, message):
    destination = tmp_path / "project"
    result = copier_copy(destination, answer)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert not destination.exists()


def test_remote_url_must_match_the_remote_kind(tmp_path):
    destination = tmp_path / "project"
    result = copier_copy(destination, "dvc_remote=s3", "dvc_remote_url=ssh://host/path")
    assert result.returncode != 0
    assert "An S3 remote URL must start with s3://" in result.stderr + result.stdout
    assert not destination.exists()


def test_template_uses_strict_undefined_and_custom_delimiters():
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
    assert config["_envops"]["undefined"] == "jinja2.StrictUndefined"
    assert config["_envops"]["variable_start_string"] == "[["


def test_every_github_actions_expression_survives_rendering(default_project, tmp_path):
    """Across renders that take every conditional branch, the rendered workflows hold exactly the
    `${{ }}` expressions of their sources, character for character."""
    renders = [
        default_project,
        render(tmp_path / "s3", dvc_remote="s3", dvc_remote_url="s3://bucket/dvc", include_frontend=False),
        render(tmp_path / "ssh", dvc_remote="ssh", dvc_remote_url="ssh://u@h/dvc", database="postgresql"),
    ]
    template_workflows = sorted((TEMPLATE / "template" / ".github" / "workflows").glob("*.yml*"))
    assert template_workflows, "the template must ship workflows"
    pattern = re.compile(r"\$\{\{.*?\}\}")
    for source in template_workflows:
        expected = set(pattern.findall(source.read_text()))
        assert expected, f"{source.name} has no ${{{{ }}}} expressions to check"
        seen = set()
        for project in renders:
            rendered = project / ".github" / "workflows" / source.name.removesuffix(".jinja")
            found = set(pattern.findall(rendered.read_text()))
            assert found <= expected, f"{rendered.name}: changed by rendering: {found - expected}"
            seen |= found
        assert seen == expected, f"{source.name}: lost in rendering: {expected - seen}"


# `[[ name ...]]`, `[% ` or ` %]`; not shell tests like `[[ "$x" =~ ... ]]`.
TEMPLATE_SYNTAX = re.compile(r"\[\[ ?[A-Za-z_][^\]\"$]*\]\]|\[%-? | -?%\]")


def test_no_unrendered_template_syntax_is_left(default_project):
    leftovers = [
        path.relative_to(default_project)
        for path in default_project.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and TEMPLATE_SYNTAX.search(path.read_text(errors="ignore"))
    ]
    assert leftovers == []
    assert not list(default_project.rglob("*.jinja"))
