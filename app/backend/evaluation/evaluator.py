"""detectron2 ``DatasetEvaluator`` for boxes, keypoints and DensePose (see :mod:`.metrics` for the keys)."""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections import OrderedDict
from typing import Any

from detectron2.data import DatasetCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

from app.backend.atomic_write import atomic_write_json
from app.backend.evaluation.geodesic import GeodesicTable, load_geodesic_table
from app.backend.evaluation.metrics import evaluate_predictions
from app.backend.modeling import to_frame_prediction
from app.backend.structures.prediction import FramePrediction

logger = logging.getLogger(__name__)
RESULTS_FILE = "evaluation_results.json"


class DensePoseCOCOEvaluator(DatasetEvaluator):
    """COCO box AP, keypoint AP (OKS) and offline DensePose metrics through pycocotools.

    Works with ``detectron2.evaluation.inference_on_dataset`` (``process`` takes the model's
    ``[{"instances": Instances}]``) and in the training loop's ``EvalHook``; results are
    detectron2's ``OrderedDict`` {"bbox": {...}, "keypoints": {...}, "densepose": {...}} and are
    also written to ``<output_dir>/evaluation_results.json``. GPS/GPSm keys appear only when
    ``TEST.DENSEPOSE.GEODESIC_DIR`` (or ``geodesic_dir``) names a geodesic table.
    """

    def __init__(
        self,
        dataset_name: str,
        cfg: Any = None,
        output_dir: str | None = None,
        *,
        geodesic_dir: str | None = None,
        distributed: bool = True,
        dataset_dicts: list[dict] | None = None,
    ) -> None:
        """
        Args:
            dataset_name: a name registered in ``DatasetCatalog`` (its dicts are the ground truth).
            cfg: optional config; ``TEST.DENSEPOSE.GEODESIC_DIR`` is read from it.
            output_dir: where the results JSON goes (None: not written).
            geodesic_dir: overrides the config's geodesic folder.
            distributed: gather predictions from all processes before evaluating.
            dataset_dicts: ground truth to use instead of the catalog's.
        """
        self._dataset_name = dataset_name
        self._output_dir = output_dir
        self._distributed = distributed
        self._dataset_dicts = dataset_dicts
        if geodesic_dir is None and cfg is not None:
            geodesic_dir = cfg.TEST.DENSEPOSE.GEODESIC_DIR
        self._geodesic: GeodesicTable | None = load_geodesic_table(geodesic_dir)
        self._predictions: dict[Any, FramePrediction] = {}

    def reset(self) -> None:
        self._predictions = {}

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        """Store one FramePrediction per input image (``outputs[k]["instances"]`` of our model, or
        ``["prediction"]``, a FramePrediction)."""
        for inp, out in zip(inputs, outputs):
            if isinstance(out.get("prediction"), FramePrediction):
                pred = out["prediction"]
            elif "instances" in out:
                pred = to_frame_prediction(out["instances"])
            else:
                continue
            self._predictions[inp["image_id"]] = pred

    def evaluate(self) -> OrderedDict | dict:
        predictions = self._predictions
        if self._distributed:
            comm.synchronize()
            gathered = comm.gather(predictions, dst=0)
            if not comm.is_main_process():
                return {}
            predictions = dict(itertools.chain.from_iterable(p.items() for p in gathered))
        if not predictions:
            logger.warning("DensePoseCOCOEvaluator: no predictions to evaluate on %s", self._dataset_name)
        dicts = self._dataset_dicts if self._dataset_dicts is not None else DatasetCatalog.get(self._dataset_name)
        results = evaluate_predictions(dicts, predictions, self._geodesic)
        for task, metrics in results.items():
            logger.info("%s %s: %s", self._dataset_name, task, ", ".join(f"{k}={v:.2f}" for k, v in metrics.items()))
        if self._output_dir:
            save_results(results, os.path.join(self._output_dir, RESULTS_FILE), dataset=self._dataset_name)
        return results


def save_results(results: OrderedDict, path: str, dataset: str = "") -> None:
    """Write results as JSON (NaN written as null) with :func:`~app.backend.atomic_write.atomic_write_json`."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    clean = {
        t: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}
        for t, m in results.items()
    }
    atomic_write_json(path, {"dataset": dataset, "results": clean}, indent=2, ensure_ascii=True)
