"""Measuring parts of ``bench/bench_edge.py``: test clips, per-stage CPU, agent vs bare, camera runs.

Kept apart from the report so each piece can be run and checked on its own. Everything here
reads the real agent code (``VideoSource``, ``CameraWorker``, the registry model); nothing is
simulated except the camera, which is an H.264 file paced at its own frame rate.
"""

from __future__ import annotations

import itertools
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edge_agent.config import EdgeConfig  # noqa: E402
from edge_agent.detect.base import Letterbox  # noqa: E402
from edge_agent.detections import Detections  # noqa: E402
from edge_agent.evidence import EvidenceBuilder  # noqa: E402
from edge_agent.frame import Frame  # noqa: E402
from edge_agent.keys import load_or_create_key  # noqa: E402
from edge_agent.model import LoadedModel  # noqa: E402
from edge_agent.motion import MotionGate  # noqa: E402
from edge_agent.rules import Observation, Violation, build_rules, measure_quality  # noqa: E402
from edge_agent.sources import VideoSource  # noqa: E402
from edge_agent.supervisor import CameraWorker  # noqa: E402
from edge_agent.track import ByteTracker  # noqa: E402
from mingchu.contract.messages import RoomType  # noqa: E402

SOURCE_CLIP = ROOT / "tests" / "assets" / "vtest_10s.mp4"
CAMERA_FPS = 25
DETECT_FPS = 5.0
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class StreamSpec:
    """What a typical school camera sends on one of its streams (H.264, no B-frames, 2 s GOP)."""

    label: str
    width: int
    height: int
    kbps: int


STREAMS = {
    "360p": StreamSpec("360p", 640, 360, 512),  # sub-stream: the one detection reads
    "1080p": StreamSpec("1080p", 1920, 1080, 4000),  # main stream, decoded fully
}


def log(message: str) -> None:
    print(f"[bench_edge {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def config(tmp: Path, model_name: str, room_type: str = "prep") -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "device": {"school_id": "bench", "device_id": "bench", "canteen_id": "c", "key_file": str(tmp / "k.pem")},
            "outbox": {"path": str(tmp / "outbox.sqlite3")},
            "metrics": {"enabled": False},
            "model": {"name": model_name},
            "cameras": [
                {
                    "id": "cam",
                    "room_id": "r",
                    "room_type": room_type,
                    "url": str(SOURCE_CLIP),
                    "schedule": {"mon": ["06:00-14:00"]},
                }
            ],
        }
    )


def proc_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat: how much of the box *everyone* used."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


# ---- test clips ---------------------------------------------------------------------------
def make_clip(spec: StreamSpec, path: Path, seconds: float = 10.0) -> Path:
    """Re-encode the 10 fps pedestrian clip as a camera stream: ``spec`` size and bitrate, 25 fps.

    In-between frames are cross-fades of their neighbours, so every frame differs (as a live
    camera's do) and the clip keeps real-time motion instead of playing 2.5x fast.
    """
    with av.open(str(SOURCE_CLIP)) as src:
        stream = src.streams.video[0]
        src_fps = float(stream.average_rate or 10)
        size = (spec.width, spec.height)
        shrink = spec.width < stream.codec_context.width
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        originals = [cv2.resize(f.to_ndarray(format="bgr24"), size, interpolation=interp) for f in src.decode(stream)]
    if not originals:
        raise RuntimeError(f"{SOURCE_CLIP}: no frames")
    with av.open(str(path), "w") as dst:
        out = dst.add_stream("libx264", rate=CAMERA_FPS)
        out.width, out.height, out.pix_fmt = spec.width, spec.height, "yuv420p"
        out.bit_rate = spec.kbps * 1000
        out.options = {"preset": "veryfast", "tune": "zerolatency", "g": str(2 * CAMERA_FPS), "bf": "0"}
        for i in range(round(seconds * CAMERA_FPS)):
            x = (i * src_fps / CAMERA_FPS) % len(originals)
            a, frac = int(x), x - int(x)
            b = (a + 1) % len(originals)
            img = cv2.addWeighted(originals[a], 1 - frac, originals[b], frac, 0) if frac else originals[a]
            vf = av.VideoFrame.from_ndarray(np.asarray(img, dtype=np.uint8), format="bgr24")
            vf.pts = i
            for p in out.encode(vf):
                dst.mux(p)
        for p in out.encode(None):
            dst.mux(p)
    return path


def clip_kbps(path: Path) -> float:
    with av.open(str(path)) as c:
        duration = float(c.duration or 0) / av.time_base
    return path.stat().st_size * 8 / 1000 / duration if duration else float("nan")


def decoded(path: Path) -> tuple[list[av.VideoFrame], list[float]]:
    """All frames of the clip and the CPU ms each took to decode (one decoder thread, as the agent)."""
    frames, costs = [], []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_count = 1
        it = c.decode(stream)
        while True:
            t0 = time.thread_time()
            try:
                f = next(it)
            except StopIteration:
                break
            costs.append((time.thread_time() - t0) * 1000)
            frames.append(f)
    return frames, costs


def sampled(frames: list[av.VideoFrame], fps: float) -> list[int]:
    out, next_t = [], 0.0
    for i, f in enumerate(frames):
        t = float(f.time or 0.0)
        if t + 1e-6 >= next_t:
            out.append(i)
            next_t = t + 1 / fps
    return out


# ---- 1. per-stage CPU ---------------------------------------------------------------------
def postprocess(det: Any, outs: list[Any], box: Letterbox, image: Image) -> Detections:
    """The part of ``detect`` after ``session.run``, for either family (both share preprocess)."""
    height, width = image.shape[:2]
    if hasattr(det, "postprocess"):  # nanodet
        return det.postprocess(outs, box, width, height)  # type: ignore[no-any-return]
    xyxy, scores, class_ids = det.decode(np.asarray(outs[0], np.float32))  # yolo
    return det._filter(box.to_image(xyxy, width, height), scores, class_ids)  # type: ignore[no-any-return]


STAGES = ("to_ndarray", "motion+quality", "preprocess", "inference", "postprocess", "labels+tracking", "rules")
EVIDENCE = "evidence (2 JPEG+sign)"
DECODE = "decode (every frame)"


def stage_costs(model: LoadedModel, cfg: EdgeConfig, clip: Path, passes: int) -> dict[str, list[float]]:
    """Thread-CPU ms of each step of ``CameraWorker.process``, taken apart, on the 5 fps sample."""
    frames, decode_ms = decoded(clip)
    idx = sampled(frames, DETECT_FPS)
    det = model.detector
    costs: dict[str, list[float]] = {k: [] for k in (*STAGES, EVIDENCE)}
    costs[DECODE] = decode_ms
    key = load_or_create_key(cfg.device.key_file)
    builder = EvidenceBuilder(cfg.device, cfg.evidence, {c.id: c for c in cfg.cameras}, key)
    for _ in range(passes):
        gate, tracker, rules = MotionGate(), ByteTracker(), build_rules(cfg, cfg.cameras[0])
        for n, i in enumerate(idx):
            t = float(frames[i].time or 0.0)
            c0 = time.thread_time()
            image: Image = np.asarray(frames[i].to_ndarray(format="bgr24"), dtype=np.uint8)
            c1 = time.thread_time()
            gate.update(image, t)
            gate.should_detect(t)
            quality = measure_quality(image)
            c2 = time.thread_time()
            blob, box = det.preprocess(image)  # type: ignore[attr-defined]
            c3 = time.thread_time()
            outs = det.session.run(None, {det._input_name: blob})  # type: ignore[attr-defined]
            c4 = time.thread_time()
            raw = postprocess(det, outs, box, image)
            c5 = time.thread_time()
            tracked = tracker.update(model.mapper(raw), t)
            c6 = time.thread_time()
            frame = Frame("cam", n, image, datetime(2026, 3, 2, 12, tzinfo=UTC), t)
            obs = Observation(frame, tracked, quality)
            for rule in rules:
                rule.observe(obs)
            c7 = time.thread_time()
            marks = (c0, c1, c2, c3, c4, c5, c6, c7)
            for name, a, b in zip(STAGES, marks, marks[1:], strict=False):
                costs[name].append((b - a) * 1000)
            if n % 5 == 0:  # evidence is built only for events; sample its cost on every fifth frame
                v = Violation(
                    "unauthorized_entry", 2, "after_hours", "cam", "all", RoomType.PREP, 1, 0.9, 3.0,
                    tracked, frame, frame.captured_at,
                )  # fmt: skip
                c8 = time.thread_time()
                builder.build(v)
                costs[EVIDENCE].append((time.thread_time() - c8) * 1000)
    return costs


# ---- 2. agent CPU vs bare decode + bare onnxruntime ---------------------------------------
def bare_run(model: LoadedModel, clip: Path) -> tuple[float, int]:
    """PyAV decode of every frame + onnxruntime on the 5 fps sample (with the letterbox it needs)."""
    det = model.detector
    c0 = proc_cpu()
    n = 0
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        stream.thread_count = 1
        next_t = 0.0
        for f in c.decode(stream):
            t = float(f.time or 0.0)
            if t + 1e-6 < next_t:
                continue
            next_t = t + 1 / DETECT_FPS
            blob, _box = det.preprocess(f.to_ndarray(format="bgr24"))  # type: ignore[attr-defined]
            det.session.run(None, {det._input_name: blob})  # type: ignore[attr-defined]
            n += 1
    return proc_cpu() - c0, n


def agent_run(model: LoadedModel, cfg: EdgeConfig, clip: Path, motion: bool) -> tuple[float, int]:
    """The real worker: VideoSource thread → quality/motion → detector → tracker → 11 rules."""
    cam = cfg.cameras[0]
    src = VideoSource("cam", str(clip), detect_fps=DETECT_FPS, queue_size=1000, realtime=False, loop_file=False)
    worker = CameraWorker(
        "cam",
        lambda: src,
        model.detector,
        model.mapper,
        ByteTracker(),
        build_rules(cfg, cam),
        lambda _v: None,
        MotionGate() if motion else None,
    )
    c0 = proc_cpu()
    src.start()
    n, idle = 0, 0
    while idle < 3:
        frame = src.read(timeout_s=1.0)
        if frame is None:
            idle += 1
            continue
        worker.process(frame)
        n += 1
    src.stop()
    return proc_cpu() - c0, n


# ---- 3. cameras sustained at 5 fps --------------------------------------------------------
@dataclass(frozen=True)
class CameraRun:
    """One window of ``n`` live cameras. ``machine_pct`` counts every process on the box."""

    n: int
    fps_min: float
    fps_mean: float
    lag_start: float
    lag_end: float
    dropped_per_s: float
    cpu_pct: float  # this process, % of one core
    machine_pct: float  # whole box busy, % of all cores
    load: str  # 1/5/15-minute load averages when the window started

    @property
    def ok(self) -> bool:
        return self.fps_min >= 0.9 * DETECT_FPS and self.lag_end < 1.0

    @property
    def cpu_ms_per_camera_s(self) -> float:
        return self.cpu_pct * 10 / self.n


def camera_run(
    model: LoadedModel,
    cfg: EdgeConfig,
    clip: Path,
    n: int,
    warmup_s: float,
    window_s: float,
    main_clip: Path | None = None,
) -> CameraRun:
    """``n`` cameras exactly as ``EdgeApp`` runs them: one worker thread each, one shared detector.

    With ``main_clip`` each camera is configured as ``url`` = main stream, ``sub_url`` = ``clip``:
    detection reads the sub-stream and ``VideoSource`` decodes the main stream too, for evidence.
    """
    from edge_agent.supervisor import Supervisor

    def source(k: int) -> VideoSource:
        if main_clip is None:
            return VideoSource(f"cam{k}", str(clip), detect_fps=DETECT_FPS, queue_size=2)
        return VideoSource(f"cam{k}", str(main_clip), detect_url=str(clip), detect_fps=DETECT_FPS, queue_size=2)

    workers = [
        CameraWorker(
            f"cam{k}",
            lambda k=k: source(k),  # type: ignore[misc]
            model.detector,
            model.mapper,
            ByteTracker(),
            build_rules(cfg, cfg.cameras[0]),
            lambda _v: None,
            MotionGate(),
        )
        for k in range(n)
    ]
    supervisor = Supervisor(workers)  # no detector lock: what EdgeApp builds
    try:
        for w in workers:  # spread the starts over one detection period: live cameras are not in phase
            w.start()
            time.sleep(1 / DETECT_FPS / n)
        time.sleep(warmup_s)
        f0 = [w.counters.frames for w in workers]
        lag0 = max(w.counters.last_lag_s for w in workers)
        d0 = [w.dropped_frames() for w in workers]
        load = load_text()
        (b0, t0_ticks), c0, t0 = machine_ticks(), proc_cpu(), time.monotonic()
        time.sleep(window_s)
        elapsed = time.monotonic() - t0
        cpu = proc_cpu() - c0
        b1, t1_ticks = machine_ticks()
        fps = [(w.counters.frames - a) / elapsed for w, a in zip(workers, f0, strict=True)]
        lag1 = max(w.counters.last_lag_s for w in workers)
        dropped = sum(w.dropped_frames() - d for w, d in zip(workers, d0, strict=True))
    finally:
        supervisor.stop()
    return CameraRun(
        n=n,
        fps_min=min(fps),
        fps_mean=statistics.mean(fps),
        lag_start=lag0,
        lag_end=lag1,
        dropped_per_s=dropped / elapsed,
        cpu_pct=100 * cpu / elapsed,
        machine_pct=100 * (b1 - b0) / max(1, t1_ticks - t0_ticks),
        load=load,
    )


# ---- 4. detection → PUBACK ----------------------------------------------------------------
class _Pass:
    def update(self, d: object, now: float | None = None) -> object:
        return d


def latency_run(tmp: Path, model_name: str, seconds: float) -> list[float]:
    """A real EdgeApp against Mosquitto with a scripted detector that always sees a cat."""
    from edge_agent.app import EdgeApp
    from edge_agent.model import LabelMapper
    from mingchu.contract.messages import ModelInfo
    from tests.edge.conftest import FakeSource, ScriptedDetector, dets

    cfg = EdgeConfig.model_validate(
        {
            **config(tmp, model_name).model_dump(mode="json", exclude={"cameras"}),
            "cameras": [{"id": "cam", "room_id": "r", "room_type": "prep", "url": "fake"}],
            "mqtt": {"client_id": f"bench-{os.getpid()}"},
            "rules": {"pest_intrusion": {"min_duration_s": 0, "cooldown_s": 0, "realarm_s": 0.25}},
        }
    )
    detector = ScriptedDetector(lambda _i: dets(("cat", (100, 100, 400, 400), 1)))

    def source(cam: object) -> FakeSource:
        s = FakeSource("cam", fps=10)
        s.image = cv2.resize(s.image, (1280, 720))
        return s

    app = EdgeApp(
        cfg,
        model_factory=lambda: LoadedModel(detector, LabelMapper("mingchu", {}), ModelInfo(name="s")),  # type: ignore[arg-type]
        source_factory=source,
        tracker_factory=lambda: _Pass(),  # type: ignore[arg-type,return-value]
        use_motion_gate=False,
    ).start()
    time.sleep(seconds)
    app.stop()
    return list(app.latencies_s)


# ---- picture ------------------------------------------------------------------------------
def plot_runs(runs: dict[str, list[CameraRun]], path: Path, cores: int) -> Path:
    """PNG: slowest camera's detection fps and the agent's CPU (in cores) against camera count."""
    w, h, m = 900, 420, 60
    img = np.full((h, w, 3), 255, np.uint8)
    all_runs = [r for rs in runs.values() for r in rs]
    if not all_runs:
        raise ValueError("no camera runs to plot")
    n_max = max(r.n for r in all_runs) + 1
    cpu_max = max(float(cores), max(r.cpu_pct / 100 for r in all_runs))

    def xy(n: float, frac: float) -> tuple[int, int]:
        return int(m + (w - 2 * m) * n / n_max), int(h - m - (h - 2 * m) * frac)

    cv2.rectangle(img, xy(0, 0), xy(n_max, 1), (0, 0, 0), 1)
    target = xy(0, 0.9 * DETECT_FPS / 6)
    cv2.line(img, target, (w - m, target[1]), (0, 0, 200), 1)
    cv2.putText(img, "4.5 fps", (w - m + 4, target[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 200), 1)
    for n in range(0, n_max, 2):
        cv2.putText(img, str(n), (xy(n, 0)[0] - 5, h - m + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    for v in range(0, 7, 2):  # left axis: fps; right axis: cores
        y = xy(0, v / 6)[1]
        cv2.putText(img, f"{v} fps", (8, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    for c in range(int(cpu_max) + 1):
        y = xy(0, c / cpu_max)[1]
        cv2.putText(img, f"{c} core", (w - m + 4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.putText(img, "cameras", (w // 2 - 30, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "solid: min det fps (0-6)   dashed: agent CPU in cores", (m, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (0, 0, 0), 1)  # fmt: skip
    colours = {"360p": (200, 90, 0), "1080p": (0, 140, 0)}
    label_x = m + 10
    for label, trials in runs.items():
        colour = colours.get(label, (90, 90, 90))
        counts = sorted({r.n for r in trials})
        # one point per camera count: the worst trial's fps (and whether all held), the mean CPU
        rs = [min((r for r in trials if r.n == n), key=lambda r: (r.ok, r.fps_min)) for n in counts]
        cpu = [statistics.mean(r.cpu_pct for r in trials if r.n == n) for n in counts]
        fps_pts = [xy(r.n, min(r.fps_min, 6) / 6) for r in rs]
        cpu_pts = [xy(n, c / 100 / cpu_max) for n, c in zip(counts, cpu, strict=True)]
        for a, b in itertools.pairwise(fps_pts):
            cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        for a, b in itertools.pairwise(cpu_pts):
            for t in np.linspace(0, 1, 12)[::2]:  # dashed
                p = (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t))
                q2 = (int(a[0] + (b[0] - a[0]) * (t + 1 / 11)), int(a[1] + (b[1] - a[1]) * (t + 1 / 11)))
                cv2.line(img, p, q2, colour, 1, cv2.LINE_AA)
        for r, p in zip(rs, fps_pts, strict=True):
            cv2.circle(img, p, 4, colour if r.ok else (0, 0, 255), -1)
        cv2.putText(img, label, (label_x, 55), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, 2)
        label_x += cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 2)[0][0] + 25
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
    return path
