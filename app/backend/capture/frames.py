"""Frame sources for the recording importer: a video file (OpenCV) or a folder of images.

Frame times (seconds, 0 at the first frame):

* video without ``fps``: the container's presentation time of each frame
  (``CAP_PROP_POS_MSEC`` read after ``grab()``); if the container gives none (all zero or
  not increasing) the fallback is ``index / CAP_PROP_FPS``;
* video with ``fps``: ``index / fps`` (overrides the container);
* image folder: ``index / fps`` (default 20 FPS, the paper's video rate), files in natural
  name order (``frame2.png`` before ``frame10.png``).

Images are BGR uint8 (H, W, 3) as OpenCV decodes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.backend.errors import UserFacingError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 20.0


class FrameSourceError(UserFacingError):
    """A video or frame folder cannot be read."""


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


class VideoFrames:
    """Frames of a video file read with ``cv2.VideoCapture``."""

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        import cv2

        self.path = Path(path)
        if not self.path.is_file():
            raise FrameSourceError(f"video not found: {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise FrameSourceError(f"{self.path}: OpenCV cannot open this video")
        meta_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        stamps = []
        while cap.grab():
            stamps.append(float(cap.get(cv2.CAP_PROP_POS_MSEC)) * 1e-3)
        cap.release()
        if not stamps:
            raise FrameSourceError(f"{self.path}: the video has no decodable frames")
        n = len(stamps)
        ts = np.asarray(stamps, dtype=np.float64)
        if fps:
            self.time_source = f"index / {fps:g} fps (--fps)"
            ts = np.arange(n) / float(fps)
        elif n > 1 and np.all(np.diff(ts) > 0):
            self.time_source = "container timestamps (CAP_PROP_POS_MSEC)"
            ts = ts - ts[0]
        elif meta_fps > 0:
            self.time_source = f"index / {meta_fps:g} fps (container frame rate)"
            ts = np.arange(n) / meta_fps
        else:
            raise FrameSourceError(f"{self.path}: the video has neither frame timestamps nor a frame rate; pass --fps")
        self.times = ts

    def __len__(self) -> int:
        return int(self.times.size)

    def iterate(self, wanted: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, BGR image)`` for every frame with ``wanted[index]``; others are skipped undecoded."""
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            for i in range(len(self)):
                if not wanted[i]:
                    if not cap.grab():
                        return
                    continue
                ok, img = cap.read()
                if not ok:
                    raise FrameSourceError(f"{self.path}: frame {i} could not be decoded")
                yield i, img
        finally:
            cap.release()


class FolderFrames:
    """Frames stored as image files in one folder."""

    def __init__(self, folder: str | Path, fps: float | None = None) -> None:
        self.path = Path(folder)
        if not self.path.is_dir():
            raise FrameSourceError(f"frame folder not found: {self.path}")
        files = [p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            raise FrameSourceError(f"{self.path}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
        self.files = sorted(files, key=lambda p: _natural_key(p.name))
        rate = float(fps) if fps else DEFAULT_FPS
        self.time_source = f"index / {rate:g} fps" + (" (--fps)" if fps else " (default)")
        self.times = np.arange(len(self.files)) / rate

    def __len__(self) -> int:
        return len(self.files)

    def iterate(self, wanted: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        import cv2

        for i, p in enumerate(self.files):
            if not wanted[i]:
                continue
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                raise FrameSourceError(f"{p}: not a readable image")
            yield i, img


def open_frames(
    video: str | Path | None, frames_dir: str | Path | None, fps: float | None
) -> VideoFrames | FolderFrames:
    """The frame source for exactly one of ``video`` / ``frames_dir``."""
    if (video is None) == (frames_dir is None):
        raise FrameSourceError("give exactly one of a video file or a frame folder")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise FrameSourceError(f"fps must be a finite number > 0, got {fps}")
    return VideoFrames(video, fps) if video is not None else FolderFrames(frames_dir, fps)
