"""The agent's composition root: builds every part from the config and starts/stops them in order.

Start: key → outbox → model → evidence → MQTT → commands → cameras → stats → metrics.
Stop: the reverse, so nothing publishes into a closed outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from edge_agent.commands import CommandHandler
from edge_agent.config import CameraConfig, EdgeConfig
from edge_agent.evidence import EvidenceBuilder, EvidenceResult
from edge_agent.keys import load_or_create_key, public_key_b64
from edge_agent.metrics import serve_metrics
from edge_agent.model import LoadedModel, load_model
from edge_agent.outbox import Outbox
from edge_agent.rules import Violation, build_rules
from edge_agent.supervisor import CameraWorker, FrameSource, MotionGateLike, Supervisor, TrackerLike
from edge_agent.transport import MqttTransport
from mingchu.contract import Topics
from mingchu.contract.messages import CameraStats, CameraStatus, DeviceStats
from mingchu.contract.signing import sign

log = logging.getLogger("edge_agent.app")


def default_source(camera: CameraConfig) -> FrameSource:
    from edge_agent.sources import VideoSource

    return VideoSource(camera.id, camera.url, detect_url=camera.sub_url, detect_fps=camera.detect_fps)


def default_tracker() -> TrackerLike:
    from edge_agent.track import make_tracker

    return make_tracker("bytetrack", max_lost_s=3.0)


def motion_gate_for(camera: CameraConfig) -> MotionGateLike | None:
    if not camera.motion_gate:
        return None
    from edge_agent.motion import MotionGate

    masks = [[(float(x), float(y)) for x, y in polygon] for polygon in camera.motion_masks]
    return MotionGate(masks=masks, keepalive_s=camera.motion_keepalive_s)


def latency_quantiles(values: list[float]) -> dict[str, float]:
    """p50/p95 of detection → PUBACK in seconds (empty when no event was acknowledged yet)."""
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"event_latency_p50_seconds": pick(0.5), "event_latency_p95_seconds": pick(0.95)}


class EdgeApp:
    """``start()`` then ``stop()``; the seams (model, sources, tracker) can be replaced for tests."""

    def __init__(
        self,
        config: EdgeConfig,
        *,
        model_factory: Callable[[], LoadedModel] | None = None,
        source_factory: Callable[[CameraConfig], FrameSource] = default_source,
        tracker_factory: Callable[[], TrackerLike] = default_tracker,
        on_event: Callable[[EvidenceResult, bool], None] | None = None,
        use_motion_gate: bool = True,
    ) -> None:
        self.config = config
        self.model_factory = model_factory or (lambda: load_model(config.model))
        self.source_factory, self.tracker_factory, self.on_event = source_factory, tracker_factory, on_event
        self.use_motion_gate = use_motion_gate
        self.topics = Topics(config.device.school_id, config.device.device_id)
        self.started_mono = time.monotonic()
        self.events_recorded = 0
        self.events_refused = 0
        self._stop = threading.Event()
        self._stats_thread: threading.Thread | None = None
        self.metrics_port: int | None = None
        self._detected_at: dict[str, float] = {}  # event id → monotonic time the rule raised it
        self.latencies_s: deque[float] = deque(maxlen=1000)  # detection → PUBACK of recent events
        self._metrics_server: WSGIServer | None = None

    def start(self) -> EdgeApp:
        cfg = self.config
        self.key = load_or_create_key(cfg.device.key_file)
        self.public_key = public_key_b64(self.key)
        ob = cfg.outbox
        self.outbox = Outbox(ob.path, ob.max_bytes, ob.warn_fraction, ob.when_full)
        self.model = self.model_factory()
        cameras = {c.id: c for c in cfg.cameras if c.enabled}
        self.evidence = EvidenceBuilder(cfg.device, cfg.evidence, cameras, self.key, self.model.info)
        workers = [
            CameraWorker(
                cam.id,
                (lambda cam=cam: self.source_factory(cam)),  # type: ignore[misc]
                self.model.detector,
                self.model.mapper,
                self.tracker_factory(),
                build_rules(cfg, cam),
                self.record,
                motion_gate_for(cam) if self.use_motion_gate else None,
            )
            for cam in cameras.values()
        ]
        self.supervisor = Supervisor(workers)
        self.transport = MqttTransport(
            cfg.mqtt, cfg.device, self.outbox, self.key, self.public_key, camera_status=self.camera_status
        )
        self.commands = CommandHandler(
            self.topics,
            self.transport.publish_message,
            self.supervisor.latest_frame,
            set(cameras),
            self.key,
            cfg.evidence.jpeg_quality,
        )
        self.transport.on_command = self.commands.handle
        self.transport.on_ack = self._acked
        self.transport.start()
        self.commands.start()
        self.supervisor.start()
        self._stats_thread = threading.Thread(target=self._stats_loop, name="stats", daemon=True)
        self._stats_thread.start()
        if cfg.metrics.enabled:
            self._metrics_server, self.metrics_port = serve_metrics(
                cfg.metrics.host, cfg.metrics.port, self.stats, self._extra_metrics
            )
        log.info("edge agent started: %d camera(s), outbox depth %d", len(workers), self.outbox.depth)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.supervisor.stop()
        self.commands.stop()
        self.transport.stop()
        if self._stats_thread is not None:
            self._stats_thread.join(2.0)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.outbox.close()
        log.info("edge agent stopped")

    # ---- the event path ------------------------------------------------------------------
    def record(self, violation: Violation) -> None:
        """Evidence → outbox (durable) → wake the publisher. Called from camera threads."""
        raised_at = time.monotonic()
        result = self.evidence.build(violation)
        event_id = str(result.event.event_id)
        self._detected_at[event_id] = raised_at
        stored = self.outbox.put(event_id, self.topics.events, result.payload)
        if stored:
            self.events_recorded += 1
            self.transport.wake()
            log.info(
                "violation %s camera=%s zone=%s track=%s event=%s",
                violation.class_id,
                violation.camera_id,
                violation.zone_id,
                violation.track_id,
                result.event.event_id,
            )
        else:
            self.events_refused += 1
            self._detected_at.pop(event_id, None)
        if self.on_event is not None:
            self.on_event(result, stored)

    def _acked(self, event_id: str) -> None:
        raised = self._detected_at.pop(event_id, None)
        if raised is not None:  # events replayed from an earlier run have no start time here
            self.latencies_s.append(time.monotonic() - raised)

    # ---- status and stats ----------------------------------------------------------------
    def camera_status(self) -> tuple[CameraStatus, ...]:
        sup = getattr(self, "supervisor", None)
        if sup is None:
            return ()
        return tuple(
            CameraStatus(camera_id=w.camera_id, state=w.state, last_frame_at=w.counters.last_frame_at)
            for w in sup.workers.values()
        )

    def stats(self) -> DeviceStats:
        cams = []
        for w in self.supervisor.workers.values():
            c = w.counters
            cams.append(
                CameraStats(
                    camera_id=w.camera_id,
                    decode_fps=round(w.decode_fps(), 3),
                    detect_fps=c.detect_fps,
                    dropped_frames=w.dropped_frames(),
                    inference_ms=round(c.inference_ms, 3),
                    lag_s=round(c.last_lag_s, 3),
                )
            )
        return DeviceStats(
            school_id=self.config.device.school_id,
            device_id=self.config.device.device_id,
            sent_at=datetime.now(UTC),
            uptime_s=round(time.monotonic() - self.started_mono, 3),
            outbox_depth=self.outbox.depth,
            outbox_bytes=self.outbox.bytes,
            outbox_near_full=self.outbox.near_full,
            cameras=tuple(cams),
        )

    def _extra_metrics(self) -> dict[str, float]:
        return {
            "events_recorded": float(self.events_recorded),
            "events_refused": float(self.events_refused + self.outbox.refused),
            "events_evicted": float(self.outbox.evicted),
            "outbox_near_full": float(self.outbox.near_full),
            "mqtt_connected": float(self.transport.connected.is_set()),
            "bad_commands": float(self.transport.bad_commands),
            **latency_quantiles(list(self.latencies_s)),
        }

    def _stats_loop(self) -> None:
        while not self._stop.wait(self.config.mqtt.stats_interval_s):
            try:
                stats = self.stats()
                if self.outbox.near_full:
                    log.warning("outbox near full: %d bytes in %d events", self.outbox.bytes, self.outbox.depth)
                self.transport.publish_message(self.topics.stats, sign(stats, self.key), None, 0)
            except Exception:
                log.exception("stats publish failed")
