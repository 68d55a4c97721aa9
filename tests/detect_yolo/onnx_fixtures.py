"""Tiny hand-built ONNX graphs shaped like ultralytics exports, for decoder and mismatch tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def constant_yolo_model(
    path: Path,
    output: np.ndarray,
    input_shape: tuple[int, ...] = (1, 3, 64, 64),
    metadata: dict[str, str] | None = None,
) -> Path:
    """Model whose output is ``output`` (+ 0 x mean(input)), so the decoder sees known candidates."""
    const = numpy_helper.from_array(output.astype(np.float32), "const")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["const", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        initializer=[const, numpy_helper.from_array(np.zeros((), np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def candidates(
    boxes_cxcywh: list[tuple[float, float, float, float]],
    class_ids: list[int],
    scores: list[float],
    num_classes: int,
    total: int = 8,
) -> np.ndarray:
    """``[1, 4+nc, total]`` tensor holding the given candidates, the rest all-zero."""
    out = np.zeros((1, 4 + num_classes, total), np.float32)
    for i, (box, c, s) in enumerate(zip(boxes_cxcywh, class_ids, scores, strict=True)):
        out[0, :4, i] = box
        out[0, 4 + c, i] = s
    return out
