"""The README's Live view screenshot: the demo's val recording replayed into a trained model.

Run under a real X server, e.g.::

    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python tools/live_screenshot.py \\
        --config-file RUN/config.yaml --weights RUN/model_final.pth --out docs/screenshots/live.png

Opens the app's main window on a throw-away demo project, replays the demo dataset's
``val.json`` as recorded (100 packets/s, looped) in the Live view with the given model, waits
``--seconds`` and saves the window. (``main.py screenshots`` grabs the Live view too, after its
own short training run.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", required=True, help="the trained run's config.yaml")
    parser.add_argument("--weights", required=True, help="its checkpoint")
    parser.add_argument("--out", default="docs/screenshots/live.png")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long to replay before the screenshot")
    parser.add_argument("--size", type=int, nargs=2, default=(1400, 880), metavar=("W", "H"))
    parser.add_argument("--min-score", type=float, default=0.3, help="overlay score threshold")
    args = parser.parse_args()

    from app.ui.shell.app import make_application

    make_application()
    from app.backend.config import builtin_config
    from app.backend.data.demo import ensure_demo_dataset
    from app.backend.paths import default_demo_root
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.project import Project
    from app.ui.shell.screenshots import settle, show_live

    demo = default_demo_root()
    ensure_demo_dataset(demo, log=print)
    root = Path(tempfile.mkdtemp(prefix="wds-live-shot-")) / "demo"
    project = Project.create(root, builtin_config("demo_cpu"), name="demo", overrides={"DATASETS.DEMO.ROOT": str(demo)},
                             datasets=[str(demo)])
    win = MainWindow(project=str(project.root), open_initial=False)
    win.resize(*args.size)
    win.show()
    win.open_project(project.root)
    settle()
    if not show_live(win, args.weights, demo / "val.json", args.seconds, args.config_file, args.min_score):
        print("the Live view did not start", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(out))
    print(f"wrote {out}: {win.live_view.status.text()}")
    win.discard_unsaved_on_close = True
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
