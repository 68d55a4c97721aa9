"""VideoSource against a real GStreamer RTSP server: frames, auth, reconnects, resolution change."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.sources import SourceState, VideoSource
from tests.support.rtsp import RtspServer
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]

FAST = {"backoff_initial_s": 0.1, "backoff_max_s": 0.5, "connect_timeout_s": 3.0, "read_timeout_s": 3.0}
PASSWORD = "k1tch3n:p@ss"


def test_rtsp_frames_arrive_with_the_right_size(
    rtsp_server_factory: Callable[..., RtspServer], video_clips: dict[str, Path]
) -> None:
    server = rtsp_server_factory({"/cam": video_clips["360p"]})
    with VideoSource("cam-r", server.url("cam"), detect_fps=5, **FAST) as source:
        first = source.read(timeout_s=10)
        assert first is not None and first.image.shape == (360, 640, 3)
        time.sleep(1.0)  # the server bursts its preroll at connect; measure the steady state after it
        while source.read(timeout_s=0.01) is not None:
            pass
        started = time.monotonic()
        frames = []
        while time.monotonic() - started < 2.0:
            if (frame := source.read(timeout_s=0.1)) is not None:
                frames.append(frame)
        stats = source.stats()
    assert 7 <= len(frames) <= 13, len(frames)  # ~5 fps sampled from a 25 fps stream
    assert all(f.image.shape == (360, 640, 3) for f in frames)
    assert stats.state is SourceState.STREAMING and stats.detect.connects == 1
    assert 15 <= stats.fps <= 35


def test_substream_and_main_stream_over_rtsp(
    rtsp_server_factory: Callable[..., RtspServer], video_clips: dict[str, Path]
) -> None:
    server = rtsp_server_factory({"/main": video_clips["1080p"], "/sub": video_clips["360p"]})
    source = VideoSource("cam-r", server.url("main"), detect_url=server.url("sub"), detect_fps=5, **FAST)
    with source:
        frame = wait_for(
            lambda: (f := source.read(timeout_s=0.5)) is not None and f.evidence_image is not None and f,
            15,
            what="a frame with evidence",
        )
    assert frame.image.shape == (360, 640, 3)
    assert frame.evidence_image.shape == (1080, 1920, 3)


def test_wrong_credentials_retry_without_leaking(
    rtsp_server_factory: Callable[..., RtspServer], video_clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="edge_agent.sources")
    server = rtsp_server_factory({"/cam": video_clips["360p"]}, user="canteen", password=PASSWORD)
    bad = VideoSource("cam-bad", server.url("cam", "canteen", "wrong-" + PASSWORD), **FAST).start()
    try:
        stats = wait_for(lambda: (s := bad.stats()).detect.failures >= 3 and s, 15, what="3 auth failures")
        assert stats.detect.last_error_kind == "auth"
        assert stats.state in {SourceState.BACKOFF, SourceState.CONNECTING}
        assert bad.read(timeout_s=0.1) is None
    finally:
        assert bad.stop(timeout_s=5)
    with VideoSource("cam-ok", server.url("cam", "canteen", PASSWORD), **FAST) as good:
        frame = good.read(timeout_s=10)
        assert frame is not None and frame.image.shape == (360, 640, 3)
        assert "canteen:***@" in good.stats().detect.url
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(stats)
    assert "401" in text or "auth" in text
    for secret in (PASSWORD, "p%40ss", "k1tch3n%3A", "p@ss"):
        assert secret not in text


def test_resolution_change_over_rtsp(
    rtsp_server_factory: Callable[..., RtspServer], video_clips: dict[str, Path]
) -> None:
    server = rtsp_server_factory({"/cam": video_clips["res_change"]})
    shapes: set[tuple[int, ...]] = set()
    with VideoSource("cam-rc", server.url("cam"), detect_fps=10, queue_size=64, **FAST) as source:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(shapes) < 2:
            frame = source.read(timeout_s=0.5)
            if frame is not None:
                shapes.add(frame.image.shape)
        stats = source.stats()
    assert shapes == {(360, 640, 3), (240, 320, 3)}
    assert stats.detect.failures == 0


def test_server_killed_and_restarted_reconnects(
    rtsp_server_factory: Callable[..., RtspServer], video_clips: dict[str, Path]
) -> None:
    server = rtsp_server_factory({"/cam": video_clips["360p"]})
    with VideoSource("cam-k", server.url("cam"), detect_fps=5, **FAST) as source:
        assert source.read(timeout_s=10) is not None
        server.kill()
        down = wait_for(lambda: (s := source.stats()).detect.failures >= 1 and s, 15, what="the outage noticed")
        assert down.state in {SourceState.BACKOFF, SourceState.CONNECTING}
        while source.read(timeout_s=0.05) is not None:  # forget frames from before the outage
            pass
        server.start()
        stats = wait_for(lambda: (s := source.stats()).reconnects >= 1 and s, 20, what="reconnect")
        after = source.read(timeout_s=10)
    assert after is not None and after.image.shape == (360, 640, 3)
    assert after.monotonic_s > down.detect.last_frame_monotonic
    assert stats.detect.connects == 2


def test_real_footage_over_rtsp_through_the_motion_gate(
    rtsp_server_factory: Callable[..., RtspServer], video_clips: dict[str, Path]
) -> None:
    """Real pedestrians, served like a camera, decoded and gated: the whole video side end to end."""
    if "vtest" not in video_clips:
        pytest.skip("tests/assets/vtest_10s.mp4 not present")
    from edge_agent.motion import MotionGate

    server = rtsp_server_factory({"/car-park": video_clips["vtest"]})
    gate = MotionGate(with_boxes=True)
    results = []
    with VideoSource("cam-v", server.url("car-park"), detect_fps=5, queue_size=8, **FAST) as source:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(results) < 12:
            frame = source.read(timeout_s=0.5)
            if frame is not None:
                assert frame.image.shape == (576, 768, 3)
                results.append(gate.update(frame.image, now=frame.monotonic_s))
    assert len(results) == 12
    assert sum(r.moved for r in results[1:]) >= 6
    assert any(r.boxes for r in results)


def test_rtsp_server_rejects_a_missing_file(rtsp_server_factory: Callable[..., RtspServer], tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="bad --mount"):
        rtsp_server_factory({"/cam": tmp_path / "missing.mp4"})
