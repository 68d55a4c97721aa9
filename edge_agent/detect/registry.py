"""Family name → detector class. Adding a family = one module plus one line here."""

from __future__ import annotations

from edge_agent.detect.base import Detector, DetectorSpec


def detector_families() -> dict[str, type[Detector]]:
    families: dict[str, type[Detector]] = {}
    try:
        from edge_agent.detect.nanodet import NanoDetDetector

        families["nanodet"] = NanoDetDetector
    except ImportError:  # pragma: no cover - module arrives with the models work
        pass
    try:
        from edge_agent.detect.yolo import YoloDetector

        families["yolo"] = YoloDetector
    except ImportError:  # pragma: no cover
        pass
    return families


def create_detector(family: str, spec: DetectorSpec) -> Detector:
    families = detector_families()
    if family not in families:
        raise ValueError(f"unknown detector type {family!r}; known: {', '.join(sorted(families))}")
    return families[family](spec)
