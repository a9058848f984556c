"""LossPlot: points land in curves, memory is bounded, long curves use downsampling and clip-to-view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.widgets.loss_plot import LossPlot, RingBuffer, ema


def test_append_reaches_curves_and_lr_goes_to_lower_plot(qtbot) -> None:
    w = LossPlot()
    qtbot.addWidget(w)
    for it in range(5):
        w.append(it, {"total_loss": 5.0 - it, "loss_cls": 1.0, "lr": 0.01 * it, "note": "x"})
    w.flush()
    assert w.series_names() == ["total_loss", "loss_cls", "lr"]
    x, y = w.curve("total_loss").getData()
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(y, [5, 4, 3, 2, 1])
    assert w.curve("lr") in w.lr_plot.listDataItems()
    assert w.curve("lr") not in w.loss_plot.listDataItems()


def test_toggle_log_scale_and_smoothing(qtbot) -> None:
    w = LossPlot()
    qtbot.addWidget(w)
    w.set_history({"total_loss": ([0, 1, 2, 3], [4.0, 0.0, 4.0, 0.0])})
    w.set_visible("total_loss", False)
    assert not w.curve("total_loss").isVisible()
    w.set_log_scale(True)
    assert w.loss_plot.getAxis("left").logMode
    w.set_smoothing(0.5)
    _, y = w.curve("total_loss").getOriginalDataset()
    np.testing.assert_allclose(y, [4.0, 2.0, 3.0, 1.5])
    # the raw series is untouched by smoothing
    np.testing.assert_array_equal(w.series("total_loss")[1], [4, 0, 4, 0])


def test_ring_buffer_is_bounded_and_keeps_newest() -> None:
    buf = RingBuffer(capacity=100)
    for i in range(1000):
        buf.append(i, i * 2)
    x, _ = buf.data()
    assert len(buf) == 100 and buf._x.nbytes == 2 * 100 * 8
    np.testing.assert_array_equal(x, np.arange(900, 1000))
    buf.extend(np.arange(1000, 1250), np.zeros(250))
    x, _ = buf.data()
    np.testing.assert_array_equal(x, np.arange(1150, 1250))


def test_long_curves_use_peak_downsampling_and_clip_to_view(qtbot) -> None:
    w = LossPlot(capacity=100_000)
    qtbot.addWidget(w)
    n = 100_000
    w.set_history({"total_loss": (np.arange(n), np.random.default_rng(0).random(n))})
    curve = w.curve("total_loss")
    assert curve.opts["autoDownsample"] and curve.opts["downsampleMethod"] == "peak"
    assert curve.opts["clipToView"]
    assert len(w.series("total_loss")[0]) == n
    w.resize(600, 300)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    # what is drawn is far fewer points than stored, and zooming in clips to the view
    assert len(curve.getData()[0]) < n / 10
    w.loss_plot.setXRange(0, 1000, padding=0)
    qtbot.wait(50)
    assert len(curve.getData()[0]) < 1100


def test_ema_skips_non_finite() -> None:
    out = ema(np.array([1.0, np.nan, 3.0]), 0.5)
    np.testing.assert_allclose(out, [1.0, 1.0, 2.0])


def _shown(qtbot, w: LossPlot) -> LossPlot:
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_log_scale_keeps_following_new_points_and_a_resumed_run(qtbot) -> None:
    w = _shown(qtbot, LossPlot())
    for it in range(50):
        w.append(it, {"total_loss": 2.0 / (it + 1), "lr": 0.01 * (it + 1) / 50})
    w.flush()
    qtbot.wait(50)
    w.set_log_scale(True)
    qtbot.wait(50)
    for it in range(50, 200):  # the run goes on: the view must follow
        w.append(it, {"total_loss": 2.0 / (it + 1), "lr": 0.01})
    w.flush()
    qtbot.wait(50)
    (x0, x1), _ = w.loss_plot.viewRange()
    assert x0 <= 0 and x1 >= 199
    assert w.lr_plot.viewRange()[0] == [x0, x1]
    w.clear()  # Resume from checkpoint: the curves start again at iteration 100
    for it in range(100, 150):
        w.append(it, {"total_loss": 1.0 / (it + 1), "lr": 0.01})
    w.flush()
    qtbot.wait(50)
    (x0, x1), (y0, y1) = w.loss_plot.viewRange()
    assert 90 <= x0 <= 100 and 149 <= x1 <= 160
    assert y0 <= np.log10(1.0 / 150) and y1 >= np.log10(1.0 / 101)


def _labels(plot) -> list[str]:
    axis = plot.getAxis("left")
    y0, y1 = plot.viewRange()[1]
    strings = []
    for spacing, values in axis.tickValues(y0, y1, axis.height()):
        strings += [s for s in axis.tickStrings(values, axis.scale, spacing or 1.0) if s]
    return strings


def test_lr_axis_has_value_labels_in_log_mode(qtbot) -> None:
    w = _shown(qtbot, LossPlot())
    w.resize(700, 300)  # the lr plot is about 60 px tall, as in the training view
    for it in range(300):  # detectron2's warm-up from 0.001 x BASE_LR, then constant: three decades
        w.append(it, {"total_loss": 1.0, "lr": 0.01 * (0.001 + 0.999 * min(1.0, it / 100))})
    w.flush()
    w.set_log_scale(True)
    qtbot.wait(100)
    labels = _labels(w.lr_plot)
    lo, hi = (10**v for v in w.lr_plot.viewRange()[1])
    assert all(lo <= float(s) <= hi for s in labels), labels  # real values: no "x0.001" scale, no "10¹"
    assert {"0.01", "0.001", "0.0001"} <= set(labels)
    flat = _shown(qtbot, LossPlot())
    flat.resize(700, 300)
    flat.set_log_scale(True)
    for it in range(60):  # a constant lr: less than a decade
        flat.append(it, {"total_loss": 1.0, "lr": 0.01})
    flat.flush()
    qtbot.wait(100)
    labels = _labels(flat.lr_plot)
    lo, hi = (10**v for v in flat.lr_plot.viewRange()[1])
    assert "0.01" in labels and all(lo <= float(s) <= hi for s in labels), labels


def test_every_series_of_a_run_has_its_own_colour(qtbot) -> None:
    w = LossPlot()
    qtbot.addWidget(w)
    names = ["loss_rpn_cls", "loss_rpn_loc", "loss_cls", "loss_box_reg", "loss_keypoint", "loss_densepose_S",
             "loss_densepose_I", "loss_densepose_U", "loss_densepose_V", "loss_transfer", "loss_mtn_parts",
             "total_loss", "lr", "pretrain loss_mtn_parts", "pretrain lr", "data_time"]
    w.append(0, dict.fromkeys(names, 1.0))
    w.flush()
    colours = {n: w.curve(n).opts["pen"].color().getRgb()[:3] for n in names}
    assert len(set(colours.values())) == len(names), colours
    assert colours["total_loss"] == (0, 0, 0)
    assert w.curve("pretrain lr") in w.lr_plot.listDataItems()


def test_hovering_names_each_curve_value_at_that_iteration(qtbot) -> None:
    w = _shown(qtbot, LossPlot())
    for it in range(100):
        w.append(it, {"total_loss": 100.0 - it, "loss_cls": 0.5, "lr": 0.02})
    w.flush()
    qtbot.wait(100)
    vb = w.loss_plot.vb
    scene_pos = vb.mapViewToScene(pg.Point(40.2, 50.0))
    view_pos = w.graphics.mapFromScene(scene_pos)
    qtbot.mouseMove(w.graphics.viewport(), view_pos)
    qtbot.waitUntil(lambda: "iteration 40" in w.hover_label.text(), timeout=2000)
    text = w.hover_label.text()
    assert "total_loss 60" in text and "loss_cls 0.5" in text and "lr 0.02" in text
    assert w.cursor.isVisible() and abs(w.cursor.value() - 40.2) < 1


def test_no_points_shows_a_sentence_instead_of_empty_axes(qtbot) -> None:
    w = _shown(qtbot, LossPlot())
    assert w.stack.currentWidget() is w.empty_label and "Start" in w.empty_label.text()
    w.append(0, {"total_loss": 1.0})
    w.flush()
    assert w.stack.currentWidget() is not w.empty_label
    w.clear()
    assert w.stack.currentWidget() is w.empty_label
