"""Validate a YOLO dataset: every bad label line, unknown class, unreadable or missing image.

All problems are collected (not just the first) and reported as ``file:line: message`` so a
labeller can fix a whole export in one pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from mingchu.datasets.vocabulary import Vocabulary
from mingchu.datasets.yolo_format import (
    DATASET_YAML,
    IMAGE_EXTS,
    Issue,
    label_path_for,
    list_images,
    load_dataset_yaml,
    parse_labels,
    read_split,
)


@dataclass
class Report:
    images: int = 0
    boxes: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def validate_dataset(root: Path, vocabulary: Vocabulary | None = None) -> Report:
    """Check dataset.yaml, images, labels and split lists under ``root``."""
    report = Report()
    try:
        info = load_dataset_yaml(root)
    except ValueError as exc:
        report.issues.append(Issue(root / DATASET_YAML, 0, str(exc)))
        return report
    names = info.names
    if vocabulary is not None:
        unknown = [n for n in names if n not in vocabulary.names]
        for name in unknown:
            report.issues.append(Issue(root / DATASET_YAML, 0, f"class {name!r} is not in the vocabulary"))
    images = list_images(root)
    if not images:
        report.issues.append(Issue(root / "images", 0, "no images found"))
    for image in images:
        report.images += 1
        data = image.read_bytes() if image.is_file() else b""
        if not data or cv2.imdecode(_np_bytes(data), cv2.IMREAD_COLOR) is None:
            report.issues.append(Issue(image, 0, "unreadable or empty image"))
        label = label_path_for(image)
        if not label.exists():
            continue  # an image without a label file is a valid background-only image
        rows, issues = parse_labels(label, len(names))
        report.issues.extend(issues)
        report.boxes.update(names[r.class_id] for r in rows)
    stems = {p.stem for p in images}
    for label in sorted((root / "labels").rglob("*.txt")) if (root / "labels").is_dir() else []:
        if label.stem not in stems:
            report.issues.append(Issue(label, 0, "label file has no matching image"))
    for split in ("train", "val", "test"):
        list_file = getattr(info, split)
        if not list_file:
            continue
        try:
            listed = read_split(root, list_file)
        except ValueError as exc:
            report.issues.append(Issue(root / list_file, 0, str(exc)))
            continue
        for n, path in enumerate(listed, start=1):
            if not path.is_file() or path.suffix.lower() not in IMAGE_EXTS:
                report.issues.append(Issue(root / list_file, n, f"listed image missing: {path}"))
    return report


def _np_bytes(data: bytes):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.frombuffer(data, np.uint8)
