"""Follow a detectron2 output folder's ``metrics.json`` (one JSON object per line) as it grows.

:class:`MetricsTail` is the Qt-free incremental reader: it remembers the byte offset of
the last complete line, keeps a partial last line for the next read and starts over when
the file is truncated or replaced. :class:`RunFollower` drives it from a
QFileSystemWatcher (prompt on local disks) plus a polling timer (network and cluster
file systems often send no change notifications).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot


class MetricsTail:
    """Reads the complete new lines of a metrics.json since the previous call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._inode: tuple[int, int] | None = None

    def read_new(self) -> list[dict[str, Any]]:
        """Parsed records appended since the last call (invalid lines are skipped)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        ident = (st.st_dev, st.st_ino)
        if ident != self._inode or st.st_size < self._offset:  # replaced or truncated: start over
            self._inode, self._offset, self._partial = ident, 0, b""
        if st.st_size == self._offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read(st.st_size - self._offset)
        self._offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        out = []
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out


class RunFollower(QObject):
    """Emits ``record(dict)`` for each new line of ``<folder>/metrics.json``.

    Signals:
        record(dict): one parsed metrics.json line (detectron2's keys: iteration, total_loss, lr, ...).
    """

    record = Signal(dict)

    def __init__(self, folder: str | Path, parent: QObject | None = None, poll_ms: int = 1000) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.tail = MetricsTail(self.folder / "metrics.json")
        self.watcher = QFileSystemWatcher(self)
        self.watcher.addPath(str(self.folder))
        self.watcher.directoryChanged.connect(self.poll)
        self.watcher.fileChanged.connect(self.poll)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.timer.start()
        self.poll()

    def stop(self) -> None:
        self.timer.stop()
        paths = self.watcher.files() + self.watcher.directories()
        if paths:
            self.watcher.removePaths(paths)

    @Slot()
    @Slot(str)
    def poll(self, _path: str = "") -> None:
        """Read what was appended and emit it."""
        file = str(self.tail.path)
        if self.tail.path.exists() and file not in self.watcher.files():
            self.watcher.addPath(file)
        for rec in self.tail.read_new():
            self.record.emit(rec)
