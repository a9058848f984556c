"""StripChart: bounded series, curves made once, throttled redraws that scroll to the newest point."""

from __future__ import annotations

import numpy as np


def test_points_scroll_and_stay_bounded(qtbot) -> None:
    from app.widgets.strip_chart import StripChart

    chart = StripChart("amplitude", "a.u.", span_s=2.0, capacity=100)
    qtbot.addWidget(chart)
    t = np.arange(50) * 0.1
    chart.append(t, np.stack([t, 2 * t], axis=1), ["a", "b"])
    assert chart.series_names() == ["a", "b"]
    curve = chart.curve("a")
    assert curve.xData is None or len(curve.xData) == 0  # nothing drawn before the redraw timer
    chart.flush()
    x, y = curve.xData, curve.yData  # all points (what is painted is clipped to the view)
    np.testing.assert_allclose(x, t)
    np.testing.assert_allclose(y, t)
    lo, hi = chart.plot.viewRange()[0]
    assert (lo, hi) == (t[-1] - 2.0, t[-1])  # the last span_s seconds
    t2 = 5.0 + np.arange(200) * 0.1
    chart.append(t2, np.stack([t2, t2], axis=1), ["a", "b"])
    chart.flush()
    assert chart.curve("a") is curve and len(chart.series("a")[0]) == 100  # one curve, ring of 100
    assert chart.series("a")[0][-1] == t2[-1]
    chart.clear()
    assert chart.series_names() == [] and chart.plot.listDataItems() == []


def test_step_series_hold_each_value(qtbot) -> None:
    from app.widgets.strip_chart import StripChart

    chart = StripChart("people", "people", step=True)
    qtbot.addWidget(chart)
    chart.append([0.0, 1.0, 2.0], [[1], [3], [2]], ["people"])
    chart.flush()
    x, y = chart.curve("people").xData, chart.curve("people").yData
    assert list(x) == [0.0, 1.0, 1.0, 2.0, 2.0] and list(y) == [1, 1, 3, 3, 2]
