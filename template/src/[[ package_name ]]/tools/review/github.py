"""The GitHub client of the PR model review: one comment per pull request, updated in place.

Standard library only: the job that holds the write token runs it without the project installed.
REST API: "Issue comments" (https://docs.github.com/en/rest/issues/comments), API version 2022-11-28.
"""

import json
import os
import urllib.error
import urllib.request

from . import MARKER


class GitHubError(RuntimeError):
    """No token, or GitHub answered with an error (the message names the request and the status)."""


class GitHubClient:
    """Bearer-token client for `api_url` (GitHub's, or GITHUB_API_URL on GitHub Enterprise)."""

    def __init__(self, token: str, api_url: str = "https://api.github.com", timeout: float = 30):
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> "GitHubClient":
        """GITHUB_TOKEN and GITHUB_API_URL from the environment; raises GitHubError without a token."""
        token = os.environ.get("GITHUB_TOKEN")
        if not token:
            raise GitHubError("GITHUB_TOKEN is not set")
        return cls(token, os.environ.get("GITHUB_API_URL", "https://api.github.com"))

    def request(self, method: str, path: str, payload: dict | None = None):
        """One JSON request to `path` (below the API URL); returns the decoded body.

        Raises GitHubError for an HTTP error status or an unreachable server.
        """
        request = urllib.request.Request(
            f"{self.api_url}{path}",
            method=method,
            data=json.dumps(payload).encode() if payload is not None else None,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or "null")
        except urllib.error.HTTPError as error:
            raise GitHubError(f"{method} {path}: HTTP {error.code} {error.reason}") from error
        except urllib.error.URLError as error:
            raise GitHubError(f"{method} {path}: cannot reach {self.api_url} ({error.reason})") from error

    def upsert_review_comment(self, repo: str, pr: int, body: str) -> str:
        """Update the comment that starts with MARKER on `repo`#`pr`, or create it.

        Returns "created" or "updated". Raises GitHubError (from `request`) or ValueError when
        `body` is not a model review or `repo`/`pr` are malformed.
        """
        if not body.startswith(MARKER):
            raise ValueError(f"not a model review (it must start with {MARKER})")
        if repo.count("/") != 1 or pr <= 0:
            raise ValueError("--repo must be owner/name and --pr a positive number")
        page = 1
        while True:
            comments = self.request("GET", f"/repos/{repo}/issues/{pr}/comments?per_page=100&page={page}")
            for comment in comments:
                if comment["body"].startswith(MARKER):
                    self.request("PATCH", f"/repos/{repo}/issues/comments/{comment['id']}", {"body": body})
                    return "updated"
            if len(comments) < 100:
                break
            page += 1
        self.request("POST", f"/repos/{repo}/issues/{pr}/comments", {"body": body})
        return "created"
