"""Small hand-written SVG charts for reports (no matplotlib on the hub).

Text uses CJK-capable font families so Chinese labels render in browsers and Chromium's PDF output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "'WenQuanYi Micro Hei','Noto Sans CJK SC','Droid Sans Fallback','Microsoft YaHei',sans-serif"
BAR_COLOUR = "#2f6fb0"
LINE_COLOUR = "#c0392b"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(labels: Sequence[str], values: Sequence[float], value_labels: Sequence[str], title: str) -> str:
    """Horizontal bars, one per label, longest scaled to the full width."""
    if not (len(labels) == len(values) == len(value_labels)):
        raise ValueError("labels, values and value_labels must have the same length")
    row_h, label_w, bar_w, pad = 28, 150, 360, 10
    width = label_w + bar_w + 90
    height = pad * 2 + 24 + row_h * max(len(labels), 1)
    top = max(values, default=0) or 1
    body = [f'<text x="{pad}" y="{pad + 14}" font-size="15" font-weight="bold">{escape(title)}</text>']
    if not labels:
        body.append(f'<text x="{pad}" y="{pad + 44}" font-size="13" fill="#777">无数据</text>')
    for i, (label, value, shown) in enumerate(zip(labels, values, value_labels, strict=True)):
        y = pad + 24 + i * row_h
        w = max(bar_w * value / top, 0)
        body.append(f'<text x="{label_w - 6}" y="{y + 18}" font-size="13" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" fill="{BAR_COLOUR}"/>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 18}" font-size="12">{escape(shown)}</text>')
    return _svg(width, height, body, title)


def nice_ceiling(value: float) -> float:
    """Smallest of 1, 2, 3, 4, 5, 6, 8 × 10^k at or above ``value``: round axis tops and half-way lines."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 3, 4, 5, 6, 8, 10):
        if factor * magnitude >= value:
            return float(factor * magnitude)
    return float(10 * magnitude)


def line_chart(labels: Sequence[str], values: Sequence[float], title: str) -> str:
    """A line over evenly spaced buckets with the y-axis from zero; x labels thinned to fit."""
    if len(labels) != len(values):
        raise ValueError("labels and values must have the same length")
    width, height = 640, 260
    left, right, top_pad, bottom = 44, 16, 36, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = nice_ceiling(max(values, default=0))
    body = [f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for frac in (0, 0.5, 1):
        y = top_pad + plot_h * (1 - frac)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{top * frac:.4g}</text>')
    n = len(values)
    step = plot_w / max(n - 1, 1)
    points = [(left + i * step, top_pad + plot_h * (1 - v / top)) for i, v in enumerate(values)]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE_COLOUR}"/>' for x, y in points)
    every = max(1, -(-n // 8))
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            x = left + i * step
            body.append(
                f'<text x="{x:.1f}" y="{height - bottom + 18}" font-size="11" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return _svg(width, height, body, title)
