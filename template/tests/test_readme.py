"""The README is checked against what it describes: the stage list is written once, in dvc.yaml.

The README's stage table must list the package's dvc.yaml stages in dvc.yaml's order, each with the
module its `cmd` runs; its links and the guides' links must name files that exist, and every guide in docs/
must be reachable from the README.
"""

import re
from pathlib import Path

import yaml

from .conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def stage_table(text: str) -> list[tuple[str, str]]:
    """(stage, module) rows of the README's table headed `| stage | module | ... |`."""
    lines = text.splitlines()
    header = [i for i, line in enumerate(lines) if re.match(r"^\|\s*stage\s*\|\s*module\s*\|", line)]
    assert len(header) == 1, "README.md needs exactly one table headed '| stage | module |'"
    rows = []
    for line in lines[header[0] + 2 :]:  # skip the header and its |---| line
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in CELL_SEPARATOR.split(line.strip().strip("|"))]
        rows.append((cells[0], cells[1].strip("`")))
    return rows


def dvc_stages() -> list[tuple[str, str]]:
    """(stage, module) in dvc.yaml's order for every stage that runs a module of this package's
    stages/ (`python -m <package>.stages.<name>`); stages of your own are yours to document."""
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    packages = [path.parent.name for path in (PROJECT_ROOT / "src").glob("*/stages")]
    found = []
    for name, stage in stages.items():
        match = re.match(r"python -m (\S+)", str(stage["cmd"]).strip())
        if match and match.group(1).split(".")[0] in packages:
            found.append((name, match.group(1)))
    return found


def local_links(page: Path) -> list[str]:
    targets = (target.split("#")[0] for target in LINK.findall(page.read_text(encoding="utf-8")))
    return [
        target for target in targets if target and "://" not in target and not target.startswith("mailto:")
    ]


def test_readme_stage_table_lists_dvc_yaml_stages_in_order_with_their_modules():
    readme, pipeline = stage_table(README.read_text(encoding="utf-8")), dvc_stages()
    assert readme == pipeline, f"README.md's stage table {readme} differs from dvc.yaml's {pipeline}"


def test_readme_and_guides_link_only_to_existing_files():
    pages = [README, *sorted(DOCS.glob("*.md"))]
    missing = [
        f"{page.relative_to(PROJECT_ROOT)} -> {target}"
        for page in pages
        for target in local_links(page)
        if not (page.parent / target).exists()
    ]
    assert not missing, f"links to missing files: {missing}"


def test_every_guide_in_docs_is_linked_from_the_readme():
    linked = {(README.parent / target).resolve() for target in local_links(README)}
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"guides the README does not link: {unlinked}"
