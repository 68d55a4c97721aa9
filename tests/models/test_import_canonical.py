"""The importer's graph canonicalisation: what makes the committed ONNX sha256 reproducible."""

from __future__ import annotations

import hashlib
import importlib.util
import random
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from mingchu.model_registry import load_registry

MODELS = Path(__file__).resolve().parents[2] / "models"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_nanodet", MODELS / "import_nanodet.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _graph(seed: int) -> onnx.ModelProto:
    """Same computation each time; node order, tensor names and duplicate-constant names vary by seed."""
    rng = random.Random(seed)
    tag = lambda base: f"{base}_{rng.randrange(10**6)}"  # noqa: E731
    w = np.arange(6, dtype=np.float32).reshape(1, 6)
    w_a, w_b, s1, s2, a1, a2 = tag("w"), tag("w"), tag("s"), tag("s"), tag("a"), tag("a")
    nodes = [
        helper.make_node("Sigmoid", ["x"], [s1], name=tag("node")),
        helper.make_node("Add", [s1, w_a], [a1], name=tag("node")),
        helper.make_node("Relu", ["x"], [s2], name=tag("node")),
        helper.make_node("Add", [s2, w_b], [a2], name=tag("node")),
        helper.make_node("Concat", [a1, a2], ["y"], axis=0, name=tag("node")),
    ]
    order = [[0, 1, 2, 3, 4], [2, 3, 0, 1, 4], [0, 2, 1, 3, 4]][seed % 3]
    inits = [numpy_helper.from_array(w, w_a), numpy_helper.from_array(w.copy(), w_b)]  # duplicates
    rng.shuffle(inits)
    graph = helper.make_graph(
        [nodes[i] for i in order],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6])],
        inits,
        doc_string=f"converted from /tmp/scratch{seed}/nanodet.json",
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _run(model: onnx.ModelProto) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": np.linspace(-2, 2, 6, dtype=np.float32).reshape(1, 6)})[0]


def test_shuffled_graphs_canonicalize_to_identical_bytes() -> None:
    script = _script()
    raw = [_graph(seed) for seed in range(3)]
    assert len({m.SerializeToString() for m in raw}) == 3  # the inputs really differ
    canonical = [script.canonicalize(_graph(seed)) for seed in range(3)]
    assert len({m.SerializeToString() for m in canonical}) == 1
    onnx.checker.check_model(canonical[0])
    assert len(canonical[0].graph.initializer) == 1  # identical constants merged
    np.testing.assert_array_equal(_run(canonical[0]), _run(raw[0]))


def test_committed_model_is_already_canonical() -> None:
    """Re-canonicalising the shipped file changes nothing, and its hash is the registry's."""
    data = (MODELS / "coco-nanodet-g.onnx").read_bytes()
    again = _script().canonicalize(onnx.load_from_string(data)).SerializeToString()
    entry = load_registry(MODELS).get("coco-nanodet-g")
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(data).hexdigest() == entry.sha256
