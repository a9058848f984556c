"""One run per output folder: :mod:`app.backend.file_lock` on ``OUTPUT_DIR/.run.lock``, re-entrant per process.

``with OutputLock(folder): ...`` holds the :class:`~app.backend.file_lock.FileLock` of
``folder/.run`` (its lock file is ``folder/.run.lock``, inside the folder it guards, so a
read-only parent does not matter and moving the folder moves its lock). Everything about
owners and staleness is the file lock's:

- a second run (another process, here or on another machine sharing the folder) is
  refused with :class:`~app.backend.errors.OutputInUseError` naming the holder (user@host,
  pid, start time, command);
- a holder that died (SIGKILL, power cut) leaves the file, but the kernel released its
  ``flock``: the next run takes the lock over and says whose it was (:attr:`OutputLock.note`).

What this module adds: the same process may enter the lock of a folder it already holds (a
CLI that locks before it writes config.yaml, then the trainer it calls), and the folder is
made first, so a read-only, not permitted or file-in-the-way OUTPUT_DIR is a
:class:`~app.backend.errors.WriteError` before anything trains.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from app.backend.atomic_write import ensure_dir
from app.backend.errors import OutputInUseError
from app.backend.file_lock import LOCK_SUFFIX, FileLock, LockHeldError

#: The lock file's name inside OUTPUT_DIR (the file lock of ``OUTPUT_DIR/.run``).
LOCK_NAME = ".run" + LOCK_SUFFIX
_HELD: dict[str, list] = {}  # real path of the lock file -> [FileLock, depth] in this process
_HELD_GUARD = threading.Lock()


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
        ensure_dir(self.folder)  # WriteError: read-only, not permitted, a file in the way
        self._key = os.path.realpath(self.path)
        with _HELD_GUARD:
            if self._key in _HELD:
                _HELD[self._key][1] += 1
                return self
            purpose = "run: " + " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
            try:
                lock = FileLock.acquire(self.folder / ".run", purpose=purpose[:150])
            except LockHeldError as exc:
                who = exc.owner.describe() if exc.owner is not None else "another process"
                raise OutputInUseError(
                    f"{self.folder} is in use by another run ({who}); wait for it to end or choose another OUTPUT_DIR"
                ) from None
            _HELD[self._key] = [lock, 1]
        if lock.previous is not None and lock.previous.pid != os.getpid():
            self.note = (
                f"took over the lock of {self.folder} left by a run that is no longer running "
                f"({lock.previous.describe()})"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        with _HELD_GUARD:
            entry = _HELD.get(self._key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _HELD[self._key]
                entry[0].release()
