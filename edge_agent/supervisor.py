"""One worker thread per camera: source → quality → detector → labels → tracker → rules → sink.

A worker never dies of a bad frame or a broken camera: errors are logged, counted and the loop
goes on, so one failing camera never stops the others. The sink (evidence → outbox → publisher)
is passed in, which keeps this module free of MQTT and SQLite.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from edge_agent.detections import Detections
from edge_agent.frame import Frame
from edge_agent.rules import Observation, Rule, Violation, measure_quality
from edge_agent.rules.camera_health import CameraHealthRule

log = logging.getLogger("edge_agent.supervisor")


class FrameSource(Protocol):
    def start(self) -> object: ...
    def read(self, timeout_s: float = 1.0) -> Frame | None: ...
    def stop(self, timeout_s: float | None = None) -> bool: ...


class DetectorLike(Protocol):
    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections: ...


class TrackerLike(Protocol):
    def update(self, detections: Detections, now: float | None = None) -> Detections: ...


class MotionGateLike(Protocol):
    def update(self, image: Any, now: float | None = None) -> object: ...
    def should_detect(self, now: float) -> bool: ...


ViolationSink = Callable[[Violation], None]
CameraState = Literal["online", "offline", "obstructed", "starting"]


@dataclass
class CameraCounters:
    """What DeviceStats and /metrics report for one camera."""

    frames: int = 0
    errors: int = 0
    violations: int = 0
    last_lag_s: float = 0.0
    last_frame_at: datetime | None = None
    infer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    stage_ms: dict[str, deque[float]] = field(default_factory=dict)
    frame_times: deque[float] = field(default_factory=lambda: deque(maxlen=50))

    def note_stage(self, stage: str, ms: float) -> None:
        self.stage_ms.setdefault(stage, deque(maxlen=200)).append(ms)

    @property
    def detect_fps(self) -> float:
        if len(self.frame_times) < 2:
            return 0.0
        span = self.frame_times[-1] - self.frame_times[0]
        return (len(self.frame_times) - 1) / span if span > 0 else 0.0

    @property
    def inference_ms(self) -> float:
        return statistics.median(self.infer_ms) if self.infer_ms else 0.0


class CameraWorker:
    """Runs one camera's pipeline on its own thread."""

    def __init__(
        self,
        camera_id: str,
        source_factory: Callable[[], FrameSource],
        detector: DetectorLike,
        label_mapper: Callable[[Detections], Detections],
        tracker: TrackerLike,
        rules: list[Rule],
        sink: ViolationSink,
        motion_gate: MotionGateLike | None = None,
        idle_interval_s: float = 1.0,
    ) -> None:
        self.camera_id = camera_id
        self.source_factory, self.detector, self.label_mapper = source_factory, detector, label_mapper
        self.tracker, self.rules, self.sink = tracker, rules, sink
        self.idle_interval_s = idle_interval_s
        self.motion_gate = motion_gate
        self._last_tracked = Detections.empty()
        self.skipped = 0
        self.counters = CameraCounters()
        self.source: FrameSource | None = None
        self.latest: Frame | None = None
        self.state: CameraState = "starting"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera_id}", daemon=True)
        self._detect_lock: threading.Lock | None = None

    def start(self, detect_lock: threading.Lock | None = None) -> None:
        self._detect_lock = detect_lock
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _open_source(self) -> FrameSource | None:
        try:
            source = self.source_factory()
            source.start()
            return source
        except Exception:
            log.exception("camera %s: cannot open source; retrying", self.camera_id)
            self.counters.errors += 1
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.source is None:
                self.source = self._open_source()
                if self.source is None:
                    self._emit_all(self._idle())
                    self._stop.wait(2.0)
                    continue
            try:
                frame = self.source.read(timeout_s=self.idle_interval_s)
                violations = self._idle() if frame is None else self.process(frame)
            except Exception:
                self.counters.errors += 1
                log.exception("camera %s: frame processing failed; continuing", self.camera_id)
                continue
            self._emit_all(violations)
        if self.source is not None:
            try:
                self.source.stop(2.0)
            except Exception:
                log.exception("camera %s: source stop failed", self.camera_id)

    def _emit_all(self, violations: list[Violation]) -> None:
        for v in violations:
            self.counters.violations += 1
            try:
                self.sink(v)
            except Exception:
                self.counters.errors += 1
                log.exception("camera %s: could not record violation %s", self.camera_id, v.class_id)

    def _idle(self) -> list[Violation]:
        now_mono, now = time.monotonic(), datetime.now(UTC)
        out: list[Violation] = []
        for rule in self.rules:
            out.extend(rule.idle(now_mono, now))
        health = next((r for r in self.rules if isinstance(r, CameraHealthRule)), None)
        if health is not None and health.offline_since is not None:
            self.state = "offline"
        return out

    def process(self, frame: Frame) -> list[Violation]:
        """Run one frame through detection, tracking and every rule."""
        c = self.counters
        t0 = time.perf_counter()
        self.latest = frame
        quality = measure_quality(frame.image)
        run_detector = True
        if self.motion_gate is not None:
            self.motion_gate.update(frame.image, frame.monotonic_s)
            run_detector = self.motion_gate.should_detect(frame.monotonic_s)
        t1 = time.perf_counter()
        if run_detector:
            if self._detect_lock is not None:
                with self._detect_lock:
                    raw = self.detector.detect(frame.image)
            else:
                raw = self.detector.detect(frame.image)
            t2 = time.perf_counter()
            tracked = self.tracker.update(self.label_mapper(raw), frame.monotonic_s)
            self._last_tracked = tracked
            c.infer_ms.append((t2 - t1) * 1000)
        else:  # nothing moved: the scene, and so the last detections, still hold
            self.skipped += 1
            t2 = time.perf_counter()
            tracked = self._last_tracked
        t3 = time.perf_counter()
        obs = Observation(frame, tracked, quality)
        out: list[Violation] = []
        for rule in self.rules:
            out.extend(rule.observe(obs))
        t4 = time.perf_counter()
        c.frames += 1
        c.last_lag_s = max(0.0, time.monotonic() - frame.monotonic_s)
        c.last_frame_at = frame.captured_at
        c.frame_times.append(time.monotonic())
        for stage, ms in (
            ("quality_motion", t1 - t0),
            ("inference", t2 - t1),
            ("tracking", t3 - t2),
            ("rules", t4 - t3),
        ):
            c.note_stage(stage, ms * 1000)
        health = next((r for r in self.rules if isinstance(r, CameraHealthRule)), None)
        self.state = "obstructed" if health is not None and health.obstructed_reason(quality) else "online"
        return out

    def _source_stat(self, name: str) -> float:
        stats = getattr(self.source, "stats", None)
        if stats is None:
            return 0.0
        try:
            return float(getattr(stats(), name, 0) or 0)
        except Exception:  # stats are best effort; a broken source is reported elsewhere
            return 0.0

    def dropped_frames(self) -> int:
        """Frames the source dropped because detection fell behind (from the video side's stats)."""
        return int(self._source_stat("frames_dropped"))

    def decode_fps(self) -> float:
        return self._source_stat("fps")


class Supervisor:
    """Starts and stops the camera workers; one shared detector, serialised per call when asked."""

    def __init__(self, workers: list[CameraWorker], serialise_detector: bool = False) -> None:
        self.workers = {w.camera_id: w for w in workers}
        self._detect_lock = threading.Lock() if serialise_detector else None

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start(self._detect_lock)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker._stop.set()
        for worker in self.workers.values():
            worker.stop()

    def latest_frame(self, camera_id: str) -> Frame | None:
        worker = self.workers.get(camera_id)
        return worker.latest if worker else None
