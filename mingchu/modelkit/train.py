"""Train an ultralytics YOLO model from a model YAML (no pretrained weights) on a YOLO dataset.

Runs in ``.venv-train``. ultralytics prints per-batch progress bars and per-epoch mAP itself;
we add an offline set-up and a run directory with everything needed to export afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mingchu.datasets.yolo_format import load_dataset_yaml
from mingchu.modelkit.trainenv import offline_ultralytics, require_train_env


@dataclass(frozen=True)
class TrainRequest:
    dataset: Path
    out: Path
    model: str = "yolo11n.yaml"
    imgsz: int = 320
    epochs: int = 60
    hours: float | None = None  # wall-clock budget; ultralytics then fits the LR schedule to it
    batch: int = 16
    workers: int = 0
    seed: int = 0
    patience: int = 100
    cache: bool = True
    # ultralytics hyper-parameters; these defaults made the demo model learn within ~20 CPU minutes
    overrides: dict[str, Any] = field(
        default_factory=lambda: {
            "optimizer": "AdamW",
            "lr0": 0.002,
            "warmup_epochs": 1,
            "close_mosaic": 2,
            "scale": 0.3,
        }
    )


def write_train_yaml(dataset: Path, out: Path) -> Path:
    """ultralytics resolves relative ``path`` against its own datasets dir, so pin it absolute here."""
    info = load_dataset_yaml(dataset)
    if not info.train or not info.val:
        raise ValueError(f"{dataset}/dataset.yaml has no train/val split; run 'mingchu-model split {dataset}' first")
    data = {
        "path": str(dataset.resolve()),
        "train": info.train,
        "val": info.val,
        "names": dict(enumerate(info.names)),
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "data.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def train(req: TrainRequest) -> Path:
    """Train and return the path of ``best.pt``."""
    require_train_env("train")
    out = req.out.resolve()
    offline_ultralytics(out / ".ultralytics")
    data = write_train_yaml(req.dataset, out)
    from ultralytics import YOLO  # after offline set-up: it reads the env at import

    model = YOLO(req.model)
    args: dict[str, Any] = {
        "data": str(data),
        "imgsz": req.imgsz,
        "epochs": req.epochs,
        "batch": req.batch,
        "workers": req.workers,
        "device": "cpu",
        "project": str(out),
        "name": "run",
        "exist_ok": True,
        "pretrained": False,
        "amp": False,
        "seed": req.seed,
        "deterministic": True,
        "patience": req.patience,
        "cache": "ram" if req.cache else False,
        "plots": True,
        "verbose": True,
    }
    args.update(req.overrides)  # explicit --arg values win over our defaults
    if req.hours:
        args["time"] = req.hours
    model.train(**args)
    best = out / "run" / "weights" / "best.pt"
    if not best.is_file():
        raise RuntimeError(f"training finished without {best}")
    return best
