"""Default sizes of the synthetic demo, importable without numpy or OpenCV (the CLI's help uses them)."""

from __future__ import annotations

import os

#: Default split sizes: 1000 training frames teach the demo's MTN clearly more than 300 (650
#: iterations of demo_cpu: keypoint AP50 8.9 vs 2.4) and take ~20 s to make on 2 cores.
DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL = 1000, 60
#: Processes used when the app or the CLI makes the demo.
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))
