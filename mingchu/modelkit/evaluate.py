"""Evaluate an exported ONNX model through the edge's own ``YoloDetector`` on a held-out split.

Running the production decoder (not ultralytics' validator) means the figure we report is the
figure the edge gets: same letterbox, same thresholds path, same NMS.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_agent.detect.base import DetectorSpec
from edge_agent.detect.yolo import YoloDetector
from mingchu.datasets.charts import bar_chart, confusion_matrix, pr_curves
from mingchu.datasets.progress import progress
from mingchu.datasets.yolo_format import label_path_for, list_images, load_dataset_yaml, parse_labels, read_split
from mingchu.modelkit.metrics import DetectionEval


@dataclass(frozen=True)
class EvalResult:
    map50: float
    per_class: dict[str, dict[str, float | int | None]]
    n_images: int
    median_ms: float
    summary_path: Path


def split_images(dataset: Path, split: str) -> list[Path]:
    """Images of ``split`` (train/val/test list in dataset.yaml), or every image for ``all``."""
    info = load_dataset_yaml(dataset)
    if split == "all":
        return list_images(dataset)
    list_file = getattr(info, split, None) if split in ("train", "val", "test") else None
    if not list_file:
        raise ValueError(f"{dataset}/dataset.yaml has no {split!r} split; run 'mingchu-model split' or use --split all")
    return read_split(dataset, list_file)


def evaluate(
    model: Path, dataset: Path, split: str, out: Path, threads: int = 1, conf: float = 0.01, limit: int | None = None
) -> EvalResult:
    """Run the model over the split, write PNGs + ``summary.json`` into ``out``; return the summary."""
    detector = YoloDetector(DetectorSpec(path=model, score_threshold=conf, iou_threshold=0.6, intra_op_threads=threads))
    names = load_dataset_yaml(dataset).names
    if list(detector.class_names) != list(names):
        raise ValueError(f"{model} classes {detector.class_names} differ from {dataset} classes {names}")
    images = split_images(dataset, split)[:limit]
    if not images:
        raise ValueError(f"{dataset}: split {split!r} has no images")
    ev = DetectionEval(tuple(names))
    index = {n: i for i, n in enumerate(names)}
    times: list[float] = []
    for path in progress(images, len(images), f"eval {split}"):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path}: unreadable image")
        rows, issues = parse_labels(label_path_for(path), len(names)) if label_path_for(path).exists() else ([], [])
        if issues:
            raise ValueError("bad labels:\n" + "\n".join(map(str, issues)))
        h, w = image.shape[:2]
        start = time.perf_counter()
        dets = detector.detect(np.asarray(image, np.uint8))
        times.append((time.perf_counter() - start) * 1000)
        ev.add(
            dets.xyxy,
            dets.scores,
            np.array([index[lab] for lab in dets.labels], np.int64),
            np.array([r.xyxy(w, h) for r in rows]).reshape(-1, 4),
            np.array([r.class_id for r in rows], np.int64),
        )
    return _write(ev, model, dataset, split, out, len(images), float(np.median(times)))


def _write(
    ev: DetectionEval, model: Path, dataset: Path, split: str, out: Path, n: int, median_ms: float
) -> EvalResult:
    out.mkdir(parents=True, exist_ok=True)
    per = ev.per_class()
    mean = ev.map50()
    present = [k for k, v in per.items() if v.n_gt > 0]
    title = f"AP50 per class — {model.name} on {split} (mAP50 {mean:.3f})"
    bar_chart(present, [per[k].ap50 for k in present], title, out / "per_class_ap50.png", "{:.3f}")
    curves = {k: (per[k].recall, per[k].precision, per[k].ap50) for k in present}
    pr_curves(curves, f"PR curves (IoU 0.5) — {model.name}", out / "pr_curves.png")
    names = [*ev.names, "background"]
    confusion_matrix(ev.confusion, names, f"Confusion @conf {ev.confusion_conf}", out / "confusion_matrix.png")
    table: dict[str, dict[str, float | int | None]] = {
        k: {"ap50": round(v.ap50, 4) if np.isfinite(v.ap50) else None, "n_gt": v.n_gt, "n_pred": v.n_pred}
        for k, v in per.items()
    }
    summary = {
        "model": str(model),
        "dataset": str(dataset),
        "split": split,
        "images": n,
        "map50": round(mean, 4),
        "median_ms_per_image": round(median_ms, 2),
        "per_class": table,
    }
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return EvalResult(mean, table, n, median_ms, path)
