"""The server-side SVG bar chart: bar sizes follow the numbers, and the table rows repeat them."""

import pytest

from warehouse.charts import BarChart, Series, _nice_ceiling


def test_bars_are_as_tall_as_their_numbers_and_the_rows_repeat_them():
    chart = BarChart(slug="t", title="T", categories=["a", "b", "c"],
                     series=[Series("Imported", [4, 0, 8]), Series("Errors", [1, 2, 0], "errors")])
    heights = {r.title: r.height for r in chart.rects}
    assert set(heights) == {"a: Imported 4", "c: Imported 8", "a: Errors 1", "b: Errors 2"}   # no bar for 0
    assert heights["c: Imported 8"] == pytest.approx(2 * heights["a: Imported 4"], abs=0.2)
    assert heights["a: Imported 4"] == pytest.approx(4 * heights["a: Errors 1"], abs=0.2)
    assert chart.rows == [("a", [4, 1]), ("b", [0, 2]), ("c", [8, 0])]
    assert all(r.y + r.height <= chart.plot_bottom + 0.1 for r in chart.rects)
    assert chart.y_ticks[0].label == "0" and int(chart.y_ticks[-1].label) >= 8


def test_stacked_bars_sit_on_each_other():
    chart = BarChart(slug="s", title="S", categories=["d1"], stacked=True,
                     series=[Series("Amazon", [3]), Series("Etsy", [1], "series-1")])
    amazon, etsy = chart.rects
    assert amazon.x == etsy.x and etsy.y + etsy.height == pytest.approx(amazon.y, abs=0.2)


def test_an_empty_chart_says_so_and_a_ragged_series_is_refused():
    assert BarChart(slug="e", title="E", categories=["a"], series=[Series("x", [0])]).is_empty
    with pytest.raises(ValueError):
        BarChart(slug="r", title="R", categories=["a", "b"], series=[Series("x", [1])])


@pytest.mark.parametrize("value, top", [(1, 4), (3, 4), (7, 8), (9, 12), (37, 40), (130, 200)])
def test_axis_tops_are_round(value, top):
    assert _nice_ceiling(value) == top


def test_day_labels_end_on_the_latest_day_and_keep_their_distance():
    days = [f"d{n}" for n in range(30)]
    chart = BarChart(slug="d", title="D", categories=days, series=[Series("x", [1] * 30)], x_label_every=7)
    assert [t.label for t in chart.x_ticks] == ["d1", "d8", "d15", "d22", "d29"]
