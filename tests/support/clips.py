"""Synthetic H.264 test clips made with PyAV's libx264, so tests never download video.

The picture is a static gradient with a bright square sliding across it: real moving content
for the motion gate and for decoders, and cheap to encode (ultrafast preset).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt


def pattern_frames(width: int, height: int, count: int, start: int = 0) -> Iterator[npt.NDArray[np.uint8]]:
    """BGR frames: horizontal gradient background plus a white square moving left to right."""
    xs = np.linspace(30, 200, width, dtype=np.float32)
    ys = np.linspace(0, 40, height, dtype=np.float32)[:, None]
    base = np.clip(xs[None, :] + ys, 0, 255).astype(np.uint8)
    background = np.stack([base, base[:, ::-1], np.full_like(base, 90)], axis=2)
    side = max(8, height // 6)
    for i in range(start, start + count):
        image = background.copy()
        x0 = (i * max(2, width // 100)) % max(1, width - side)
        y0 = height // 2 - side // 2
        image[y0 : y0 + side, x0 : x0 + side] = 255
        yield image


def _encode(
    container: av.container.OutputContainer,
    width: int,
    height: int,
    fps: int,
    frames: int,
    pts_start: int,
    start_index: int,
) -> None:
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # keyframe every second, no B-frames: quick RTSP start and simple timestamps
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps), "bf": "0", "crf": "30"}
    for n, image in enumerate(pattern_frames(width, height, frames, start_index)):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = pts_start + n
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def make_clip(path: Path, width: int, height: int, seconds: float, fps: int = 25) -> Path:
    """An MP4 (or MPEG-TS if ``path`` ends in .ts) of the moving-square pattern."""
    with av.open(str(path), "w") as container:
        _encode(container, width, height, fps, round(seconds * fps), 0, 0)
    return path


def make_resolution_change_clip(
    path: Path, sizes: Sequence[tuple[int, int]], seconds_each: float, fps: int = 25
) -> Path:
    """One MPEG-TS whose H.264 stream switches resolution between segments.

    Each segment is its own TS (fresh SPS/PPS in-band) with timestamps continuing the previous
    one; concatenating TS files this way is what cameras do when the resolution is changed live.
    """
    per = round(seconds_each * fps)
    parts: list[bytes] = []
    for k, (width, height) in enumerate(sizes):
        part = path.with_suffix(f".part{k}.ts")
        with av.open(str(part), "w", format="mpegts") as container:
            _encode(container, width, height, fps, per, k * per, k * per)
        parts.append(part.read_bytes())
        part.unlink()
    path.write_bytes(b"".join(parts))
    return path


def make_garbage_file(path: Path, size: int = 200_000, seed: int = 7) -> Path:
    """Random bytes with a video file name: what a truncated download or disk error looks like."""
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path
