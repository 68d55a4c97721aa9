"""Family name → detector class. Adding a family = one module plus one line here."""

from __future__ import annotations

from edge_agent.detect.base import Detector, DetectorSpec
from edge_agent.detect.nanodet import NanoDetDetector
from edge_agent.detect.yolo import YoloDetector


def detector_families() -> dict[str, type[Detector]]:
    return {"nanodet": NanoDetDetector, "yolo": YoloDetector}


def create_detector(family: str, spec: DetectorSpec) -> Detector:
    families = detector_families()
    if family not in families:
        raise ValueError(f"unknown detector type {family!r}; known: {', '.join(sorted(families))}")
    return families[family](spec)
