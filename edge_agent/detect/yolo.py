"""YOLO family: ultralytics YOLOv8 / YOLO11 ONNX exports (anchor-free, no NMS in the graph).

Why a family of its own: the export emits one ``[1, 4+nc, N]`` tensor — per candidate, box
centre/size in model-input pixels then one sigmoid score per class — and carries ``names``
(a Python dict literal), ``imgsz`` and ``stride`` in ONNX metadata. We read those so the file is
self-describing, letterbox with grey 114 like ultralytics' own pre-processing, and decode in numpy.
"""

from __future__ import annotations

import ast

import numpy as np
import numpy.typing as npt

from edge_agent.detect.base import Detector, Letterbox, ModelMismatchError, letterbox
from edge_agent.detections import Detections

# Keep at most this many candidates (best class per anchor) before NMS: bounds NMS cost.
MAX_CANDIDATES = 1000


def parse_names(raw: str | None) -> tuple[str, ...]:
    """``"{0: 'person', 1: 'head_hat'}"`` (ultralytics metadata) → names ordered by class id."""
    if raw is None:
        raise ValueError("metadata has no 'names'")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"metadata 'names' is not a dict/list literal: {raw[:80]!r}") from exc
    if isinstance(value, list):
        value = dict(enumerate(value))
    if not isinstance(value, dict) or not value or sorted(value) != list(range(len(value))):
        raise ValueError(f"metadata 'names' must map ids 0..n-1 to names: {raw[:80]!r}")
    names = tuple(value[i] for i in range(len(value)))
    if not all(isinstance(n, str) and n for n in names):
        raise ValueError("metadata 'names' values must be non-empty strings")
    return names


class YoloDetector(Detector):
    """Ultralytics YOLO detect export (e.g. ``kitchen-demo-yolo11n-320``) → :class:`Detections`."""

    family = "yolo"

    def _check_model(self) -> tuple[str, ...]:
        path = self.spec.path
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelMismatchError(f"{path}: yolo expects 1 input, the model has {len(inputs)}")
        shape = inputs[0].shape
        fixed_hw = len(shape) == 4 and all(isinstance(d, int) and d > 0 for d in shape[2:])
        batch_ok = len(shape) == 4 and (shape[0] == 1 or not isinstance(shape[0], int))  # 1 or symbolic
        if not fixed_hw or not batch_ok or shape[1] != 3:
            raise ModelMismatchError(f"{path}: yolo expects input [1,3,H,W] with fixed H, W; got {shape}")
        self._input_name = inputs[0].name
        self._height, self._width = int(shape[2]), int(shape[3])
        try:
            names = parse_names(self.metadata.get("names"))
        except ValueError as exc:
            raise ModelMismatchError(f"{path}: not an ultralytics export: {exc}") from exc
        outputs = self.session.get_outputs()
        expected = f"[1, {4 + len(names)}, N] (4 box values + {len(names)} class scores)"
        if len(outputs) != 1:
            raise ModelMismatchError(f"{path}: yolo expects 1 output {expected}; the model has {len(outputs)}")
        out_shape = outputs[0].shape
        if len(out_shape) != 3 or out_shape[1] != 4 + len(names) or out_shape[0] not in (1, "batch"):
            raise ModelMismatchError(
                f"{path}: yolo expects output {expected} for the {len(names)} names in metadata; got {out_shape}"
            )
        imgsz = self.metadata.get("imgsz")
        if imgsz is not None:
            try:
                declared = [int(v) for v in ast.literal_eval(imgsz)]
            except (ValueError, SyntaxError, TypeError) as exc:
                raise ModelMismatchError(f"{path}: metadata 'imgsz' is not a list of ints: {imgsz!r}") from exc
            if declared != [self._height, self._width]:
                raise ModelMismatchError(f"{path}: metadata imgsz {declared} disagrees with input {shape}")
        return names

    def preprocess(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], Letterbox]:
        """Letterbox (pad 114), BGR→RGB, scale to 0..1, HWC→NCHW: what ultralytics trained on."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected a HxWx3 uint8 BGR image, got shape {image_bgr.shape} dtype {image_bgr.dtype}")
        canvas, box = letterbox(image_bgr, (self._width, self._height))
        blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) * (1.0 / 255.0)
        return np.ascontiguousarray(blob), box

    def decode(
        self, output: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """``[1, 4+nc, N]`` → model-input xyxy, best-class score and class id per kept candidate."""
        pred = output[0]
        scores_all = pred[4:]
        class_ids = scores_all.argmax(axis=0)
        scores = scores_all[class_ids, np.arange(pred.shape[1])]
        floor = min([self.spec.score_threshold, *self.spec.class_thresholds.values()])
        keep = np.flatnonzero(scores >= floor)
        if keep.size > MAX_CANDIDATES:
            keep = keep[np.argpartition(-scores[keep], MAX_CANDIDATES)[:MAX_CANDIDATES]]
        cx, cy, w, h = pred[:4, keep]
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
        return xyxy, scores[keep].astype(np.float32), class_ids[keep].astype(np.int64)

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        blob, box = self.preprocess(image_bgr)
        (output,) = self.session.run(None, {self._input_name: blob})
        xyxy, scores, class_ids = self.decode(np.asarray(output, np.float32))
        height, width = image_bgr.shape[:2]
        return self._filter(box.to_image(xyxy, width, height), scores, class_ids)
