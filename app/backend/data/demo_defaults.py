"""Default sizes of the synthetic demo, importable without numpy or OpenCV (the CLI's help uses them)."""

from __future__ import annotations

import os

#: Default split sizes. Session 3's float32 demo_cpu (1300 iterations) learned no more from 3000
#: training frames than from 2000 (val keypoint AP50 / part accuracy: 1000: 22.5 / 34.1 %; 2000:
#: 28.5 / 34.0 %; 3000: 23.3 / 34.7 %, one run each, +-3 is noise). With MTN pretraining the
#: training frames are seen ~20 times and learned by heart (a 2000-frame model: 65.8 % part
#: accuracy on train, 45.6 % on val), and more frames help: on the MTN alone (2250 steps of 16)
#: 45.0 vs 42.5 % of val body pixels in the right part colour, full demo runs at half time 46.0
#: vs 44.4 % part accuracy. With 2,500 pretraining steps and a cosine schedule, 5000 frames: 49.8 %
#: (3000 frames, 2,000 steps: 48.8 %). 5000 take about a minute to make on 2 cores (3000: 34-40 s), ~250 MB.
DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL = 5000, 60
#: Processes used when the app or the CLI makes the demo.
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))
