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
from mingchu.contract import Envelope, Topics, decode
from mingchu.contract.messages import DeviceStatus, ViolationEvent
from mingchu.contract.signing import verify
from tests.edge.conftest import Collector, edge_config

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "assets" / "vtest_10s.mp4"

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


def run_agent(
    tmp_path: Path, url: str, col_factory: Callable[..., Collector], sub_url: str | None = None
) -> ViolationEvent:
    camera = {
        "id": "hall",
        "name": "后门通道",
        "room_id": "r1",
        "room_type": "storage",
        "url": url,
        "sub_url": sub_url,
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

        def entries() -> list[tuple[Envelope, ViolationEvent]]:
            out = []
            for t, p, _r in col.snapshot():
                env = decode(p) if t == topics.events else None
                msg = env.message if env is not None else None
                # the footage may also yield an occasional "pest" false positive; this test is about entries
                if env is not None and isinstance(msg, ViolationEvent) and msg.violation_class == "unauthorized_entry":
                    out.append((env, msg))
            return out

        got = col.wait_for(lambda _m: bool(entries()), 90)
        worker = app.supervisor.workers["hall"]
        assert got, f"no event from real footage: frames={worker.counters.frames} errors={worker.counters.errors}"
        status = next(
            decode(p).message
            for t, p, _r in col.snapshot()
            if t == topics.status and isinstance(decode(p).message, DeviceStatus)
        )
        event_env, event = entries()[0]
        assert isinstance(event, ViolationEvent)
        verify(event, base64.b64decode(status.public_key))
        assert event.violation_class == "unauthorized_entry" and event.place.room_type == "storage"
        assert event.model is not None and event.model.name == "coco-nanodet-g"
        assert any(b.label == "person" for b in event.boxes) and event.duration_s >= 1.0
        assert event.track_id is not None and event.track_id > 0
        assert set(event_env.attachments) == {"annotated", "clean"}
        time.sleep(2.0)
        ids = [e.event_id for _env, e in entries()]
        assert len(ids) <= 3, f"{len(ids)} events: one after-hours episode must not become an event per frame"
        text = urllib.request.urlopen(f"http://127.0.0.1:{app.metrics_port}/metrics", timeout=5).read().decode()
        assert 'mingchu_edge_detect_fps{camera="hall"}' in text and "mingchu_edge_outbox_depth" in text
        fps_line = next(line for line in text.splitlines() if line.startswith("mingchu_edge_detect_fps{"))
        assert float(fps_line.split()[-1]) > 0, fps_line
        return event
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


def _small_copy(path: Path, size: tuple[int, int], seconds: float = 4.0) -> Path:
    """The clip re-encoded smaller, as a camera's detection sub-stream."""
    import av
    import cv2

    with av.open(str(CLIP)) as src, av.open(str(path), "w") as dst:
        out = dst.add_stream("libx264", rate=25)
        out.width, out.height, out.pix_fmt = size[0], size[1], "yuv420p"
        out.options = {"preset": "ultrafast", "g": "25", "bf": "0"}
        for i, frame in enumerate(src.decode(video=0)):
            if i >= seconds * 25:
                break
            small = av.VideoFrame.from_ndarray(cv2.resize(frame.to_ndarray(format="bgr24"), size), format="bgr24")
            small.pts = i
            for packet in out.encode(small):
                dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)
    return path


@pytest.mark.rtsp
def test_rtsp_sub_stream_detects_and_main_stream_is_evidence(
    tmp_path: Path, collector_factory: Callable[..., Collector], rtsp_server_factory: Callable[..., object]
) -> None:
    sub = _small_copy(tmp_path / "sub.mp4", (384, 288))
    server = rtsp_server_factory({"/main": CLIP, "/sub": sub})
    event = run_agent(tmp_path, server.url("main"), collector_factory, sub_url=server.url("sub"))  # type: ignore[attr-defined]
    clean = next(a for a in event.attachments if a.name == "clean")
    assert (clean.width, clean.height) == (768, 576)  # evidence from the main stream, not the 384 px sub-stream
