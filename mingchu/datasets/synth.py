"""Synthetic kitchen scenes with exact labels for every vocabulary class.

Real backgrounds (video frames, photos) when given, procedural tiled kitchens otherwise; objects
drawn by :mod:`sprites` / :mod:`things`; then random light, blur, noise and JPEG quality.
Image *i* depends only on ``(seed, i)`` and the background list, so any image can be regenerated alone.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from mingchu.datasets.progress import progress
from mingchu.datasets.sprites import Image, Labelled, PersonStyle, draw_person
from mingchu.datasets.things import ASPECT, DRAWERS, draw_clutter
from mingchu.datasets.vocabulary import Vocabulary, load_vocabulary
from mingchu.datasets.yolo_format import IMAGE_EXTS, DatasetYaml, row_from_xyxy, save_dataset_yaml, write_labels

VIDEO_EXTS = (".avi", ".mp4", ".mkv", ".mov")


class SynthConfig(BaseModel):
    """Knobs of the generator; the defaults produced the demo weights."""

    model_config = ConfigDict(extra="forbid")
    count: Annotated[int, Field(ge=1)] = 1000
    width: Annotated[int, Field(ge=64)] = 384
    height: Annotated[int, Field(ge=64)] = 288
    seed: int = 0
    backgrounds: list[Path] = Field(default_factory=list)
    max_background_frames: Annotated[int, Field(ge=1)] = 80
    procedural_background_p: Annotated[float, Field(ge=0, le=1)] = 0.25
    persons_p: tuple[float, float, float, float] = (0.1, 0.45, 0.35, 0.1)
    max_things: Annotated[int, Field(ge=0)] = 4


@dataclass(frozen=True)
class Scene:
    image: Image
    objects: list[Labelled]


def load_backgrounds(sources: list[Path], max_frames: int, long_side: int) -> list[Image]:
    """Frames sampled evenly from videos plus photos from directories, downscaled once."""
    out: list[Image] = []
    for src in sources:
        if not src.exists():
            raise FileNotFoundError(f"background source not found: {src}")
        if src.is_file() and src.suffix.lower() in VIDEO_EXTS:
            cap = cv2.VideoCapture(str(src))
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or max_frames
            wanted = set(np.linspace(0, n - 1, min(n, max_frames)).astype(int).tolist())
            for i in range(n):
                ok, frame = cap.read()
                if not ok:
                    break
                if i in wanted:
                    out.append(_shrink(np.asarray(frame, np.uint8), long_side))
            cap.release()
            continue
        files = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTS) if src.is_dir() else [src]
        for f in files[:max_frames]:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is not None and min(img.shape[:2]) >= 64:
                out.append(_shrink(np.asarray(img, np.uint8), long_side))
    return out


def _shrink(img: Image, long_side: int) -> Image:
    scale = long_side / max(img.shape[:2])
    if scale >= 1:
        return img
    return np.asarray(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)


def procedural_background(w: int, h: int, rng: np.random.Generator) -> Image:
    """Tiled wall over a floor with a steel counter: a plain kitchen when no photos are available."""
    img = np.empty((h, w, 3), np.uint8)
    wall = rng.integers(120, 240, 3)
    floor = rng.integers(60, 160, 3)
    horizon = int(h * rng.uniform(0.45, 0.7))
    img[:horizon] = wall
    img[horizon:] = floor
    tile = int(rng.integers(12, 40))
    grout = (wall * 0.8).astype(np.uint8).tolist()
    for x in range(0, w, tile):
        cv2.line(img, (x, 0), (x, horizon), grout, 1)
    for y in range(0, horizon, tile):
        cv2.line(img, (0, y), (w, y), grout, 1)
    top = int(horizon - h * rng.uniform(0.05, 0.2))
    cv2.rectangle(img, (0, top), (w, horizon), rng.integers(150, 210, 3).tolist(), -1)
    return img


def _background(cfg: SynthConfig, backgrounds: list[Image], rng: np.random.Generator) -> Image:
    w, h = cfg.width, cfg.height
    if not backgrounds or rng.random() < cfg.procedural_background_p:
        return procedural_background(w, h, rng)
    src = backgrounds[int(rng.integers(len(backgrounds)))]
    sh, sw = src.shape[:2]
    scale = max(w / sw, h / sh) * float(rng.uniform(1.0, 1.4))
    big = cv2.resize(src, (max(w, round(sw * scale)), max(h, round(sh * scale))))
    y0, x0 = int(rng.integers(0, big.shape[0] - h + 1)), int(rng.integers(0, big.shape[1] - w + 1))
    crop = big[y0 : y0 + h, x0 : x0 + w]
    return np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)


def _overlaps(
    box: tuple[float, float, float, float], taken: list[tuple[float, float, float, float]], limit: float
) -> bool:
    """True when ``box`` covers more than ``limit`` of itself or of any taken box."""
    for t in taken:
        iw = min(box[2], t[2]) - max(box[0], t[0])
        ih = min(box[3], t[3]) - max(box[1], t[1])
        if iw > 0 and ih > 0:
            inter = iw * ih
            small = min((box[2] - box[0]) * (box[3] - box[1]), (t[2] - t[0]) * (t[3] - t[1]))
            if inter / max(small, 1e-6) > limit:
                return True
    return False


def _person_style(rng: np.random.Generator) -> PersonStyle:
    return PersonStyle(
        hat=bool(rng.random() < 0.5),
        mask=bool(rng.random() < 0.5),
        torso=str(rng.choice(["uniform", "street", "bare_torso"], p=[0.4, 0.33, 0.27])),
        gloves=bool(rng.random() < 0.5),
        prop=str(rng.choice(["none", "cigarette", "phone"], p=[0.4, 0.3, 0.3])),
    )


def _photometric(img: Image, rng: np.random.Generator) -> Image:
    """Lighting gain/gamma/colour cast, optional blur, sensor noise: what cheap cameras do."""
    f = img.astype(np.float32) / 255.0
    f = (
        f ** float(rng.uniform(0.7, 1.4))
        * float(rng.uniform(0.6, 1.25))
        * rng.uniform(0.88, 1.12, 3).astype(np.float32)
    )
    if rng.random() < 0.35:
        f = np.asarray(cv2.GaussianBlur(f, (0, 0), float(rng.uniform(0.4, 1.1))), np.float32)
    f = f + rng.normal(0, float(rng.uniform(0, 0.03)), f.shape).astype(np.float32)
    out: npt.NDArray[np.uint8] = (np.clip(f, 0, 1) * 255).astype(np.uint8)
    return out


def render_scene(cfg: SynthConfig, index: int, backgrounds: list[Image]) -> Scene:
    """Draw image ``index`` of the set; deterministic in (cfg.seed, index)."""
    rng = np.random.default_rng([cfg.seed, index])
    w, h = cfg.width, cfg.height
    img = _background(cfg, backgrounds, rng)
    draw_clutter(img, rng)
    taken: list[tuple[float, float, float, float]] = []
    objects: list[Labelled] = []
    for _ in range(int(rng.choice(4, p=cfg.persons_p))):
        for _try in range(12):
            body = min(float(rng.uniform(0.5, 0.84)) * h, (h - 4) / 1.17)  # toque included
            feet = float(rng.uniform(body * 1.17 + 2, h - 1))
            cx = float(rng.uniform(0.4 * body, w - 0.4 * body))  # hands reach ~0.38 body from centre
            guess = (cx - 0.3 * body, feet - 1.17 * body, cx + 0.3 * body, feet)
            if not _overlaps(guess, taken, 0.03):
                parts = draw_person(img, cx, feet, body, _person_style(rng), rng)
                taken.append(parts[0].box)
                objects.extend(parts)
                break
    kinds = list(ASPECT)
    for _ in range(int(rng.integers(1, cfg.max_things + 1)) if cfg.max_things else 0):
        kind = kinds[int(rng.integers(len(kinds)))]
        aspect, lo, hi = ASPECT[kind]
        bh = float(rng.uniform(lo, hi)) * h
        bw = bh * aspect * float(rng.uniform(0.9, 1.1))
        for _try in range(12):
            x, y = float(rng.uniform(1, w - bw - 1)), float(rng.uniform(1, h - bh - 1))
            box = (x, y, x + bw, y + bh)
            if not _overlaps(box, taken, 0.0):
                objects.append(DRAWERS[kind](img, x, y, bw, bh, rng))
                taken.append(box)
                break
    return Scene(_photometric(img, rng), [o for o in objects if _mostly_inside(o.box, w, h)])


def _mostly_inside(box: tuple[float, float, float, float], w: int, h: int) -> bool:
    """Keep a label only if at least 60 % of it and 3 px each way are inside the frame."""
    x0, y0, x1, y1 = max(box[0], 0.0), max(box[1], 0.0), min(box[2], float(w)), min(box[3], float(h))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return False
    return (x1 - x0) * (y1 - y0) >= 0.6 * (box[2] - box[0]) * (box[3] - box[1])


def generate(cfg: SynthConfig, out: Path, vocabulary: Vocabulary | None = None) -> Path:
    """Write ``cfg.count`` images + labels + dataset.yaml under ``out``; returns the yaml path."""
    vocab = vocabulary or load_vocabulary()
    backgrounds = load_backgrounds(cfg.backgrounds, cfg.max_background_frames, max(cfg.width, cfg.height) * 2)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    for i in progress(range(cfg.count), cfg.count, "synth"):
        scene = render_scene(cfg, i, backgrounds)
        rng = np.random.default_rng([cfg.seed, i, 1])
        stem = f"synth_{cfg.seed}_{i:06d}"
        quality = int(rng.integers(55, 96))
        ok, buf = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for image {i}")
        (out / "images" / f"{stem}.jpg").write_bytes(buf.tobytes())
        rows = [row_from_xyxy(vocab.index(o.label), o.box, cfg.width, cfg.height) for o in scene.objects]
        write_labels(out / "labels" / f"{stem}.txt", rows)
    info = DatasetYaml(
        names=list(vocab.names), vocabulary_version=vocab.version, source=f"mingchu synth seed={cfg.seed}"
    )
    return save_dataset_yaml(out, info)


def draw_preview(images: list[Image], objects: list[list[Labelled]], path: Path, cols: int = 4) -> Path:
    """Grid of images with their labelled boxes: the quickest check that labels match pixels."""
    tiles = []
    for img, objs in zip(images, objects, strict=True):
        tile = img.copy()
        for o in objs:
            x0, y0, x1, y1 = (round(v) for v in o.box)
            color = tuple(int(c) for c in np.random.default_rng(zlib.crc32(o.label.encode())).integers(60, 255, 3))
            cv2.rectangle(tile, (x0, y0), (x1, y1), color, 1)
            cv2.putText(tile, o.label, (x0, max(8, y0 - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.3, color, 1, cv2.LINE_AA)
        tiles.append(tile)
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)]
    cv2.imwrite(str(path), np.vstack(rows))
    return path
