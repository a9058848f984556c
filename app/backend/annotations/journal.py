"""Append-only edit journal (JSON Lines, fsync'd per edit) that makes every edit durable at once.

Layout of ``<target>.journal.jsonl``:

- line 1, the header: ``{"journal": 1, "base": "<file the edits apply to>", "size": int, "mtime_ns": int}``
  identifying the exact on-disk version of the base file (size and modification time);
- then one edit operation per line (see :mod:`app.backend.annotations.ops`).

After a crash the session reloads the base, checks it is still the same version and
replays the operations. A torn last line (the crash hit mid-write) is ignored. A journal
whose base changed since is moved aside (never deleted) and reported.
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
    """Size and mtime (ns) of a file: cheap identity of one on-disk version."""
    st = os.stat(path)
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


@dataclass
class JournalContents:
    """What a journal file holds: its header and the operations that parsed."""

    header: dict[str, Any]
    ops: list[Op] = field(default_factory=list)
    torn_tail: bool = False


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
        lines = [json.dumps(header)] + [json.dumps(op, ensure_ascii=False, allow_nan=False) for op in ops or ()]
        atomic_write(self.path, "\n".join(lines) + "\n")
        self._fh = open(self.path, "ab")  # noqa: SIM115 -- held open for appends until close()

    @property
    def active(self) -> bool:
        return self._fh is not None

    def append(self, op: Op) -> None:
        """Write one operation and fsync it: when this returns, the edit survives a crash."""
        if self._fh is None:
            raise RuntimeError("journal not started")
        self._fh.write((json.dumps(op, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8"))
        self._fh.flush()
        os.fsync(self._fh.fileno())

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
    """Parse a journal file; None when it does not exist or has no valid header."""
    path = Path(path)
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return None
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("journal") != 1:
        return None
    contents = JournalContents(header=header)
    body = [ln for ln in lines[1:] if ln.strip()]
    for n, line in enumerate(body):
        try:
            contents.ops.append(check_op(json.loads(line)))
        except (json.JSONDecodeError, UnicodeDecodeError, OpConflictError):
            if n == len(body) - 1:
                contents.torn_tail = True
                break
            raise OpConflictError(f"journal {path.name}: entry {n + 1} is unreadable") from None
    return contents


def move_aside(path: str | os.PathLike[str]) -> Path:
    """Rename a journal that cannot be replayed to ``<name>.stale-<time>`` and return the new path."""
    path = Path(path)
    dest = path.with_name(f"{path.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}")
    return replace_path(path, dest)
