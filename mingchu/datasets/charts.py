"""Small PNG charts drawn with Pillow (bar chart, PR curves, confusion matrix).

matplotlib is only in the training env; dataset stats and eval run in the edge/hub venv, so
the handful of charts we need are drawn directly. Labels use a local DejaVu font when present.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, path: Path, value_fmt: str = "{:g}") -> Path:
    """Horizontal bars, one row per label, value printed at the bar end."""
    row, left, width = 22, 150, 640
    img = Image.new("RGB", (width, 50 + row * len(labels) + 20), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 10), title, fill="black", font=_font(16))
    top = max(values, default=0) or 1
    span = width - left - 80
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 45 + i * row
        d.text((10, y + 3), label, fill="black", font=_font(12))
        length = 0 if not np.isfinite(value) else int(span * max(value, 0) / top)
        d.rectangle((left, y + 3, left + length, y + row - 3), fill=PALETTE[i % len(PALETTE)])
        d.text((left + length + 6, y + 3), value_fmt.format(value), fill="black", font=_font(12))
    img.save(path)
    return path


def pr_curves(
    curves: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]], title: str, path: Path
) -> Path:
    """Precision (y) against recall (x) per class, legend with AP."""
    size, margin, legend_w = 420, 50, 200
    img = Image.new("RGB", (size + margin * 2 + legend_w, size + margin * 2), "white")
    d = ImageDraw.Draw(img)
    d.text((margin, 12), title, fill="black", font=_font(16))
    x0, y0, x1, y1 = margin, margin, margin + size, margin + size
    d.rectangle((x0, y0, x1, y1), outline="black")
    for t in (0.0, 0.5, 1.0):
        d.text((x0 + t * size - 8, y1 + 6), f"{t:.1f}", fill="black", font=_font(11))
        d.text((x0 - 30, y1 - t * size - 6), f"{t:.1f}", fill="black", font=_font(11))
    d.text(((x0 + x1) // 2 - 20, y1 + 24), "recall", fill="black", font=_font(12))
    for i, (name, (recall, precision, ap)) in enumerate(curves.items()):
        color = PALETTE[i % len(PALETTE)]
        if len(recall):
            pts = [(x0 + float(r) * size, y1 - float(p) * size) for r, p in zip(recall, precision, strict=True)]
            d.line(pts if len(pts) > 1 else pts * 2, fill=color, width=2)
        ly = y0 + i * 16
        d.line((x1 + 12, ly + 7, x1 + 30, ly + 7), fill=color, width=3)
        d.text((x1 + 36, ly), f"{name} {ap:.3f}", fill="black", font=_font(11))
    img.save(path)
    return path


def confusion_matrix(matrix: npt.NDArray[np.int64], names: Sequence[str], title: str, path: Path) -> Path:
    """Row-normalised heat map (rows: true class, columns: predicted), counts in cells."""
    n = len(names)
    cell, left, top = 28, 120, 130
    img = Image.new("RGB", (left + cell * n + 20, top + cell * n + 20), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 10), title + "  (rows true, columns predicted)", fill="black", font=_font(14))
    norm = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    for i in range(n):
        d.text((8, top + i * cell + 8), names[i][:16], fill="black", font=_font(11))
        label = Image.new("RGBA", (110, 14), (255, 255, 255, 0))
        ImageDraw.Draw(label).text((0, 0), names[i][:16], fill="black", font=_font(11))
        img.paste(label.rotate(90, expand=True), (left + i * cell + 7, top - 114), label.rotate(90, expand=True))
        for j in range(n):
            v = float(norm[i, j])
            shade = int(255 * (1 - v))
            d.rectangle(
                (left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1),
                fill=(shade, shade, 255),
                outline=(220, 220, 220),
            )
            if matrix[i, j]:
                d.text(
                    (left + j * cell + 3, top + i * cell + 8),
                    str(int(matrix[i, j])),
                    fill="white" if v > 0.5 else "black",
                    font=_font(9),
                )
    img.save(path)
    return path
