"""Deterministic train/val/test split written as list files, so images never move on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mingchu.datasets.yolo_format import list_images, load_dataset_yaml, save_dataset_yaml


def split_dataset(root: Path, fractions: dict[str, float], seed: int) -> dict[str, int]:
    """Shuffle with ``seed`` and cut into ``fractions`` (must sum to 1); updates dataset.yaml.

    The same images, fractions and seed always give the same lists, on any machine.
    """
    if not fractions or any(f < 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    unknown = set(fractions) - {"train", "val", "test"}
    if unknown:
        raise ValueError(f"unknown split names {sorted(unknown)}; use train, val, test")
    info = load_dataset_yaml(root)
    images = [p.relative_to(root).as_posix() for p in list_images(root)]
    if not images:
        raise ValueError(f"{root}/images: no images to split")
    order = np.random.default_rng(seed).permutation(len(images))
    bounds = np.round(np.cumsum([0.0, *fractions.values()]) * len(images)).astype(int)
    counts: dict[str, int] = {}
    updates: dict[str, str] = {}
    for (name, _), lo, hi in zip(fractions.items(), bounds[:-1], bounds[1:], strict=True):
        chosen = sorted(images[i] for i in order[lo:hi])
        (root / f"{name}.txt").write_text("".join(f"./{c}\n" for c in chosen), encoding="utf-8")
        updates[name] = f"{name}.txt"
        counts[name] = len(chosen)
    save_dataset_yaml(root, info.model_copy(update=updates))
    return counts
