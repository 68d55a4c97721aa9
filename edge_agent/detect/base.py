"""What every detector family shares: one onnxruntime session, letterboxing, NMS."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from edge_agent.detections import Detections


class ModelMismatchError(RuntimeError):
    """The ONNX file does not have the inputs/outputs its declared family needs."""


@dataclass(frozen=True)
class DetectorSpec:
    """Everything a family needs to open a model; built from config and the model registry."""

    path: Path
    score_threshold: float = 0.35
    iou_threshold: float = 0.5
    class_thresholds: dict[str, float] = field(default_factory=dict)
    intra_op_threads: int = 1
    providers: tuple[str, ...] = ("CPUExecutionProvider",)


@dataclass(frozen=True)
class Letterbox:
    """How an image was scaled and padded into the model input, to map boxes back."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, xyxy: npt.NDArray[np.float32], width: int, height: int) -> npt.NDArray[np.float32]:
        out = xyxy.copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out


def letterbox(
    image: npt.NDArray[np.uint8], size: tuple[int, int], pad_value: int = 114
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize keeping aspect ratio into ``size`` = (width, height), padding evenly."""
    h, w = image.shape[:2]
    target_w, target_h = size
    scale = min(target_w / w, target_h / h)
    new_w, new_h = round(w * scale), round(h * scale)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (w, h) else image
    top, left = (target_h - new_h) // 2, (target_w - new_w) // 2
    canvas = np.full((target_h, target_w, 3), pad_value, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, Letterbox(scale, float(left), float(top))


def nms_per_class(
    xyxy: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int64],
    iou_threshold: float,
) -> npt.NDArray[np.int64]:
    """Class-aware NMS via the coordinate-offset trick; returns kept indices by descending score."""
    if len(scores) == 0:
        return np.empty(0, dtype=np.int64)
    offset = class_ids.astype(np.float32)[:, None] * (float(xyxy.max()) + 1.0)
    boxes = xyxy + offset
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1, yy1 = np.maximum(x1[i], x1[rest]), np.maximum(y1[i], y1[rest])
        xx2, yy2 = np.minimum(x2[i], x2[rest]), np.minimum(y2[i], y2[rest])
        inter = (xx2 - xx1).clip(0) * (yy2 - yy1).clip(0)
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


class Detector(abc.ABC):
    """One model, one session. Subclasses validate the graph and decode its outputs."""

    family: str = ""

    def __init__(self, spec: DetectorSpec) -> None:
        self.spec = spec
        if not spec.path.is_file():
            raise FileNotFoundError(f"model file not found: {spec.path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = spec.intra_op_threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(spec.path), options, providers=list(spec.providers))
        except Exception as exc:  # onnxruntime raises several unrelated types for a bad file
            raise ModelMismatchError(f"{spec.path}: not a loadable ONNX model ({exc})") from exc
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.class_names: tuple[str, ...] = self._check_model()

    @abc.abstractmethod
    def _check_model(self) -> tuple[str, ...]:
        """Raise ModelMismatchError unless the graph fits this family; return class names."""

    @abc.abstractmethod
    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        """Detections in the pixel coordinates of ``image_bgr``."""

    def _filter(
        self, xyxy: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], class_ids: npt.NDArray[np.int64]
    ) -> Detections:
        """Apply per-class thresholds then class-aware NMS; shared by every family."""
        thresholds = np.array(
            [self.spec.class_thresholds.get(name, self.spec.score_threshold) for name in self.class_names],
            dtype=np.float32,
        )
        mask = scores >= thresholds[class_ids] if len(scores) else np.zeros(0, bool)
        xyxy, scores, class_ids = xyxy[mask], scores[mask], class_ids[mask]
        keep = nms_per_class(xyxy, scores, class_ids, self.spec.iou_threshold)
        return Detections(
            xyxy[keep].astype(np.float32),
            scores[keep].astype(np.float32),
            tuple(self.class_names[int(c)] for c in class_ids[keep]),
        )
