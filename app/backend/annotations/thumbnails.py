"""Thumbnail cache: memory LRU + JPEG files on disk, thread-safe, Qt-free.

Thumbnails are **RGB** uint8 arrays of shape (h, w, 3) with ``max(h, w) == size``
(aspect kept). The disk key is the SHA-1 of the source's absolute path, size, mtime and
the thumbnail size, so an edited image gets a fresh thumbnail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from app.backend.atomic_write import atomic_write
from app.backend.paths import user_cache_dir


def default_thumbnail_dir() -> Path:
    return user_cache_dir() / "thumbnails"


class ThumbnailCache:
    """Make and cache thumbnails of image files.

    Args:
        cache_dir: folder for cached JPEGs (None = memory only).
        size: longest side of a thumbnail in pixels.
        memory_items: thumbnails kept in the in-memory LRU.
    """

    def __init__(
        self, cache_dir: str | os.PathLike[str] | None = None, size: int = 128, memory_items: int = 4096
    ) -> None:
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.size = int(size)
        self.memory_items = int(memory_items)
        self._mem: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, path: str | os.PathLike[str]) -> np.ndarray | None:
        """The in-memory thumbnail of ``path`` without any I/O (None if not cached)."""
        with self._lock:
            thumb = self._mem.get(str(path))
            if thumb is not None:
                self._mem.move_to_end(str(path))
            return thumb

    def get(self, path: str | os.PathLike[str], hint_wh: tuple[int, int] | None = None) -> np.ndarray | None:
        """Thumbnail of an image file (memory, then disk cache, then decode); None if unreadable.

        ``hint_wh`` (the image's width and height from the JSON) lets the decoder use
        OpenCV's reduced-resolution JPEG decoding.
        """
        key = str(path)
        thumb = self.peek(key)
        if thumb is not None:
            return thumb
        disk = self._disk_path(key)
        if disk is not None and disk.exists():
            thumb = _read_rgb(disk, cv2.IMREAD_COLOR)
        if thumb is None:
            thumb = self._make(key, hint_wh)
            if thumb is None:
                return None
            if disk is not None:
                self._write_disk(disk, thumb)
        with self._lock:
            self._mem[key] = thumb
            while len(self._mem) > self.memory_items:
                self._mem.popitem(last=False)
        return thumb

    def _disk_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        try:
            st = os.stat(key)
        except OSError:
            return None
        ident = f"{os.path.abspath(key)}|{st.st_size}|{st.st_mtime_ns}|{self.size}"
        digest = hashlib.sha1(ident.encode("utf-8")).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.jpg"

    def _make(self, path: str, hint_wh: tuple[int, int] | None) -> np.ndarray | None:
        flag = cv2.IMREAD_COLOR
        if hint_wh is not None and max(hint_wh) > 0:
            longest = max(hint_wh)
            for factor, reduced in (
                (8, cv2.IMREAD_REDUCED_COLOR_8),
                (4, cv2.IMREAD_REDUCED_COLOR_4),
                (2, cv2.IMREAD_REDUCED_COLOR_2),
            ):
                if longest / factor >= self.size:
                    flag = reduced
                    break
        img = _read_rgb(Path(path), flag)
        if img is None:
            return None
        h, w = img.shape[:2]
        scale = self.size / max(h, w)
        if scale < 1.0:
            img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(img)

    def _write_disk(self, disk: Path, thumb: np.ndarray) -> None:
        with contextlib.suppress(OSError):  # a cache: a file it cannot write is made again next time
            disk.parent.mkdir(parents=True, exist_ok=True)
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(thumb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
            if ok:
                atomic_write(disk, buf.tobytes(), durable=False)


def _read_rgb(path: Path, flag: int) -> np.ndarray | None:
    """Decode an image file to RGB uint8 (h, w, 3); None when it is not a readable image."""
    try:
        raw = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if raw.size == 0:
        return None
    img = cv2.imdecode(raw, flag)
    if img is None or img.ndim != 3:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
