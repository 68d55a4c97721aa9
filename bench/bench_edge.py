"""Edge agent benchmark: CPU per stage, overhead vs bare decode + inference, cameras at 5 fps, latency.

Results go to ``docs/benchmarks.md`` under ``## Edge agent`` (``--write-docs``), never into unit
tests. The cameras are H.264 files made from ``tests/assets/vtest_10s.mp4`` (real pedestrians)
the way school cameras send them: a 640x360 sub-stream for detection and a 1920x1080 main stream,
both 25 fps, played in real time and looped. The latency part needs Mosquitto on 127.0.0.1:1883.

    .venv/bin/python bench/bench_edge.py --model kitchen-demo-yolo11n-320-int8 --write-docs
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))

import edge_bench_lib as lib

from edge_agent.model import LoadedModel, load_model
from mingchu.model_registry import load_registry

DOCS = lib.ROOT / "docs" / "benchmarks.md"
SECTION = "## Edge agent"
SUB_MAIN = "360p sub + 1080p main"
GOAL_360P = 12
log = lib.log


def camera_table(
    model: LoadedModel,
    cfg: object,
    clip: Path,
    counts: list[int],
    args: argparse.Namespace,
    label: str,
    main_clip: Path | None = None,
) -> tuple[list[str], list[lib.CameraRun], int]:
    """Rows for each camera count (``trials`` windows each); stops after two unsustained counts."""
    rows: list[str] = []
    runs: list[lib.CameraRun] = []
    best, misses = 0, 0
    for n in counts:
        trials = []
        for t in range(args.trials):
            r = lib.camera_run(model, cfg, clip, n, args.warmup, args.window, main_clip)  # type: ignore[arg-type]
            log(f"{label} x{n} trial {t + 1}: {r}")
            trials.append(r)
            rows.append(
                f"| {label} | {n} | {r.fps_min:.2f} / {r.fps_mean:.2f} | {r.lag_start:.2f} → {r.lag_end:.2f} | "
                f"{r.dropped_per_s:.1f} | {r.cpu_pct:.0f} | {r.cpu_ms_per_camera_s:.0f} | {r.machine_pct:.0f} | "
                f"{r.load} | {'yes' if r.ok else 'no'} |"
            )
        runs += trials
        if all(r.ok for r in trials):  # sustained only if every trial held 5 fps
            best, misses = max(best, n), 0
        else:
            misses += 1
            if misses == 2:
                break
    return rows, runs, best


def per_camera_ms(costs: dict[str, list[float]]) -> float:
    """CPU ms one camera needs per second: decode all 25 frames + the worker on 5 of them."""
    decode = lib.CAMERA_FPS * statistics.mean(costs[lib.DECODE])
    worker = lib.DETECT_FPS * sum(statistics.mean(costs[s]) for s in lib.STAGES)
    return decode + worker


def run(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="bench_edge_"))
    cfg = lib.config(tmp, args.model)
    entry = load_registry().get(args.model)
    model = load_model(cfg.model)
    cores = os.cpu_count() or 1
    streams = [lib.STREAMS[s] for s in (("360p", "1080p") if args.stream == "both" else (args.stream,))]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = lib.load_text()
    log(f"making {len(streams)} test stream(s) in {tmp}")
    clips = {s.label: lib.make_clip(s, tmp / f"cam_{s.label}.mp4") for s in streams}
    lines = [SECTION, ""]
    lines.append(
        f"Run {started}. Model `{args.model}` ({entry.family}, {entry.input_size[0]}x{entry.input_size[1]}), "
        f"onnxruntime {ort.__version__} with 1 intra-op thread per session, PyAV {av.__version__}, "
        f"OpenCV {cv2.__version__}, Python {platform.python_version()}. Machine: {platform.machine()}, {cores} "
        f"logical CPUs shared with other engineers' jobs; load averages (1 / 5 / 15 min) at start: {load_start}."
    )
    lines += [
        "",
        "Test cameras: `tests/assets/vtest_10s.mp4` (768x576 pedestrians, 10 fps) re-encoded with PyAV/libx264 "
        "as a camera would send it: 25 fps (in-between frames cross-faded, so motion stays real-time), "
        "no B-frames, 2 s GOP, constant bitrate target. Decoded with one thread per stream, as the agent does.",
        "",
        "| stream | size | fps | bitrate (measured) |",
        "|---|---|---|---|",
    ]
    for s in streams:
        lines.append(
            f"| {s.label} | {s.width}x{s.height} | {lib.CAMERA_FPS} | {lib.clip_kbps(clips[s.label]):.0f} kbit/s |"
        )

    model.detector.detect(np.zeros((streams[0].height, streams[0].width, 3), np.uint8))  # warm-up
    log("stage costs")
    costs = {s.label: lib.stage_costs(model, cfg, clips[s.label], args.passes) for s in streams}
    labels = [s.label for s in streams]
    lines += [
        "",
        "### CPU per stage (thread CPU ms per frame; the worker runs on the 5 fps sample, decode on all 25 fps)",
        "",
        "| stage | " + " | ".join(f"{x} median | {x} mean | {x} p90" for x in labels) + " |",
        "|---|" + "---|---|---|" * len(labels),
    ]
    for name in (lib.DECODE, *lib.STAGES, lib.EVIDENCE):
        cells = []
        for x in labels:
            v = costs[x][name]
            cells.append(f"{statistics.median(v):.2f} | {statistics.mean(v):.2f} | {lib.q(v, 0.9):.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        f"\nSamples per stream: {len(costs[labels[0]][lib.DECODE])} decoded frames, "
        f"{len(costs[labels[0]]['inference'])} worker frames ({args.passes} pass(es)), "
        f"{len(costs[labels[0]][lib.EVIDENCE])} evidence builds (evidence is built only for events)."
    )

    first = streams[0]
    log(f"agent vs bare decode + onnxruntime on {first.label}")
    ratios, ratios_gate, rows = [], [], []
    for _ in range(args.repeats):
        b_cpu, b_n = lib.bare_run(model, clips[first.label])
        a_cpu, a_n = lib.agent_run(model, cfg, clips[first.label], motion=False)
        g_cpu, g_n = lib.agent_run(model, cfg, clips[first.label], motion=True)
        ratios.append((a_cpu / a_n) / (b_cpu / b_n))
        ratios_gate.append((g_cpu / g_n) / (b_cpu / b_n))
        rows.append((b_cpu / b_n * 1000, a_cpu / a_n * 1000, g_cpu / g_n * 1000, b_n, a_n))
    lines += [
        "",
        f"### Agent CPU per processed frame vs bare decode + onnxruntime, {first.label} (goal ≤ 1.15)",
        "",
        "Bare = PyAV decode of every frame + letterbox + `session.run` on the 5 fps sample. Agent = real "
        "`VideoSource` thread + `CameraWorker.process` (quality, motion gate, detector pre/infer/post, labels, "
        "ByteTrack, all 11 rules), process CPU over all threads; runs interleaved, file decoded as fast as possible.",
        "",
        "| run | bare ms/frame | agent ms/frame (gate off) | agent ms/frame (gate on) | frames bare / agent |",
        "|---|---|---|---|---|",
    ]
    for i, (b, a, g, bn, an) in enumerate(rows, 1):
        lines.append(f"| {i} | {b:.1f} | {a:.1f} | {g:.1f} | {bn} / {an} |")
    lines.append(
        f"\nMedian ratio agent/bare: **{statistics.median(ratios):.3f}** with the motion gate off, "
        f"{statistics.median(ratios_gate):.3f} with it on (pedestrians move all the time, so the gate rarely skips)."
    )

    log("cameras at 5 fps")
    lines += [
        "",
        f"### Cameras sustained at 5 fps detection (warm-up {args.warmup:.0f} s, window {args.window:.0f} s, "
        f"{args.trials} trial(s) per count)",
        "",
        "Each camera: real `VideoSource` (file paced at 25 fps in real time, looping, decode thread) → "
        "`CameraWorker` thread (quality, motion gate, detector, ByteTrack, 11 rules) under the agent's "
        "`Supervisor`: one detector session shared by all workers, no lock, so inference runs on as many cores "
        "as there are workers ready. *Sustained* = in every trial every camera ≥ 4.5 detections/s and the newest "
        "frame's age < 1 s at the end. *Box busy* is all processes on the machine (`/proc/stat`), so the gap "
        "to 100 % is what was left idle; *load* is 1 / 5 / 15-min at the start of the window and counts "
        "this benchmark's own runnable threads (up to two per camera), so box busy is the better sign of other jobs.",
        "",
        "Rows: *360p* = camera configured with only its 640x360 sub-stream (detection on it, evidence at 360p); "
        "*1080p* = main stream only, every frame decoded at 1920x1080 and detected on; *360p sub + 1080p main* = "
        "`url` main + `sub_url` sub-stream, which is what a config with both gives today: detection on the "
        "sub-stream while `VideoSource` also decodes every main-stream frame and converts the newest one to BGR "
        "for each detection frame, for evidence.",
        "",
        "| stream | cameras | det fps min / mean | lag start → end s | dropped/s | agent CPU % of a core "
        "| agent CPU ms per camera-second | box busy % of all cores | load | sustained |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    best: dict[str, int] = {}
    all_runs: dict[str, list[lib.CameraRun]] = {}
    for s in streams:
        counts = args.cameras if s.label == "360p" else args.cameras_1080p
        table, runs, most = camera_table(model, cfg, clips[s.label], counts, args, s.label)
        lines += table
        best[s.label], all_runs[s.label] = most, runs
    if len(streams) == 2 and args.cameras_sub_main:
        label = SUB_MAIN
        table, runs, most = camera_table(
            model, cfg, clips["360p"], args.cameras_sub_main, args, label, main_clip=clips["1080p"]
        )
        lines += table
        best[label], all_runs[label] = most, runs
    load_end = lib.load_text()
    picture = lib.plot_runs(all_runs, args.plot or tmp / "edge_cameras.png", cores)
    log(f"picture: {picture}")

    lines += ["", "### Capacity", ""]
    lines.append(
        "Estimate = cores × 1000 ms ÷ CPU ms one camera needs per second. *From stages* = 25 × mean decode + "
        "5 × Σ mean worker stages (the table above, one thread, no contention); *from the live runs* = median "
        "agent CPU ms per camera-second over the sustained windows (includes threads, GIL hand-offs, pacing)."
    )
    lines += ["", "| stream | from stages: ms/camera-s → cameras | from live runs: ms/camera-s → cameras "
              "| measured sustained (largest count tried) |", "|---|---|---|---|"]  # fmt: skip
    for label in all_runs:
        if label == SUB_MAIN:  # sub-stream worker + the main stream decoded and converted for evidence
            big = costs["1080p"]
            stage_ms = per_camera_ms(costs["360p"]) + lib.CAMERA_FPS * statistics.mean(big[lib.DECODE])
            stage_ms += lib.DETECT_FPS * statistics.mean(big["to_ndarray"])
        else:
            stage_ms = per_camera_ms(costs[label])
        ok_runs = [r.cpu_ms_per_camera_s for r in all_runs[label] if r.ok]
        live = f"{statistics.median(ok_runs):.0f} → {cores * 1000 / statistics.median(ok_runs):.1f}" if ok_runs else "—"
        tried = max((r.n for r in all_runs[label]), default=0)
        lines.append(
            f"| {label} | {stage_ms:.0f} → {cores * 1000 / stage_ms:.1f} | {live} | **{best[label]}** ({tried}) |"
        )
    if "360p" in best:
        verdict = "met" if best["360p"] >= GOAL_360P else "not met"
        lines.append(f"\nGoal ≥ {GOAL_360P} × 360p sub-streams at 5 fps: **{verdict}** ({best['360p']} sustained).")
    busiest = max((r for runs in all_runs.values() for r in runs if r.ok), key=lambda r: r.cpu_pct, default=None)
    if busiest is not None:
        lines.append(
            f"\nBusiest sustained window: {busiest.n} cameras with the agent at {busiest.cpu_pct:.0f} % of one core "
            f"({'both cores in use: the shared session is not a serialising bottleneck' if busiest.cpu_pct > 100 else 'never above one core'}). "
            f"Load averages at the end: {load_end}."
        )

    if args.latency_s > 0:
        log("detection → PUBACK")
        try:
            lat = lib.latency_run(tmp, args.model, args.latency_s)
            if not lat:
                raise RuntimeError("no event was acknowledged")
            lines += [
                "",
                "### Detection → PUBACK latency (real Mosquitto on 127.0.0.1:1883, QoS 1)",
                "",
                "From the rule raising a violation through evidence (1280x720 annotated + clean JPEG, Ed25519), "
                "SQLite outbox commit (WAL, synchronous=FULL), publish, to the broker's PUBACK.",
                "",
                "| events | p50 ms | p95 ms | max ms |",
                "|---|---|---|---|",
                f"| {len(lat)} | {lib.q(lat, 0.5) * 1000:.1f} | {lib.q(lat, 0.95) * 1000:.1f} | {max(lat) * 1000:.1f} |",
            ]
        except Exception as exc:  # no broker: say so instead of inventing a figure
            lines += ["", f"Detection → PUBACK latency: not measured ({exc})."]
    command = ".venv/bin/python bench/bench_edge.py " + " ".join(args.argv)
    lines += ["", "Command:", "", "```sh", command.strip(), "```", ""]
    return "\n".join(lines)


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace only our section of the shared page (append when missing)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    new = (
        pattern.sub(lambda _: text.rstrip("\n") + "\n\n", old, count=1)
        if pattern.search(old)
        else (old.rstrip("\n") + "\n\n" + text)
    )
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def counts(text: str) -> list[int]:
    """``"4,8,12"`` → [4, 8, 12]: positive, strictly increasing camera counts."""
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1 or values != sorted(set(values)):
        raise argparse.ArgumentTypeError(f"camera counts must be positive and increasing, got {text!r}")
    return values


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--model", default="coco-nanodet-g", help="model registry name (models/registry.yaml)")
    p.add_argument("--stream", choices=("360p", "1080p", "both"), default="both", help="camera streams to measure")
    p.add_argument("--cameras", type=counts, default=[4, 8, 10, 12, 14], help="360p camera counts, e.g. 4,8,12")
    p.add_argument("--cameras-1080p", type=counts, default=[1, 2, 3, 4], help="1080p camera counts")
    p.add_argument(
        "--cameras-sub-main",
        type=lambda t: [] if t in ("", "0", "none") else counts(t),
        default=[4, 6, 8, 10],
        help="counts for cameras with sub_url=360p and url=1080p (needs --stream both; 'none' = skip)",
    )
    p.add_argument("--trials", type=int, default=1, help="windows per camera count; all must hold 5 fps")
    p.add_argument("--passes", type=int, default=2, help="passes over the clip for the stage table")
    p.add_argument("--repeats", type=int, default=3, help="interleaved bare/agent runs for the ratio")
    p.add_argument("--warmup", type=float, default=4.0, help="seconds before each camera window")
    p.add_argument("--window", type=float, default=10.0, help="seconds each camera window is measured")
    p.add_argument("--latency-s", type=float, default=15.0, help="seconds of events for the latency figure (0 = skip)")
    p.add_argument("--plot", type=Path, help="PNG of fps and CPU against cameras (default: in the temp dir)")
    p.add_argument("--write-docs", action="store_true", help=f"replace '{SECTION}' in docs/benchmarks.md")
    args = p.parse_args(argv)
    for name in ("trials", "passes", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.warmup < 0 or args.window <= 0 or args.latency_s < 0:
        p.error("--warmup and --latency-s must be >= 0 and --window > 0")
    known = [m.name for m in load_registry().models]
    if args.model not in known:
        p.error(f"unknown model {args.model!r}; the registry lists: {', '.join(known)}")
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    text = run(args)
    print(text)
    if args.write_docs:
        write_section(text)
        log(f"wrote {DOCS}")


if __name__ == "__main__":
    main()
