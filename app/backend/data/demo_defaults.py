"""Default sizes of the synthetic demo, importable without numpy or OpenCV (the CLI's help uses them)."""

from __future__ import annotations

import os

#: Default split sizes. More training frames taught the demo more in the same 1300 iterations of
#: session 3's float32 demo_cpu (val keypoint AP50 / part accuracy: 300 frames 2.4 / - at 650
#: iterations; 1000: 22.5 / 34.1 %; 2000: 28.5 / 34.0 %; 3000: 23.3 / 34.7 %, one run each, so
#: +-3 is noise). 2000 take ~27 s to make on 2 cores and ~100 MB of disk.
DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL = 2000, 60
#: Processes used when the app or the CLI makes the demo.
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))
