"""VideoSource on local files and bad endpoints: sampling, looping, drops, failures, masking."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge_agent.sources import Backoff, SourceState, VideoSource, mask_text, mask_url
from edge_agent.sources.masking import url_secrets
from tests.support.rtsp import free_port
from tests.support.waiting import wait_for

FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2, "connect_timeout_s": 2.0, "read_timeout_s": 2.0}


def drain(source: VideoSource, seconds: float) -> list:
    frames, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        frame = source.read(timeout_s=0.1)
        if frame is not None:
            frames.append(frame)
    return frames


def test_file_is_paced_and_sampled_to_detect_fps(video_clips: dict[str, Path]) -> None:
    with VideoSource("cam-a", str(video_clips["360p"]), detect_fps=5, **FAST) as source:
        frames = drain(source, 2.0)
        stats = source.stats()
    assert 7 <= len(frames) <= 13, len(frames)  # 5 fps for 2 s, plus start-up slack
    assert all(f.image.shape == (360, 640, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [f.seq for f in frames] == list(range(frames[0].seq, frames[0].seq + len(frames)))
    assert all(f.camera_id == "cam-a" and f.captured_at.tzinfo is not None for f in frames)
    assert 15 <= stats.detect.fps <= 35  # decoded at the file's 25 fps, not flat out
    assert stats.state is SourceState.STREAMING and stats.frames_dropped == 0


def test_file_loops_without_counting_reconnects(video_clips: dict[str, Path]) -> None:
    source = VideoSource("cam-a", str(video_clips["360p"]), detect_fps=None, realtime=False, queue_size=4, **FAST)
    with source:
        stats = wait_for(lambda: (s := source.stats()).detect.loops >= 2 and s, 20, what="two loops")
    assert stats.frames_decoded >= 200
    assert stats.reconnects == 0 and stats.detect.failures == 0


def test_resolution_change_mid_stream_delivers_new_size(video_clips: dict[str, Path]) -> None:
    source = VideoSource("cam-a", str(video_clips["res_change"]), detect_fps=None, realtime=False, queue_size=8)
    shapes: set[tuple[int, ...]] = set()
    with source:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(shapes) < 2:
            if (frame := source.read(timeout_s=0.1)) is not None:
                shapes.add(frame.image.shape)
        stats = source.stats()
    assert shapes == {(360, 640, 3), (240, 320, 3)}
    assert stats.detect.failures == 0 and stats.detect.width in {640, 320}


def test_slow_consumer_drops_oldest_and_counts(video_clips: dict[str, Path]) -> None:
    source = VideoSource("cam-a", str(video_clips["360p"]), detect_fps=None, realtime=False, queue_size=3)
    with source:
        wait_for(lambda: source.stats().frames_emitted > 50, 20, what="50 frames")
        got = [source.read(timeout_s=0.5) for _ in range(3)]
        stats = source.stats()
    assert all(f is not None for f in got)
    assert stats.frames_dropped >= 40
    seqs = [f.seq for f in got if f is not None]
    assert seqs == sorted(seqs) and seqs[0] >= 40  # the old frames were dropped, recent ones kept
    # nothing silently lost: every emitted frame is either dropped, read or still queued
    assert stats.frames_emitted - stats.frames_dropped - stats.queued >= len(got)


def test_garbage_file_is_logged_and_retried(video_clips: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edge_agent.sources")
    source = VideoSource("cam-g", str(video_clips["garbage"]), **FAST).start()
    try:
        stats = wait_for(lambda: (s := source.stats()).detect.failures >= 3 and s, 10, what="3 failures")
        assert stats.state in {SourceState.BACKOFF, SourceState.CONNECTING}
        assert stats.detect.last_error_kind == "invalid_data"
        assert source.read(timeout_s=0.1) is None
    finally:
        assert source.stop(timeout_s=3)
    assert source.stats().state is SourceState.STOPPED
    assert any("invalid_data" in r.getMessage() for r in caplog.records)


def test_missing_file_reports_not_found(tmp_path: Path) -> None:
    with VideoSource("cam-m", str(tmp_path / "nope.mp4"), **FAST) as source:
        stats = wait_for(lambda: (s := source.stats()).detect.failures >= 2 and s, 10, what="failures")
    assert stats.detect.last_error_kind == "not_found"


def test_closed_port_backs_off_without_crashing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edge_agent.sources")
    url = f"rtsp://admin:Sup3rS3cret@127.0.0.1:{free_port()}/live"
    source = VideoSource("cam-x", url, **FAST).start()
    try:
        stats = wait_for(lambda: (s := source.stats()).detect.failures >= 3 and s, 10, what="3 failures")
        assert stats.detect.last_error_kind == "refused"
        assert "Sup3rS3cret" not in (stats.detect.last_error or "") and "admin:***@" in stats.detect.url
    finally:
        assert source.stop(timeout_s=3)
    assert caplog.records and all("Sup3rS3cret" not in r.getMessage() for r in caplog.records)
    failures = source.stats().detect.failures
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 1 + failures // 20 < failures  # an outage does not flood the log


def test_silent_server_times_out() -> None:
    """A host that accepts TCP but never answers RTSP must not hang the reader."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    source = VideoSource(
        "cam-s", f"rtsp://127.0.0.1:{port}/x", connect_timeout_s=0.5, read_timeout_s=0.5, backoff_initial_s=0.05
    ).start()
    try:
        stats = wait_for(lambda: (s := source.stats()).detect.failures >= 2 and s, 15, what="timeouts")
        assert stats.detect.last_error_kind == "timeout", stats.detect.last_error
    finally:
        assert source.stop(timeout_s=3)
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


def test_substream_detection_carries_main_stream_evidence(video_clips: dict[str, Path]) -> None:
    source = VideoSource("cam-e", str(video_clips["1080p"]), detect_url=str(video_clips["360p"]), detect_fps=5)
    with source:
        frames = [f for f in drain(source, 1.5)]
        stats = source.stats()
    assert frames and all(f.image.shape == (360, 640, 3) for f in frames)
    with_evidence = [f for f in frames if f.evidence_image is not None]
    assert with_evidence and with_evidence[-1].evidence_image.shape == (1080, 1920, 3)
    assert with_evidence[-1].best_image.shape == (1080, 1920, 3)
    assert stats.evidence is not None and stats.evidence.frames_decoded > 0


def test_stop_is_prompt_and_idempotent(video_clips: dict[str, Path]) -> None:
    source = VideoSource("cam-a", str(video_clips["360p"])).start()
    source.read(timeout_s=2)
    started = time.monotonic()
    assert source.stop(timeout_s=3)
    assert time.monotonic() - started < 3
    assert source.stop(timeout_s=1)


@pytest.mark.parametrize(
    "kwargs",
    [{"detect_fps": 0}, {"detect_fps": -1}, {"queue_size": 0}, {"connect_timeout_s": 0}, {"decode_threads": 0}],
)
def test_bad_parameters_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        VideoSource("cam", "x.mp4", **kwargs)


def test_empty_camera_id_rejected() -> None:
    with pytest.raises(ValueError, match="camera_id"):
        VideoSource("", "x.mp4")


def test_masking() -> None:
    assert mask_url("rtsp://admin:pa55@10.0.0.5:554/Streaming/101") == "rtsp://admin:***@10.0.0.5:554/Streaming/101"
    assert mask_url("rtsp://10.0.0.5/x") == "rtsp://10.0.0.5/x"
    assert mask_url("/videos/demo.mp4") == "/videos/demo.mp4"
    url = "rtsp://u:p%40ss%3Aw@h/x"
    secrets = url_secrets(url)
    assert "p@ss:w" in secrets and "p%40ss%3Aw" in secrets
    leaked = "open 'rtsp://u:p%40ss%3Aw@h/x' failed; auth for p@ss:w rejected"
    masked = mask_text(leaked, secrets)
    assert "p@ss" not in masked and "p%40ss" not in masked and "rtsp://u:***@h/x" in masked


def test_backoff_grows_is_bounded_and_jittered() -> None:
    backoff = Backoff(0.5, 8.0, 2.0, 0.2, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    assert 0.4 <= delays[0] <= 0.6 and 0.8 <= delays[1] <= 1.2
    assert max(delays) <= 8.0 and delays[-1] >= 6.4
    assert len({round(d, 6) for d in delays[-4:]}) > 1  # jitter: cameras do not retry in lockstep
    backoff.reset()
    assert backoff.next_delay() <= 0.6
    with pytest.raises(ValueError):
        Backoff(initial_s=0)
    with pytest.raises(ValueError):
        Backoff(jitter=1.5)


def test_corrupt_bytes_mid_stream_do_not_stop_the_source(tmp_path: Path) -> None:
    from tests.support.clips import make_clip

    clip = make_clip(tmp_path / "cam.ts", 640, 360, 4.0)
    data = bytearray(clip.read_bytes())
    rng = np.random.default_rng(3)
    middle = slice(len(data) // 3, 2 * len(data) // 3)
    damaged = rng.integers(0, 256, middle.stop - middle.start, dtype=np.uint8)
    keep = rng.random(middle.stop - middle.start) > 0.02  # 2 % of the middle third overwritten
    data[middle] = bytes(np.where(keep, np.frombuffer(bytes(data[middle]), np.uint8), damaged).astype(np.uint8))
    broken = tmp_path / "broken.ts"
    broken.write_bytes(bytes(data))
    source = VideoSource("cam-c", str(broken), detect_fps=None, realtime=False, queue_size=8, **FAST)
    sizes: set[tuple[int, ...]] = set()
    with source:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and source.stats().detect.loops < 2:
            if (frame := source.read(timeout_s=0.1)) is not None:
                sizes.add(frame.image.shape)
        stats = source.stats()
    assert stats.detect.loops >= 2, stats
    assert sizes == {(360, 640, 3)}
    assert stats.frames_decoded >= 100  # most of each pass still decodes
    assert stats.detect.failures == 0 or stats.detect.last_error_kind in {"invalid_data", "other"}


def test_broken_main_stream_leaves_detection_running_without_evidence(video_clips: dict[str, Path]) -> None:
    source = VideoSource("cam-e", str(video_clips["garbage"]), detect_url=str(video_clips["360p"]), **FAST)
    with source:
        frames = drain(source, 1.0)
        stats = source.stats()
    assert frames and all(f.evidence_image is None and f.best_image is f.image for f in frames)
    assert stats.state is SourceState.STREAMING
    assert stats.evidence is not None and stats.evidence.failures >= 1
    assert stats.evidence.last_error_kind == "invalid_data"
