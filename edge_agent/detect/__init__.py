"""Detector families, each one module, looked up by the config's ``type``."""

from edge_agent.detect.base import Detector, DetectorSpec, ModelMismatchError
from edge_agent.detect.registry import create_detector, detector_families

__all__ = ["Detector", "DetectorSpec", "ModelMismatchError", "create_detector", "detector_families"]
