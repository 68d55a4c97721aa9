"""Median per-frame latency of the shipped detectors on real frames, at 1 and 2 threads.

Why a script and not a test: timings on a shared 2-core machine are noisy, so they are measured
here (medians over many frames, after warm-up) and recorded with the exact command in
``docs/benchmarks.md`` under ``## Detectors`` instead of being asserted in unit tests.

    .venv/bin/python bench/bench_detectors.py --frames 100 --write-docs
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.detect.base import DetectorSpec  # noqa: E402
from edge_agent.detect.nanodet import NanoDetDetector  # noqa: E402
from edge_agent.detect.registry import create_detector  # noqa: E402
from mingchu.model_registry import resolve_model  # noqa: E402

CLIP = ROOT / "tests" / "assets" / "vtest_10s.mp4"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Detectors"


def read_frames(count: int) -> list[npt.NDArray[np.uint8]]:
    cap = cv2.VideoCapture(str(CLIP))
    frames: list[npt.NDArray[np.uint8]] = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.asarray(frame, np.uint8))
    cap.release()
    if not frames:
        raise SystemExit(f"could not read frames from {CLIP}")
    return frames


@dataclass
class _Timings:
    pre: list[float] = field(default_factory=list)
    infer: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


def _time_frame(detector: NanoDetDetector, frame: npt.NDArray[np.uint8], into: _Timings | None) -> None:
    t0 = time.perf_counter()
    blob, box = detector.preprocess(frame)
    t1 = time.perf_counter()
    outputs = detector.infer(blob)
    t2 = time.perf_counter()
    dets = detector.postprocess(outputs, box, frame.shape[1], frame.shape[0])
    t3 = time.perf_counter()
    if into is not None:
        into.pre.append(t1 - t0)
        into.infer.append(t2 - t1)
        into.post.append(t3 - t2)
        into.total.append(t3 - t0)
        into.counts.append(len(dets))


def bench(
    model: str, thread_counts: list[int], frames: list[npt.NDArray[np.uint8]], warmup: int
) -> list[dict[str, float]]:
    """Time every thread setting on the same frames, interleaved frame by frame.

    Interleaving matters on a shared machine: a burst of load from another job then hits every
    setting alike instead of skewing whichever happened to run during it.
    """
    resolved = resolve_model(model)
    detectors = {}
    for threads in thread_counts:
        detector = create_detector(resolved.entry.family, DetectorSpec(resolved.path, intra_op_threads=threads))
        if not isinstance(detector, NanoDetDetector):
            raise SystemExit(f"{model}: family {resolved.entry.family!r} has no preprocess/infer/postprocess split yet")
        detectors[threads] = detector
    timings = {threads: _Timings() for threads in thread_counts}
    order = list(thread_counts)
    for i, frame in enumerate(frames[:warmup] + frames):
        order.reverse()  # alternate which setting goes first
        for threads in order:
            _time_frame(detectors[threads], frame, timings[threads] if i >= warmup else None)
        if (i + 1) % 20 == 0:
            print(f"  {model}: {i + 1}/{warmup + len(frames)} frames x {len(order)} settings", flush=True)
    return [
        {
            "threads": threads,
            "total": ms(t.total),
            "p90": float(np.percentile(t.total, 90) * 1000),
            "pre": ms(t.pre),
            "infer": ms(t.infer),
            "post": ms(t.post),
            "dets": statistics.mean(t.counts),
        }
        for threads, t in timings.items()
    ]


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def render(model: str, rows: list[dict[str, float]], n_frames: int, command: str, load: tuple[float, float]) -> str:
    base = rows[0]["total"]
    lines = [
        SECTION,
        "",
        f"NanoDet-g (`{model}`, 416x416, onnxruntime {ort.__version__}, CPUExecutionProvider) on the first "
        f"{n_frames} frames of `tests/assets/vtest_10s.mp4` (768x576 pedestrians), after warm-up. "
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs shared with other jobs "
        f"(1-min load average {load[0]:.1f} before, {load[1]:.1f} after); settings are interleaved frame by "
        "frame so load bursts hit them alike, but absolute figures still move by ±15 %.",
        "",
        "| intra-op threads | median ms/frame | p90 ms | median preprocess ms | median inference ms | "
        "median decode+NMS ms | dets/frame | speed-up vs 1 thread (median ratio) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['threads']:.0f} | {r['total']:.1f} | {r['p90']:.1f} | {r['pre']:.2f} | {r['infer']:.1f} | "
            f"{r['post']:.2f} | {r['dets']:.1f} | {base / r['total']:.2f}x |"
        )
    lines += ["", "Command:", "", "```sh", command, "```", ""]
    return "\n".join(lines)


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace only our ``## Detectors`` section; other engineers own the other sections."""
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    new = pattern.sub(lambda _: text + "\n", old, count=1) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="coco-nanodet-g")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--write-docs", action="store_true", help=f"update the '{SECTION}' section of {DOCS}")
    args = parser.parse_args()
    frames = read_frames(args.frames)
    print(f"read {len(frames)} frames from {CLIP.name}", flush=True)
    load_before = os.getloadavg()[0]
    rows = bench(args.model, args.threads, frames, args.warmup)
    load_after = os.getloadavg()[0]
    for r in rows:
        print(
            f"{args.model} threads={r['threads']:.0f}: median {r['total']:.1f} ms/frame (inference {r['infer']:.1f} ms)"
        )
    command = ".venv/bin/python bench/bench_detectors.py " + " ".join(sys.argv[1:])
    text = render(args.model, rows, len(frames), command.strip(), (load_before, load_after))
    print(text)
    if args.write_docs:
        write_section(text)
        print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
