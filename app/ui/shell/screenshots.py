"""Render every view of the app to PNG after a short real training run on the demo project.

Used by ``python main.py screenshots --out DIR`` (README images in docs/screenshots/). Every view
is saved at each of :data:`SIZES`: ``NAME.png`` at the first, ``NAME-WxH.png`` at the others.
Runs offscreen when no platform is set; ``make screenshots`` runs it on Xvfb with xcb.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Small overrides of demo_cpu: a short run that still shows moving curves and a preview.
SCREENSHOT_OVERRIDES: dict[str, Any] = {
    "MODEL.MTN.OUTPUT_SIZE": [96, 96],
    "SOLVER.IMS_PER_BATCH": 2,
    "SOLVER.WARMUP_ITERS": 5,
    "SOLVER.CHECKPOINT_PERIOD": 100000,
    "SOLVER.MTN_PRETRAIN.ITERS": 10,  # demo_cpu pretrains 2500 steps on 5000 samples first
    "SOLVER.MTN_PRETRAIN.MAX_SAMPLES": 64,
    "UI.METRICS_PERIOD": 1,
    "UI.PREVIEW_SAMPLES": 2,
    "TEST.EVAL_PERIOD": 0,
    "MODEL.ROI_HEADS.SCORE_THRESH_TEST": 0.3,
}


#: Window sizes of the screenshots: a common desktop and a small laptop screen.
SIZES: tuple[tuple[int, int], ...] = ((1600, 1000), (1200, 760))


def wait_for(signal: Any, timeout_ms: int) -> list:
    """Run the event loop until ``signal`` fires (returns its arguments) or the timeout passes."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    got: list = []

    def on_signal(*args: Any) -> None:
        got.extend(args)
        got.append(True)
        loop.quit()

    signal.connect(on_signal)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(on_signal)
    if not got:
        raise TimeoutError(f"no signal within {timeout_ms / 1000:.0f} s")
    return got[:-1]


def settle(ms: int = 300) -> None:
    """Let layouts, redraw timers and queued signals run for ``ms``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def show_live(win: Any, checkpoint: str, source: Path, seconds: float = 8.0, config_file: str = "",
              min_score: float = 0.5) -> bool:
    """Replay ``source`` (a recording or dataset JSON, as recorded, looped) in the window's Live view for
    ``seconds``; it keeps running (closing the window stops it). False when it did not start."""
    view = win.live_view
    view.set_checkpoint(str(checkpoint))
    view.set_config_file(config_file)
    view.set_source("replay", str(source), loop=True)
    view.controls.min_score.setValue(min_score)
    win.tabs.setCurrentWidget(view)
    if not view.start():
        return False
    settle(int(seconds * 1000))
    return view.is_running() or bool(view.summary)


def take_screenshots(out_dir: str | Path, iterations: int = 20, project_dir: str | Path | None = None,
                     sizes: tuple[tuple[int, int], ...] = SIZES,
                     progress: Callable[[str], None] = print) -> list[Path]:
    """Train ``iterations`` on the demo project, then save one PNG per view and size into ``out_dir``.

    Returns the written paths. The demo dataset is generated when missing.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.ui.shell.app import make_application

    make_application()
    from app.backend.config import builtin_config
    from app.backend.data.demo import ensure_demo_dataset
    from app.backend.paths import default_demo_root
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.project import Project

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demo_root = default_demo_root()
    ensure_demo_dataset(demo_root, log=progress)
    root = Path(project_dir) if project_dir else Path(tempfile.mkdtemp(prefix="wds-screens-")) / "demo"
    overrides = {**SCREENSHOT_OVERRIDES, "SOLVER.MAX_ITER": int(iterations),
                 "UI.PREVIEW_PERIOD": max(1, int(iterations) // 2), "DATASETS.DEMO.ROOT": str(demo_root)}
    project = Project.create(root, builtin_config("demo_cpu"), name="demo", overrides=overrides,
                             datasets=[str(demo_root)])
    win = MainWindow(project=str(project.root), open_initial=False)
    win.resize(*sizes[0])
    win.show()
    win.open_project(project.root)
    settle()

    written: list[Path] = []

    def grab(index: int, name: str) -> None:
        win.tabs.setCurrentIndex(index)
        settle(400)
        path = out / f"{name}.png"
        if win.size().toTuple() != sizes[0]:
            path = out / f"{name}-{win.width()}x{win.height()}.png"
        win.grab().save(str(path))
        written.append(path)
        progress(f"wrote {path}")

    tv = win.training_view
    win.tabs.setCurrentWidget(tv)
    progress(f"training {iterations} iterations of demo_cpu in {project.output_path}")
    tv.start()
    summary = wait_for(tv.runFinished, 3_600_000)[0]
    progress(f"run {summary.get('status')}: {summary.get('message')}")
    tv.loss_plot.flush()
    tv.side_tabs.setCurrentIndex(0)

    iv = win.inference_view
    if summary.get("last_checkpoint"):
        iv.set_checkpoint(summary["last_checkpoint"])
    iv.controls.min_score.setValue(0.2)  # a 20-iteration model is not confident yet
    if iv.sample_combo.count():
        iv.sample_combo.setCurrentIndex(min(3, iv.sample_combo.count() - 1))
        if iv.run():
            wait_for(iv.resultReady, 600_000)
            settle(500)

    mtn = win.mtn_preview_view
    record = iv.current_sample()
    if record is not None and record.get("csi_file"):
        frame = Path(record["file_name"]) if record.get("file_name") else None
        win.tabs.setCurrentWidget(mtn)
        mtn.open_sample(Path(record["csi_file"]), frame)
        try:  # its workers read the recording, then run the MTN
            wait_for(mtn.mtnUpdated, 300_000)
        except TimeoutError:
            progress("MTN preview: no MTN output within 300 s; its screenshot shows the CSI only")
        settle(500)

    if summary.get("last_checkpoint"):
        show_live(win, summary["last_checkpoint"], demo_root / "val.json", min_score=0.2)

    cv = win.config_view
    cv.form.set_filter("MTN")
    cv.form.tree.expandAll()

    names = {"Dataset": "dataset", "MTN Preview": "mtn_preview", "Config": "config",
             "Training": "training", "Inference": "inference", "Live": "live"}
    for size in sizes:
        win.resize(*size)
        settle(500)
        for i in range(win.tabs.count()):
            title = win.tabs.tabText(i)
            grab(i, names.get(title, title.lower().replace(" ", "_")))
    cv.form.set_filter("")
    win.discard_unsaved_on_close = True
    win.close()
    return written
