"""Build tiny datasets on disk for tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml


def write_image(path: Path, w: int = 64, h: int = 48, value: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3), value, np.uint8)
    cv2.rectangle(img, (5, 5), (20, 20), (0, 0, 255), -1)
    assert cv2.imwrite(str(path), img)
    return path


def tiny_dataset(root: Path, names: list[str], labels: dict[str, str], extra: dict[str, str] | None = None) -> Path:
    """Images named by ``labels`` keys, each with the given label text; dataset.yaml with ``names``."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for stem, text in labels.items():
        write_image(root / "images" / f"{stem}.jpg")
        (root / "labels" / f"{stem}.txt").write_text(text, encoding="utf-8")
    (root / "dataset.yaml").write_text(yaml.safe_dump({"names": names, **(extra or {})}), encoding="utf-8")
    return root
