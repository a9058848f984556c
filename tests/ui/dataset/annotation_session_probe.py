"""Scripted editing session for crash tests: ``python tests/ui/dataset/annotation_session_probe.py JSON``.

Opens the dataset in a real :class:`~app.ui.dataset.annotation_editor.AnnotationEditor` (offscreen
Qt), makes keypoint edits through the editor, lets autosave run in between, prints one
line per finished edit (``EDIT <n> <image_id> <keypoint> <x> <y>``) and then ``READY``,
and keeps running until it is killed. The test kills it with SIGKILL and checks that
reopening the file recovers every printed edit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file")
    parser.add_argument("--edits-before-autosave", type=int, default=3)
    parser.add_argument("--edits-after-autosave", type=int, default=3)
    parser.add_argument("--autosave-interval", type=float, default=0.3, help="seconds (the app uses 5)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from app.backend.annotations import AnnotationSession
    from app.ui.dataset.annotation_editor import AnnotationEditor
    from app.ui.shell.app import make_application

    app = make_application(sys.argv[:1])
    session = AnnotationSession.open(args.json_file, autosave_interval_s=args.autosave_interval)
    editor = AnnotationEditor(autosave_tick_ms=50)
    editor.add_session(session)
    ids = [img["id"] for img in session.doc.images if session.doc.anns(img["id"])]
    n = 0

    def edit() -> None:
        nonlocal n
        image_id = ids[n % len(ids)]
        editor.show_image(image_id, session.source)
        k = n % 17
        x, y = 5.0 + n, 7.0 + 2 * n
        editor.canvas.keypointMoved.emit(0, k, x, y)  # exactly what a mouse drag emits
        n += 1
        print(f"EDIT {n} {image_id} {k} {x} {y}", flush=True)

    for _ in range(args.edits_before_autosave):
        edit()
    deadline = time.monotonic() + 10 * args.autosave_interval + 2
    while session.dirty and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    print(f"AUTOSAVED {int(not session.dirty)}", flush=True)
    for _ in range(args.edits_after_autosave):
        edit()
    print("READY", flush=True)
    while True:  # wait to be killed; no autosave can run after READY as the loop is not spinning
        time.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main())
