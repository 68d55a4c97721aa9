"""mingchu-model CLI: synth end to end, clear errors and exit codes for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from mingchu.modelkit.cli import main


def test_synth_split_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = tmp_path / "ds"
    assert main(["synth", str(ds), "--count", "4", "--size", "160x120", "--preview", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 4 and cv2.imread(out["preview"]).shape == (120, 640, 3)
    assert main(["split", str(ds), "--fractions", "0.5,0.25,0.25", "--seed", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"train": 2, "val": 1, "test": 1}
    assert main(["stats", str(ds)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert Path(stats["histogram_png"]).is_file() and stats["images"] == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["synth", "{tmp}/o", "--size", "big"], "--size must look like 384x288"),
        (["synth", "{tmp}/o", "--count", "2", "--backgrounds", "{tmp}/none.avi"], "background source not found"),
        (["stats", "{tmp}/nothing"], "cannot read dataset description"),
        (["split", "{tmp}/nothing"], "cannot read dataset description"),
        (["quantize", "{tmp}/m.onnx", "--dataset", "{tmp}/nothing"], "cannot read dataset description"),
    ],
)
def test_bad_input_exits_1_with_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    assert message in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import-coco", "x.json", "--images", "d", "--out", "o", "--map", "nokeyvalue"])
    assert exc.value.code == 2 and "expected KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["frobnicate"])
