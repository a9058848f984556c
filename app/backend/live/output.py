"""What a live run writes: one JSON line per predicted window, and overlay PNGs.

A line holds the window's times and counts and, under ``results``, its people in exactly the
record format of ``infer``'s ``predictions.json`` (:func:`~app.backend.engine.export.frame_to_coco_results`:
``image_id`` = the window's number, ``file_name`` = the source)::

    {"window": 41, "first_packet": 205, "packet_time": 12.345678, "read_time": 1733460000.123,
     "ready_time": 1733460000.187, "latency_ms": 64.0, "dropped": 12, "people": 1, "results": [{...}]}

Lines are appended and flushed one at a time with one ``write`` each, so a reader of the file (or
of the pipe) sees whole lines; a run killed mid-line leaves at most its last line cut. Overlay PNGs
are written atomically (:func:`~app.backend.data.csi.plot.write_png`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from app.backend.data.csi.plot import write_png
from app.backend.engine.export import frame_to_coco_results
from app.backend.errors import WriteError
from app.backend.live.pipeline import LiveResult


def result_record(result: LiveResult, source: str, score_threshold: float) -> dict:
    """The JSON line of ``result`` (people with score >= ``score_threshold``; see the module docstring)."""
    pred = result.prediction.select(result.prediction.scores >= score_threshold)
    return {
        "window": result.index,
        "first_packet": result.first_packet,
        "packet_time": round(result.packet_time, 6),
        "read_time": round(result.read_time, 4),
        "ready_time": round(result.ready_time, 4),
        "latency_ms": round(result.latency_s * 1000.0, 1),
        "dropped": result.dropped,
        "people": len(pred),
        "results": frame_to_coco_results(pred, image_id=result.index, file_name=source),
    }


class PredictionLog:
    """Appends JSON lines to ``target``: a path (created, or appended to) or an open text stream.

    Raises:
        WriteError: the file cannot be opened or written (read-only folder, full disk).
    """

    def __init__(self, target: str | os.PathLike | IO[str], source: str, score_threshold: float) -> None:
        self.source = source
        self.score_threshold = float(score_threshold)
        self.lines = 0
        if isinstance(target, (str, os.PathLike)):
            self.path: Path | None = Path(target)
            try:
                self._stream: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise WriteError.of(self.path, exc) from exc
            self._owned = True
        else:
            self.path, self._stream, self._owned = None, target, False

    def write(self, result: LiveResult) -> None:
        line = json.dumps(result_record(result, self.source, self.score_threshold), ensure_ascii=True) + "\n"
        try:
            self._stream.write(line)
            self._stream.flush()
        except OSError as exc:
            raise WriteError.of(self.path or "<stream>", exc) from exc
        self.lines += 1

    def close(self) -> None:
        if self._owned:
            self._stream.close()


class OverlayWriter:
    """Writes ``window_<number>.png`` (BGR overlay) for the first and every ``every``-th predicted window."""

    def __init__(self, folder: str | os.PathLike, every: int = 10) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.folder = Path(folder)
        self.every = int(every)
        self._seen = 0
        self.written: list[Path] = []

    def write(self, result: LiveResult) -> Path | None:
        k, self._seen = self._seen, self._seen + 1
        if k % self.every:
            return None
        path = write_png(self.folder / f"window_{result.index:08d}.png", result.overlay)
        self.written.append(path)
        return path
