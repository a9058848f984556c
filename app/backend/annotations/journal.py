"""Append-only edit journal (JSON Lines, fsync'd per edit) that makes every edit durable at once.

Layout of ``<target>.journal.jsonl``:

- line 1, the header: ``{"journal": 1, "base": "<file the edits apply to>", "size": int, "mtime_ns": int,
  "ino": int}`` identifying the exact on-disk version of the base file (size, modification time, inode);
- then one edit operation per line (see :mod:`app.backend.annotations.ops`).

After a crash the session reloads the base, checks it is still the same version and
replays the operations. A torn last line (the crash hit mid-write) is ignored. A journal
whose base changed since is moved aside (never deleted) and reported. An append that fails
(full disk) is cut back, so the file never holds half an edit followed by more edits.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backend.annotations.ops import Op, OpConflictError, check_op
from app.backend.atomic_write import atomic_write, fsync_dir, replace_path

JOURNAL_SUFFIX = ".journal.jsonl"


def journal_path_for(target: str | os.PathLike[str]) -> Path:
    target = Path(target)
    return target.with_name(target.name + JOURNAL_SUFFIX)


def file_identity(path: str | os.PathLike[str]) -> dict[str, int]:
    """Size, mtime (ns) and inode of a file: cheap identity of one on-disk version.

    The inode tells apart two saves of equal size within one tick of a coarse file-system clock
    (each atomic save is a new file).
    """
    st = os.stat(path)
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns), "ino": int(st.st_ino)}


def same_version(header: dict[str, Any], identity: dict[str, int] | None) -> bool:
    """True when a journal header names the file version ``identity`` (keys the header lacks are not compared)."""
    return identity is not None and all(header.get(k) == v for k, v in identity.items() if k in header or k != "ino")


@dataclass
class JournalContents:
    """What a journal file holds: its header and the operations that parsed.

    ``unreadable`` counts the entries from the first one that does not parse (not a torn last
    line) to the end: they cannot be replayed, as each edit expects the state the one before left.
    """

    header: dict[str, Any]
    ops: list[Op] = field(default_factory=list)
    torn_tail: bool = False
    unreadable: int = 0


def encode_op(op: Op) -> bytes:
    """One journal line. Raises ValueError for NaN or infinity (strict JSON only)."""
    return (json.dumps(op, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


class EditJournal:
    """Writer of one journal file. Created lazily: opening a dataset writes nothing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fh: Any = None

    def start(self, base: str | os.PathLike[str], identity: dict[str, int], ops: list[Op] | None = None) -> None:
        """Begin a journal for the on-disk version ``identity`` of ``base`` (atomic replace of any old one).

        ``ops`` are written after the header (used to continue a recovered journal without its torn tail).
        """
        self.close()
        header = {"journal": 1, "base": str(Path(base).resolve()), **identity}
        body = b"".join(encode_op(op) for op in ops or ())
        atomic_write(self.path, (json.dumps(header) + "\n").encode("utf-8") + body)
        self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 -- held open for appends until close()

    @property
    def active(self) -> bool:
        return self._fh is not None

    def append(self, line: bytes) -> None:
        """Write one encoded operation (:func:`encode_op`) and fsync it: when this returns, the edit
        survives a crash. On failure (full disk, I/O error) the file is cut back to what it was
        and the OSError propagates: a journal never holds half an edit followed by more edits."""
        if self._fh is None:
            raise RuntimeError("journal not started")
        fd = self._fh.fileno()
        size = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[self._fh.write(view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def discard(self) -> None:
        """Close and delete the journal (after a clean save and close)."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        fsync_dir(self.path.parent)


def read_journal(path: str | os.PathLike[str]) -> JournalContents | None:
    """Parse a journal file; None when it does not exist or has no valid header.

    Operations are read up to the first entry that does not parse; a torn last line (a crash
    mid-write) is dropped, anything after an unreadable entry is counted in ``unreadable``.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    lines = raw.split(b"\n")
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or header.get("journal") != 1:
        return None
    contents = JournalContents(header=header)
    body = [ln for ln in lines[1:] if ln.strip()]
    for n, line in enumerate(body):
        try:
            contents.ops.append(check_op(json.loads(line)))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, OpConflictError):
            if n == len(body) - 1 and not raw.endswith(b"\n"):  # every whole entry ends with a newline
                contents.torn_tail = True
            else:
                contents.unreadable = len(body) - n
            break
    return contents


def move_aside(path: str | os.PathLike[str], tag: str = "stale") -> Path:
    """Rename a journal to ``<name>.<tag>-<time>`` (kept, never deleted) and return the new path."""
    path = Path(path)
    dest = path.with_name(f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    return replace_path(path, dest)


def copy_aside(path: str | os.PathLike[str], tag: str) -> Path:
    """Keep a copy of a journal as ``<name>.<tag>-<time>`` (the journal itself stays) and return it."""
    path = Path(path)
    dest = path.with_name(f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}")
    return atomic_write(dest, path.read_bytes())
