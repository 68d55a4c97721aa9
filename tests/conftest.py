"""Fixtures that start real services. Keep it small: helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.clips import make_clip, make_garbage_file, make_resolution_change_clip
from tests.support.rtsp import RtspServer, gst_rtsp_unavailable_reason

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture(scope="session")
def video_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synthetic H.264 clips made once per session (about 2 s of CPU), never committed.

    Keys: ``360p`` (640x360, 4 s), ``1080p`` (1920x1080, 2 s), ``res_change`` (TS: 640x360 then
    320x240, 2 s each), ``garbage`` (random bytes named .mp4), and ``vtest`` (real pedestrian
    footage) when tests/assets/vtest_10s.mp4 is present.
    """
    root = tmp_path_factory.mktemp("clips")
    clips = {
        "360p": make_clip(root / "pattern_360p.mp4", 640, 360, 4.0),
        "1080p": make_clip(root / "pattern_1080p.mp4", 1920, 1080, 2.0),
        "res_change": make_resolution_change_clip(root / "res_change.ts", [(640, 360), (320, 240)], 2.0),
        "garbage": make_garbage_file(root / "garbage.mp4"),
    }
    if (ASSETS / "vtest_10s.mp4").is_file():
        clips["vtest"] = ASSETS / "vtest_10s.mp4"
    return clips


@pytest.fixture
def rtsp_server_factory() -> Iterator[Callable[..., RtspServer]]:
    """``make(mounts, user=None, password=None, port=None)`` -> a started real GStreamer RTSP server.

    Skips the test when GStreamer's RTSP server is not installed; stops every server at teardown.
    """
    reason = gst_rtsp_unavailable_reason()
    if reason:
        pytest.skip(reason)
    servers: list[RtspServer] = []

    def make(mounts: dict[str, Path], **kwargs: object) -> RtspServer:
        server = RtspServer(mounts, **kwargs).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
