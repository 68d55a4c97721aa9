"""Static int8 quantisation keeps metadata and loads in YoloDetector; the 1-point keep rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_agent.detect import DetectorSpec
from edge_agent.detect.yolo import YoloDetector
from mingchu.datasets.split import split_dataset
from mingchu.datasets.synth import SynthConfig, generate
from mingchu.datasets.yolo_format import list_images
from mingchu.modelkit.cli import main
from mingchu.modelkit.export import read_metadata
from mingchu.modelkit.quantize import _float_tail, decide, quantize_static_int8

MODEL = Path(__file__).resolve().parents[2] / "models" / "kitchen-demo-yolo11n-320.onnx"


def test_keep_rule(tmp_path: Path) -> None:
    f = tmp_path / "int8.onnx"
    f.write_bytes(b"x")
    kept = decide(0.90, 0.895, f)
    assert kept.kept and kept.int8_path == f and f.exists() and kept.drop_points == pytest.approx(0.5)
    dropped = decide(0.90, 0.885, f)
    assert not dropped.kept and dropped.int8_path is None and not f.exists()
    assert not decide(0.9, float("nan"), f).kept


def test_decode_tail_stays_float() -> None:
    tail = _float_tail(MODEL)
    assert tail and all(name.startswith("/model.23/") for name in tail)
    assert any("dfl" in name for name in tail) and not any("/cv2." in n or "/cv3." in n for n in tail)


@pytest.mark.slow
def test_quantize_loads_and_keeps_metadata(tmp_path: Path) -> None:
    generate(SynthConfig(count=4, seed=77), tmp_path / "ds")
    out = quantize_static_int8(MODEL, tmp_path / "int8.onnx", list_images(tmp_path / "ds"))
    meta = read_metadata(out)
    assert meta["mingchu_quantization"] == "static-int8-qdq"
    assert meta["names"] == read_metadata(MODEL)["names"]
    det = YoloDetector(DetectorSpec(path=out))
    found = det.detect(np.full((288, 384, 3), 100, np.uint8))
    assert all(label in det.class_names for label in found.labels)
    with pytest.raises(ValueError, match="calibration images"):
        quantize_static_int8(MODEL, tmp_path / "x.onnx", [])


@pytest.mark.slow
def test_quantize_cli_reports_both_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(SynthConfig(count=8, seed=78), tmp_path / "ds")
    split_dataset(tmp_path / "ds", {"train": 0.5, "test": 0.5}, seed=0)
    out = tmp_path / "int8.onnx"
    args = ["quantize", str(MODEL), "--dataset", str(tmp_path / "ds"), "--out", str(out), "--calibration", "4"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert 0 <= res["int8_map50"] <= 1 and 0 <= res["fp32_map50"] <= 1
    assert res["kept"] == (res["fp32_map50"] - res["int8_map50"] < 0.01) == out.exists()
    assert not list(tmp_path.glob(".eval*"))  # evaluation scratch files do not leak next to the model
