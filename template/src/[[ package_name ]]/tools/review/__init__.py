"""PR model review: the Markdown report (report.py) and the GitHub client that posts it (github.py).

    python -m <package>.tools.review build --base origin/main --output reports/model-review.md
    python -m <package>.tools.review post reports/model-review.md --repo owner/name --pr 12

`build` needs only git + DVC (metrics files are git-tracked); it also writes the `dvc plots diff`
page (reports/model-review-plots/index.html), which CI uploads as an artifact the report links to
(`--run-url`, default $REVIEW_RUN_URL). `post` needs GITHUB_TOKEN and talks
to GITHUB_API_URL (set by GitHub Actions); CI runs it in a separate job that holds the write token
and never runs the PR's code, with the standard library only.
"""

MARKER = "<!-- model-review -->"  # first line of the report: how the comment is found again
