"""Export trained weights to ONNX (ultralytics, train env) and stamp our provenance metadata.

ultralytics already writes ``names``, ``imgsz``, ``stride`` … into ``metadata_props``; we keep
those and add which dataset (content sha256), vocabulary version and Mingchu version made it.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from mingchu.datasets.vocabulary import load_vocabulary
from mingchu.datasets.yolo_format import dataset_sha256
from mingchu.modelkit.trainenv import offline_ultralytics, require_train_env


def mingchu_version() -> str:
    try:
        return version("mingchu")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0+unknown"


def read_metadata(model: Path) -> dict[str, str]:
    import onnx

    return {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}


def stamp_metadata(model: Path, extra: dict[str, str]) -> None:
    """Add/replace ``metadata_props`` entries in place, keeping every existing one."""
    import onnx

    proto = onnx.load(str(model))
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in extra.items():
        if key in existing:
            existing[key].value = value
        else:
            proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(model))


def provenance(dataset: Path | None) -> dict[str, str]:
    meta = {"mingchu_version": mingchu_version(), "mingchu_vocabulary_version": str(load_vocabulary().version)}
    if dataset is not None:
        meta["mingchu_dataset_sha256"] = dataset_sha256(dataset)
        meta["mingchu_dataset"] = dataset.resolve().name
    return meta


def export_onnx(weights: Path, out: Path, imgsz: int, dataset: Path | None = None, opset: int | None = None) -> Path:
    """``best.pt`` → ``out`` (.onnx, fixed 1x3ximgszximgsz, no NMS), with our metadata added."""
    require_train_env("export")
    if not weights.is_file():
        raise FileNotFoundError(f"weights not found: {weights}")
    offline_ultralytics(Path(tempfile.gettempdir()) / "mingchu-ultralytics")
    from ultralytics import YOLO

    kwargs = {"opset": opset} if opset else {}
    produced = Path(
        YOLO(str(weights)).export(
            format="onnx", imgsz=imgsz, simplify=False, dynamic=False, half=False, device="cpu", **kwargs
        )
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if produced.resolve() != out.resolve():
        shutil.move(str(produced), out)
    stamp_metadata(out, provenance(dataset))
    return out
