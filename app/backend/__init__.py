"""Qt-free library: config, data, modeling, engine, evaluation and visualisation.

Nothing under ``app.backend`` may import Qt or pyqtgraph (enforced by import-linter).
Importing this package is cheap: subpackages import torch/detectron2 only when used.
"""
