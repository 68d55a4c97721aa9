"""The camera worker's loop logic with scripted parts: motion gating, crash resistance, idling."""

from __future__ import annotations

import time
from pathlib import Path

from edge_agent.detections import Detections
from edge_agent.rules import Violation, build_rules
from edge_agent.supervisor import CameraWorker, Supervisor
from tests.edge.conftest import FakeSource, ScriptedDetector, dets, edge_config, make_frame


class PassThrough:
    def update(self, detections: Detections, now: float | None = None) -> Detections:
        return detections


class ScriptedGate:
    """Lets the detector run only on the frames listed."""

    def __init__(self, run_on: set[int]) -> None:
        self.run_on, self.calls = run_on, 0

    def update(self, image: object, now: float | None = None) -> object:
        return None

    def should_detect(self, now: float) -> bool:
        self.calls += 1
        return self.calls - 1 in self.run_on


def worker(tmp_path: Path, detector: ScriptedDetector, gate: ScriptedGate | None = None, **rules: dict) -> CameraWorker:
    cfg = edge_config(tmp_path, rules=rules)
    found: list[Violation] = []
    w = CameraWorker(
        "cam1",
        lambda: FakeSource("cam1"),
        detector,
        lambda d: d,
        PassThrough(),
        build_rules(cfg, cfg.cameras[0]),
        found.append,
        gate,
    )
    w.found = found  # type: ignore[attr-defined]
    return w


def test_frames_without_motion_reuse_the_last_detections(tmp_path: Path) -> None:
    detector = ScriptedDetector(lambda _i: dets(("cat", (10, 10, 80, 80), 1)))
    w = worker(tmp_path, detector, ScriptedGate({0}), pest_intrusion={"min_duration_s": 2.0})
    out: list[Violation] = []
    for i in range(15):  # 3 s at 5 fps; the detector runs on the first frame only
        out += w.process(make_frame(i / 5))
    assert detector.calls == 1 and w.skipped == 14
    assert [v.class_id for v in out].count("pest_intrusion") == 1  # the cat is still there


def test_detector_failure_is_counted_and_the_worker_goes_on(tmp_path: Path) -> None:
    def flaky(i: int) -> Detections:
        if i % 2 == 0:
            raise RuntimeError("onnxruntime hiccup")
        return Detections.empty()

    w = worker(tmp_path, ScriptedDetector(flaky))
    w.start()
    try:
        deadline = time.monotonic() + 5
        while (w.counters.errors < 3 or w.counters.frames < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert w.counters.errors >= 3 and w.counters.frames >= 3 and w.alive
    finally:
        w.stop()
    assert not w.alive


def test_supervisor_serves_latest_frame_per_camera(tmp_path: Path) -> None:
    w = worker(tmp_path, ScriptedDetector(lambda _i: Detections.empty()))
    sup = Supervisor([w])
    assert sup.latest_frame("cam1") is None and sup.latest_frame("nope") is None
    sup.start()
    try:
        deadline = time.monotonic() + 5
        while w.counters.frames < 1 and time.monotonic() < deadline:  # latest is set before a frame completes
            time.sleep(0.05)
        frame = sup.latest_frame("cam1")
        assert frame is not None and frame.camera_id == "cam1"
        assert w.state == "online"
    finally:
        sup.stop()
