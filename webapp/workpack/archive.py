"""Reading and writing the zip files work packs, unloads and surveys travel in.

Archives come from outside, so they are read defensively: size and member-count
limits, no paths outside a flat ``folder/name`` layout, no links, no duplicate
names, no member that inflates beyond its limit or beyond a sane ratio, and only
stored or deflated members.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

from webapp.workpack.errors import WorkPackError

MAX_ARCHIVE_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 5_000
MAX_MEMBER_BYTES = 2 * 1024 * 1024
#: All members together, inflated: held in memory while the pack is verified (on a Pi).
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed; XML compresses well, bombs far better
MEMBER_NAME = re.compile(r"^(?:[a-z]+/)?[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zips are reproducible: same content, same bytes


def read_archive(data: bytes, what: str = "work pack") -> dict[str, bytes]:
    """The members of the zip ``data``, or WorkPackError listing what is wrong."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise WorkPackError([f"the {what} is {len(data)} bytes; the limit is {MAX_ARCHIVE_BYTES}"])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise WorkPackError([f"the {what} is not a zip file ({exc})"]) from None
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise WorkPackError([f"the {what} has {len(infos)} files; the limit is {MAX_MEMBERS}"])
    problems: list[str] = []
    names: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        if not MEMBER_NAME.match(name):
            problems.append(f"file {name[:80]!r}: not an allowed name (no paths, no '..')")
            continue
        if name in names:
            problems.append(f"file {name}: appears twice")
        names.add(name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problems.append(f"file {name}: compression method {info.compress_type} not accepted")
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            problems.append(f"file {name}: is a symbolic link")
        if info.flag_bits & 0x1:
            problems.append(f"file {name}: is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            problems.append(f"file {name}: {info.file_size} bytes; the limit is {MAX_MEMBER_BYTES}")
        elif info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            problems.append(f"file {name}: inflates {info.file_size // info.compress_size}-fold")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        problems.append(f"the {what} inflates to {total} bytes; the limit is {MAX_TOTAL_BYTES}")
    if problems:
        raise WorkPackError(problems)
    members: dict[str, bytes] = {}
    for info in infos:
        if info.is_dir():
            continue
        try:
            with archive.open(info) as handle:
                content = handle.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
            problems.append(f"file {info.filename}: cannot be read ({exc})")
            continue
        if len(content) > MAX_MEMBER_BYTES:  # a header that lied about the size
            problems.append(f"file {info.filename}: larger than its header says")
            continue
        members[info.filename] = content
    if problems:
        raise WorkPackError(problems)
    return members


def write_archive(members: dict[str, bytes]) -> bytes:
    """A deflated zip of ``members`` in name order, with fixed timestamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return out.getvalue()
