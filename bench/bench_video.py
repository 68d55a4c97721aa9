"""CPU cost of the edge agent's video side per frame, and how many RTSP streams one box decodes.

Why a script and not a test: timings on a shared machine are noisy, so they are measured here
(medians of per-frame thread CPU time) and recorded with the exact command in
``docs/benchmarks.md`` under ``## Video sources and motion``.

Stages: H.264 decode (1080p and 360p, one decode thread), ``to_ndarray(bgr24)``, the motion gate,
the frame-quality measures and the tracker. Then real GStreamer RTSP streams (25 fps, TCP) are
decoded by N ``VideoSource``s sampling at 5 fps, to see whether decoding keeps up (fps stays at
25, nothing piles up) and what each stream costs in CPU: the decode-only ceiling that the
detector's cost is later added to.

    .venv/bin/python bench/bench_video.py --write-docs
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.detections import Detections  # noqa: E402
from edge_agent.motion import MotionGate, frame_quality  # noqa: E402
from edge_agent.sources import VideoSource  # noqa: E402
from edge_agent.track import ByteTracker  # noqa: E402
from tests.support.rtsp import RtspServer, gst_rtsp_unavailable_reason  # noqa: E402

CLIP = ROOT / "tests" / "assets" / "vtest_10s.mp4"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Video sources and motion"
FPS = 25
Image = npt.NDArray[np.uint8]


def log(message: str) -> None:
    print(f"[bench_video {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def source_frames() -> list[Image]:
    """Real footage (pedestrians) if the asset is there, else a synthetic pattern."""
    if CLIP.is_file():
        with av.open(str(CLIP)) as container:
            return [np.asarray(f.to_ndarray(format="bgr24"), np.uint8) for f in container.decode(video=0)]
    from tests.support.clips import pattern_frames

    return list(pattern_frames(768, 576, 100))


def encode_camera_clip(frames: list[Image], path: Path, size: tuple[int, int], kbps: int) -> Path:
    """Re-time to 25 fps and encode at a camera-like bitrate (main stream 4 Mb/s, sub 512 kb/s)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.bit_rate = kbps * 1000
        stream.options = {"preset": "veryfast", "g": str(2 * FPS), "bf": "0"}
        for i, image in enumerate(frames):
            resized = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), np.uint8)
            frame = av.VideoFrame.from_ndarray(resized, "bgr24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def cpu_ms(fn: Callable[[], object]) -> float:
    """CPU ms of ``fn`` across the whole process: also counts helper threads a library might start
    (nothing else runs in this process during the stage measurements)."""
    start = time.process_time_ns()
    fn()
    return (time.process_time_ns() - start) / 1e6


def decode_costs(path: Path, passes: int) -> tuple[list[float], list[float], list[av.VideoFrame]]:
    """Per-frame thread CPU ms for decode and for to_ndarray(bgr24), single-threaded decoder."""
    decode_ms: list[float] = []
    convert_ms: list[float] = []
    frames: list[av.VideoFrame] = []
    for p in range(passes):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_count = 1
            for packet in container.demux(stream):
                start = time.process_time_ns()
                decoded = packet.decode()
                spent = (time.process_time_ns() - start) / 1e6
                for frame in decoded:
                    decode_ms.append(spent / len(decoded))
                    convert_ms.append(cpu_ms(functools.partial(frame.to_ndarray, format="bgr24")))
                    if p == 0:
                        frames.append(frame)
    return decode_ms, convert_ms, frames


def per_frame(fn: Callable[[Image], object], images: list[Image], passes: int) -> list[float]:
    return [cpu_ms(functools.partial(fn, img)) for _ in range(passes) for img in images]


def tracker_costs(steps: int) -> list[float]:
    """Ten people walking: the tracker's per-frame CPU."""
    tracker, out = ByteTracker(), []
    rng = np.random.default_rng(0)
    for k in range(steps):
        boxes = np.array([[40 + 60 * j + 2 * k, 100 + 20 * j, 100 + 60 * j + 2 * k, 260 + 20 * j] for j in range(10)])
        jittered = (boxes + rng.normal(0, 1, (10, 4))).tolist()
        dets = Detections.from_lists(jittered, [0.8] * 10, ["person"] * 10)
        out.append(cpu_ms(functools.partial(tracker.update, dets, now=k * 0.2)))
    return out


def proc_cpu_s(pid: int) -> float:
    """utime + stime of another process (the RTSP server), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stream_run(server: RtspServer, mount: str, count: int, warmup_s: float, window_s: float) -> dict[str, float]:
    """Decode ``count`` RTSP streams at once, sample at 5 fps, consume everything; measure a window."""
    sources = [
        VideoSource(f"cam{i}", server.url(mount), detect_fps=5, queue_size=2, read_timeout_s=5).start()
        for i in range(count)
    ]
    stop = threading.Event()
    consumed = [0]

    def consume() -> None:
        while not stop.is_set():
            for source in sources:
                if source.read(timeout_s=0.002) is not None:
                    consumed[0] += 1

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        # every stream past its connect-time burst (the server sends ~1 s of frames at once), then settle
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(s.stats().frames_decoded for s in sources) < 2 * FPS:
            time.sleep(0.1)
        time.sleep(warmup_s)
        before = [s.stats() for s in sources]
        server_pid = server.pid
        cpu0, wall0 = time.process_time(), time.monotonic()
        srv0 = proc_cpu_s(server_pid) if server_pid else 0.0
        got0 = consumed[0]
        time.sleep(window_s)
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        srv = (proc_cpu_s(server_pid) - srv0) if server_pid else float("nan")
        after = [s.stats() for s in sources]
        got = consumed[0] - got0
    finally:
        stop.set()
        consumer.join(2)
        for source in sources:
            source.stop(timeout_s=6)
    fps = [(a.frames_decoded - b.frames_decoded) / wall for a, b in zip(after, before, strict=True)]
    return {
        "streams": count,
        "fps_mean": statistics.fmean(fps),
        "fps_min": min(fps),
        "sampled_per_stream": got / wall / count,
        "dropped": sum(a.frames_dropped - b.frames_dropped for a, b in zip(after, before, strict=True)),
        "failures": sum(a.detect.failures for a in after),
        "client_core_pct": 100 * cpu / wall,
        "client_core_pct_per_stream": 100 * cpu / wall / count,
        "server_core_pct": 100 * srv / wall,
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(name: str, values: list[float]) -> tuple[str, float, float, float, int]:
    """(stage, median, mean, p90, n): capacity follows the mean (I-frames cost several P-frames)."""
    return name, median(values), statistics.fmean(values), statistics.quantiles(values, n=10)[-1], len(values)


def run(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="bench_video_"))
    log("reading source footage and encoding camera-like clips (1080p 4 Mb/s, 360p 512 kb/s)")
    frames = source_frames()
    clips = {
        "1080p": encode_camera_clip(frames, tmp / "main_1080p.mp4", (1920, 1080), 4000),
        "360p": encode_camera_clip(frames, tmp / "sub_360p.mp4", (640, 360), 512),
    }
    stage_rows: list[tuple[str, float, float, float, int]] = []
    images: dict[str, list[Image]] = {}
    for name, path in clips.items():
        log(f"decode + to_ndarray {name} ({args.passes} passes)")
        dec, conv, decoded = decode_costs(path, args.passes)
        stage_rows.append(summary(f"H.264 decode {name} (1 thread)", dec))
        stage_rows.append(summary(f"to_ndarray bgr24 {name}", conv))
        images[name] = [np.asarray(f.to_ndarray(format="bgr24"), np.uint8) for f in decoded]
    for name in ("1080p", "360p"):
        log(f"motion gate and quality on {name}")
        gate = MotionGate()
        cost = per_frame(gate.update, images[name], args.passes)
        stage_rows.append(summary(f"motion gate update {name} (160 px wide)", cost))
        q = per_frame(frame_quality, images[name], 1)
        stage_rows.append(summary(f"frame_quality {name} (320 px wide)", q))
    tr = tracker_costs(300)
    stage_rows.append(summary("ByteTracker update, 10 people", tr))

    stream_rows: list[dict[str, float]] = []
    reason = gst_rtsp_unavailable_reason()
    if reason:
        log(f"skipping RTSP runs: {reason}")
    else:
        server = RtspServer({"/main": clips["1080p"], "/sub": clips["360p"]}).start()
        try:
            for mount, counts in (("sub", args.sub_streams), ("main", args.main_streams)):
                for count in counts:
                    log(
                        f"RTSP {mount}: {count} stream(s), 2 s of frames + {args.warmup:.0f} s warm-up, {args.window:.0f} s window"
                    )
                    row = stream_run(server, mount, count, args.warmup, args.window)
                    row["mount"] = 360 if mount == "sub" else 1080
                    stream_rows.append(row)
                    log(f"  -> {row}")
        finally:
            server.stop()
    return render(stage_rows, stream_rows, args, len(frames))


def render(
    stage_rows: list[tuple[str, float, float, float, int]],
    stream_rows: list[dict[str, float]],
    args: argparse.Namespace,
    n_src: int,
) -> str:
    load = os.getloadavg()[0]
    source = "`tests/assets/vtest_10s.mp4` (real pedestrians)" if CLIP.is_file() else "a synthetic pattern"
    lines = [
        SECTION,
        "",
        f"{n_src} frames of {source} re-timed to 25 fps and encoded like a camera: main stream 1920x1080 at "
        f"4 Mb/s, sub-stream 640x360 at 512 kb/s (x264 veryfast, GOP 2 s, no B-frames). PyAV {av.__version__}, "
        f"OpenCV {cv2.__version__}. Machine: {platform.machine()}, {os.cpu_count()} logical CPUs shared with other "
        f"jobs (1-min load average {load:.1f} at the end). Figures are CPU time of this process, so other jobs "
        "inflate them less than wall time would, but expect ±20 %.",
        "",
        "| stage | median CPU ms/frame | mean ms | p90 ms | frames |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {med:.2f} | {mean:.2f} | {p90:.2f} | {n} |" for name, med, mean, p90, n in stage_rows]
    by_name = {name: mean for name, _, mean, _, _ in stage_rows}
    d1080, d360 = by_name["H.264 decode 1080p (1 thread)"], by_name["H.264 decode 360p (1 thread)"]
    lines += [
        "",
        f"Decode ratio 1080p / 360p (means): {d1080 / d360:.1f}x. One decode thread tops out near "
        f"{1000 / d1080:.0f} fps at 1080p and {1000 / d360:.0f} fps at 360p; a 25 fps camera therefore needs "
        f"≈ {25 * d1080 / 10:.0f} % of a core for its main stream and ≈ {25 * d360 / 10:.1f} % for its sub-stream "
        "(every frame must be decoded even when only 5 fps go to detection; to_ndarray, motion and quality run "
        "only on the 5 sampled fps).",
    ]
    if stream_rows:
        lines += [
            "",
            "Real RTSP (GStreamer server on the same box, TCP, 25 fps) into N `VideoSource`s sampling 5 fps, "
            "all sampled frames consumed. *Keeps up* = every stream still decodes ≥ 90 % of 25 fps.",
            "",
            "| stream | N | decoded fps mean / min | sampled fps per stream | dropped | client CPU % of a core "
            "(per stream) | RTSP server CPU % | keeps up |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in stream_rows:
            ok = r["fps_min"] >= 0.9 * FPS and r["failures"] == 0
            lines.append(
                f"| {r['mount']:.0f}p | {r['streams']:.0f} | {r['fps_mean']:.1f} / {r['fps_min']:.1f} | "
                f"{r['sampled_per_stream']:.1f} | {r['dropped']:.0f} | {r['client_core_pct']:.0f} "
                f"({r['client_core_pct_per_stream']:.1f}) | {r['server_core_pct']:.0f} | {'yes' if ok else 'NO'} |"
            )
        per: dict[float, list[float]] = {}
        for r in stream_rows:
            per.setdefault(r["mount"], []).append(r["client_core_pct_per_stream"])
        cores = os.cpu_count() or 1
        ceilings = ", ".join(
            f"{mount:.0f}p ≈ {100 * cores / median(v):.0f} streams" for mount, v in sorted(per.items())
        )
        lines += [
            "",
            f"Decode-only ceiling if all {cores} cores did nothing but decode (cores × 100 % / per-stream CPU, "
            f"median over N): {ceilings}. Detection at 5 fps per camera comes on top; see `## Detectors`.",
        ]
    command = "\n".join(["```sh", ".venv/bin/python bench/bench_video.py " + " ".join(args.argv).strip(), "```"])
    lines += ["", "Command:", "", command, ""]
    return "\n".join(lines)


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace only our section of the shared benchmarks page (append it if missing)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(old):
        new = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"stream counts must be >= 1, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="decode passes over the clip per resolution")
    parser.add_argument("--sub-streams", type=int_list, default=[1, 2, 4, 8], help="360p stream counts, e.g. 1,2,4")
    parser.add_argument("--main-streams", type=int_list, default=[1, 2, 3], help="1080p stream counts")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each measuring window")
    parser.add_argument("--window", type=float, default=6.0, help="seconds measured per stream count")
    parser.add_argument("--write-docs", action="store_true", help=f"update '{SECTION}' in {DOCS.name}")
    args = parser.parse_args(argv)
    args.argv = argv
    text = run(args)
    print(text)
    if args.write_docs:
        write_section(text)
        log(f"wrote {SECTION!r} in {DOCS}")


if __name__ == "__main__":
    main()
