"""The template repository's own code and CI meet the bar it sets for generated projects."""

import pytest

from .conftest import TEMPLATE, run_in


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "tests", "scripts", "hooks"),
        ("ruff", "format", "--check", "tests", "scripts", "hooks"),
        ("zizmor", "--offline", "--persona", "pedantic", "--no-progress", ".github/workflows"),
        (
            "shellcheck",
            "scripts/bootstrap.sh",
            "scripts/demo.sh",
            "scripts/build_standin_images.sh",
            ".ci/run",
        ),
    ],
    ids=["ruff", "ruff-format", "zizmor", "shellcheck"],
)
def test_template_repository_is_clean(command):
    run_in(TEMPLATE, *command)
