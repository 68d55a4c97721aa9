"""One decode thread for one stream URL (RTSP camera or local file) that never dies.

The reader owns connecting, decoding, pacing, looping and reconnecting; what happens to a
decoded frame is the ``on_frame`` callback's business (sampling, hand-off, evidence slot).
Every failure is caught, masked, logged, counted and retried after a jittered backoff, and
the current state is readable at any time through :meth:`StreamReader.stats`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import av
import av.error

from edge_agent.sources.backoff import Backoff
from edge_agent.sources.masking import mask_text, mask_url, url_secrets

FrameCallback = Callable[[av.VideoFrame, float, float, datetime], None]
"""``on_frame(frame, media_time_s, monotonic_s, captured_at)``, called on the reader thread."""


class SourceState(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class StreamEnded(RuntimeError):
    """The camera closed the stream (a live source should never end)."""


@dataclass(frozen=True)
class ReaderStats:
    """A consistent snapshot for status pages, metrics and the camera-offline rule."""

    url: str  # masked
    state: SourceState
    last_error: str | None
    last_error_kind: str | None  # auth | refused | timeout | not_found | invalid_data | eof | other
    frames_decoded: int
    corrupt_packets: int
    connects: int  # successful opens, including the first
    reconnects: int  # successful opens after the first
    failures: int
    loops: int  # file restarts at EOF
    last_frame_monotonic: float | None
    fps: float
    width: int | None
    height: int | None


def classify_error(exc: BaseException) -> str:
    """Coarse error kinds: the rules and the UI need 'wrong password' vs 'camera unplugged'."""
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return "auth"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError | av.error.ExitError):
        return "timeout"
    if isinstance(exc, FileNotFoundError | av.error.HTTPNotFoundError):
        return "not_found"
    if isinstance(exc, av.error.InvalidDataError):
        return "invalid_data"
    if isinstance(exc, StreamEnded):
        return "eof"
    return "other"


def is_local_file(url: str) -> bool:
    return "://" not in url or url.startswith("file:")


class StreamReader:
    """Decode ``url`` on a daemon thread, forever, until :meth:`stop`.

    Files are paced at their own timestamps when ``realtime`` (a demo camera) or decoded as fast
    as possible otherwise, and restart at EOF when ``loop_file``. RTSP goes over TCP with
    ``connect_timeout_s``/``read_timeout_s`` so a silent camera cannot hang the thread.
    """

    def __init__(
        self,
        url: str,
        on_frame: FrameCallback,
        *,
        name: str = "stream",
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        loop_file: bool = True,
        realtime: bool = True,
        decode_threads: int = 1,
        logger: logging.Logger | None = None,
    ) -> None:
        if connect_timeout_s <= 0 or read_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if decode_threads < 1:
            raise ValueError("decode_threads must be >= 1")
        self._url = url
        self._secrets = url_secrets(url)
        self.masked_url = mask_url(url)
        self._on_frame = on_frame
        self.name = name
        self.connect_timeout_s, self.read_timeout_s = connect_timeout_s, read_timeout_s
        self._backoff = backoff or Backoff()
        self.is_file = is_local_file(url)
        self.loop_file, self.realtime, self.decode_threads = loop_file, realtime, decode_threads
        self._log = logger or logging.getLogger("edge_agent.sources")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state = SourceState.IDLE
        self._last_error: str | None = None
        self._last_error_kind: str | None = None
        self._streak_error: str | None = None  # error of the current outage, cleared by a decoded frame
        self._decoded = self._corrupt = self._connects = self._failures = self._loops = 0
        self._last_frame: float | None = None
        self._size: tuple[int, int] | None = None
        self._times: deque[float] = deque(maxlen=30)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._thread = threading.Thread(target=self._run, name=f"src-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float) -> bool:
        """True if the thread ended within ``timeout_s`` (a blocked read ends at its read timeout)."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stats(self) -> ReaderStats:
        with self._lock:
            times = self._times
            fresh = len(times) > 1 and times[-1] > times[0] and time.monotonic() - times[-1] < 2.0
            fps = (len(times) - 1) / (times[-1] - times[0]) if fresh else 0.0
            return ReaderStats(
                url=self.masked_url,
                state=self._state,
                last_error=self._last_error,
                last_error_kind=self._last_error_kind,
                frames_decoded=self._decoded,
                corrupt_packets=self._corrupt,
                connects=self._connects,
                reconnects=max(0, self._connects - 1),
                failures=self._failures,
                loops=self._loops,
                last_frame_monotonic=self._last_frame,
                fps=round(fps, 2),
                width=self._size[0] if self._size else None,
                height=self._size[1] if self._size else None,
            )

    # ---- the thread ------------------------------------------------------------------------
    def _set_state(self, state: SourceState) -> None:
        with self._lock:
            self._state = state

    def _run(self) -> None:
        rewinding = False
        while not self._stop.is_set():
            attempt_started = time.monotonic()
            try:
                if not rewinding:
                    self._set_state(SourceState.CONNECTING)
                produced = self._stream_once(rewinding)
                rewinding = False
                if self._stop.is_set():
                    break
                if self.is_file and self.loop_file and produced:
                    with self._lock:
                        self._loops += 1
                    rewinding = True
                    continue
                if self.is_file and not self.loop_file:
                    self._log.info("%s: end of file %s", self.name, self.masked_url)
                    break
                raise StreamEnded("end of stream" if produced else "stream ended before any frame was decoded")
            except Exception as exc:  # the thread must survive anything a camera or a file throws at it
                self._fail(exc, time.monotonic() - attempt_started)
        self._set_state(SourceState.STOPPED)

    def _fail(self, exc: Exception, elapsed_s: float) -> None:
        message = mask_text(f"{type(exc).__name__}: {exc}", self._secrets)
        kind = classify_error(exc)
        with self._lock:
            connected = self._state is SourceState.STREAMING
        if (
            not self.is_file
            and not connected
            and kind in {"invalid_data", "other"}
            and (elapsed_s >= 0.9 * min(self.connect_timeout_s, self.read_timeout_s))
        ):
            kind = "timeout"  # FFmpeg's RTSP demuxer reports a silent peer as 'invalid data' once its timer fires
        delay = self._backoff.next_delay()
        with self._lock:
            repeated = message == self._streak_error
            self._streak_error = message
            self._failures += 1
            self._last_error, self._last_error_kind = message, kind
            self._state = SourceState.BACKOFF
            failures = self._failures
        # a camera that is off all night must not flood the log: same error again -> every 20th is a warning
        level = logging.DEBUG if repeated and failures % 20 else logging.WARNING
        self._log.log(
            level,
            "%s: %s failed (%s, failure %d): %s; retrying in %.1fs",
            self.name,
            self.masked_url,
            kind,
            failures,
            message,
            delay,
        )
        self._stop.wait(delay)

    def _open(self) -> av.container.InputContainer:
        options = (
            {}
            if self.is_file
            else {
                "rtsp_transport": "tcp",
                "timeout": str(int(self.read_timeout_s * 1_000_000)),  # socket I/O timeout, microseconds
            }
        )
        path = self._url.removeprefix("file://") if self.is_file else self._url
        return av.open(path, options=options, timeout=(self.connect_timeout_s, self.read_timeout_s))

    def _stream_once(self, rewinding: bool = False) -> bool:
        """Open, decode to the end or to stop(); True if at least one frame came out.

        ``rewinding`` marks a file restarting at EOF: not a (re)connect, so not counted as one.
        """
        produced = False
        container = self._open()
        try:
            if not container.streams.video:
                raise av.error.InvalidDataError(0, "no video stream")
            stream = container.streams.video[0]
            stream.thread_count = self.decode_threads
            with self._lock:
                self._state = SourceState.STREAMING
                if not rewinding:
                    self._connects += 1
                    if self._connects > 1:
                        self._log.info("%s: reconnected to %s", self.name, self.masked_url)
            pace_origin: float | None = None
            for packet in container.demux(stream):
                if self._stop.is_set():
                    break
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    with self._lock:
                        self._corrupt += 1
                    continue
                for frame in frames:
                    media_t = float(frame.time) if frame.time is not None else time.monotonic()
                    if self.is_file and self.realtime:
                        pace_origin = self._pace(media_t, pace_origin)
                    now = time.monotonic()
                    if not produced:
                        produced = True
                        self._backoff.reset()
                        with self._lock:
                            self._streak_error = None
                    with self._lock:
                        self._decoded += 1
                        self._last_frame = now
                        self._times.append(now)
                        self._size = (frame.width, frame.height)
                    self._on_frame(frame, media_t, now, datetime.now(UTC))
        finally:
            container.close()
        return produced

    def _pace(self, media_t: float, origin: float | None) -> float:
        """Sleep until this frame's presentation time; returns the wall origin of media time 0."""
        now = time.monotonic()
        if origin is None or now - (origin + media_t) > 1.0:  # first frame, or we fell far behind
            return now - media_t
        wait = origin + media_t - now
        if wait > 0:
            self._stop.wait(wait)
        return origin
