"""Advisory lock files: one writer per file or folder, a clear message for everyone else.

A lock is the file ``<target>.lock`` (see :func:`lock_path_for`) that holds a line of JSON
naming its owner (user, host, pid, start time, purpose) and is held with ``flock`` for as long
as the owner keeps it. Because the kernel releases ``flock`` when the holding process ends,
however it ends (SIGKILL included), a lock whose owner is gone is *stale*: the next
:meth:`FileLock.acquire` takes it over and reports whose it was (:attr:`FileLock.previous`).
Nobody has to delete lock files by hand, and no pid or clock guess decides staleness.

- Held by a live process (this one included: the lock is per open file, so two sessions of
  one process exclude each other too): :class:`LockHeldError` naming the owner,
  ``"train.json is in use by alice@lab-3 pid 4242 since 2025-03-01 14:02:11 (editing)"``.
- Released with :meth:`FileLock.release` (the file is removed), or by the process ending
  (the file stays, stale, until the next acquire).
- Scope: processes that reach the same file system. On NFS ``flock`` is carried by the lock
  manager (Linux >= 2.6.12); on a platform without ``fcntl`` the owner's pid is checked
  instead (same host only).
- A child that inherits the open lock (``fork`` without ``exec``) keeps it alive until it ends.
- The lock file is created with mode 0o666 minus the umask, like every file the app writes.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.backend.errors import UserFacingError, WriteError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"
#: Bytes of a lock file read back (an owner line is ~200 bytes; anything longer is not ours).
MAX_LOCK_BYTES = 4096


def lock_path_for(target: str | os.PathLike[str]) -> Path:
    """``<real target>.lock``: beside the real file, so every path (symlinks too) to it meets one lock."""
    real = Path(os.path.realpath(target))
    return real.with_name(real.name + LOCK_SUFFIX)


@dataclass(frozen=True)
class LockOwner:
    """Who holds (or held) a lock. ``since`` is seconds since the epoch."""

    user: str
    host: str
    pid: int
    since: float
    purpose: str = ""

    @classmethod
    def me(cls, purpose: str = "") -> LockOwner:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (containers)
            user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
        return cls(user, socket.gethostname(), os.getpid(), time.time(), purpose)

    @classmethod
    def parse(cls, raw: bytes) -> LockOwner | None:
        """The owner written in a lock file, or None when it holds no readable owner line."""
        try:
            d = json.loads(raw[:MAX_LOCK_BYTES].decode("utf-8"))
            return cls(str(d["user"])[:64], str(d["host"])[:255], int(d["pid"]), float(d["since"]),
                       str(d.get("purpose", ""))[:200])
        except (ValueError, TypeError, KeyError, UnicodeDecodeError, OverflowError):
            return None

    def describe(self) -> str:
        """``alice@lab-3 pid 4242 since 2025-03-01 14:02:11 (editing train.json)``."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"{self.user}@{self.host} pid {self.pid} since {when}" + (f" ({self.purpose})" if self.purpose else "")


class LockHeldError(UserFacingError):
    """The lock belongs to a live owner (``owner`` is None when its file names nobody readable)."""

    def __init__(self, target: Path, owner: LockOwner | None) -> None:
        self.target, self.owner = target, owner
        who = owner.describe() if owner is not None else "another process (its lock file names no owner)"
        super().__init__(f"{target.name} is in use by {who}")


class FileLock:
    """An acquired lock; see the module docstring. Use :meth:`acquire`, then :meth:`release`.

    Attributes:
        path: the lock file.
        owner: this process's owner record (what others are told).
        previous: the owner of a stale lock this one took over, else None.
    """

    def __init__(self, path: Path, fh: Any, owner: LockOwner, previous: LockOwner | None) -> None:
        self.path, self._fh, self.owner, self.previous = path, fh, owner, previous

    @classmethod
    def acquire(cls, target: str | os.PathLike[str], purpose: str = "", wait_s: float = 0.0) -> FileLock:
        """Lock ``target`` (a file or folder; the lock file is :func:`lock_path_for` of it).

        Args:
            purpose: a few words for others' message ("editing train.json", "training").
            wait_s: keep trying this long while the lock is held (0 = one try).

        Raises:
            LockHeldError: a live owner holds it.
            WriteError: the lock file cannot be created (read-only folder, ...).
        """
        path = lock_path_for(target)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return cls._try(path, LockOwner.me(purpose))
            except LockHeldError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(0.05)

    @classmethod
    def _try(cls, path: Path, me: LockOwner) -> FileLock:
        for _ in range(10):  # the file can be removed by its releasing owner between open and lock
            try:
                fh = open(path, "a+b", buffering=0)  # noqa: SIM115 -- held until release()
            except OSError as exc:
                raise WriteError.of(path, exc) from exc
            if not _try_lock(fh, path):
                fh.close()
                raise LockHeldError(Path(str(path)[: -len(LOCK_SUFFIX)]), read_owner(path))
            try:
                same = os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # we locked a file its owner just removed: start again on the new one
                fh.close()
                continue
            fh.seek(0)
            previous = LockOwner.parse(fh.read(MAX_LOCK_BYTES)) if os.fstat(fh.fileno()).st_size else None
            try:
                os.ftruncate(fh.fileno(), 0)
                fh.write((json.dumps(asdict(me)) + "\n").encode("utf-8"))
                os.fsync(fh.fileno())
            except OSError as exc:
                fh.close()
                raise WriteError.of(path, exc) from exc
            return cls(path, fh, me, previous)
        raise LockHeldError(Path(str(path)[: -len(LOCK_SUFFIX)]), read_owner(path))

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        """Remove the lock file and let go (idempotent)."""
        if self._fh is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still held: nobody can lock this inode in between
        self._fh.close()
        self._fh = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_owner(path: str | os.PathLike[str]) -> LockOwner | None:
    """The owner named in lock file ``path`` (a few tries: a new owner writes it just after locking)."""
    for _ in range(5):
        try:
            with open(path, "rb") as f:
                owner = LockOwner.parse(f.read(MAX_LOCK_BYTES))
        except OSError:
            return None
        if owner is not None:
            return owner
        time.sleep(0.02)
    return None


def _try_lock(fh: Any, path: Path) -> bool:
    """True when this process now holds the lock on the open file ``fh``."""
    if fcntl is not None:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # a file system without flock
            raise WriteError.of(path, exc) from exc
        return True
    owner = read_owner(path)  # no flock: the owner's pid decides (same host only)
    if owner is None or owner.host != socket.gethostname() or owner.pid == os.getpid():
        return owner is None
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
