"""YoloDetector: decoding math on hand-made graphs, and every kind of mismatched model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.detect import DetectorSpec, ModelMismatchError, create_detector
from edge_agent.detect.yolo import YoloDetector, parse_names
from tests.detect_yolo.onnx_fixtures import candidates, constant_yolo_model

NAMES3 = "{0: 'person', 1: 'phone', 2: 'flame'}"
META = {"names": NAMES3, "imgsz": "[64, 64]", "stride": "32"}


def _detector(path: Path, **kw: object) -> YoloDetector:
    return YoloDetector(DetectorSpec(path=path, **kw))  # type: ignore[arg-type]


def test_decodes_boxes_back_to_image_pixels(tmp_path: Path) -> None:
    # 128x64 image → scale 0.5 into 64x64, padded 16 px top and bottom.
    out = candidates([(32, 32, 20, 10), (10, 20, 8, 8), (40, 40, 10, 10)], [0, 1, 2], [0.9, 0.8, 0.1], 3)
    det = _detector(constant_yolo_model(tmp_path / "m.onnx", out, metadata=META), score_threshold=0.3)
    assert det.class_names == ("person", "phone", "flame")
    found = det.detect(np.zeros((64, 128, 3), np.uint8))
    assert found.labels == ("person", "phone")  # flame below threshold
    np.testing.assert_allclose(found.xyxy[0], [44, 22, 84, 42], atol=1e-4)
    np.testing.assert_allclose(found.xyxy[1], [12, 0, 28, 16], atol=1e-4)  # clipped at the top edge
    np.testing.assert_allclose(found.scores, [0.9, 0.8], atol=1e-6)


def test_per_class_threshold_and_nms(tmp_path: Path) -> None:
    out = candidates([(32, 32, 20, 20), (33, 32, 20, 20), (10, 10, 6, 6)], [0, 0, 2], [0.9, 0.85, 0.2], 3)
    det = _detector(
        constant_yolo_model(tmp_path / "m.onnx", out, metadata=META),
        score_threshold=0.5,
        class_thresholds={"flame": 0.15},
    )
    found = det.detect(np.zeros((64, 64, 3), np.uint8))
    assert sorted(found.labels) == ["flame", "person"]  # duplicate person suppressed, flame kept by its own threshold


def test_registered_as_yolo_family(tmp_path: Path) -> None:
    out = candidates([(32, 32, 20, 20)], [0], [0.9], 3)
    det = create_detector("yolo", DetectorSpec(path=constant_yolo_model(tmp_path / "m.onnx", out, metadata=META)))
    assert isinstance(det, YoloDetector)


@pytest.mark.parametrize(
    ("shape", "input_shape", "meta", "message"),
    [
        ((1, 4 + 5, 8), (1, 3, 64, 64), META, r"expects output \[1, 7, N\].*got \[1, 9, 8\]"),
        ((1, 7, 8), (1, 1, 64, 64), META, r"expects input \[1,3,H,W\]"),
        ((1, 7, 8), (2, 3, 64, 64), META, r"expects input \[1,3,H,W\]"),
        ((1, 7, 8), (1, 3, 64, 64), {"imgsz": "[64, 64]"}, r"not an ultralytics export: metadata has no 'names'"),
        ((1, 7, 8), (1, 3, 64, 64), {"names": "person, phone"}, r"not an ultralytics export"),
        ((1, 7, 8), (1, 3, 64, 64), {**META, "imgsz": "[320, 320]"}, r"imgsz \[320, 320\] disagrees"),
        ((1, 8, 7), (1, 3, 64, 64), META, r"expects output \[1, 7, N\]"),
    ],
)
def test_mismatched_models_are_refused(
    tmp_path: Path, shape: tuple[int, ...], input_shape: tuple[int, ...], meta: dict[str, str], message: str
) -> None:
    path = constant_yolo_model(tmp_path / "bad.onnx", np.zeros(shape, np.float32), input_shape, meta)
    with pytest.raises(ModelMismatchError, match=message):
        _detector(path)


def test_not_an_onnx_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelMismatchError, match="not a loadable ONNX model"):
        _detector(bad)


def test_bad_image_is_refused(tmp_path: Path) -> None:
    det = _detector(constant_yolo_model(tmp_path / "m.onnx", candidates([], [], [], 3), metadata=META))
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        det.detect(np.zeros((10, 10), np.uint8))


def test_parse_names() -> None:
    assert parse_names("{0: 'a', 1: 'b'}") == ("a", "b")
    assert parse_names("['a', 'b']") == ("a", "b")
    for bad in ("{1: 'a'}", "{0: ''}", "nonsense(", "42"):
        with pytest.raises(ValueError):
            parse_names(bad)
