"""Reusable Qt widgets. They take data (arrays, dicts, dataclasses), never paths,
and talk through signals; no detectron2 and no ``app.ui`` imports (import-linter).
Also the app's one background-job runner (:mod:`app.widgets.job_runner`), Qt-only, so
widgets and every view of ``app.ui`` share it."""
