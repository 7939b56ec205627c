"""Stage `collect`: put the dataset named by `collect.source` into data/raw/<class>/<image>.

`collect.source` is one of:
- `sklearn-digits` (the default): scikit-learn's handwritten digits (offline, 1,797 8x8 images),
  written as PNGs upscaled `collect.upscale` times;
- a folder of `<class>/<image>` files, copied as it is (OS junk such as .DS_Store left behind);
- a `.zip`, `.tar`, `.tar.gz`/`.tgz` archive of the same layout. Members that would land outside
  data/raw (absolute paths, `..`), links and special files are refused, and so is an archive whose
  files add up to more than `collect.max_archive_bytes` (a zip bomb).
A folder or archive whose only entry is one folder (`photos/<class>/...`) is read from inside it.
Relative paths are relative to the project root. dvc.yaml depends on the source path, so changing
`collect.source` or the files in it reruns the pipeline from here; data/raw is a DVC output, so the
data that trained a model stays versioned in the project.
"""

import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from ..data.images import is_junk, visible
from ..params import load_params
from ..paths import RAW_DIR

SAMPLE = "sklearn-digits"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
COPY_CHUNK = 1 << 20


class SourceError(ValueError):
    """`collect.source` names nothing usable, or an archive is unsafe or too large."""


def collect_digits(out_dir: Path, upscale: int, limit_per_class: int | None = None) -> int:
    """Write scikit-learn's handwritten digits (offline, 1797 images of 8x8) as PNGs."""
    digits = load_digits()
    counts: dict[int, int] = {}
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        label = int(label)
        if limit_per_class is not None and counts.get(label, 0) >= limit_per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        grey = np.clip(pixels * (255.0 / 16.0), 0, 255).astype(np.uint8)
        image = Image.fromarray(grey)
        image = image.resize((8 * upscale, 8 * upscale), Image.Resampling.BILINEAR)
        class_dir = out_dir / str(label)
        class_dir.mkdir(parents=True, exist_ok=True)
        image.save(class_dir / f"digit_{index:05d}.png")
    return sum(counts.values())


def dataset_root(folder: Path) -> Path:
    """`folder`, or its only subfolder when that is all it holds (an archive's wrapping folder)."""
    entries = visible(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        return entries[0]
    return folder


def copy_tree(source: Path, out_dir: Path) -> int:
    """Copy every non-junk file of `source` into `out_dir`, keeping relative paths; returns the count."""
    copied = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if is_junk(relative) or not path.is_file():
            continue
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied += 1
    return copied


def safe_member_path(name: str) -> PurePosixPath:
    """An archive member's relative path, or SourceError when it would land outside the target."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SourceError(f"archive member {name!r} would be written outside the data folder: refused")
    return path


def extract_zip(archive: Path, target: Path, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        for member in members:
            safe_member_path(member.filename)
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SourceError(f"archive member {member.filename!r} is a link: refused")
        declared = sum(member.file_size for member in members)
        if declared > max_bytes:
            raise SourceError(
                f"{archive} expands to {declared} bytes, more than collect.max_archive_bytes ({max_bytes})"
            )
        written = 0
        for member in members:
            if member.is_dir():
                continue
            destination = target / safe_member_path(member.filename)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, open(destination, "wb") as out:
                # count real bytes too: a crafted header can understate the size
                while chunk := source.read(COPY_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise SourceError(
                            f"{archive} expands past collect.max_archive_bytes ({max_bytes}): refused"
                        )
                    out.write(chunk)


def extract_tar(archive: Path, target: Path, max_bytes: int) -> None:
    with tarfile.open(archive) as bundle:
        members = bundle.getmembers()
        for member in members:
            safe_member_path(member.name)
            if not (member.isfile() or member.isdir()):
                raise SourceError(f"archive member {member.name!r} is a link or special file: refused")
        total = sum(member.size for member in members if member.isfile())
        if total > max_bytes:
            raise SourceError(
                f"{archive} expands to {total} bytes, more than collect.max_archive_bytes ({max_bytes})"
            )
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+ (Debian 12's 3.11.2 has no filter)
            # the "data" filter re-checks every member (no absolute paths, links, devices) as a second guard
            bundle.extractall(target, members=members, filter="data")
        else:  # every member was checked above: a safe relative path, a plain file or folder
            bundle.extractall(target, members=members)


def collect_source(source: str, out_dir: Path, upscale: int, max_archive_bytes: int) -> int:
    """Replace `out_dir` with the dataset `source` names; returns the number of files written.

    Raises SourceError for a missing or unsupported source, or an unsafe or oversized archive.
    """
    path = Path(source).expanduser()
    if source != SAMPLE and path.resolve().is_relative_to(out_dir.resolve()):
        raise SourceError(f"collect.source {source!r} is inside {out_dir}, which collect replaces")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    if source == SAMPLE:
        return collect_digits(out_dir, upscale)
    if path.is_dir():
        return copy_tree(dataset_root(path), out_dir)
    if not path.is_file():
        raise SourceError(
            f"collect.source {source!r} is neither {SAMPLE!r} nor an existing folder or archive"
        )
    name = path.name.lower()
    if not name.endswith(ARCHIVE_SUFFIXES):
        raise SourceError(f"collect.source {source!r}: archives must end in {', '.join(ARCHIVE_SUFFIXES)}")
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as scratch:
        try:
            if name.endswith(".zip"):
                extract_zip(path, Path(scratch), max_archive_bytes)
            else:
                extract_tar(path, Path(scratch), max_archive_bytes)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
            raise SourceError(f"{path} is not a safe, readable archive: {error}") from error
        return copy_tree(dataset_root(Path(scratch)), out_dir)


def main() -> None:
    settings = load_params()["collect"]
    source = str(settings["source"])
    try:
        upscale, max_bytes = int(settings["upscale"]), int(settings["max_archive_bytes"])
        written = collect_source(source, RAW_DIR, upscale, max_bytes)
    except SourceError as error:
        shutil.rmtree(RAW_DIR, ignore_errors=True)
        raise SystemExit(f"collect: {error}") from error
    print(f"collect: {written} files from {source} in {RAW_DIR}")


if __name__ == "__main__":
    main()
