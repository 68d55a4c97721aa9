"""Synthetic generator: exact in-range labels, determinism, every vocabulary class appears."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from mingchu.datasets.synth import SynthConfig, generate, load_backgrounds, render_scene
from mingchu.datasets.validate import validate_dataset
from mingchu.datasets.vocabulary import load_vocabulary
from mingchu.datasets.yolo_format import list_images, parse_labels

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_generated_dataset_is_valid_and_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vocab = load_vocabulary()
    cfg = SynthConfig(count=6, width=160, height=120, seed=5)
    generate(cfg, tmp_path / "a")
    generate(cfg, tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert "synth [" in capsys.readouterr().err  # progress bar
    report = validate_dataset(tmp_path / "a", vocab)
    assert report.ok, report.issues
    for image in list_images(tmp_path / "a"):
        assert cv2.imread(str(image)).shape == (120, 160, 3)
        rows, issues = parse_labels(tmp_path / "a" / "labels" / f"{image.stem}.txt", len(vocab.names))
        assert not issues
        for r in rows:
            assert r.cx - r.w / 2 >= 0 and r.cx + r.w / 2 <= 1 and r.cy - r.h / 2 >= 0 and r.cy + r.h / 2 <= 1
    generate(cfg.model_copy(update={"seed": 6}), tmp_path / "c")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_every_label_is_drawn_and_boxes_lie_on_drawn_pixels() -> None:
    cfg = SynthConfig(count=40, seed=1, procedural_background_p=1.0)
    seen: set[str] = set()
    for i in range(40):
        scene = render_scene(cfg, i, [])
        seen.update(o.label for o in scene.objects)
        for o in scene.objects:
            x0, y0, x1, y1 = o.box
            assert 0 <= x0 < x1 <= cfg.width and 0 <= y0 < y1 <= cfg.height
    assert seen == set(load_vocabulary().names)


def test_people_wear_what_their_labels_say() -> None:
    """The head box of a hatted person is taller than a bare head (the toque is inside the box)."""
    cfg = SynthConfig(count=60, seed=2, procedural_background_p=1.0)
    ratio: dict[str, list[float]] = {"head_hat": [], "head_bare": []}
    for i in range(60):
        for o in render_scene(cfg, i, []).objects:
            if o.label in ratio:
                ratio[o.label].append((o.box[3] - o.box[1]) / (o.box[2] - o.box[0]))
    assert np.median(ratio["head_hat"]) > 1.2 * np.median(ratio["head_bare"])


def test_backgrounds_from_video_and_bad_source(tmp_path: Path) -> None:
    clip = ASSETS / "vtest_10s.mp4"
    if not clip.is_file():
        pytest.skip("tests/assets/vtest_10s.mp4 not present")
    frames = load_backgrounds([clip], max_frames=3, long_side=200)
    assert len(frames) == 3 and max(frames[0].shape[:2]) == 200
    with pytest.raises(FileNotFoundError, match="background source not found"):
        load_backgrounds([tmp_path / "nope.avi"], 3, 200)
