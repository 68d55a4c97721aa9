"""Shared fixtures: the shipped NanoDet-g loaded once, real photos and vtest frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge_agent.detect.base import DetectorSpec
from edge_agent.detect.nanodet import NanoDetDetector
from mingchu.model_registry import resolve_model

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def read_image(name: str) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(ASSETS / name))
    assert image is not None, f"missing test asset {name}"
    return image


def iou(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="session")
def nanodet_path() -> Path:
    return resolve_model("coco-nanodet-g").path


@pytest.fixture(scope="session")
def nanodet(nanodet_path: Path) -> NanoDetDetector:
    return NanoDetDetector(DetectorSpec(nanodet_path, score_threshold=0.3))


@pytest.fixture(scope="session")
def vtest_frames() -> dict[int, npt.NDArray[np.uint8]]:
    """Frames 0, 30, 60, 90 of tests/assets/vtest_10s.mp4 (real pedestrian footage)."""
    wanted = {0, 30, 60, 90}
    cap = cv2.VideoCapture(str(ASSETS / "vtest_10s.mp4"))
    frames: dict[int, npt.NDArray[np.uint8]] = {}
    index = 0
    while len(frames) < len(wanted):
        ok, frame = cap.read()
        assert ok, f"vtest_10s.mp4 ended at frame {index}"
        if index in wanted:
            frames[index] = frame
        index += 1
    cap.release()
    return frames
