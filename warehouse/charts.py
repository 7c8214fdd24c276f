"""Bar charts drawn on the server as SVG: no JavaScript, no CDN. Each chart carries its numbers so the
template can give screen readers the same data as a table (templates/charts/_bar_chart.html)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 900, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 26


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    css: str = "series-0"        # the colour class (app.css), also used by the legend swatch


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class BarChart:
    """Categories along x (days, buckets), one bar per series (side by side) or stacked."""

    slug: str
    title: str
    categories: Sequence[str]
    series: Sequence[Series]
    stacked: bool = False
    category_header: str = "Day"
    x_label_every: int = 1
    empty_text: str = "Nothing in this period yet."
    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(init=False)
    y_ticks: list[Tick] = field(init=False)
    x_ticks: list[Tick] = field(init=False)

    def __post_init__(self) -> None:
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(self.categories)} categories")
        top = self._top()
        plot_w, plot_h = self.width - LEFT - RIGHT, self.height - TOP - BOTTOM
        slot = plot_w / max(1, len(self.categories))
        gap = slot * 0.2
        bars = 1 if self.stacked else max(1, len(self.series))
        bar_w = (slot - gap) / bars
        self.rects = []
        for i, category in enumerate(self.categories):
            base = 0
            for j, s in enumerate(self.series):
                value = s.values[i]
                if value <= 0:
                    continue
                h = plot_h * value / top
                x = LEFT + i * slot + gap / 2 + (0 if self.stacked else j * bar_w)
                y = TOP + plot_h - h - (plot_h * base / top if self.stacked else 0)
                self.rects.append(Rect(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1), s.css,
                                       f"{category}: {s.name} {value}"))
                if self.stacked:
                    base += value
        self.y_ticks = [Tick(round(TOP + plot_h - plot_h * v / top, 1), str(v)) for v in self._tick_values(top)]
        # Counted back from the last category, so the latest day always has its label and none overlap.
        every, last = max(1, self.x_label_every), len(self.categories) - 1
        self.x_ticks = [Tick(round(LEFT + i * slot + slot / 2, 1), c) for i, c in enumerate(self.categories)
                        if (last - i) % every == 0]

    def _top(self) -> int:
        if self.stacked:
            peak = max((sum(s.values[i] for s in self.series) for i in range(len(self.categories))), default=0)
        else:
            peak = max((v for s in self.series for v in s.values), default=0)
        return _nice_ceiling(max(peak, 1))

    @staticmethod
    def _tick_values(top: int) -> list[int]:
        step = max(1, top // 4)
        return list(range(0, top + 1, step))

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        """The same numbers as the bars, one row per category, for the table."""
        return [(c, [s.values[i] for s in self.series]) for i, c in enumerate(self.categories)]

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def label_y(self) -> int:
        return self.height - 8


def _nice_ceiling(value: int) -> int:
    """The axis top: four equal steps of 1, 2, 3 or 5 × 10^n that reach the value."""
    magnitude = 1
    while True:
        for step in (1, 2, 3, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10


def last_days(days: int, *, today: dt.date) -> list[dt.date]:
    return [today - dt.timedelta(days=days - 1 - n) for n in range(days)]


def day_values(counts: Mapping[dt.date, int], days: Iterable[dt.date]) -> list[int]:
    return [int(counts.get(d, 0)) for d in days]


def day_label(day: dt.date) -> str:
    return day.strftime("%d %b")
