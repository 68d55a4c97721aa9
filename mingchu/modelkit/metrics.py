"""Detection metrics in plain numpy (mAP50, PR curves, confusion matrix), so eval needs no torch.

Matching follows the usual VOC/COCO rule: per image and class, predictions in descending score
take the best still-unmatched ground truth with IoU ≥ threshold; AP is the area under the
precision envelope (all-point interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]


def box_iou(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> F:
    """Pairwise IoU of xyxy boxes, shape (len(a), len(b))."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    iou: npt.NDArray[np.float64] = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)
    return iou


def match_predictions(
    pred_xyxy: npt.NDArray[np.floating],
    pred_scores: npt.NDArray[np.floating],
    pred_cls: npt.NDArray[np.integer],
    gt_xyxy: npt.NDArray[np.floating],
    gt_cls: npt.NDArray[np.integer],
    iou_threshold: float = 0.5,
) -> npt.NDArray[np.bool_]:
    """True-positive flag per prediction of one image (same class, IoU ≥ threshold, GT used once)."""
    tp = np.zeros(len(pred_scores), bool)
    if len(pred_scores) == 0 or len(gt_cls) == 0:
        return tp
    iou = box_iou(pred_xyxy, gt_xyxy)
    iou[np.asarray(pred_cls)[:, None] != np.asarray(gt_cls)[None, :]] = 0.0
    used = np.zeros(len(gt_cls), bool)
    for i in np.argsort(-np.asarray(pred_scores), kind="stable"):
        candidates = np.where(used, 0.0, iou[i])
        j = int(candidates.argmax())
        if candidates[j] >= iou_threshold:
            tp[i] = True
            used[j] = True
    return tp


def average_precision(tp: npt.NDArray[np.bool_], scores: npt.NDArray[np.floating], n_gt: int) -> tuple[float, F, F]:
    """AP plus the recall and precision curves (by descending score) for one class."""
    if n_gt == 0:
        return float("nan"), np.zeros(0), np.zeros(0)
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(tp, np.float64)[order]
    tps, fps = np.cumsum(hits), np.cumsum(1.0 - hits)
    recall = tps / n_gt
    precision = tps / np.maximum(tps + fps, 1e-12)
    r = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    envelope = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.flatnonzero(r[1:] != r[:-1])
    ap = float(np.sum((r[steps + 1] - r[steps]) * envelope[steps + 1]))
    return ap, recall, precision


@dataclass(frozen=True)
class ClassResult:
    """AP50 and the PR curve of one class; ``ap50`` is NaN when the class has no ground truth."""

    ap50: float
    recall: F
    precision: F
    n_gt: int
    n_pred: int


@dataclass
class DetectionEval:
    """Accumulates predictions and ground truth image by image, then summarises."""

    names: tuple[str, ...]
    iou_threshold: float = 0.5
    confusion_conf: float = 0.25
    _tp: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    _scores: list[npt.NDArray[np.float64]] = field(default_factory=list)
    _cls: list[npt.NDArray[np.int64]] = field(default_factory=list)
    _n_gt: npt.NDArray[np.int64] = field(init=False)
    confusion: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        nc = len(self.names)
        self._n_gt = np.zeros(nc, np.int64)
        self.confusion = np.zeros((nc + 1, nc + 1), np.int64)  # rows: true (last = background), cols: predicted

    def add(
        self,
        pred_xyxy: npt.NDArray[np.floating],
        pred_scores: npt.NDArray[np.floating],
        pred_cls: npt.NDArray[np.integer],
        gt_xyxy: npt.NDArray[np.floating],
        gt_cls: npt.NDArray[np.integer],
    ) -> None:
        pred_ids: npt.NDArray[np.int64] = np.asarray(pred_cls, np.int64)
        gt_ids: npt.NDArray[np.int64] = np.asarray(gt_cls, np.int64)
        self._tp.append(match_predictions(pred_xyxy, pred_scores, pred_ids, gt_xyxy, gt_ids, self.iou_threshold))
        self._scores.append(np.asarray(pred_scores, np.float64))
        self._cls.append(pred_ids)
        self._n_gt += np.bincount(gt_ids, minlength=len(self.names))[: len(self.names)]
        self._confuse(np.asarray(pred_xyxy), np.asarray(pred_scores), pred_ids, np.asarray(gt_xyxy), gt_ids)

    def _confuse(
        self,
        pxy: npt.NDArray[np.floating],
        ps: npt.NDArray[np.floating],
        pc: npt.NDArray[np.int64],
        gxy: npt.NDArray[np.floating],
        gc: npt.NDArray[np.int64],
    ) -> None:
        """Class-agnostic greedy IoU matching at ``confusion_conf``: who was mistaken for whom."""
        bg = len(self.names)
        keep = ps >= self.confusion_conf
        pxy, pc = pxy[keep], pc[keep]
        iou = box_iou(gxy, pxy) if len(gc) and len(pc) else np.zeros((len(gc), len(pc)))
        free_p = np.ones(len(pc), bool)
        for g in np.argsort(-(iou.max(axis=1) if iou.size else np.zeros(len(gc))), kind="stable"):
            cand = np.where(free_p, iou[g], 0.0) if iou.size else np.zeros(0)
            if cand.size and cand.max() >= self.iou_threshold:
                p = int(cand.argmax())
                free_p[p] = False
                self.confusion[gc[g], pc[p]] += 1
            else:
                self.confusion[gc[g], bg] += 1
        for unmatched in np.flatnonzero(free_p):
            self.confusion[bg, pc[unmatched]] += 1

    def per_class(self) -> dict[str, ClassResult]:
        """AP, PR curve, support and prediction count per class."""
        tp = np.concatenate(self._tp) if self._tp else np.zeros(0, bool)
        scores = np.concatenate(self._scores) if self._scores else np.zeros(0)
        cls = np.concatenate(self._cls) if self._cls else np.zeros(0, np.int64)
        out: dict[str, ClassResult] = {}
        for c, name in enumerate(self.names):
            sel = cls == c
            ap, recall, precision = average_precision(tp[sel], scores[sel], int(self._n_gt[c]))
            out[name] = ClassResult(ap, recall, precision, int(self._n_gt[c]), int(sel.sum()))
        return out

    def map50(self) -> float:
        """Mean AP over classes that have ground truth (NaN when nothing was labelled)."""
        aps = [r.ap50 for r in self.per_class().values() if r.n_gt > 0]
        return float(np.mean(aps)) if aps else float("nan")
