"""Draw a registry model's detections on the real test assets into one PNG for its model card.

Why: a picture shows at a glance what the model finds and what it confuses (the static cone
read as a person, litter read as a sports ball), which numbers in a table do not.

    .venv/bin/python models/render_examples.py [--model coco-nanodet-g] [--threshold 0.35]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.detect.base import DetectorSpec  # noqa: E402
from edge_agent.detect.registry import create_detector  # noqa: E402
from edge_agent.detections import Detections  # noqa: E402
from mingchu.labels import Vocabulary, map_label  # noqa: E402
from mingchu.model_registry import resolve_model  # noqa: E402

ASSETS = ROOT / "tests" / "assets"
TILE_W, TILE_H = 480, 360


def read(name: str) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(ASSETS / name))
    if image is None:
        raise SystemExit(f"cannot read {ASSETS / name}")
    return np.asarray(image, np.uint8)


def vtest_frames() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Frame 60 and the per-pixel median of every 5th frame (an 'empty' car park)."""
    cap = cv2.VideoCapture(str(ASSETS / "vtest_10s.mp4"))
    frames: list[npt.NDArray[np.uint8]] = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.asarray(frame, np.uint8))
    median = np.median(np.stack(frames[::5]), axis=0).astype(np.uint8)
    return frames[60], median


def tile(image: npt.NDArray[np.uint8], dets: Detections, title: str, vocabulary: Vocabulary) -> npt.NDArray[np.uint8]:
    out = image.copy()
    for label, score, box in zip(dets.labels, dets.scores, dets.xyxy.astype(int), strict=True):
        used = map_label(label, vocabulary) is not None
        colour = (0, 200, 0) if used else (0, 140, 255)  # green: feeds a rule; orange: ignored by rules
        cv2.rectangle(out, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), colour, 2)
        cv2.putText(out, f"{label} {score:.2f}", (int(box[0]) + 2, max(12, int(box[1]) - 4)), 0, 0.5, colour, 2)
    scale = min(TILE_W / out.shape[1], TILE_H / out.shape[0])
    size = (round(out.shape[1] * scale), round(out.shape[0] * scale))
    out = np.asarray(cv2.resize(out, size, interpolation=cv2.INTER_AREA), np.uint8)
    canvas = np.full((TILE_H + 26, TILE_W, 3), 255, np.uint8)
    canvas[26 : 26 + out.shape[0], : out.shape[1]] = out
    cv2.putText(canvas, title, (4, 19), 0, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="coco-nanodet-g")
    parser.add_argument("--threshold", type=float, default=0.35)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    resolved = resolve_model(args.model)
    detector = create_detector(resolved.entry.family, DetectorSpec(resolved.path, score_threshold=args.threshold))
    frame60, median = vtest_frames()
    images = [(name, read(name)) for name in ("dog.jpg", "person.jpg", "chelsea.jpg", "eagle.jpg")]
    images += [("vtest frame 60", frame60), ("vtest median (empty scene)", median)]
    tiles = []
    for i, (name, image) in enumerate(images, 1):
        dets = detector.detect(image)
        print(f"[{i}/{len(images)}] {name}: {len(dets)} detections", flush=True)
        tiles.append(tile(image, dets, f"{name} - {args.model} @ {args.threshold}", resolved.entry.labels))
    rows = [np.hstack(tiles[i : i + 3]) for i in range(0, len(tiles), 3)]
    sheet = np.vstack(rows)
    output = args.output or ROOT / "models" / "cards" / f"{args.model}-examples.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    # 256-colour palette keeps the committed PNG small (photo PNGs are otherwise ~1.5 MB).
    Image.fromarray(sheet[:, :, ::-1]).quantize(256, dither=Image.Dither.NONE).save(output, optimize=True)
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
