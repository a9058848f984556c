"""Reusable Qt widgets. They take data (arrays, dicts, dataclasses), never paths,
and talk through signals; no detectron2 and no ``app.ui`` imports (import-linter)."""
