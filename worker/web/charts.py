"""Charts as inline SVG, drawn on the server: no script, nothing fetched, readable at a glance.

Two kinds:

* :func:`volume_chart`: articles per bucket as bars.
* :func:`sentiment_chart`: an actor's articles per bucket as grey bars (left scale) and
  the mean sentiment of those articles as a line from -1 (bottom) to +1 (top) through a
  dashed zero line; its dots are red below zero and green above (right scale).

Every bar and dot has a ``<title>`` (shown on hover) and ``data-`` attributes with the
numbers it stands for, and every page also lists those numbers in a table: a chart is a
summary, never the only place a number is. All text is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from feeds.reports import ActorPoint, VolumePoint

__all__ = ["sentiment_chart", "volume_chart"]

WIDTH, HEIGHT = 720, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 40, 12, 28
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _label(start: datetime, hourly: bool) -> str:
    day = f"{start.day} {_MONTHS[start.month - 1]}"
    return f"{day} {start.hour:02d}:00" if hourly else day


def _nice(value: int) -> int:
    """The top of the left scale: even, so the middle gridline is a whole number too."""
    for step in (2, 4, 6, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    top = int(value * 1.1) + 1
    return top + top % 2


def _frame(title: str, kind: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'data-chart="{escape(kind)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _axes(top_value: int) -> list[str]:
    plot_h = HEIGHT - _TOP - _BOTTOM
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = _TOP + plot_h * (1 - frac)
        out.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" '
            'stroke="#e4e7ec" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#475467">{top_value * frac:g}</text>'
        )
    return out


def _x_labels(starts: Sequence[datetime], hourly: bool, slot: float) -> list[str]:
    if not starts:
        return []
    every = max(1, len(starts) // 8)
    out = []
    for i, start in enumerate(starts):
        if i % every:
            continue
        x = _LEFT + slot * (i + 0.5)
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="10" '
            f'fill="#475467">{escape(_label(start, hourly))}</text>'
        )
    return out


Points = Sequence[VolumePoint | ActorPoint]


def _scale(points: Points) -> tuple[int, float]:
    """The top of the articles scale and the width of one bucket."""
    top = _nice(max((p.articles for p in points), default=0) or 1)
    return top, (WIDTH - _LEFT - _RIGHT) / max(1, len(points))


def _bars(points: Points, top: int, slot: float, hourly: bool, fill: str) -> list[str]:
    """One bar per bucket: its articles on the left scale."""
    plot_h = HEIGHT - _TOP - _BOTTOM
    body = []
    for i, p in enumerate(points):
        h = plot_h * p.articles / top
        x = _LEFT + slot * i + slot * 0.1
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{_TOP + plot_h - h:.1f}" '
            f'width="{max(1.0, slot * 0.8):.1f}" height="{h:.1f}" fill="{fill}" '
            f'data-start="{escape(p.start.isoformat())}" data-articles="{p.articles}">'
            f"<title>{escape(_label(p.start, hourly))}: {p.articles} articles</title></rect>"
        )
    return body


def volume_chart(points: Sequence[VolumePoint], *, hourly: bool = False, title: str) -> Markup:
    """Bars of articles per bucket (``points`` oldest first, empty buckets included)."""
    top, slot = _scale(points)
    body = _axes(top) + _bars(points, top, slot, hourly, "#98a2b3")
    body += _x_labels([p.start for p in points], hourly, slot)
    return _frame(title, "volume", body)


def sentiment_chart(points: Sequence[ActorPoint], *, hourly: bool = False, title: str) -> Markup:
    """Articles per bucket as bars and their mean sentiment as a line (oldest first;
    buckets without articles have no dot and break the line)."""
    plot_h = HEIGHT - _TOP - _BOTTOM
    top, slot = _scale(points)
    body = _axes(top)
    zero = _TOP + plot_h / 2
    body.append(
        f'<line x1="{_LEFT}" y1="{zero:.1f}" x2="{WIDTH - _RIGHT}" y2="{zero:.1f}" '
        'stroke="#667085" stroke-width="1" stroke-dasharray="4 3"/>'
    )
    for value, y in (("+1", _TOP), ("0", zero), ("-1", _TOP + plot_h)):
        body.append(
            f'<text x="{WIDTH - _RIGHT + 6}" y="{y + 4:.1f}" font-size="11" '
            f'fill="#475467">{value}</text>'
        )
    body += _bars(points, top, slot, hourly, "#d0d5dd")
    segments: list[list[tuple[float, float]]] = [[]]
    dots = []
    for i, p in enumerate(points):
        if not p.articles:
            segments.append([])
            continue
        cx, cy = _LEFT + slot * (i + 0.5), zero - (plot_h / 2) * max(-1.0, min(1.0, p.mean))
        segments[-1].append((cx, cy))
        colour = "#c43223" if p.mean < -0.05 else "#038c50" if p.mean > 0.05 else "#667085"
        dots.append(
            f'<circle class="dot" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}" '
            f'data-start="{escape(p.start.isoformat())}" data-mean="{p.mean}">'
            f"<title>{escape(_label(p.start, hourly))}: mean sentiment {p.mean:+.2f} "
            f"({p.negative} negative, {p.positive} positive)</title></circle>"
        )
    for segment in segments:
        if len(segment) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="#344054" stroke-width="2"/>'
            )
    body += dots
    body += _x_labels([p.start for p in points], hourly, slot)
    return _frame(title, "sentiment", body)
