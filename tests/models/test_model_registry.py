"""models/registry.yaml: resolving by name, sha256 checks, and clear errors."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import onnx
import pytest

from mingchu.model_registry import (
    DEFAULT_MODEL,
    ModelChecksumError,
    ModelRegistryError,
    UnknownModelError,
    file_sha256,
    load_registry,
    models_dir,
    resolve_model,
)

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
ENTRY = """\
default: tiny
models:
  - name: tiny
    file: tiny.onnx
    sha256: {sha}
    family: nanodet
    input_size: [64, 64]
    labels: mingchu
    description: test
    license: Apache-2.0
"""


def _fake_models_dir(tmp_path: Path, content: bytes = b"model bytes", sha: str | None = None) -> Path:
    (tmp_path / "tiny.onnx").write_bytes(content)
    digest = sha or hashlib.sha256(content).hexdigest()
    (tmp_path / "registry.yaml").write_text(ENTRY.format(sha=digest))
    return tmp_path


def test_default_model_resolves_and_verifies() -> None:
    model = resolve_model()
    assert model.entry.name == DEFAULT_MODEL == "coco-nanodet-g"
    assert model.entry.family == "nanodet" and model.entry.input_size == (416, 416)
    assert model.path == (REPO_MODELS / "coco-nanodet-g.onnx").resolve()
    assert file_sha256(model.path) == model.entry.sha256


def test_shipped_onnx_carries_its_metadata() -> None:
    meta = {
        p.key: p.value
        for p in onnx.load(str(REPO_MODELS / "coco-nanodet-g.onnx"), load_external_data=False).metadata_props
    }
    names = json.loads(meta["class_names"])
    assert len(names) == 80 and names[0] == "person" and names[15] == "cat"
    assert meta["family"] == "nanodet" and meta["color_order"] == "BGR"
    assert json.loads(meta["input_size"]) == [416, 416]
    assert json.loads(meta["mean"]) == [103.53, 116.28, 123.675] and json.loads(meta["std"]) == [57.375, 57.12, 58.395]
    assert "Apache-2.0" in meta["license"] and "RangiLyu/nanodet" in meta["upstream"]


def test_sha_mismatch_names_the_file(tmp_path: Path) -> None:
    directory = _fake_models_dir(tmp_path, sha="f" * 64)
    with pytest.raises(ModelChecksumError, match=r"tiny\.onnx has sha256 [0-9a-f]{64}, but the registry expects f{64}"):
        resolve_model("tiny", directory)


def test_truncated_copy_of_the_real_model_is_caught(tmp_path: Path) -> None:
    shutil.copy(REPO_MODELS / "registry.yaml", tmp_path / "registry.yaml")
    data = (REPO_MODELS / "coco-nanodet-g.onnx").read_bytes()
    (tmp_path / "coco-nanodet-g.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelChecksumError, match=r"coco-nanodet-g\.onnx"):
        resolve_model(directory=tmp_path)
    assert resolve_model(directory=tmp_path, verify=False).path.name == "coco-nanodet-g.onnx"


def test_unknown_name_lists_known_models() -> None:
    with pytest.raises(
        UnknownModelError, match=r"unknown model 'yolo-kitchen-v9'; the registry lists: .*coco-nanodet-g"
    ):
        resolve_model("yolo-kitchen-v9")


def test_missing_model_file(tmp_path: Path) -> None:
    directory = _fake_models_dir(tmp_path)
    (directory / "tiny.onnx").unlink()
    with pytest.raises(ModelRegistryError, match=r"model file not found: .*tiny\.onnx"):
        resolve_model("tiny", directory)


def test_env_var_selects_the_models_dir(tmp_path: Path) -> None:
    directory = _fake_models_dir(tmp_path)
    assert models_dir({"MINGCHU_MODELS_DIR": str(directory)}) == directory.resolve()
    assert models_dir({}) == REPO_MODELS.resolve()
    assert resolve_model(directory=models_dir({"MINGCHU_MODELS_DIR": str(directory)})).entry.name == "tiny"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY.format(sha="a" * 64) + "    colour: red\n", r"models\[0\]\.colour: unknown key"),
        (ENTRY.format(sha="xyz"), r"models\[0\]\.sha256"),
        (ENTRY.format(sha="a" * 64).replace("labels: mingchu", "labels: imagenet"), r"models\[0\]\.labels"),
        (ENTRY.format(sha="a" * 64).replace("file: tiny.onnx", "file: ../../etc/passwd"), "relative to the models"),
        (ENTRY.format(sha="a" * 64).replace("default: tiny", "default: other"), "default model 'other'"),
        (ENTRY.format(sha="a" * 64) + ENTRY.format(sha="a" * 64).split("models:\n")[1], "duplicate model names"),
        ("models: [unclosed\n", "not valid YAML"),
        ("- just a list\n", "top level must be a mapping"),
    ],
    ids=["extra-key", "bad-sha", "bad-vocab", "path-escape", "bad-default", "duplicate", "bad-yaml", "list"],
)
def test_bad_registry_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "registry.yaml").write_text(text)
    with pytest.raises(ModelRegistryError, match=message) as info:
        resolve_model(directory=tmp_path)
    assert "registry.yaml" in str(info.value)


def test_missing_registry(tmp_path: Path) -> None:
    with pytest.raises(ModelRegistryError, match=r"registry\.yaml: file not found"):
        resolve_model(directory=tmp_path)


def test_shipped_registry_is_valid() -> None:
    registry = load_registry(REPO_MODELS)
    assert registry.default == "coco-nanodet-g"
    assert all((REPO_MODELS / m.file).is_file() for m in registry.models)


def _import_script():
    spec = importlib.util.spec_from_file_location("import_nanodet", REPO_MODELS / "import_nanodet.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_script_updates_only_its_own_entry(tmp_path: Path) -> None:
    """Another engineer appends entries; the importer must rewrite only coco-nanodet-g's sha256."""
    script = _import_script()
    other = "  - name: kitchen-v1\n    file: k.onnx\n    sha256: " + "b" * 64 + "\n    family: yolo\n"
    text = (REPO_MODELS / "registry.yaml").read_text() + other
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    script.write_registry_sha(path, "coco-nanodet-g", "c" * 64)
    updated = path.read_text()
    assert "sha256: " + "c" * 64 in updated and "sha256: " + "b" * 64 in updated
    assert updated.count("sha256:") == text.count("sha256:") and updated.splitlines()[:4] == text.splitlines()[:4]
    changed = [(a, b) for a, b in zip(text.splitlines(), updated.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].strip() == "sha256: " + "c" * 64
    with pytest.raises(SystemExit, match="no entry '- name: missing'"):
        script.write_registry_sha(path, "missing", "d" * 64)
    assert len(script.COCO_CLASSES) == 80
