"""Prometheus ``/metrics`` for the agent, on its own registry (no process-global collectors)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mingchu.contract.messages import DeviceStats


class StatsCollector(Collector):
    """Reads a fresh :class:`DeviceStats` snapshot on every scrape, so nothing is double-counted."""

    def __init__(self, snapshot: Callable[[], DeviceStats], extra: Callable[[], dict[str, float]]) -> None:
        self.snapshot, self.extra = snapshot, extra

    def collect(self) -> Iterator[Metric]:
        stats = self.snapshot()
        yield GaugeMetricFamily("mingchu_edge_uptime_seconds", "Seconds since the agent started", stats.uptime_s)
        yield GaugeMetricFamily("mingchu_edge_outbox_depth", "Events waiting for PUBACK", stats.outbox_depth)
        yield GaugeMetricFamily("mingchu_edge_outbox_bytes", "Bytes queued in the outbox", stats.outbox_bytes)
        fps = GaugeMetricFamily("mingchu_edge_detect_fps", "Detections per second", labels=["camera"])
        infer = GaugeMetricFamily("mingchu_edge_inference_ms", "Median inference time", labels=["camera"])
        lag = GaugeMetricFamily("mingchu_edge_lag_seconds", "Age of the frame when detected", labels=["camera"])
        dropped = CounterMetricFamily("mingchu_edge_dropped_frames", "Stale frames dropped", labels=["camera"])
        for cam in stats.cameras:
            fps.add_metric([cam.camera_id], cam.detect_fps)
            infer.add_metric([cam.camera_id], cam.inference_ms)
            lag.add_metric([cam.camera_id], cam.lag_s)
            dropped.add_metric([cam.camera_id], cam.dropped_frames)
        yield from (fps, infer, lag, dropped)
        for name, value in self.extra().items():
            yield GaugeMetricFamily(f"mingchu_edge_{name}", name.replace("_", " "), value)


def serve_metrics(
    host: str, port: int, snapshot: Callable[[], DeviceStats], extra: Callable[[], dict[str, float]]
) -> tuple[WSGIServer, int]:
    """Start the HTTP endpoint on a daemon thread; returns the server and the bound port."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(snapshot, extra))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_port)
