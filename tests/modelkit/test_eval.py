"""eval: the exported demo model through our YoloDetector on a tiny split → PNGs + sane JSON."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from mingchu.datasets.split import split_dataset
from mingchu.datasets.synth import SynthConfig, generate
from mingchu.datasets.yolo_format import DatasetYaml, save_dataset_yaml
from mingchu.modelkit.cli import main
from mingchu.modelkit.evaluate import evaluate

MODEL = Path(__file__).resolve().parents[2] / "models" / "kitchen-demo-yolo11n-320.onnx"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    generate(SynthConfig(count=8, seed=424242), root)
    split_dataset(root, {"train": 0.5, "test": 0.5}, seed=0)
    return root


def test_eval_writes_pngs_and_sane_summary(tiny: Path, tmp_path: Path) -> None:
    res = evaluate(MODEL, tiny, "test", tmp_path / "ev")
    for name in ("per_class_ap50.png", "pr_curves.png", "confusion_matrix.png"):
        img = cv2.imread(str(tmp_path / "ev" / name))
        assert img is not None and img.std() > 0, name
    summary = json.loads(res.summary_path.read_text())
    assert summary["images"] == 4 and 0.0 <= summary["map50"] <= 1.0
    assert summary["map50"] > 0.3  # a trained model on its own kind of data, not noise
    aps = [v["ap50"] for v in summary["per_class"].values() if v["n_gt"] > 0]
    assert summary["map50"] == pytest.approx(sum(aps) / len(aps), abs=1e-3)


def test_eval_cli_and_bad_inputs(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(MODEL), "--dataset", str(tiny), "--split", "val", "--out", str(tmp_path)]) == 1
    assert "no 'val' split" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    save_dataset_yaml(other, DatasetYaml(names=["person"], test="test.txt"))
    assert main(["eval", str(MODEL), "--dataset", str(other), "--out", str(tmp_path / "o")]) == 1
    assert "differ from" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.onnx"), "--dataset", str(tiny), "--out", str(tmp_path / "o")]) == 1
    assert "model file not found" in capsys.readouterr().err
