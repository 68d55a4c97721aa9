"""Dataset statistics: boxes per class, images per class, box sizes; histogram as PNG."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mingchu.datasets.charts import bar_chart
from mingchu.datasets.yolo_format import label_path_for, list_images, load_dataset_yaml, parse_labels


def dataset_stats(root: Path, png: Path | None = None) -> dict[str, object]:
    """Counts per class (boxes and images) and the median box side in pixels of a 320 input."""
    info = load_dataset_yaml(root)
    boxes: Counter[str] = Counter()
    images_with: Counter[str] = Counter()
    sides: dict[str, list[float]] = {n: [] for n in info.names}
    images = list_images(root)
    empty = 0
    for image in images:
        label = label_path_for(image)
        rows, _issues = parse_labels(label, len(info.names)) if label.exists() else ([], [])
        if not rows:
            empty += 1
        for r in rows:
            name = info.names[r.class_id]
            boxes[name] += 1
            sides[name].append(min(r.w, r.h) * 320)
        images_with.update({info.names[c] for c in {r.class_id for r in rows}})
    if png is not None:
        bar_chart(
            list(info.names),
            [boxes[n] for n in info.names],
            f"Boxes per class — {root.name} ({len(images)} images)",
            png,
        )
    med = {n: round(sorted(v)[len(v) // 2], 1) if v else None for n, v in sides.items()}
    return {
        "images": len(images),
        "background_only_images": empty,
        "boxes": {n: boxes[n] for n in info.names},
        "images_with_class": {n: images_with[n] for n in info.names},
        "median_short_side_px_at_320": med,
        "histogram_png": str(png) if png else None,
    }
