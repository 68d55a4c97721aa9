"""Which ONNX models exist, where they live, and proof that the file is the one we tested.

``models/registry.yaml`` lists every shipped model (name → file, sha256, family, input size,
label vocabulary). The edge agent asks for a model *by name* and gets a verified path, so a
truncated copy or a swapped file fails loudly at start-up instead of producing odd detections.
Torch-free and light: only pydantic, PyYAML and hashlib.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mingchu.config import ConfigError, StrictModel, load_config

DEFAULT_MODEL = "coco-nanodet-g"
MODELS_DIR_ENV = "MINGCHU_MODELS_DIR"
REGISTRY_FILE = "registry.yaml"


class ModelRegistryError(Exception):
    """A model cannot be resolved; ``str()`` says which name or file and why."""


class UnknownModelError(ModelRegistryError, KeyError):
    """The requested name is not in the registry."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0])


class ModelChecksumError(ModelRegistryError):
    """The file on disk is not the file the registry vouches for."""


class ModelEntry(StrictModel):
    """One ``models:`` item of ``registry.yaml``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="id used in configs")
    file: str = Field(description="ONNX file name, relative to the models directory")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex sha256 of the file")
    family: str = Field(description="detector family (edge_agent.detect registry key), e.g. nanodet, yolo")
    input_size: tuple[int, int] = Field(description="model input [width, height] in pixels")
    labels: Literal["coco", "mingchu"] = Field(description="vocabulary of the class names (see mingchu.labels)")
    description: str = ""
    license: str

    @model_validator(mode="after")
    def _plain_file_name(self) -> ModelEntry:
        if Path(self.file).is_absolute() or ".." in Path(self.file).parts:
            raise ValueError(f"file must be relative to the models directory, got {self.file!r}")
        return self


class ModelRegistry(StrictModel):
    """The whole ``registry.yaml``."""

    default: str = DEFAULT_MODEL
    models: tuple[ModelEntry, ...]

    @model_validator(mode="after")
    def _consistent(self) -> ModelRegistry:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate model names: {duplicates}")
        if self.default not in names:
            raise ValueError(f"default model {self.default!r} is not listed under models")
        return self

    def get(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        known = ", ".join(m.name for m in self.models)
        raise UnknownModelError(f"unknown model {name!r}; the registry lists: {known}")


@dataclass(frozen=True)
class ResolvedModel:
    """A registry entry plus the absolute path of its (verified) file."""

    entry: ModelEntry
    path: Path


def models_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$MINGCHU_MODELS_DIR`` if set, else the repository's ``models/`` next to this package."""
    env = os.environ if environ is None else environ
    override = env.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parent.parent / "models"


def load_registry(directory: Path | None = None) -> ModelRegistry:
    """Parse ``<directory>/registry.yaml``; raises :class:`mingchu.config.ConfigError` naming the key."""
    return load_config(ModelRegistry, (directory or models_dir()) / REGISTRY_FILE)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ModelChecksumError` naming ``path`` unless its sha256 is ``expected``."""
    if not path.is_file():
        raise ModelRegistryError(f"model file not found: {path}")
    actual = file_sha256(path)
    if actual != expected.lower():
        raise ModelChecksumError(
            f"model file {path} has sha256 {actual}, but the registry expects {expected}; "
            "the file is corrupt or was replaced (re-fetch it, or re-run its import script)"
        )


def resolve_model(name: str | None = None, directory: Path | None = None, *, verify: bool = True) -> ResolvedModel:
    """Registry entry and path for ``name`` (the registry's default when None), sha-checked."""
    base = directory or models_dir()
    try:
        registry = load_registry(base)
    except ConfigError as exc:
        raise ModelRegistryError(f"cannot read the model registry: {exc}") from exc
    entry = registry.get(name or registry.default)
    path = (base / entry.file).resolve()
    if verify:
        verify_sha256(path, entry.sha256)
    elif not path.is_file():
        raise ModelRegistryError(f"model file not found: {path}")
    return ResolvedModel(entry, path)
