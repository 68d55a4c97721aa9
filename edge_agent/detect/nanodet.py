"""NanoDet (GFL head) family: per-stride class scores plus distance distributions.

Why a family of its own: NanoDet does not emit boxes. Each stride gives a ``[1, N, C]`` score
tensor (sigmoid already applied) and a ``[1, N, 4*(reg_max+1)]`` tensor holding, per side
(left, top, right, bottom), a discrete distribution over distances ``0..reg_max`` in units of the
stride (Generalized Focal Loss). The expected distance is measured from the cell centre
``(i + center_offset) * stride``. Everything needed to decode is read from the ONNX metadata that
``models/import_nanodet.py`` stamps, so the file is self-describing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_agent.detect.base import Detector, Letterbox, ModelMismatchError, letterbox
from edge_agent.detections import Detections

DEFAULT_MEAN = (103.53, 116.28, 123.675)
DEFAULT_STD = (57.375, 57.12, 58.395)
# Keep at most this many (anchor, class) candidates before NMS: bounds the worst-case NMS cost.
MAX_CANDIDATES = 1000


@dataclass(frozen=True)
class _Level:
    """One stride's pair of outputs and its precomputed cell centres."""

    stride: int
    score_index: int
    box_index: int
    centers: npt.NDArray[np.float32]  # (N, 2) x, y in model-input pixels


class NanoDetDetector(Detector):
    """NanoDet-style ONNX model (e.g. ``coco-nanodet-g``) → :class:`Detections`."""

    family = "nanodet"

    # -- validation -------------------------------------------------------------------------
    def _meta_json(self, key: str, default: Any) -> Any:
        raw = self.metadata.get(key)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ModelMismatchError(f"{self.spec.path}: metadata {key!r} is not valid JSON: {raw[:80]!r}") from exc

    def _check_model(self) -> tuple[str, ...]:
        path = self.spec.path
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelMismatchError(f"{path}: nanodet expects 1 input, the model has {len(inputs)}")
        shape = inputs[0].shape
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(d, int) and d > 0 for d in shape[2:]):
            raise ModelMismatchError(f"{path}: nanodet expects input 1x3xHxW with fixed H, W; got {shape}")
        self._input_name = inputs[0].name
        self._height, self._width = int(shape[2]), int(shape[3])

        names = self._meta_json("class_names", None)
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ModelMismatchError(f"{path}: metadata 'class_names' must be a JSON list of names")
        reg_max = int(str(self.metadata.get("reg_max", "7")))
        bins = 4 * (reg_max + 1)
        if len(names) == bins:
            raise ModelMismatchError(f"{path}: {len(names)} classes equals 4*(reg_max+1); cannot tell outputs apart")
        mean = np.asarray(self._meta_json("mean", DEFAULT_MEAN), np.float32)
        std = np.asarray(self._meta_json("std", DEFAULT_STD), np.float32)
        if mean.shape != (3,) or std.shape != (3,) or np.any(std == 0):
            raise ModelMismatchError(f"{path}: metadata mean/std must be 3 numbers each, std non-zero")
        self._mean, self._inv_std = mean, (1.0 / std).astype(np.float32)
        self._rgb = str(self.metadata.get("color_order", "BGR")).upper() == "RGB"
        self._reg_max = reg_max
        self._center_offset = float(self.metadata.get("center_offset", "0.5"))

        # Declared output shapes may be symbolic (tf2onnx), so probe once with a blank input.
        probe = np.zeros((1, 3, self._height, self._width), np.float32)
        try:
            outputs = self.session.run(None, {self._input_name: probe})
        except Exception as exc:  # onnxruntime raises its own exception types
            size = f"1x3x{self._height}x{self._width}"
            raise ModelMismatchError(f"{path}: model failed on a blank {size} input ({exc})") from exc
        strides = [int(s) for s in self._meta_json("strides", [8, 16, 32])]
        self._levels = self._pair_outputs([o.shape for o in outputs], strides, len(names), bins)
        return tuple(names)

    def _pair_outputs(
        self, shapes: list[tuple[int, ...]], strides: list[int], num_classes: int, bins: int
    ) -> tuple[_Level, ...]:
        path = self.spec.path
        expected = f"per stride {strides}: [1,N,{num_classes}] scores and [1,N,{bins}] distributions"
        if len(shapes) != 2 * len(strides) or any(len(s) != 3 or s[0] != 1 for s in shapes):
            raise ModelMismatchError(f"{path}: nanodet expects {expected}; got outputs {shapes}")
        levels = []
        for stride in strides:
            grid_w, grid_h = math.ceil(self._width / stride), math.ceil(self._height / stride)
            n = grid_w * grid_h
            score = [i for i, s in enumerate(shapes) if s[1] == n and s[2] == num_classes]
            box = [i for i, s in enumerate(shapes) if s[1] == n and s[2] == bins]
            if len(score) != 1 or len(box) != 1:
                raise ModelMismatchError(
                    f"{path}: nanodet expects {expected} (N={n} for stride {stride}); got outputs {shapes}"
                )
            xs, ys = np.meshgrid(np.arange(grid_w, dtype=np.float32), np.arange(grid_h, dtype=np.float32))
            centers = (np.stack([xs.ravel(), ys.ravel()], axis=1) + self._center_offset) * stride
            levels.append(_Level(stride, score[0], box[0], centers.astype(np.float32)))
        return tuple(levels)

    # -- inference --------------------------------------------------------------------------
    def preprocess(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], Letterbox]:
        """Letterbox, normalise with the model's mean/std and colour order, HWC→NCHW."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected a HxWx3 uint8 BGR image, got shape {image_bgr.shape} dtype {image_bgr.dtype}")
        canvas, box = letterbox(image_bgr, (self._width, self._height))
        if self._rgb:
            canvas = canvas[:, :, ::-1]
        blob = (canvas.astype(np.float32) - self._mean) * self._inv_std
        return np.ascontiguousarray(blob.transpose(2, 0, 1)[None]), box

    def decode(
        self, outputs: list[npt.NDArray[np.float32]]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Raw outputs → candidate boxes (model-input pixels), scores and class ids above the lowest threshold."""
        floor = min([self.spec.score_threshold, *self.spec.class_thresholds.values()])
        scores = np.concatenate([outputs[lv.score_index][0] for lv in self._levels])  # (A, C)
        anchors, classes = np.nonzero(scores >= floor)
        cand_scores = scores[anchors, classes]
        if len(cand_scores) > MAX_CANDIDATES:
            top = np.argpartition(-cand_scores, MAX_CANDIDATES)[:MAX_CANDIDATES]
            anchors, classes, cand_scores = anchors[top], classes[top], cand_scores[top]
        if len(anchors) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        dists = np.concatenate([outputs[lv.box_index][0] for lv in self._levels])[anchors]  # (K, 4*(R+1))
        centers = np.concatenate([lv.centers for lv in self._levels])[anchors]
        strides = np.concatenate([np.full(len(lv.centers), lv.stride, np.float32) for lv in self._levels])[anchors]
        logits = dists.reshape(-1, 4, self._reg_max + 1)
        prob = np.exp(logits - logits.max(axis=2, keepdims=True))
        prob /= prob.sum(axis=2, keepdims=True)
        distance = (prob @ np.arange(self._reg_max + 1, dtype=np.float32)) * strides[:, None]  # (K, 4) l,t,r,b
        xyxy = np.concatenate([centers - distance[:, :2], centers + distance[:, 2:]], axis=1)
        return xyxy.astype(np.float32), cand_scores.astype(np.float32), classes.astype(np.int64)

    def infer(self, blob: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Run the ONNX session on a preprocessed blob; outputs in the graph's order."""
        return self.session.run(None, {self._input_name: blob})  # type: ignore[no-any-return]

    def postprocess(
        self, outputs: list[npt.NDArray[np.float32]], box: Letterbox, width: int, height: int
    ) -> Detections:
        """Decode, threshold, NMS, then map boxes back to the ``width`` x ``height`` frame."""
        dets = self._filter(*self.decode(outputs))
        if len(dets) == 0:
            return dets
        return Detections(box.to_image(dets.xyxy, width, height), dets.scores, dets.labels)

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        blob, box = self.preprocess(image_bgr)
        return self.postprocess(self.infer(blob), box, image_bgr.shape[1], image_bgr.shape[0])
