"""COCO and CVAT / Label Studio YOLO importers: class mapping, unmapped names, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mingchu.datasets.importers import ImportProblem, import_coco, import_yolo
from mingchu.datasets.validate import validate_dataset
from mingchu.datasets.vocabulary import load_vocabulary
from mingchu.datasets.yolo_format import load_dataset_yaml, parse_labels
from mingchu.modelkit.cli import main
from tests.datasets.helpers import write_image

VOCAB = load_vocabulary()


def _coco(tmp_path: Path) -> tuple[Path, Path]:
    images = tmp_path / "coco_images"
    write_image(images / "k1.jpg", 100, 50)
    write_image(images / "k2.jpg", 100, 50)
    data = {
        "images": [
            {"id": 1, "file_name": "k1.jpg", "width": 100, "height": 50},
            {"id": 2, "file_name": "k2.jpg", "width": 100, "height": 50},
            {"id": 3, "file_name": "gone.jpg", "width": 100, "height": 50},
        ],
        "categories": [
            {"id": 1, "name": "person"},
            {"id": 77, "name": "cell phone"},
            {"id": 74, "name": "mouse"},
            {"id": 80, "name": "toaster"},
        ],
        "annotations": [
            {"image_id": 1, "category_id": 1, "bbox": [10, 5, 20, 40]},
            {"image_id": 1, "category_id": 77, "bbox": [50, 10, 10, 20]},
            {"image_id": 2, "category_id": 74, "bbox": [0, 0, 10, 10]},
            {"image_id": 2, "category_id": 1, "bbox": [90, 10, 30, 10]},
            {"image_id": 2, "category_id": 1},
        ],
    }
    ann = tmp_path / "instances.json"
    ann.write_text(json.dumps(data), encoding="utf-8")
    return ann, images


def test_coco_import_maps_names_and_reports_the_rest(tmp_path: Path) -> None:
    ann, images = _coco(tmp_path)
    out = tmp_path / "out"
    report = import_coco(ann, images, out, VOCAB)
    assert report.images == 2
    assert report.boxes == {"person": 1, "phone": 1}
    assert report.unmapped == {"mouse": 1, "toaster": 0}
    assert any("outside 100x50" in p for p in report.problems)
    assert any("annotation #4: malformed" in p for p in report.problems)
    assert any("gone.jpg" in p and "missing" in p for p in report.problems)
    rows, issues = parse_labels(out / "labels" / "1_k1.txt", len(VOCAB.names))
    assert not issues
    person = next(r for r in rows if r.class_id == VOCAB.index("person"))
    assert person.xyxy(100, 50) == pytest.approx((10, 5, 30, 45))
    assert load_dataset_yaml(out).names == list(VOCAB.names)
    assert validate_dataset(out, VOCAB).ok


def test_coco_override_and_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ann, images = _coco(tmp_path)
    report = import_coco(ann, images, tmp_path / "o1", VOCAB, {"toaster": "flame"})
    assert "toaster" not in report.unmapped
    with pytest.raises(ImportProblem, match="--map targets not in the vocabulary"):
        import_coco(ann, images, tmp_path / "o2", VOCAB, {"toaster": "oven"})
    with pytest.raises(ImportProblem, match="output directory is not empty"):
        import_coco(ann, images, tmp_path / "o1", VOCAB)
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": []}', encoding="utf-8")
    assert main(["import-coco", str(bad), "--images", str(images), "--out", str(tmp_path / "o3")]) == 1
    assert "not a COCO instances file" in capsys.readouterr().err


def test_cvat_yolo_export(tmp_path: Path) -> None:
    export = tmp_path / "cvat"
    (export / "obj.names").parent.mkdir(parents=True)
    (export / "obj.names").write_text("Chef Hat\nno_mask\nspoon\n", encoding="utf-8")
    write_image(export / "obj_train_data" / "f1.jpg")
    (export / "obj_train_data" / "f1.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n2 0.6 0.6 0.1 0.1\n")
    write_image(export / "obj_train_data" / "f2.png")
    (export / "obj_train_data" / "f2.txt").write_text("0 0.5 0.5 0.2\n")
    out = tmp_path / "out"
    report = import_yolo(export, out, VOCAB)
    assert report.images == 2
    assert report.boxes == {"head_hat": 1, "face_bare": 1}
    assert report.unmapped == {"spoon": 1}
    assert any("f2.txt:1" in p for p in report.problems)
    rows, _ = parse_labels(out / "labels" / "f1.txt", len(VOCAB.names))
    assert [VOCAB.names[r.class_id] for r in rows] == ["head_hat", "face_bare"]
    assert validate_dataset(out, VOCAB).ok


def test_label_studio_yolo_export_with_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "ls"
    (export / "labels").mkdir(parents=True)
    (export / "classes.txt").write_text("gloves\nrat\nstove fire\n", encoding="utf-8")
    write_image(export / "images" / "a.jpg")
    (export / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.2 0.2 0.1 0.1\n2 0.7 0.7 0.2 0.2\n")
    write_image(export / "images" / "b.jpg")  # no label file: background image
    code = main(["import-yolo", str(export), "--out", str(tmp_path / "out"), "--map", "rat=cockroach"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["boxes"] == {"hand_glove": 1, "cockroach": 1, "flame": 1} and summary["images"] == 2


def test_yolo_export_without_class_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "x" / "images" / "a.jpg")
    with pytest.raises(ImportProblem, match=r"no obj\.names"):
        import_yolo(tmp_path / "x", tmp_path / "out", VOCAB)
    assert main(["import-yolo", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 1
    assert "not a directory" in capsys.readouterr().err
