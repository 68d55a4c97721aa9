"""The agent with every real part: pedestrian footage from a file or a GStreamer RTSP server,
motion gate, the shipped NanoDet model, ByteTrack, rules, signed evidence, outbox, Mosquitto."""

from __future__ import annotations

import base64
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.app import EdgeApp
from mingchu.contract import Topics, decode
from mingchu.contract.messages import DeviceStatus, ViolationEvent
from mingchu.contract.signing import verify
from tests.edge.conftest import Collector, edge_config

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "assets" / "vtest_10s.mp4"

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


def run_agent(tmp_path: Path, url: str, col_factory: Callable[..., Collector]) -> None:
    camera = {
        "id": "hall",
        "name": "后门通道",
        "room_id": "r1",
        "room_type": "storage",
        "url": url,
        "detect_fps": 4,
        "schedule": {},  # never staffed: every person is after-hours
    }
    cfg = edge_config(
        tmp_path,
        cameras=[camera],
        rules={"unauthorized_entry": {"min_duration_s": 1.0}},
        metrics={"enabled": True, "port": 0},
        mqtt={"stats_interval_s": 1.0},
    )
    topics = Topics("s1", cfg.device.device_id)
    col = col_factory(topics.base + "/#")
    app = EdgeApp(cfg).start()
    try:
        got = col.wait_for(lambda m: any(t == topics.events for t, _p, _r in m), 90)
        worker = app.supervisor.workers["hall"]
        assert got, f"no event from real footage: frames={worker.counters.frames} errors={worker.counters.errors}"
        envs = [decode(p) for t, p, _r in col.snapshot() if t in (topics.events, topics.status)]
        status = next(e.message for e in envs if isinstance(e.message, DeviceStatus))
        event_env = next(e for e in envs if isinstance(e.message, ViolationEvent))
        event = event_env.message
        assert isinstance(event, ViolationEvent)
        verify(event, base64.b64decode(status.public_key))
        assert event.violation_class == "unauthorized_entry" and event.place.room_type == "storage"
        assert event.model is not None and event.model.name == "coco-nanodet-g"
        assert any(b.label == "person" for b in event.boxes) and event.duration_s >= 1.0
        assert event.track_id is not None and event.track_id > 0
        assert set(event_env.attachments) == {"annotated", "clean"}
        time.sleep(2.0)
        ids = [decode(p).message.event_id for t, p, _r in col.snapshot() if t == topics.events]
        assert len(ids) <= 3, f"{len(ids)} events: one after-hours episode must not become an event per frame"
        text = urllib.request.urlopen(f"http://127.0.0.1:{app.metrics_port}/metrics", timeout=5).read().decode()
        assert 'mingchu_edge_detect_fps{camera="hall"}' in text and "mingchu_edge_outbox_depth" in text
        fps_line = next(line for line in text.splitlines() if line.startswith("mingchu_edge_detect_fps{"))
        assert float(fps_line.split()[-1]) > 0, fps_line
    finally:
        app.stop()


def test_file_source_end_to_end(tmp_path: Path, collector_factory: Callable[..., Collector]) -> None:
    run_agent(tmp_path, str(CLIP), collector_factory)


@pytest.mark.rtsp
def test_rtsp_source_end_to_end(
    tmp_path: Path, collector_factory: Callable[..., Collector], rtsp_server_factory: Callable[..., object]
) -> None:
    server = rtsp_server_factory({"/cam": CLIP})
    run_agent(tmp_path, server.url("cam"), collector_factory)  # type: ignore[attr-defined]
