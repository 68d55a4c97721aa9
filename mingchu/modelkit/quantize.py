"""Static int8 (QDQ) quantisation with onnxruntime, calibrated on real dataset images.

On this class of CPU (AVX2, no VNNI) static QDQ is the variant that is actually faster; dynamic
int8 is slower and fp16 does not load. The box-decoding tail of the YOLO head stays float: its
single output tensor mixes pixel coordinates (0..imgsz) with scores (0..1), and one int8 scale
for both would flatten every score. Whether to *keep* the int8 file is decided by accuracy: only
if mAP50 drops by less than ``max_drop`` (1 point) on the held-out split.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.detect.base import letterbox
from mingchu.datasets.progress import progress
from mingchu.modelkit.export import read_metadata, stamp_metadata


def _float_tail(model: Path) -> list[str]:
    """Head nodes other than its cv2/cv3 conv branches: DFL, concat, sigmoid and box decoding."""
    import onnx

    graph = onnx.load(str(model)).graph
    head = [n for n in graph.node if n.name.startswith("/model.")]
    if not head:
        return []
    prefix = "/" + head[-1].name.split("/")[1] + "/"
    return [n.name for n in graph.node if n.name.startswith(prefix) and not ("/cv2." in n.name or "/cv3." in n.name)]


class _Calibration:
    """onnxruntime CalibrationDataReader over letterboxed images (same pre-processing as the edge)."""

    def __init__(self, input_name: str, size: tuple[int, int], images: list[Path]) -> None:
        self._it: Iterator[dict[str, npt.NDArray[np.float32]]] = self._blobs(input_name, size, images)

    @staticmethod
    def _blobs(name: str, size: tuple[int, int], images: list[Path]) -> Iterator[dict[str, npt.NDArray[np.float32]]]:
        for path in progress(images, len(images), "calibrate"):
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f"{path}: unreadable calibration image")
            canvas, _ = letterbox(np.asarray(img, np.uint8), size)
            yield {name: np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0)}

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        return next(self._it, None)


def quantize_static_int8(model: Path, out: Path, calibration: list[Path]) -> Path:
    """Write a QDQ int8 copy of ``model`` to ``out``, keeping all metadata."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not calibration:
        raise ValueError("quantisation needs calibration images")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    size = (int(inp.shape[3]), int(inp.shape[2]))
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            _Calibration(inp.name, size, calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=_float_tail(prepared),
        )
    stamp_metadata(out, {**read_metadata(model), "mingchu_quantization": "static-int8-qdq"})
    return out


@dataclass(frozen=True)
class QuantDecision:
    fp32_map50: float
    int8_map50: float
    kept: bool
    int8_path: Path | None

    @property
    def drop_points(self) -> float:
        return (self.fp32_map50 - self.int8_map50) * 100


def decide(fp32_map50: float, int8_map50: float, int8_path: Path, max_drop: float = 0.01) -> QuantDecision:
    """Keep the int8 file only when it loses less than ``max_drop`` mAP50; otherwise delete it."""
    kept = bool(np.isfinite(int8_map50) and fp32_map50 - int8_map50 < max_drop)
    if not kept:
        int8_path.unlink(missing_ok=True)
    return QuantDecision(fp32_map50, int8_map50, kept, int8_path if kept else None)
