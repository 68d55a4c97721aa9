"""validate: each kind of bad input is reported as file:line, via the API and the CLI exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from mingchu.datasets.validate import validate_dataset
from mingchu.datasets.vocabulary import load_vocabulary
from mingchu.modelkit.cli import main
from tests.datasets.helpers import tiny_dataset, write_image

NAMES = ["person", "phone"]


def test_clean_dataset_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tiny_dataset(tmp_path / "ds", NAMES, {"a": "0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.1 0.1\n", "b": ""})
    report = validate_dataset(root, load_vocabulary())
    assert report.ok and report.images == 2 and report.boxes == {"person": 1, "phone": 1}
    assert main(["validate", str(root)]) == 0
    assert '"ok": true' in capsys.readouterr().out


def test_every_problem_is_listed_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = {
        "fields": "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n",
        "text": "0 0.5 zero 0.2 0.2\n",
        "cls": "\n5 0.5 0.5 0.2 0.2\n",
        "range": "0 0.95 0.5 0.2 0.2\n",
        "size": "1 0.5 0.5 0 0.2\n",
    }
    root = tiny_dataset(tmp_path / "ds", NAMES, labels, {"val": "val.txt"})
    (root / "images" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n", encoding="utf-8")
    (root / "val.txt").write_text("./images/fields.jpg\n./images/gone.jpg\n", encoding="utf-8")
    issues = {f"{i.file.name}:{i.line}": i.message for i in validate_dataset(root).issues}
    assert "expected 5 fields" in issues["fields.txt:2"]
    assert "non-numeric" in issues["text.txt:1"]
    assert "unknown class id 5" in issues["cls.txt:2"]
    assert "outside the image" in issues["range.txt:1"]
    assert "non-positive size" in issues["size.txt:1"]
    assert "unreadable" in issues["broken.jpg:0"]
    assert "no matching image" in issues["orphan.txt:0"]
    assert "listed image missing" in issues["val.txt:2"]
    assert len(issues) == 8

    assert main(["validate", str(root)]) == 1
    err = capsys.readouterr().err
    assert "8 problem(s)" in err and f"{root / 'labels' / 'cls.txt'}:2: unknown class id 5" in err


def test_unknown_vocabulary_class_and_missing_yaml(tmp_path: Path) -> None:
    root = tiny_dataset(tmp_path / "ds", ["person", "spatula"], {"a": "1 0.5 0.5 0.1 0.1\n"})
    issues = validate_dataset(root, load_vocabulary()).issues
    assert any("'spatula' is not in the vocabulary" in i.message for i in issues)
    empty = tmp_path / "empty"
    write_image(empty / "images" / "x.jpg")
    issues = validate_dataset(empty).issues
    assert issues and "dataset.yaml" in str(issues[0]) and "cannot read dataset description" in issues[0].message
