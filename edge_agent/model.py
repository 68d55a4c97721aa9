"""Open the configured detector and translate its class names into our label vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_agent.config import ModelConfig
from edge_agent.detect import Detector, DetectorSpec, create_detector
from edge_agent.detections import Detections
from mingchu.contract.messages import ModelInfo
from mingchu.labels import Vocabulary, map_label
from mingchu.model_registry import file_sha256, resolve_model


@dataclass(frozen=True)
class LabelMapper:
    """Model names → our labels: the config's ``label_map`` first, then the model's vocabulary table."""

    vocabulary: Vocabulary
    overrides: dict[str, str]

    def __call__(self, dets: Detections) -> Detections:
        keep: list[int] = []
        names: list[str] = []
        for i, label in enumerate(dets.labels):
            mapped = self.overrides.get(label) or map_label(label, self.vocabulary)
            if mapped is not None:
                keep.append(i)
                names.append(mapped)
        idx = np.asarray(keep, dtype=np.int64)
        return Detections(dets.xyxy[idx], dets.scores[idx], tuple(names), dets.track_ids[idx])


@dataclass(frozen=True)
class LoadedModel:
    detector: Detector
    mapper: LabelMapper
    info: ModelInfo


def load_model(cfg: ModelConfig, *, verify: bool = True) -> LoadedModel:
    """Resolve ``path`` or registry ``name``; a path is assumed to speak our vocabulary."""
    if cfg.path is not None:
        path, family, vocabulary, name = Path(cfg.path), cfg.type, "mingchu", cfg.path.name
        sha = file_sha256(path) if path.is_file() else ""
    else:
        resolved = resolve_model(cfg.name, verify=verify)
        path, family, vocabulary = resolved.path, resolved.entry.family, resolved.entry.labels
        name, sha = resolved.entry.name, resolved.entry.sha256
    spec = DetectorSpec(
        path=path,
        score_threshold=cfg.score_threshold,
        iou_threshold=cfg.iou_threshold,
        class_thresholds=dict(cfg.class_thresholds),
        intra_op_threads=cfg.threads,
        providers=tuple(cfg.providers),
    )
    detector = create_detector(family, spec)
    return LoadedModel(detector, LabelMapper(vocabulary, dict(cfg.label_map)), ModelInfo(name=name[:128], sha256=sha))  # type: ignore[arg-type]
