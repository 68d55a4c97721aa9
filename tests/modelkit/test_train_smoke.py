"""CI smoke test of the training path: synth → train 1 epoch → export ONNX → edge YoloDetector.

Runs ultralytics in ``.venv-train`` (torch must never be imported into the runtime venv).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_agent.detect import DetectorSpec
from edge_agent.detect.yolo import YoloDetector
from mingchu.datasets.vocabulary import load_vocabulary
from mingchu.datasets.yolo_format import dataset_sha256

REPO = Path(__file__).resolve().parents[2]
TRAIN_CLI = REPO / ".venv-train" / "bin" / "mingchu-model"


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.train
def test_train_one_epoch_export_and_load(tmp_path: Path) -> None:
    if not TRAIN_CLI.exists():
        pytest.skip(".venv-train not found: create the training environment with `make train-env`")
    ds, run = tmp_path / "ds", tmp_path / "run"
    cli = [sys.executable, "-m", "mingchu.modelkit.cli"]
    _run([*cli, "synth", str(ds), "--count", "8", "--size", "128x96", "--seed", "3", "--preview", "0"], tmp_path)
    _run([*cli, "split", str(ds), "--fractions", "0.5,0.5"], tmp_path)
    out = _run(
        [
            str(TRAIN_CLI),
            "train",
            str(ds),
            "--out",
            str(run),
            "--imgsz",
            "96",
            "--epochs",
            "1",
            "--batch",
            "4",
            "--arg",
            "plots=False",
        ],
        tmp_path,
    )
    weights = Path(json.loads(out[out.index("{") :])["weights"])
    assert weights.is_file()
    onnx_path = tmp_path / "smoke.onnx"
    out = _run(
        [str(TRAIN_CLI), "export", str(weights), "--out", str(onnx_path), "--imgsz", "96", "--dataset", str(ds)],
        tmp_path,
    )
    meta = json.loads(out[out.index("{") :])["metadata"]
    assert meta["mingchu_dataset_sha256"] == dataset_sha256(ds)
    assert meta["mingchu_vocabulary_version"] == str(load_vocabulary().version)
    det = YoloDetector(DetectorSpec(path=onnx_path, score_threshold=0.01))
    assert det.class_names == load_vocabulary().names
    found = det.detect(np.full((96, 128, 3), 128, np.uint8))
    assert len(found) == len(found.scores) and all(lab in det.class_names for lab in found.labels)


def test_train_outside_training_env_says_how_to_get_one(tmp_path: Path) -> None:
    """In the runtime venv (no torch) `train` must fail clearly instead of importing torch."""
    proc = subprocess.run(
        [sys.executable, "-m", "mingchu.modelkit.cli", "train", str(tmp_path), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "torch" in sys.modules or _has_torch():
        pytest.skip("torch is importable here; this check is for the runtime venv")
    assert proc.returncode == 1
    assert "run in the training environment (make train-env)" in proc.stderr


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None
