"""YOLO-format datasets as we lay them out: ``images/``, ``labels/``, ``dataset.yaml``, split lists.

Layout (ultralytics-compatible; it maps ``/images/`` → ``/labels/`` to find a label file)::

    <root>/dataset.yaml        names, vocabulary_version, optional train/val/test list files
    <root>/images/<stem>.jpg
    <root>/labels/<stem>.txt   one ``class cx cy w h`` line per box, normalised to 0..1
    <root>/train.txt           ``./images/…`` paths (written by ``split``); ultralytics reads ``./`` as
                               the list file's directory, so split lists live in <root> itself
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DATASET_YAML = "dataset.yaml"


class DatasetYaml(BaseModel):
    """The dataset.yaml keys we read and write (plus the few ultralytics adds)."""

    model_config = ConfigDict(extra="forbid")
    names: list[str]
    nc: int | None = None
    path: str | None = None
    train: str | None = None
    val: str | None = None
    test: str | None = None
    vocabulary_version: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class Issue:
    """One problem found in a dataset, reported as ``file:line: message``."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class LabelRow:
    class_id: int
    cx: float
    cy: float
    w: float
    h: float

    def to_line(self) -> str:
        return f"{self.class_id} {self.cx:.6f} {self.cy:.6f} {self.w:.6f} {self.h:.6f}"

    def xyxy(self, width: int, height: int) -> tuple[float, float, float, float]:
        return (
            (self.cx - self.w / 2) * width,
            (self.cy - self.h / 2) * height,
            (self.cx + self.w / 2) * width,
            (self.cy + self.h / 2) * height,
        )


def row_from_xyxy(class_id: int, box: tuple[float, float, float, float], width: int, height: int) -> LabelRow:
    """Pixel xyxy → normalised row, clipped to the image so every written label is in range."""
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    x1, y1 = min(float(width), box[2]), min(float(height), box[3])
    return LabelRow(class_id, (x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height)


def load_dataset_yaml(root: Path) -> DatasetYaml:
    path = root / DATASET_YAML
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("names"), dict):
            raw["names"] = [raw["names"][k] for k in sorted(raw["names"])]
        return DatasetYaml.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: cannot read dataset description: {exc}") from exc


def save_dataset_yaml(root: Path, info: DatasetYaml) -> Path:
    path = root / DATASET_YAML
    data = info.model_dump(exclude_none=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def label_path_for(image: Path) -> Path:
    """Same rule as ultralytics: the last ``images`` directory in the path becomes ``labels``."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def list_images(root: Path) -> list[Path]:
    """Every image under ``root/images`` in a stable (sorted) order."""
    return sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_EXTS)


def parse_labels(path: Path, num_classes: int) -> tuple[list[LabelRow], list[Issue]]:
    """Read one label file, collecting every bad line rather than stopping at the first."""
    rows: list[LabelRow] = []
    issues: list[Issue] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Issue(path, 0, f"unreadable label file: {exc}")]
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 5:
            issues.append(Issue(path, n, f"expected 5 fields 'class cx cy w h', got {len(fields)}"))
            continue
        try:
            cls = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            issues.append(Issue(path, n, f"non-numeric value in {line.strip()!r}"))
            continue
        if not 0 <= cls < num_classes:
            issues.append(Issue(path, n, f"unknown class id {cls} (dataset has {num_classes} classes)"))
            continue
        if w <= 0 or h <= 0:
            issues.append(Issue(path, n, f"box has non-positive size w={w} h={h}"))
            continue
        eps = 1e-4
        if cx - w / 2 < -eps or cy - h / 2 < -eps or cx + w / 2 > 1 + eps or cy + h / 2 > 1 + eps:
            issues.append(Issue(path, n, f"box outside the image (normalised {cx} {cy} {w} {h})"))
            continue
        rows.append(LabelRow(cls, cx, cy, w, h))
    return rows, issues


def write_labels(path: Path, rows: list[LabelRow]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r.to_line() + "\n" for r in rows), encoding="utf-8")


def read_split(root: Path, list_file: str) -> list[Path]:
    """Image paths of one split list (paths inside are relative to ``root``)."""
    path = root / list_file
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read split list: {exc}") from exc
    return [(root / line.strip()).resolve() for line in lines if line.strip()]


def dataset_sha256(root: Path) -> str:
    """Content hash of dataset.yaml, images and labels: pins which data produced a model."""
    import hashlib

    digest = hashlib.sha256()
    files = [root / DATASET_YAML, *list_images(root), *sorted((root / "labels").rglob("*.txt"))]
    for f in files:
        if f.is_file():
            digest.update(f.relative_to(root).as_posix().encode())
            digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()
