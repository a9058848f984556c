"""LossPlot: points land in curves, memory is bounded, long curves use downsampling and clip-to-view."""

from __future__ import annotations

import numpy as np

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
