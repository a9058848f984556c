"""Evaluation: COCO box/keypoint AP and offline DensePose metrics (mask AP, part accuracy, U/V error, GPS).

See :mod:`app.backend.evaluation.metrics` for exactly what each key means. GPS/GPSm appear
only with a geodesic table (:mod:`app.backend.evaluation.geodesic`).
"""

from app.backend.evaluation.evaluator import DensePoseCOCOEvaluator, save_results
from app.backend.evaluation.geodesic import GPS_KAPPA, GeodesicTable, load_geodesic_table
from app.backend.evaluation.ground_truth import densepose_result_from_annotation, prediction_from_ground_truth
from app.backend.evaluation.metrics import evaluate_predictions

__all__ = [
    "GPS_KAPPA",
    "DensePoseCOCOEvaluator",
    "GeodesicTable",
    "densepose_result_from_annotation",
    "evaluate_predictions",
    "load_geodesic_table",
    "prediction_from_ground_truth",
    "save_results",
]
