"""Demo model quantisation: fp32 vs static int8 (QDQ) — median ms/frame and mAP50 of each.

Both models run through the edge ``YoloDetector`` (1 intra-op thread) on the held-out split of
the synthetic dataset; frames alternate fp32/int8 so load bursts from other jobs hit both alike.
With ``--write-docs`` the result replaces the ``## Demo model quantisation`` section of
``docs/benchmarks.md`` (other sections untouched).

    .venv/bin/python bench/bench_quant.py --dataset /tmp/mingchu-synth --write-docs
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_agent.detect.base import DetectorSpec  # noqa: E402
from edge_agent.detect.yolo import YoloDetector  # noqa: E402
from mingchu.modelkit.evaluate import evaluate, split_images  # noqa: E402
from mingchu.modelkit.quantize import quantize_static_int8  # noqa: E402

HEADING = "## Demo model quantisation"
FP32 = REPO / "models" / "kitchen-demo-yolo11n-320.onnx"


def time_models(models: dict[str, Path], images: list[Path], repeats: int, threads: int) -> dict[str, list[float]]:
    """Interleaved per-frame wall time of ``detect`` (pre-process + inference + decode + NMS)."""
    dets = {k: YoloDetector(DetectorSpec(path=p, intra_op_threads=threads)) for k, p in models.items()}
    frames = [cv2.imread(str(p)) for p in images]
    for d in dets.values():  # warm-up
        d.detect(frames[0])
    times: dict[str, list[float]] = {k: [] for k in models}
    total = repeats * len(frames)
    for n in range(total):
        frame = frames[n % len(frames)]
        for key, det in dets.items():
            start = time.perf_counter()
            det.detect(frame)
            times[key].append((time.perf_counter() - start) * 1000)
        if (n + 1) % 20 == 0 or n + 1 == total:
            print(f"\rtiming {n + 1}/{total}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return times


def replace_section(doc: Path, body: str) -> None:
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + body + (text[nxt + 1 :] if nxt >= 0 else "")
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--fp32", type=Path, default=FP32)
    p.add_argument("--int8", type=Path, default=None, help="existing int8 model (default: quantise fp32 now)")
    p.add_argument("--calibration", type=int, default=64)
    p.add_argument("--frames", type=int, default=60, help="distinct images timed")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write-docs", action="store_true")
    a = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        int8 = a.int8
        if int8 is None:
            int8 = Path(tmp) / "int8.onnx"
            quantize_static_int8(a.fp32, int8, split_images(a.dataset, "train")[: a.calibration])
        models = {"fp32": a.fp32, "int8": int8}
        maps = {
            k: evaluate(m, a.dataset, a.split, Path(tmp) / f"eval-{k}", threads=a.threads).map50
            for k, m in models.items()
        }
        load_before = os.getloadavg()[0]
        times = time_models(models, split_images(a.dataset, a.split)[: a.frames], a.repeats, a.threads)
        load_after = os.getloadavg()[0]
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = [f / i for f, i in zip(times["fp32"], times["int8"], strict=True)]
    drop = (maps["fp32"] - maps["int8"]) * 100
    rows = "\n".join(
        f"| {k} | {med[k]:.1f} | {sorted(times[k])[int(0.9 * len(times[k]))]:.1f} | {maps[k]:.3f} |" for k in models
    )
    body = f"""{HEADING}

`kitchen-demo-yolo11n-320` (ultralytics YOLO11n, 320x320, 19 classes) fp32 vs static int8 QDQ
(onnxruntime {ort.__version__} `quantize_static`, per-channel weights, MinMax calibration on
{a.calibration} train images, box-decoding tail left in float; `--int8` reuses the file `mingchu-model quantize` made). Both through the edge `YoloDetector`, {a.threads} intra-op
thread, {len(times["fp32"])} frames each from the `{a.split}` split of the synthetic set, interleaved frame by
frame. mAP50 on the same split ({a.split}). Machine: x86_64, 2 logical CPUs shared with other jobs (1-min load
average {load_before:.1f} before, {load_after:.1f} after): absolute times move with load, the ratio less so.

| model | median ms/frame | p90 ms | mAP50 |
|---|---|---|---|
{rows}

Median per-frame speed-up fp32/int8: **{statistics.median(ratios):.2f}x**; mAP50 change: {-drop:+.2f} points.
Rule: the int8 file ships only if it loses < 1 point of mAP50 — {"kept" if drop < 1 else "not kept"}.

Command:

```sh
.venv/bin/python bench/{" ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
```

The dataset is the synthetic set of `models/cards/kitchen-demo.md` (same commands, same sha256).
"""
    print(body)
    if a.write_docs:
        replace_section(REPO / "docs" / "benchmarks.md", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
