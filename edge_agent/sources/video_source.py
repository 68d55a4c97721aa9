"""A camera as the pipeline sees it: sampled BGR ``Frame``s through a small drop-oldest queue.

Decoding runs on its own thread per stream; the detector pulls with :meth:`VideoSource.read`.
When detection falls behind, the oldest waiting frames are dropped (and counted) so the
detector always works on recent pictures instead of an ever-growing backlog. With a
``detect_url`` (a camera's 360p sub-stream) detection gets cheap small frames while the main
stream is decoded alongside and its latest picture rides along as ``Frame.evidence_image``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import av
import numpy as np
import numpy.typing as npt

from edge_agent.frame import Frame
from edge_agent.sources.backoff import Backoff
from edge_agent.sources.reader import ReaderStats, SourceState, StreamReader


def _bgr(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)


@dataclass(frozen=True)
class SourceStats:
    """Counters for status and metrics; ``detect`` is the stream frames are sampled from."""

    camera_id: str
    detect: ReaderStats
    evidence: ReaderStats | None
    frames_emitted: int
    frames_dropped: int
    queued: int

    @property
    def state(self) -> SourceState:
        return self.detect.state

    @property
    def frames_decoded(self) -> int:
        return self.detect.frames_decoded

    @property
    def reconnects(self) -> int:
        return self.detect.reconnects

    @property
    def last_frame_monotonic(self) -> float | None:
        return self.detect.last_frame_monotonic

    @property
    def fps(self) -> float:
        return self.detect.fps


class VideoSource:
    """One camera: ``start()``, then ``read()`` frames, then ``stop()``.

    Parameters are plain values so the supervisor can build one straight from its config:

    - ``url``: ``rtsp://user:pw@host/path`` or a local file path (looped for demos).
    - ``detect_url``: optional sub-stream to sample for detection; ``url`` then feeds evidence.
    - ``detect_fps``: frames per second handed to detection (``None`` = every decoded frame),
      sampled on stream timestamps so file playback at any speed samples the same frames.
    - ``queue_size``: frames waiting for the detector before the oldest is dropped.
    - ``realtime``: pace files at their own frame rate (False = decode as fast as possible).
    - ``evidence_max_age_s``: a main-stream picture older than this is not attached.
    - ``evidence_wait_s``: at start, detection waits up to this long for the main stream's first picture
      (unless the main stream has already failed), so the first events carry full-resolution evidence.
    """

    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        detect_url: str | None = None,
        detect_fps: float | None = 5.0,
        queue_size: int = 2,
        realtime: bool = True,
        loop_file: bool = True,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        evidence_max_age_s: float = 1.0,
        evidence_wait_s: float = 5.0,
        decode_threads: int = 1,
        logger: logging.Logger | None = None,
    ) -> None:
        if not camera_id:
            raise ValueError("camera_id must not be empty")
        if detect_fps is not None and detect_fps <= 0:
            raise ValueError(f"detect_fps must be positive or None, got {detect_fps}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.camera_id = camera_id
        self.detect_fps = detect_fps
        self.evidence_max_age_s = evidence_max_age_s
        self.evidence_wait_s = evidence_wait_s
        self._started_mono = 0.0
        self._period = 1.0 / detect_fps if detect_fps else 0.0
        self._next_due: float | None = None
        self._last_media_t: float | None = None
        self._queue: deque[Frame] = deque(maxlen=queue_size)
        self._cond = threading.Condition()
        self._seq = 0
        self._emitted = self._dropped = 0
        self._evidence: tuple[av.VideoFrame, float] | None = None
        self._evidence_lock = threading.Lock()
        log = logger or logging.getLogger("edge_agent.sources")
        common = {
            "connect_timeout_s": connect_timeout_s,
            "read_timeout_s": read_timeout_s,
            "loop_file": loop_file,
            "realtime": realtime,
            "decode_threads": decode_threads,
            "logger": log,
        }
        self._detect = StreamReader(
            detect_url or url,
            self._on_detect_frame,
            name=f"{camera_id}/{'sub' if detect_url else 'main'}",
            backoff=Backoff(backoff_initial_s, backoff_max_s),
            **common,  # type: ignore[arg-type]
        )
        self._main: StreamReader | None = None
        if detect_url:
            self._main = StreamReader(
                url,
                self._on_main_frame,
                name=f"{camera_id}/main",
                backoff=Backoff(backoff_initial_s, backoff_max_s),
                **common,  # type: ignore[arg-type]
            )
        self._read_timeout_s = read_timeout_s

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> VideoSource:
        self._started_mono = time.monotonic()
        if self._main is not None:
            self._main.start()
        self._detect.start()
        return self

    def stop(self, timeout_s: float | None = None) -> bool:
        """Stop decoding; True if every thread ended within ``timeout_s`` (default: read timeout + 2 s)."""
        readers = [r for r in (self._detect, self._main) if r is not None]
        for reader in readers:
            reader.request_stop()
        with self._cond:
            self._cond.notify_all()
        budget = timeout_s if timeout_s is not None else self._read_timeout_s + 2.0
        return all([reader.join(budget) for reader in readers])

    def __enter__(self) -> VideoSource:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---- consumer side ---------------------------------------------------------------------
    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The oldest waiting sampled frame, or None if none arrives within ``timeout_s``."""
        with self._cond:
            if not self._queue:
                self._cond.wait_for(lambda: bool(self._queue), timeout_s)
            return self._queue.popleft() if self._queue else None

    def stats(self) -> SourceStats:
        with self._cond:
            emitted, dropped, queued = self._emitted, self._dropped, len(self._queue)
        return SourceStats(
            camera_id=self.camera_id,
            detect=self._detect.stats(),
            evidence=self._main.stats() if self._main else None,
            frames_emitted=emitted,
            frames_dropped=dropped,
            queued=queued,
        )

    # ---- reader callbacks (decode threads) -------------------------------------------------
    def _due(self, media_t: float) -> bool:
        """Sample at ``detect_fps`` on stream time; a jump back (loop, reconnect) restarts the schedule."""
        if not self._period:
            return True
        if self._next_due is None or self._last_media_t is None or media_t < self._last_media_t:
            self._next_due = media_t
        self._last_media_t = media_t
        if media_t + min(0.02, self._period / 4) < self._next_due:
            return False
        self._next_due += self._period
        if self._next_due < media_t:  # a long gap: do not burst to catch up
            self._next_due = media_t + self._period
        return True

    def _on_main_frame(self, frame: av.VideoFrame, _media_t: float, mono: float, _wall: datetime) -> None:
        with self._evidence_lock:
            self._evidence = (frame, mono)

    def _on_detect_frame(self, frame: av.VideoFrame, media_t: float, mono: float, wall: datetime) -> None:
        with self._evidence_lock:
            latest = self._evidence
        if (
            self._main is not None
            and latest is None
            and mono - self._started_mono < self.evidence_wait_s
            and self._main.stats().failures == 0
        ):
            return  # main stream still connecting: wait a little rather than send sub-stream evidence
        if not self._due(media_t):
            return
        fresh = latest is not None and abs(latest[1] - mono) <= self.evidence_max_age_s
        evidence_image = _bgr(latest[0]) if latest is not None and fresh else None
        image = _bgr(frame)
        with self._cond:
            out = Frame(self.camera_id, self._seq, image, wall, mono, evidence_image)
            self._seq += 1
            if len(self._queue) == self._queue.maxlen:
                self._dropped += 1  # deque(maxlen) evicts the oldest on append
            self._queue.append(out)
            self._emitted += 1
            self._cond.notify()
