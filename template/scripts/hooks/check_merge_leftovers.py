"""Fail when tracked files hold merge leftovers: conflict markers or Copier's *.rej files."""

import re
import subprocess
import sys

MARKER = re.compile(rb"^(<{7}|>{7})( |$)", re.MULTILINE)


def main() -> int:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.splitlines()
    problems = [f"{name}: rejected update hunk, merge it by hand" for name in files if name.endswith(".rej")]
    for name in files:
        try:
            with open(name, "rb") as handle:
                if MARKER.search(handle.read()):
                    problems.append(f"{name}: contains conflict markers")
        except (FileNotFoundError, IsADirectoryError):
            continue
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
