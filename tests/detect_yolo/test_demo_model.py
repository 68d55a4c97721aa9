"""The committed demo weights decode through YoloDetector and find drawn objects (IoU ≥ 0.5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.detect import DetectorSpec
from edge_agent.detect.yolo import YoloDetector
from mingchu.datasets.synth import SynthConfig, render_scene
from mingchu.datasets.vocabulary import load_vocabulary
from mingchu.model_registry import file_sha256, load_registry
from mingchu.modelkit.metrics import box_iou

MODEL = Path(__file__).resolve().parents[2] / "models" / "kitchen-demo-yolo11n-320.onnx"
LARGE = {"person", "uniform", "bare_torso", "bin_open", "bin_closed", "flame", "cat", "dog"}


@pytest.fixture(scope="module")
def detector() -> YoloDetector:
    return YoloDetector(DetectorSpec(path=MODEL, score_threshold=0.3))


def test_metadata_names_are_the_vocabulary(detector: YoloDetector) -> None:
    assert detector.class_names == load_vocabulary().names
    assert detector.metadata["mingchu_vocabulary_version"] == str(load_vocabulary().version)
    assert len(detector.metadata["mingchu_dataset_sha256"]) == 64


def test_finds_drawn_objects(detector: YoloDetector) -> None:
    """Fresh scenes (a seed never used for training): large objects found with the right label."""
    cfg = SynthConfig(count=1, seed=987654)
    hits = total = 0
    for i in range(8):
        scene = render_scene(cfg, i, [])
        found = detector.detect(scene.image)
        for obj in scene.objects:
            if obj.label not in LARGE:
                continue
            total += 1
            same = found.with_label(obj.label)
            if len(same) and box_iou(np.array([obj.box]), same.xyxy).max() >= 0.5:
                hits += 1
    assert total >= 15
    assert hits / total >= 0.8, f"found {hits}/{total} large objects"


def test_registry_entry_matches_file() -> None:
    entry = load_registry().get("kitchen-demo-yolo11n-320")
    assert entry.family == "yolo" and entry.labels == "mingchu" and tuple(entry.input_size) == (320, 320)
    assert entry.sha256 == file_sha256(MODEL)
