"""One run per output folder: a lock file that names its holder and notices when the holder is gone.

``with OutputLock(folder): ...`` holds ``folder/.run.lock`` for the block. The file holds
one JSON line naming the holder (``pid``, ``host``, ``started`` ISO time, the process's
``start_ticks`` from ``/proc`` and its command), and the holder keeps an exclusive
``flock`` on it for as long as it runs:

- a second run (another process, here or on another machine sharing the folder over
  NFSv4) finds the flock taken and fails with :class:`~app.backend.errors.OutputInUseError`
  naming the holder;
- a holder that died (SIGKILL, power cut) leaves the file, but the kernel released its
  flock: the next run takes the lock over and says whose it was (:attr:`OutputLock.note`);
- where the file system has no flock (some network mounts), the holder is checked by hand:
  a live process with the recorded start time on this host, or any holder on another host,
  means busy (the message then names the file to delete once that run is known to be over);
  a dead process's lock is taken over.

The same process may enter the lock of a folder it already holds (a CLI that locks before
it writes config.yaml, then the trainer it calls): the lock is re-entrant per process.
Creating the folder or the file fails with :class:`~app.backend.errors.WriteError`
(read-only, not permitted, a file in the way), so a run that cannot write its output is
stopped before it trains.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from app.backend.atomic_write import ensure_dir
from app.backend.errors import OutputInUseError, WriteError

try:
    import fcntl
except ImportError:  # Windows: no flock; the pid check below is used
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".run.lock"
_HELD: dict[str, list[Any]] = {}  # real path of the lock file -> [fd, depth] in this process
_HELD_GUARD = threading.Lock()


def _start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, ticks: int | None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return ticks is None or _start_ticks(pid) in (None, ticks)


def _holder() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "start_ticks": _start_ticks(os.getpid()),
        "command": " ".join(sys.argv)[:300],
    }


def describe(holder: dict[str, Any]) -> str:
    """``pid 123 on host h, started 2025-01-01T10:00:00+01:00`` (what the file says)."""
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started {holder.get('started', '?')}"


def read_holder(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The holder a lock file names ({} when empty or unreadable)."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(4096).decode("utf-8", errors="replace") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class OutputLock:
    """Context manager holding ``folder/.run.lock`` (see the module docstring).

    Attributes:
        path: the lock file.
        note: after entering, one line when a lock left by a dead run was taken over, else ""
            (the caller shows it: the CLI on stderr, the trainer in its log).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.note = ""
        self._key = ""

    def __enter__(self) -> OutputLock:
        ensure_dir(self.folder)
        self._key = os.path.realpath(self.path)
        with _HELD_GUARD:
            if self._key in _HELD:
                _HELD[self._key][1] += 1
                return self
            fd = self._open()
            try:
                previous = self._take(fd)
            except BaseException:
                os.close(fd)
                raise
            _HELD[self._key] = [fd, 1]
        if previous and previous.get("pid") not in (None, os.getpid()):
            self.note = f"took over the lock of {self.folder} left by a run that is no longer running ({describe(previous)})"
        return self

    def __exit__(self, *exc: object) -> None:
        with _HELD_GUARD:
            entry = _HELD.get(self._key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _HELD[self._key]
            fd = entry[0]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # released: nobody holds it
            os.close(fd)  # closing drops the flock

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise WriteError.of(self.path, exc) from exc

    def _take(self, fd: int) -> dict[str, Any]:
        """Lock ``fd`` (flock, or the pid check where there is none), write our holder line; return the old one."""
        previous = read_holder(self.path)
        flocked = False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                flocked = True
            except BlockingIOError:
                raise self._busy(read_holder(self.path), by_hand=False) from None
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    raise WriteError.of(self.path, exc) from exc
        if not flocked and previous:
            same_host = previous.get("host") == socket.gethostname()
            pid = previous.get("pid")
            if not same_host or (isinstance(pid, int) and _alive(pid, previous.get("start_ticks"))):
                raise self._busy(previous, by_hand=True)
        line = (json.dumps(_holder()) + "\n").encode("utf-8")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, line, 0)
            os.fsync(fd)
        except OSError as exc:
            raise WriteError.of(self.path, exc) from exc
        return previous

    def _busy(self, holder: dict[str, Any], by_hand: bool) -> OutputInUseError:
        who = describe(holder) if holder else "another process"
        return OutputInUseError(
            f"{self.folder} is in use by another run ({who}); wait for it to end or choose another OUTPUT_DIR"
            + (f" (if that run is over, delete {self.path})" if by_hand else "")
        )
