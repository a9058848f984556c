"""Crash-safe file writes: the one place where a user's file is replaced.

:func:`atomic_write` writes ``data`` to a temporary file in the destination's folder
(``.<name>.<8 hex digits>.tmp``), flushes and ``fsync``-s it, optionally checks it, moves it
over the destination with ``os.replace`` (atomic on POSIX and Windows) and ``fsync``-s the
folder. A crash, a kill or a full disk at any moment leaves the old file or the new one,
never a mix.

- Mode: a new file gets ``0o666`` minus the umask (as ``open()`` would; ``mkstemp``'s 0600
  would hide a shared dataset from its group); an existing file keeps its permission bits.
- Symlinks: a link is followed; the real file is replaced and the link stays a link.
- Failure: the temporary file is removed and the old file is left as it was. Errors of the
  file system become :class:`~app.backend.errors.WriteError` (an ``OSError`` and a
  user-facing error naming the destination); errors of ``check`` or of a writer callback
  propagate unchanged.
- Writer callbacks: a callback sees a thin wrapper of the open file that remembers the
  ``OSError`` of a failed ``write``; when the callback then fails with anything else (torch's
  zip writer turns ENOSPC into ``RuntimeError [enforce fail ...]``), that ``OSError`` is what
  is raised, as a ``WriteError``.
- ``durable=False`` skips both ``fsync`` calls (about 7 ms a file on a typical disk): still
  atomic for readers and for a killed process, not for a power cut. For bulk writes of
  thousands of frames whose dataset JSON is written last, durably.

:func:`replace_path` moves a finished file or folder into place (renames that are not writes:
a journal moved aside, a demo dataset swapped in). :func:`ensure_dir` makes an output folder,
with the same :class:`~app.backend.errors.WriteError` for a read-only parent, a missing
permission or a file in the way.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from app.backend.errors import WriteError

#: Suffix of the temporary files written here (their names are ``.<name>.<8 hex digits>.tmp``).
TEMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.tmp$")

Data = bytes | str | Callable[[BinaryIO], object]


def atomic_write(
    path: str | os.PathLike[str],
    data: Data,
    *,
    encoding: str = "utf-8",
    check: Callable[[Path], object] | None = None,
    durable: bool = True,
) -> Path:
    """Replace ``path`` with ``data`` atomically; returns ``path`` as a Path.

    Args:
        path: the destination; its folder must exist. A symlink is written through.
        data: bytes, text (encoded with ``encoding``) or a callable that writes into the
            open binary file (e.g. ``lambda f: torch.save(obj, f)``).
        check: called with the complete temporary file before it replaces ``path``; an
            exception from it aborts the write (e.g. a config that does not load back).
        durable: ``fsync`` the file and the folder (see the module docstring).

    Raises:
        WriteError: the folder is not writable, the disk is full, ... (the old file is intact).
    """
    dest = Path(path)
    real = Path(os.path.realpath(dest))
    folder = real.parent
    tmp = folder / f".{real.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise WriteError.of(dest, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                _run_writer(data, f)
            else:
                f.write(data.encode(encoding) if isinstance(data, str) else data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, real.stat().st_mode & 0o7777)  # an existing file keeps its mode
        if check is not None:
            check(tmp)
        os.replace(tmp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError.of(dest, exc) from exc
        raise
    if durable:
        fsync_dir(folder)
    return dest


class _RecordingFile:
    """The open temporary file as a writer callback sees it: remembers the OSError of a failed write."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.error: OSError | None = None

    def write(self, b: Any) -> int:
        try:
            return self._f.write(b)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _run_writer(writer: Callable[[BinaryIO], object], f: BinaryIO) -> None:
    proxy = _RecordingFile(f)
    try:
        writer(proxy)  # type: ignore[arg-type]
    except Exception as exc:
        if proxy.error is not None and not isinstance(exc, OSError):
            raise proxy.error from exc
        raise


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, durable: bool = True, **dumps: Any) -> Path:
    """:func:`atomic_write` of ``json.dumps(obj, **dumps)`` as UTF-8 (``ensure_ascii=False`` unless given).

    Strict JSON: NaN and infinities raise ValueError naming where they are (nothing is written),
    since no JSON reader but Python's accepts them.
    """
    dumps.setdefault("ensure_ascii", False)
    try:
        text = json.dumps(obj, allow_nan=False, **dumps)
    except ValueError:
        raise ValueError(f"{path} not written: {', '.join(non_finite_places(obj))} is not a finite number") from None
    return atomic_write(path, text, durable=durable)


def non_finite_places(obj: Any, limit: int = 3) -> list[str]:
    """Where JSON-like ``obj`` holds NaN or an infinity, e.g. ``["after.keypoints[4]"]`` (at most ``limit``)."""
    out: list[str] = []
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack and len(out) < limit:
        node, path = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            out.append(path.lstrip(".") or "the value")
        elif isinstance(node, (dict, list, tuple)):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack += [(v, f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]") for k, v in items]
    return out


def replace_path(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, durable: bool = True) -> Path:
    """Move the finished file or folder ``src`` to ``dst`` (same file system) with one atomic rename.

    ``dst`` is replaced when it is a file (or an empty folder). Raises :class:`WriteError`.
    """
    dst = Path(dst)
    try:
        os.replace(src, dst)
    except OSError as exc:
        raise WriteError.of(dst, exc) from exc
    if durable:
        fsync_dir(dst.parent)
    return dst


def ensure_dir(folder: str | os.PathLike[str]) -> Path:
    """Make ``folder`` (and its parents) unless it exists; returns it as a Path.

    Raises:
        WriteError: it cannot be made (read-only or not permitted parent, a file in the way, full disk).
    """
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise WriteError(errno.ENOTDIR, "a file is in the way (a folder is needed there)", str(path)) from exc
    except OSError as exc:
        raise WriteError.of(path, exc) from exc
    return path


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in ``folder`` durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def temp_target(file_name: str) -> str | None:
    """The name a temporary file of :func:`atomic_write` was to replace, or None when it is not one.

    For cleaning up after a killed process, e.g. ``temp_target(".model.pth.0a1b2c3d.tmp") == "model.pth"``.
    """
    m = _TEMP_RE.match(file_name)
    return m.group("name") if m else None
