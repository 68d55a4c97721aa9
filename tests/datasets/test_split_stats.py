"""split is deterministic by seed and complete; stats draws a histogram PNG."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from mingchu.datasets.split import split_dataset
from mingchu.datasets.stats import dataset_stats
from mingchu.datasets.yolo_format import load_dataset_yaml, read_split
from mingchu.modelkit.cli import main
from tests.datasets.helpers import tiny_dataset


def _ds(root: Path) -> Path:
    return tiny_dataset(root, ["person", "phone"], {f"img{i:02d}": f"{i % 2} 0.5 0.5 0.2 0.2\n" for i in range(20)})


def test_split_is_deterministic_disjoint_and_complete(tmp_path: Path) -> None:
    a, b = _ds(tmp_path / "a"), _ds(tmp_path / "b")
    fr = {"train": 0.7, "val": 0.2, "test": 0.1}
    assert split_dataset(a, fr, seed=3) == {"train": 14, "val": 4, "test": 2}
    split_dataset(b, fr, seed=3)
    for name in fr:
        assert (a / f"{name}.txt").read_text() == (b / f"{name}.txt").read_text()
    parts = [set(read_split(a, f"{n}.txt")) for n in fr]
    assert set.union(*parts) == {p.resolve() for p in (a / "images").iterdir()}
    assert sum(len(p) for p in parts) == 20
    info = load_dataset_yaml(a)
    assert (info.train, info.val, info.test) == ("train.txt", "val.txt", "test.txt")
    split_dataset(b, fr, seed=4)
    assert (a / "train.txt").read_text() != (b / "train.txt").read_text()


def test_split_rejects_bad_fractions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _ds(tmp_path / "a")
    with pytest.raises(ValueError, match="sum to 1"):
        split_dataset(root, {"train": 0.5, "val": 0.2}, 0)
    with pytest.raises(ValueError, match="unknown split names"):
        split_dataset(root, {"train": 0.5, "dev": 0.5}, 0)
    with pytest.raises(SystemExit) as exc:
        main(["split", str(root), "--fractions", "a,b"])
    assert exc.value.code == 2
    assert "fractions must be numbers" in capsys.readouterr().err


def test_stats_histogram(tmp_path: Path) -> None:
    root = _ds(tmp_path / "a")
    png = tmp_path / "hist.png"
    stats = dataset_stats(root, png)
    assert stats["boxes"] == {"person": 10, "phone": 10} and stats["images"] == 20
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 50 and img.std() > 0
