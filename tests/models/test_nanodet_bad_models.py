"""Files that are not a NanoDet model fail at load with a message naming the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edge_agent.detect.base import DetectorSpec, ModelMismatchError
from edge_agent.detect.nanodet import NanoDetDetector

COCO2 = json.dumps(["person", "dog"])


def _save(model: onnx.ModelProto, path: Path, metadata: dict[str, str] | None = None) -> Path:
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _pooling_model(input_shape: list, out_shapes: list[list[int]]) -> onnx.ModelProto:
    """Tiny valid graph: each output = a constant of the given shape plus the input's mean (kept real)."""
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0)]
    outputs, inits = [], []
    for i, shape in enumerate(out_shapes):
        inits.append(helper.make_tensor(f"c{i}", TensorProto.FLOAT, shape, np.zeros(int(np.prod(shape))).tolist()))
        nodes.append(helper.make_node("Add", [f"c{i}", "m"], [f"y{i}"]))
        outputs.append(helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)], outputs, inits
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _good_shapes(size: int = 64, classes: int = 2, reg_max: int = 7) -> list[list[int]]:
    shapes = []
    for stride in (8, 16, 32):
        n = (size // stride) ** 2
        shapes += [[1, n, classes], [1, n, 4 * (reg_max + 1)]]
    return shapes


def test_random_bytes_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelMismatchError, match=r"garbage\.onnx.*not a loadable ONNX model"):
        NanoDetDetector(DetectorSpec(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.onnx"):
        NanoDetDetector(DetectorSpec(tmp_path / "nope.onnx"))


def test_classifier_shaped_model_is_rejected(tmp_path: Path) -> None:
    """A valid ONNX whose single output is [1, 1000] (an image classifier), with class names."""
    path = _save(_pooling_model([1, 3, 64, 64], [[1, 1000]]), tmp_path / "classifier.onnx", {"class_names": COCO2})
    with pytest.raises(ModelMismatchError, match=r"classifier.onnx: nanodet expects per stride \[8, 16, 32\]"):
        NanoDetDetector(DetectorSpec(path))


def test_wrong_input_layout_is_rejected(tmp_path: Path) -> None:
    path = _save(_pooling_model([1, 64, 64, 3], _good_shapes()), tmp_path / "nhwc.onnx", {"class_names": COCO2})
    with pytest.raises(ModelMismatchError, match=r"nhwc.onnx: nanodet expects input 1x3xHxW"):
        NanoDetDetector(DetectorSpec(path))


def test_dynamic_input_size_is_rejected(tmp_path: Path) -> None:
    model = _pooling_model([1, 3, "h", "w"], _good_shapes())
    path = _save(model, tmp_path / "dynamic.onnx", {"class_names": COCO2})
    with pytest.raises(ModelMismatchError, match="fixed H, W"):
        NanoDetDetector(DetectorSpec(path))


def test_missing_class_names_is_rejected(tmp_path: Path) -> None:
    path = _save(_pooling_model([1, 3, 64, 64], _good_shapes()), tmp_path / "nonames.onnx")
    with pytest.raises(ModelMismatchError, match=r"nonames\.onnx: metadata 'class_names'"):
        NanoDetDetector(DetectorSpec(path))


def test_malformed_metadata_is_rejected(tmp_path: Path) -> None:
    path = _save(_pooling_model([1, 3, 64, 64], _good_shapes()), tmp_path / "badmeta.onnx", {"class_names": "[oops"})
    with pytest.raises(ModelMismatchError, match="'class_names' is not valid JSON"):
        NanoDetDetector(DetectorSpec(path))


def test_class_count_mismatch_is_rejected(tmp_path: Path) -> None:
    """Outputs made for 2 classes but metadata lists 3 names."""
    meta = {"class_names": json.dumps(["a", "b", "c"]), "reg_max": "7"}
    path = _save(_pooling_model([1, 3, 64, 64], _good_shapes()), tmp_path / "count.onnx", meta)
    with pytest.raises(ModelMismatchError, match=r"\[1,N,3\] scores"):
        NanoDetDetector(DetectorSpec(path))


def test_small_generic_nanodet_graph_is_accepted(tmp_path: Path) -> None:
    """The checks are about structure, not NanoDet-g: a 64x64, 2-class, reg_max 7 graph loads and runs."""
    meta = {"class_names": COCO2, "reg_max": "7", "strides": "[8, 16, 32]"}
    path = _save(_pooling_model([1, 3, 64, 64], _good_shapes()), tmp_path / "tiny.onnx", meta)
    detector = NanoDetDetector(DetectorSpec(path))
    assert detector.class_names == ("person", "dog")
    assert [len(lv.centers) for lv in detector._levels] == [64, 16, 4]
    assert len(detector.detect(np.zeros((48, 80, 3), np.uint8))) == 0  # all scores 0 + mean(<0) < threshold
