"""Entry point of the PR model review: the one place where its errors become an exit status."""

import argparse
import os
import sys
from pathlib import Path

from ...paths import MODEL_REVIEW, MODEL_REVIEW_PLOTS
from . import __doc__ as DESCRIPTION
from .github import GitHubClient, GitHubError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=DESCRIPTION.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="write the Markdown report")
    build_cmd.add_argument("--base", required=True, help="git revision to compare with")
    build_cmd.add_argument("--output", type=Path, default=MODEL_REVIEW)
    build_cmd.add_argument("--plots-out", type=Path, default=MODEL_REVIEW_PLOTS, help="`dvc plots diff` page")
    build_cmd.add_argument(
        "--run-url",
        default=os.environ.get("REVIEW_RUN_URL") or None,
        help="CI run page holding the plots artifact (default: $REVIEW_RUN_URL)",
    )
    post_cmd = commands.add_parser("post", help="create or update the PR comment")
    post_cmd.add_argument("report", type=Path)
    post_cmd.add_argument("--repo", required=True, help="owner/name")
    post_cmd.add_argument("--pr", required=True, type=int)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            from .report import ReviewError, write_report  # needs the project's dependencies

            try:
                print(write_report(args.base, args.output, args.plots_out, args.run_url))
            except ReviewError as error:
                sys.exit(f"review: {error}")
            return
        outcome = GitHubClient.from_env().upsert_review_comment(args.repo, args.pr, args.report.read_text())
    except (GitHubError, ValueError, OSError) as error:
        sys.exit(f"review: {error}")
    print(f"model review comment {outcome} on {args.repo}#{args.pr}")


if __name__ == "__main__":
    main()
