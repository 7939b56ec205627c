"""Tag the template's newest CHANGELOG.md version, so a release needs only its CHANGELOG entry.

    python3 scripts/changelog_tag.py            # create the tag vX.Y.Z locally when it is missing
    python3 scripts/changelog_tag.py --push     # ... and push it to origin (what tag.yml runs)

The newest version is the first `## vX.Y.Z` heading. Nothing happens when its tag exists; a
version that is not above the highest existing tag is refused (exit 1). With GITHUB_TOKEN set the
push authenticates to github.com with it (the checkout keeps no credentials).
"""

import argparse
import base64
import os
import re
import subprocess
import sys
from pathlib import Path

HEADING = re.compile(r"^## (v\d+\.\d+\.\d+)\b.*$", re.MULTILINE)
BOT = [
    "-c",
    "user.name=github-actions[bot]",
    "-c",
    "user.email=41898282+github-actions[bot]@users.noreply.github.com",
]


def newest_entry(changelog: str) -> tuple[str, str]:
    """The first versioned heading's version and its notes (the text up to the next heading)."""
    match = HEADING.search(changelog)
    if match is None:
        raise ValueError("CHANGELOG.md has no '## vX.Y.Z' heading")
    rest = changelog[match.end() :]
    following = re.search(r"^## ", rest, re.MULTILINE)
    return match.group(1), rest[: following.start() if following else None].strip()


def semver(tag: str) -> tuple[int, int, int]:
    major, minor, patch = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", tag).groups()
    return int(major), int(minor), int(patch)


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {args[-2:]} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> int:
    try:
        return tag_newest()
    except RuntimeError as error:
        print(f"changelog-tag: {error}", file=sys.stderr)
        return 1


def tag_newest() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--push", action="store_true", help="push a new tag to origin")
    parser.add_argument("--changelog", type=Path, default=Path("CHANGELOG.md"))
    args = parser.parse_args()
    try:
        version, notes = newest_entry(args.changelog.read_text())
    except ValueError as error:
        print(f"changelog-tag: {error}", file=sys.stderr)
        return 1
    tags = [t for t in git("tag", "--list", "v*.*.*").split() if re.fullmatch(r"v\d+\.\d+\.\d+", t)]
    if version in tags:
        print(f"changelog-tag: {version} is tagged already; nothing to do")
        return 0
    highest = max(tags, key=semver, default=None)
    if highest and semver(version) <= semver(highest):
        print(
            f"changelog-tag: CHANGELOG.md's newest version {version} is not above the last tag {highest}",
            file=sys.stderr,
        )
        return 1
    git(*BOT, "tag", "--annotate", version, "--message", f"{version}\n\n{notes}")
    print(f"changelog-tag: tagged {version} at {git('rev-parse', '--short', 'HEAD').strip()}")
    if args.push:
        auth = []
        if token := os.environ.get("GITHUB_TOKEN"):
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            auth = ["-c", f"http.https://github.com/.extraheader=AUTHORIZATION: basic {basic}"]
        git(*auth, "push", "origin", f"refs/tags/{version}")
        print(f"changelog-tag: pushed {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
