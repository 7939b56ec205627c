"""Reading a .zip of images sent for annotation, without trusting it.

Member names are never used as paths: each image is decoded and stored under its sha256 by
`add_image`, so nothing is written outside annotation storage. Members that try to leave the
archive's folder, links, encrypted members and unreadable ones are listed as rejected; an archive
that would expand past the limits is refused before anything is decompressed.
"""

import io
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..data.images import BadImage

WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes | None  # None when rejected
    problem: str | None = None


def member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a link, not a file"
    if name.startswith("/") or WINDOWS_DRIVE.match(name) or ".." in PurePosixPath(name).parts:
        return "its path leaves the archive's folder"
    if info.flag_bits & 0x1:
        return "encrypted"
    return None


def read_archive(data: bytes, max_bytes: int, max_members: int) -> Iterator[Member]:
    """Yield every file member of the .zip in `data`, with its bytes or the reason it was rejected.

    Raises BadImage (400) for something that is not a zip, (413) for one past the limits.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        files = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise BadImage("the archive is not a readable .zip file") from error
    if len(files) > max_members:
        raise BadImage(f"the archive holds {len(files)} files, more than the limit of {max_members}", 413)
    declared = sum(info.file_size for info in files)
    if declared > max_bytes:
        raise BadImage(f"the archive expands to {declared} bytes, more than the limit of {max_bytes}", 413)
    for info in files:
        problem = member_problem(info)
        if problem:
            yield Member(info.filename, None, problem)
            continue
        try:
            # zipfile stops at the declared size and checks the CRC, so a member that lies about
            # its size fails here instead of expanding past the limit checked above.
            with archive.open(info) as handle:
                content = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error):
            yield Member(info.filename, None, "unreadable or corrupt member")
            continue
        if len(content) > info.file_size:
            yield Member(info.filename, None, "larger than its declared size")
            continue
        yield Member(info.filename, content)
