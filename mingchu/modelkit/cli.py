"""``mingchu-model``: dataset tooling, synthetic data, train → export → quantise → eval.

Dataset and eval commands run in the edge/hub venv (numpy, OpenCV, onnxruntime); ``train`` and
``export`` need torch + ultralytics and say so when run elsewhere (``make train-env``).
Exit codes: 0 ok, 1 data/model problem (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _kv(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _fractions(text: str) -> dict[str, float]:
    names = ("train", "val", "test")
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"fractions must be numbers like 0.8,0.1,0.1, got {text!r}") from exc
    if not 1 <= len(parts) <= 3:
        raise argparse.ArgumentTypeError("give 1 to 3 fractions: train[,val[,test]]")
    return dict(zip(names, parts, strict=False))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mingchu-model", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate a synthetic YOLO dataset")
    s.add_argument("out", type=Path)
    s.add_argument("--count", type=int, default=1000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--size", default="384x288", help="image WIDTHxHEIGHT")
    s.add_argument("--backgrounds", type=Path, nargs="*", default=[], help="videos / image dirs for backgrounds")
    s.add_argument("--preview", type=int, default=8, help="draw the first N images with boxes into preview.png")

    v = sub.add_parser("validate", help="check a YOLO dataset; lists every problem as file:line")
    v.add_argument("dataset", type=Path)

    c = sub.add_parser("import-coco", help="import a COCO JSON into a YOLO dataset with our labels")
    c.add_argument("annotations", type=Path)
    c.add_argument("--images", type=Path, required=True, help="directory holding the COCO file_name paths")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--map", type=_kv, action="append", default=[], metavar="THEIRS=OURS")

    y = sub.add_parser("import-yolo", help="import a CVAT / Label Studio / ultralytics YOLO export")
    y.add_argument("export", type=Path)
    y.add_argument("--out", type=Path, required=True)
    y.add_argument("--map", type=_kv, action="append", default=[], metavar="THEIRS=OURS")

    sp = sub.add_parser("split", help="deterministic train/val/test split lists")
    sp.add_argument("dataset", type=Path)
    sp.add_argument("--fractions", type=_fractions, default={"train": 0.8, "val": 0.1, "test": 0.1})
    sp.add_argument("--seed", type=int, default=0)

    st = sub.add_parser("stats", help="class histogram (PNG) and counts")
    st.add_argument("dataset", type=Path)
    st.add_argument("--png", type=Path, default=None)

    t = sub.add_parser("train", help="train ultralytics YOLO from a model YAML (training env)")
    t.add_argument("dataset", type=Path)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--model", default="yolo11n.yaml")
    t.add_argument("--imgsz", type=int, default=320)
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--minutes", type=float, default=None, help="wall-clock budget; overrides --epochs")
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--workers", type=int, default=0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--arg", type=_kv, action="append", default=[], metavar="KEY=VALUE", help="extra ultralytics arg")

    e = sub.add_parser("export", help="best.pt → ONNX with our metadata (training env)")
    e.add_argument("weights", type=Path)
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--imgsz", type=int, default=320)
    e.add_argument("--dataset", type=Path, default=None, help="dataset trained on (its sha256 goes in metadata)")

    q = sub.add_parser("quantize", help="static int8 QDQ; kept only if mAP50 drops < 1 point")
    q.add_argument("model", type=Path)
    q.add_argument("--dataset", type=Path, required=True)
    q.add_argument("--out", type=Path, default=None, help="int8 file (default: <model>-int8.onnx)")
    q.add_argument("--calibration", type=int, default=64, help="number of train images used to calibrate")
    q.add_argument("--split", default="test")
    q.add_argument("--max-drop", type=float, default=0.01)

    ev = sub.add_parser("eval", help="per-class AP, PR curves, confusion matrix via the edge YoloDetector")
    ev.add_argument("model", type=Path)
    ev.add_argument("--dataset", type=Path, required=True)
    ev.add_argument("--split", default="test")
    ev.add_argument("--out", type=Path, required=True)
    ev.add_argument("--threads", type=int, default=1)
    return p


def run(args: argparse.Namespace) -> int:
    from mingchu.modelkit import commands

    handlers = {
        "synth": commands.synth,
        "validate": commands.validate,
        "import-coco": commands.import_coco,
        "import-yolo": commands.import_yolo,
        "split": commands.split,
        "stats": commands.stats,
        "train": commands.train,
        "export": commands.export,
        "quantize": commands.quantize,
        "eval": commands.evaluate,
    }
    result = handlers[args.command](args)
    if result is not None:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from mingchu.datasets.importers import ImportProblem
    from mingchu.modelkit.commands import DatasetInvalid
    from mingchu.modelkit.trainenv import TrainEnvMissing

    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except DatasetInvalid as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except (TrainEnvMissing, ImportProblem, ValueError, FileNotFoundError) as exc:
        print(f"mingchu-model {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
