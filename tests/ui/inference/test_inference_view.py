"""Inference view: a real checkpoint predicts off the UI thread; toggles re-render without a model run."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backend.config import load_config
from app.ui.shell.project import Project


@pytest.fixture
def checkpoint(demo_project: Project) -> str:
    """A checkpoint saved from a freshly built model of the project's config."""
    from detectron2.checkpoint import DetectionCheckpointer

    from app.backend.modeling import build_model

    cfg = load_config(demo_project.config_path)
    model = build_model(cfg)
    out = demo_project.output_path
    out.mkdir(parents=True, exist_ok=True)
    DetectionCheckpointer(model, save_dir=str(out)).save("model_test")
    return str(out / "model_test.pth")


def test_inference_draws_overlays_from_a_checkpoint(qtbot, qapp_settings, demo_project: Project,
                                                   checkpoint: str, tmp_path: Path) -> None:
    from app.ui.inference.inference_view import InferenceView, dataset_samples

    cfg = load_config(demo_project.config_path, ["MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"])
    view = InferenceView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.set_config_provider(lambda: cfg)
    samples = dataset_samples(cfg)
    assert samples and samples[0]["annotations"]
    view.set_samples(samples)
    view.set_checkpoint(checkpoint)
    # score threshold 0 (model and overlay) so an untrained model still draws people: with the
    # overlay's default 0.5, a random model whose scores all fell below it drew nothing
    view.controls.min_score.setValue(0.0)
    view.controls.opacity.setValue(80)
    with qtbot.waitSignal(view.resultReady, timeout=300_000):
        assert view.run()
    assert view.result is not None
    pred = view.result.prediction
    assert len(pred) > 0 and pred.image_size == tuple(view.result.background.shape[:2])
    assert view.table.rowCount() == len(pred)
    assert float(view.table.cell_text(0, "score")) == pytest.approx(float(pred.scores[0]), abs=1e-3)
    assert view.gt_view.has_image()  # dataset sample: ground truth beside prediction
    drawn = view.pred_view.image().copy()
    assert not np.array_equal(drawn, view.result.background)
    # toggles re-render from the cached prediction, without a new model run
    qtbot.waitUntil(lambda: not view.is_busy())
    cached = view.result
    view.controls.set_layer("boxes", False)
    view.controls.set_layer("parts", False)
    view.controls.set_layer("keypoints", False)
    assert not view.is_busy() and view.result is cached
    assert not np.array_equal(view.pred_view.image(), drawn)
    out = tmp_path / "export.png"
    assert view.export_png(out)
    img = cv2.imread(str(out))
    assert img.shape[1] > drawn.shape[1]  # GT | prediction side by side


def test_missing_checkpoint_reports_error(qtbot, qapp_settings, demo_project: Project) -> None:
    from app.ui.inference.inference_view import InferenceView

    cfg = load_config(demo_project.config_path)
    view = InferenceView()
    qtbot.addWidget(view)
    view.set_config_provider(lambda: cfg)
    view.set_source(str(demo_project.root / "nothing.jpg"))
    view.set_checkpoint(str(demo_project.root / "missing.pth"))
    with qtbot.waitSignal(view.failed, timeout=60_000) as failed:
        assert view.run()
    assert "checkpoint not found" in failed.args[0]
    assert view.error_dialogs[-1].isVisible()
    qtbot.waitUntil(lambda: not view.is_busy())


def test_real_intel5300_capture_runs_through_the_view(qtbot, qapp_settings, demo_project: Project,
                                                      checkpoint: str, intel_dat: Path) -> None:
    from app.ui.inference.inference_view import GT_EMPTY, GT_NONE, PRED_EMPTY, InferenceView

    cfg = load_config(demo_project.config_path)
    view = InferenceView()
    qtbot.addWidget(view)
    assert (view.gt_view.placeholder, view.pred_view.placeholder) == (GT_EMPTY, PRED_EMPTY)  # sentences, not plots
    view.set_config_provider(lambda: cfg)
    view.set_source(str(intel_dat))
    view.set_checkpoint(checkpoint)
    with qtbot.waitSignal(view.resultReady, timeout=300_000):
        assert view.run()
    result = view.result
    assert result.ground_truth is None and not view.gt_view.has_image()
    assert view.gt_view.placeholder == GT_NONE  # says why there is no ground truth
    assert result.mtn_image is not None  # no RGB frame: the overlay is drawn on the MTN output
    assert result.background.shape[:2] == tuple(cfg.MODEL.MTN.OUTPUT_SIZE)
    assert view.pred_view.has_image()
    qtbot.waitUntil(lambda: not view.is_busy())


def test_a_run_without_any_checkpoint_says_the_model_is_untrained(qtbot, qapp_settings, demo_project: Project,
                                                                   intel_dat: Path) -> None:
    """A new project has no checkpoint: Run still shows what the model does, but says it is untrained
    (it said '10 people found' as if those were predictions of a trained model)."""
    from app.ui.inference.inference_view import InferenceView

    cfg = load_config(demo_project.config_path)
    assert not list(Path(cfg.OUTPUT_DIR).glob("*.pth"))
    view = InferenceView()
    qtbot.addWidget(view)
    view.set_config_provider(lambda: cfg)
    view.set_source(str(intel_dat))
    with qtbot.waitSignal(view.resultReady, timeout=300_000):
        assert view.run()
    assert "found by an UNTRAINED model: no checkpoint in" in view.status.text()
    assert view.status.minimumSizeHint().width() < 500  # the sentence wraps; it does not widen the window
    qtbot.waitUntil(lambda: not view.is_busy())
