"""One function per ``mingchu-model`` sub-command: argparse namespace in, JSON-able summary out."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from mingchu.datasets.vocabulary import load_vocabulary


class DatasetInvalid(ValueError):
    """Validation found problems; the message lists each as file:line."""


def synth(args: argparse.Namespace) -> dict[str, Any]:
    from mingchu.datasets.synth import SynthConfig, draw_preview, generate, load_backgrounds, render_scene

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as exc:
        raise ValueError(f"--size must look like 384x288, got {args.size!r}") from exc
    cfg = SynthConfig(count=args.count, seed=args.seed, width=width, height=height, backgrounds=args.backgrounds)
    path = generate(cfg, args.out)
    result: dict[str, Any] = {"dataset": str(path), "images": cfg.count}
    if args.preview:
        bgs = load_backgrounds(cfg.backgrounds, cfg.max_background_frames, max(width, height) * 2)
        scenes = [render_scene(cfg, i, bgs) for i in range(min(args.preview, cfg.count))]
        result["preview"] = str(
            draw_preview([s.image for s in scenes], [s.objects for s in scenes], args.out / "preview.png")
        )
    return result


def validate(args: argparse.Namespace) -> dict[str, Any]:
    from mingchu.datasets.validate import validate_dataset

    report = validate_dataset(args.dataset, load_vocabulary())
    if not report.ok:
        lines = [str(i) for i in report.issues]
        raise DatasetInvalid(f"{len(lines)} problem(s) in {args.dataset}:\n" + "\n".join(lines))
    return {"dataset": str(args.dataset), "images": report.images, "boxes": dict(report.boxes), "ok": True}


def import_coco(args: argparse.Namespace) -> dict[str, object]:
    from mingchu.datasets.importers import import_coco as run

    return run(args.annotations, args.images, args.out, load_vocabulary(), dict(args.map)).as_dict()


def import_yolo(args: argparse.Namespace) -> dict[str, object]:
    from mingchu.datasets.importers import import_yolo as run

    return run(args.export, args.out, load_vocabulary(), dict(args.map)).as_dict()


def split(args: argparse.Namespace) -> dict[str, int]:
    from mingchu.datasets.split import split_dataset

    return split_dataset(args.dataset, args.fractions, args.seed)


def stats(args: argparse.Namespace) -> dict[str, object]:
    from mingchu.datasets.stats import dataset_stats

    return dataset_stats(args.dataset, args.png or args.dataset / "class_histogram.png")


def train(args: argparse.Namespace) -> dict[str, str]:
    from mingchu.modelkit.train import TrainRequest
    from mingchu.modelkit.train import train as run

    req = TrainRequest(
        dataset=args.dataset,
        out=args.out,
        model=args.model,
        imgsz=args.imgsz,
        epochs=args.epochs,
        hours=args.minutes / 60 if args.minutes else None,
        batch=args.batch,
        workers=args.workers,
        seed=args.seed,
    )
    overrides = {**req.overrides, **{k: yaml.safe_load(v) for k, v in args.arg}}
    best = run(replace(req, overrides=overrides))
    return {"weights": str(best)}


def export(args: argparse.Namespace) -> dict[str, object]:
    from mingchu.modelkit.export import export_onnx, read_metadata

    out = export_onnx(args.weights, args.out, args.imgsz, args.dataset)
    return {"onnx": str(out), "metadata": read_metadata(out)}


def quantize(args: argparse.Namespace) -> dict[str, object]:
    from mingchu.modelkit.evaluate import evaluate, split_images
    from mingchu.modelkit.quantize import decide, quantize_static_int8

    out = args.out or args.model.with_name(args.model.stem + "-int8.onnx")
    calib = split_images(args.dataset, "train")[: args.calibration]
    quantize_static_int8(args.model, out, calib)
    with tempfile.TemporaryDirectory() as work:
        fp32 = evaluate(args.model, args.dataset, args.split, Path(work) / "fp32")
        int8 = evaluate(out, args.dataset, args.split, Path(work) / "int8")
    d = decide(fp32.map50, int8.map50, out, args.max_drop)
    return {
        "fp32_map50": round(d.fp32_map50, 4),
        "int8_map50": round(d.int8_map50, 4),
        "drop_points": round(d.drop_points, 2),
        "kept": d.kept,
        "int8": str(d.int8_path) if d.kept else None,
        "fp32_median_ms": round(fp32.median_ms, 2),
        "int8_median_ms": round(int8.median_ms, 2),
    }


def evaluate(args: argparse.Namespace) -> dict[str, object]:
    from mingchu.modelkit.evaluate import evaluate as run

    res = run(args.model, args.dataset, args.split, args.out, threads=args.threads)
    return {
        "map50": round(res.map50, 4),
        "images": res.n_images,
        "median_ms": round(res.median_ms, 2),
        "summary": str(res.summary_path),
        "per_class_ap50": {k: v["ap50"] for k, v in res.per_class.items()},
    }
