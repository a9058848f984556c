"""WiFi CSI ingestion: readers (Intel 5300, MM-Fi, NumPy), sanitization, windowing.

Main entry points::

    rec = read_csi(path)                       # CsiRecording, (P, S, R, T) float32
    x = csi_model_input(path_or_rec, cfg)      # float32 (2, P*S, R, T) model input
    phi = sanitize_phase(rec.phase)            # the paper's phase sanitization

No detectron2 import here: widgets may use these modules directly.
"""

from app.backend.data.csi.readers import CSI_FILE_EXTENSIONS, CSI_NPZ_FORMAT, read_csi, sniff_format, write_csi_npz
from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.sanitize import (
    CsiStats,
    compute_csi_stats,
    remove_linear_phase,
    repair_nonfinite,
    sanitize_phase,
)
from app.backend.data.csi.window import (
    NONFINITE_POLICIES,
    CsiInputParams,
    as_params,
    build_model_input,
    csi_model_input,
    iter_windows,
    num_windows,
)

__all__ = [
    "CSI_FILE_EXTENSIONS",
    "CSI_NPZ_FORMAT",
    "NONFINITE_POLICIES",
    "CsiInputParams",
    "CsiRecording",
    "CsiStats",
    "as_params",
    "build_model_input",
    "compute_csi_stats",
    "csi_model_input",
    "iter_windows",
    "num_windows",
    "read_csi",
    "remove_linear_phase",
    "repair_nonfinite",
    "sanitize_phase",
    "sniff_format",
    "write_csi_npz",
]
