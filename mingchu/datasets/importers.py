"""Import labelled data from other tools into our YOLO layout and vocabulary.

Supported: COCO JSON (instances), and YOLO exports from CVAT ("YOLO 1.1": ``obj.names`` +
``obj_train_data/``), Label Studio ("YOLO": ``classes.txt`` + ``images/`` + ``labels/``) and
ultralytics (``data.yaml``/``dataset.yaml`` with ``names``). Class names are mapped onto the
vocabulary through its aliases plus explicit ``--map theirs=ours``; unmapped names are reported
and their boxes skipped (never silently renamed).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mingchu.datasets.vocabulary import Vocabulary, normalise_name
from mingchu.datasets.yolo_format import (
    IMAGE_EXTS,
    DatasetYaml,
    LabelRow,
    parse_labels,
    row_from_xyxy,
    save_dataset_yaml,
    write_labels,
)


class ImportProblem(ValueError):
    """The export cannot be imported as given (message names the file)."""


@dataclass
class ImportReport:
    images: int = 0
    boxes: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "boxes": dict(self.boxes),
            "unmapped_classes": dict(self.unmapped),
            "problems": self.problems,
        }


def build_mapping(foreign: list[str], vocab: Vocabulary, overrides: dict[str, str]) -> dict[str, str | None]:
    """Their class name → our label (None = unmapped). Overrides win; bad override targets fail."""
    bad = {k: v for k, v in overrides.items() if v not in vocab.names}
    if bad:
        raise ImportProblem(f"--map targets not in the vocabulary: {bad}; known labels: {', '.join(vocab.names)}")
    norm_over = {normalise_name(k): v for k, v in overrides.items()}
    return {name: norm_over.get(normalise_name(name), vocab.resolve(name)) for name in foreign}


def _start(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise ImportProblem(f"{out}: output directory is not empty")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)


def _finish(out: Path, vocab: Vocabulary, source: str) -> None:
    save_dataset_yaml(out, DatasetYaml(names=list(vocab.names), vocabulary_version=vocab.version, source=source))


def import_coco(
    annotations: Path, images_dir: Path, out: Path, vocab: Vocabulary, overrides: dict[str, str] | None = None
) -> ImportReport:
    """COCO ``instances`` JSON → YOLO; boxes are ``[x, y, w, h]`` pixels in COCO."""
    try:
        data = json.loads(annotations.read_text(encoding="utf-8"))
        categories = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        images = {int(i["id"]): i for i in data["images"]}
        anns = data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImportProblem(f"{annotations}: not a COCO instances file: {exc}") from exc
    mapping = build_mapping(sorted(set(categories.values())), vocab, overrides or {})
    report = ImportReport(unmapped=Counter({k: 0 for k, v in mapping.items() if v is None}))
    by_image: dict[int, list[LabelRow]] = {i: [] for i in images}
    for n, ann in enumerate(anns):
        try:
            img = images[int(ann["image_id"])]
            name = categories[int(ann["category_id"])]
            x, y, w, h = (float(v) for v in ann["bbox"])
            width, height = int(img["width"]), int(img["height"])
        except (KeyError, ValueError, TypeError) as exc:
            report.problems.append(f"{annotations}: annotation #{n}: malformed ({exc!r})")
            continue
        ours = mapping.get(name)
        if ours is None:
            report.unmapped[name] += 1
            continue
        if w <= 0 or h <= 0 or x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
            report.problems.append(f"{annotations}: annotation #{n}: bbox {ann['bbox']} outside {width}x{height}")
            continue
        by_image[int(ann["image_id"])].append(row_from_xyxy(vocab.index(ours), (x, y, x + w, y + h), width, height))
        report.boxes[ours] += 1
    _start(out)
    for image_id, rows in by_image.items():
        src = images_dir / str(images[image_id].get("file_name", ""))
        if not src.is_file():
            report.problems.append(f"{src}: image listed in {annotations.name} is missing")
            continue
        dst = out / "images" / f"{image_id}_{src.name}"
        shutil.copyfile(src, dst)
        write_labels(out / "labels" / f"{dst.stem}.txt", rows)
        report.images += 1
    _finish(out, vocab, f"coco:{annotations.name}")
    return report


def _yolo_names(export: Path) -> list[str]:
    for name in ("obj.names", "classes.txt"):
        f = export / name
        if f.is_file():
            return [line.strip() for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    for name in ("data.yaml", "dataset.yaml"):
        f = export / name
        if f.is_file():
            try:
                names = (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("names")
            except yaml.YAMLError as exc:
                raise ImportProblem(f"{f}: invalid YAML: {exc}") from exc
            if isinstance(names, dict):
                names = [names[k] for k in sorted(names)]
            if isinstance(names, list) and names:
                return [str(n) for n in names]
            raise ImportProblem(f"{f}: no 'names' list")
    raise ImportProblem(f"{export}: no obj.names (CVAT), classes.txt (Label Studio) or data.yaml (ultralytics) found")


def _find_label(image: Path, export: Path) -> Path | None:
    """Label next to the image (CVAT) or in the parallel ``labels`` tree (Label Studio/ultralytics)."""
    beside = image.with_suffix(".txt")
    if beside.is_file():
        return beside
    rel = image.relative_to(export).parts
    if "images" in rel:
        i = len(rel) - 1 - rel[::-1].index("images")
        candidate = export.joinpath(*rel[:i], "labels", *rel[i + 1 :]).with_suffix(".txt")
        if candidate.is_file():
            return candidate
    return None


def import_yolo(export: Path, out: Path, vocab: Vocabulary, overrides: dict[str, str] | None = None) -> ImportReport:
    """CVAT / Label Studio / ultralytics YOLO export → our layout, classes remapped by name."""
    if not export.is_dir():
        raise ImportProblem(f"{export}: not a directory")
    names = _yolo_names(export)
    mapping = build_mapping(names, vocab, overrides or {})
    report = ImportReport(unmapped=Counter({k: 0 for k, v in mapping.items() if v is None}))
    images = sorted(p for p in export.rglob("*") if p.suffix.lower() in IMAGE_EXTS and out not in p.parents)
    if not images:
        raise ImportProblem(f"{export}: no images found")
    _start(out)
    used: set[str] = set()
    for image in images:
        stem = image.stem if image.stem not in used else f"{image.parent.name}_{image.stem}"
        used.add(stem)
        rows: list[LabelRow] = []
        label = _find_label(image, export)
        if label is not None:
            parsed, issues = parse_labels(label, len(names))
            report.problems.extend(str(i) for i in issues)
            for r in parsed:
                ours = mapping[names[r.class_id]]
                if ours is None:
                    report.unmapped[names[r.class_id]] += 1
                    continue
                rows.append(LabelRow(vocab.index(ours), r.cx, r.cy, r.w, r.h))
                report.boxes[ours] += 1
        shutil.copyfile(image, out / "images" / f"{stem}{image.suffix.lower()}")
        write_labels(out / "labels" / f"{stem}.txt", rows)
        report.images += 1
    _finish(out, vocab, f"yolo:{export.name}")
    return report
