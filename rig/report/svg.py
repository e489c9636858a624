"""Charts as inline SVG: a line or scatter chart with axes, ticks, grid and legend.

Hand-written so the HTML report is one self-contained file with no plotting dependency and
crisp at any zoom. Charts thin their points to a few hundred per series; a series keeps its
extremes, so a spike is never thinned away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")

#: Most points drawn per series.
MAX_POINTS = 600

Point = tuple[float, float]


@dataclass(frozen=True)
class Series:
    """One line (``step`` draws a staircase) or, with ``dots``, one set of points."""

    label: str
    points: Sequence[Point]
    dots: bool = False
    step: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten. A
    range within rounding of one value (equal latencies, computed as float differences that
    differ in their last bits) is widened to one unit, as an empty one is."""
    if high - low <= 1e-9 * max(abs(low), abs(high)):
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def thin(points: Sequence[Point], limit: int = MAX_POINTS) -> list[Point]:
    """At most about ``limit`` points: per x-ordered bucket, its lowest and highest y."""
    if len(points) <= limit:
        return list(points)
    ordered = sorted(points)
    size = math.ceil(len(ordered) / (limit // 2))
    kept: list[Point] = []
    for start in range(0, len(ordered), size):
        bucket = ordered[start : start + size]
        low = min(bucket, key=lambda p: p[1])
        high = max(bucket, key=lambda p: p[1])
        kept.extend(sorted({low, high}))
    return kept


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2g}"


def chart(
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    width: int = 620,
    height: int = 300,
    y_min: float | None = None,
) -> str:
    """An SVG chart of ``series``; an empty-data note if none has points."""
    drawn = [Series(s.label, thin(s.points), s.dots, s.step) for s in series if s.points]
    if not drawn:
        return '<p class="empty">no data</p>'
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    x_ticks = nice_ticks(min(xs), max(xs))
    # ``y_min`` lowers the axis to it (0 for counts) but never cuts off a point below it.
    y_ticks = nice_ticks(min(ys) if y_min is None else min(y_min, *ys), max(ys))
    left, right, top, bottom = 56, 12, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        at = left + (x - x_ticks[0]) / (x_ticks[-1] - x_ticks[0]) * plot_w
        return min(max(at, left), left + plot_w)  # inside the frame, whatever rounding does

    def sy(y: float) -> float:
        at = top + plot_h - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * plot_h
        return min(max(at, top), top + plot_h)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for x in x_ticks:
        parts.append(
            f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" y2="{top + plot_h}" '
            f'class="grid"/><text x="{sx(x):.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{_label(x)}</text>'
        )
    for y in y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{sy(y) + 4:.1f}" '
            f'text-anchor="end">{_label(y)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" '
        f'class="axis">{escape(x_label)}</text>'
        f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
        f'text-anchor="middle" class="axis">{escape(y_label)}</text>'
    )
    legend_x = left
    for n, s in enumerate(drawn):
        colour = PALETTE[n % len(PALETTE)]
        parts.append(_series_svg(s, colour, sx, sy))
        parts.append(
            f'<rect x="{legend_x}" y="10" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="20">{escape(s.label)}</text>'
        )
        legend_x += 28 + 7 * len(s.label)
    parts.append("</svg>")
    return "".join(parts)


def _series_svg(
    series: Series, colour: str, sx: Callable[[float], float], sy: Callable[[float], float]
) -> str:
    if series.dots:
        return "".join(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.2" fill="{colour}" '
            f'fill-opacity="0.6"/>'
            for x, y in series.points
        )
    coords: list[str] = []
    previous: Point | None = None
    for x, y in series.points:
        if series.step and previous is not None:
            coords.append(f"{sx(x):.1f},{sy(previous[1]):.1f}")
        coords.append(f"{sx(x):.1f},{sy(y):.1f}")
        previous = (x, y)
    return (
        f'<polyline points="{" ".join(coords)}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
    )
