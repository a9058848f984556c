"""From a capture to a training set: align video with CSI logs, import recordings and MM-Fi
sequences into our dataset format, and pseudo-label frames with an image teacher.

Submodules are imported on demand (``app.backend.capture.align`` is numpy-only; the
pseudo-labeller needs detectron2).
"""
