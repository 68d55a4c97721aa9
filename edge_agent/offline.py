"""``mingchu-edge detect``: run the detector and the rules over an image or a video file, offline.

Writes JSON lines (one per analysed frame: labels, scores, pixel boxes, violations) and, with an
output directory, annotated pictures / an annotated MP4. Rules see the video's own timestamps,
so a 10-second clip exercises durations the way a live camera would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from edge_agent.config import CameraConfig, DeviceConfig, EdgeConfig, RuleOverride
from edge_agent.detections import Detections
from edge_agent.evidence import Annotator, find_font
from edge_agent.frame import Frame
from edge_agent.model import LoadedModel
from edge_agent.rules import Observation, Violation, build_rules, measure_quality
from edge_agent.track import ByteTracker
from mingchu.contract.messages import RoomType
from mingchu.taxonomy import default_taxonomy

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class InputError(ValueError):
    """The input file cannot be analysed; the message names it."""


@dataclass(frozen=True)
class OfflineResult:
    frames: int
    detections: int
    violations: int
    outputs: tuple[Path, ...]


def _offline_config(room_type: RoomType, single_image: bool) -> tuple[EdgeConfig, CameraConfig]:
    camera = CameraConfig(id="offline", name="offline", room_id="offline", room_type=room_type, url="offline")
    rules = {cid: RuleOverride(min_duration_s=0.0) for cid in default_taxonomy().ids} if single_image else {}
    config = EdgeConfig(
        device=DeviceConfig(school_id="offline", device_id="offline", canteen_id="offline"),
        cameras=(camera,),
        rules=rules,
        metrics={"enabled": False},  # type: ignore[arg-type]
    )
    return config, camera


def _video_frames(path: Path, fps: float) -> Iterator[tuple[float, npt.NDArray[np.uint8]]]:
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a readable image or video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        next_t = 0.0
        try:
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                if t + 1e-6 < next_t:
                    continue
                next_t = t + 1.0 / fps
                yield t, np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: decoding failed ({exc})") from exc


def probe_input(path: Path) -> None:
    """Fail fast (before loading a model) on a missing, empty or undecodable input."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if cv2.imread(str(path), cv2.IMREAD_COLOR) is None:
            raise InputError(f"{path}: not a readable image")
        return
    for _ in _video_frames(path, 1.0):
        return
    raise InputError(f"{path}: no frames could be decoded")


def analyse(
    path: Path,
    model: LoadedModel,
    *,
    out_dir: Path | None = None,
    json_out: IO[str] | None = None,
    room_type: RoomType = RoomType.PREP,
    fps: float = 5.0,
    progress: Callable[[int], None] | None = None,
) -> OfflineResult:
    """Analyse one file; raises :class:`InputError` for a missing or unreadable input."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    is_image = path.suffix.lower() in IMAGE_SUFFIXES
    if is_image:
        read = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if read is None:
            raise InputError(f"{path}: not a readable image")
        frames: Iterator[tuple[float, npt.NDArray[np.uint8]]] = iter([(0.0, np.asarray(read, dtype=np.uint8))])
    else:
        frames = _video_frames(path, fps)
    config, camera = _offline_config(room_type, is_image)
    rules = build_rules(config, camera)
    tracker = ByteTracker(min_hits=1)
    annotator = Annotator(find_font(None))
    start = datetime.now(UTC)
    outputs: list[Path] = []
    writer: _VideoWriter | None = None
    n_frames = n_dets = n_viol = 0
    for seq, (t, image) in enumerate(frames):
        frame = Frame("offline", seq, image, start + timedelta(seconds=t), t)
        dets = tracker.update(model.mapper(model.detector.detect(image)), t)
        obs = Observation(frame, dets, measure_quality(image))
        violations: list[Violation] = [v for rule in rules for v in rule.observe(obs)]
        n_frames, n_dets, n_viol = n_frames + 1, n_dets + len(dets), n_viol + len(violations)
        if json_out is not None:
            json_out.write(json.dumps(_record(path, seq, t, dets, violations), ensure_ascii=False) + "\n")
            json_out.flush()
        if out_dir is not None:
            drawn = _draw(annotator, image, dets, violations, t)
            if is_image:
                out_dir.mkdir(parents=True, exist_ok=True)
                target = out_dir / f"{path.stem}_annotated.png"
                cv2.imwrite(str(target), drawn)
                outputs.append(target)
            else:
                if writer is None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    writer = _VideoWriter(out_dir / f"{path.stem}_annotated.mp4", drawn.shape[1], drawn.shape[0], fps)
                    outputs.append(writer.path)
                writer.write(drawn)
        if progress is not None:
            progress(n_frames)
    if writer is not None:
        writer.close()
    if n_frames == 0:
        raise InputError(f"{path}: no frames could be decoded")
    return OfflineResult(n_frames, n_dets, n_viol, tuple(outputs))


def _record(path: Path, seq: int, t: float, dets: Detections, violations: list[Violation]) -> dict[str, Any]:
    return {
        "source": str(path),
        "frame": seq,
        "time_s": round(t, 3),
        "detections": [
            {"label": lab, "score": round(float(s), 4), "box": [round(float(v), 1) for v in box], "track_id": int(tid)}
            for box, s, lab, tid in zip(dets.xyxy, dets.scores, dets.labels, dets.track_ids, strict=True)
        ],
        "violations": [
            {
                "class": v.class_id,
                "rule": v.rule,
                "zone": v.zone_id,
                "track_id": v.track_id,
                "score": round(v.score, 4),
                "duration_s": v.duration_s,
            }
            for v in violations
        ],
    }


def _draw(
    annotator: Annotator, image: npt.NDArray[np.uint8], dets: Detections, violations: list[Violation], t: float
) -> npt.NDArray[np.uint8]:
    h, w = image.shape[:2]
    boxes = [
        ((box[0] / w, box[1] / h, box[2] / w, box[3] / h), f"{lab} {s:.2f} #{tid}")
        for box, s, lab, tid in zip(dets.xyxy, dets.scores, dets.labels, dets.track_ids, strict=True)
    ]
    caption = f"t={t:.1f}s " + (" ".join(sorted({v.class_id for v in violations})) or "")
    return annotator.draw(image, boxes, caption.strip())


class _VideoWriter:
    """H.264 MP4 through PyAV (even dimensions required by yuv420p)."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self.container = av.open(str(path), mode="w")
        self.stream = self.container.add_stream("libx264", rate=max(1, round(fps)))
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"preset": "veryfast", "crf": "26"}

    def write(self, image: npt.NDArray[np.uint8]) -> None:
        image = image[: self.stream.height, : self.stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
