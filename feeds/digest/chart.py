"""The trend chart of one actor: daily volume (bars) and net sentiment (line), as PNG bytes.

Pure: points in, bytes out; no files, no fonts from the system (Pillow's bundled default
font), so the same points give the same picture on every machine with the same Pillow.

Reading the chart: grey bars are articles per day on the left scale; the line is the mean
sentiment score of that day's mentions on the right scale, from -1 (bottom) through 0 (the
dashed middle line) to +1 (top); its dots are red below zero and green above. Days
without mentions have no dot and break the line.

Pillow rather than matplotlib: one small dependency, no global backend state, and a chart
this simple needs no plotting library.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from feeds.digest.panel import DailyPoint

if TYPE_CHECKING:
    from PIL import ImageFont

__all__ = ["CHART_HEIGHT", "CHART_WIDTH", "render_trend_png"]

#: The size the chart is meant to be shown at in CSS pixels; the PNG has twice as many.
CHART_WIDTH, CHART_HEIGHT = 560, 180
_SCALE = 2
_BG, _GRID, _TEXT = (255, 255, 255), (228, 231, 236), (71, 84, 103)
_BAR, _LINE = (179, 190, 209), (52, 64, 84)
_NEG, _POS, _NEU = (196, 50, 35), (3, 140, 80), (102, 112, 133)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_trend_png(points: Sequence[DailyPoint]) -> bytes:
    """Draw ``points`` (oldest first) and return the PNG file's bytes."""
    s = _SCALE
    width, height = CHART_WIDTH * s, CHART_HEIGHT * s
    left, right, top, bottom = 34 * s, 30 * s, 10 * s, 24 * s
    plot_w, plot_h = width - left - right, height - top - bottom
    # Pillow is imported where a chart is drawn: every command that builds the pipeline
    # imports this module, and only digests draw (issue 21, start-up and footprint).
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(image)
    font = _font(10 * s)

    peak = max((p.volume for p in points), default=0)
    top_volume = max(1, _nice_ceiling(peak))
    for fraction in (0.0, 0.5, 1.0):
        gy = top + plot_h - round(plot_h * fraction)
        draw.line([(left, gy), (left + plot_w, gy)], fill=_GRID, width=s)
    mid: float = top + plot_h // 2
    for x in range(left, left + plot_w, 8 * s):  # the dashed zero-sentiment line
        draw.line([(x, mid), (min(x + 4 * s, left + plot_w), mid)], fill=_NEU, width=s)
    draw.text((left - 4 * s, top), str(top_volume), fill=_TEXT, font=font, anchor="ra")
    draw.text((left - 4 * s, top + plot_h), "0", fill=_TEXT, font=font, anchor="rd")
    draw.text((left + plot_w + 4 * s, top), "+1", fill=_POS, font=font, anchor="la")
    draw.text((left + plot_w + 4 * s, mid), "0", fill=_NEU, font=font, anchor="lm")
    draw.text((left + plot_w + 4 * s, top + plot_h), "-1", fill=_NEG, font=font, anchor="ld")

    n = max(1, len(points))
    slot = plot_w / n
    centres = [left + slot * (i + 0.5) for i in range(n)]
    for point, cx in zip(points, centres, strict=False):
        if point.volume:
            bar_h = max(s, round(plot_h * point.volume / top_volume))
            half = max(s, round(slot * 0.35))
            draw.rectangle(
                [(round(cx) - half, top + plot_h - bar_h), (round(cx) + half, top + plot_h)],
                fill=_BAR,
            )
    previous: tuple[float, float] | None = None
    for point, cx in zip(points, centres, strict=False):
        if point.net is None:
            previous = None
            continue
        y = mid - point.net * (plot_h / 2)
        if previous is not None:
            draw.line([previous, (cx, y)], fill=_LINE, width=2 * s)
        previous = (cx, y)
    for point, cx in zip(points, centres, strict=False):
        if point.net is not None:
            y = mid - point.net * (plot_h / 2)
            colour = _NEG if point.net < -0.05 else _POS if point.net > 0.05 else _NEU
            r = 3 * s
            draw.ellipse([(cx - r, y - r), (cx + r, y + r)], fill=colour)
    if points:
        first, last = points[0].day, points[-1].day
        label_y = top + plot_h + 6 * s
        draw.text(
            (left, label_y),
            f"{first.day} {_MONTHS[first.month - 1]}",
            fill=_TEXT,
            font=font,
            anchor="la",
        )
        draw.text(
            (left + plot_w, label_y),
            f"{last.day} {_MONTHS[last.month - 1]}",
            fill=_TEXT,
            font=font,
            anchor="ra",
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()


def _nice_ceiling(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step:
            return step
    return ((value + 999) // 1000) * 1000


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)
