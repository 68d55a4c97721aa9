"""The detector label vocabulary, kept as data in ``datasets/vocabulary.yaml``.

Rules consume labels by name, so the vocabulary is the contract between training and the edge:
loading validates it (contiguous ids, unique names, every violation known) before anyone trains on it.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

DEFAULT_VOCABULARY = Path(__file__).resolve().parents[2] / "datasets" / "vocabulary.yaml"


def normalise_name(name: str) -> str:
    """Lower-case, spaces/hyphens → underscores: 'Cell Phone' and 'cell-phone' both match 'cell_phone'."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: int
    name: str
    zh: str
    en: str
    violations: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


class Vocabulary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    labels: tuple[Label, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Vocabulary:
        ids = [label.id for label in self.labels]
        if ids != list(range(len(ids))):
            raise ValueError(f"label ids must be 0..{len(ids) - 1} in order, got {ids}")
        names = [label.name for label in self.labels]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate label names in {names}")
        seen: dict[str, str] = {}
        for label in self.labels:
            for key in (label.name, *label.aliases):
                norm = normalise_name(key)
                if seen.get(norm, label.name) != label.name:
                    raise ValueError(f"alias {key!r} maps to both {seen[norm]!r} and {label.name!r}")
                seen[norm] = label.name
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for label in self.labels:
            for key in (*label.aliases, label.name):
                table[normalise_name(key)] = label.name
        return table

    def resolve(self, foreign_name: str) -> str | None:
        """Our label for a class name from another tool, or None when nothing matches."""
        return self._lookup.get(normalise_name(foreign_name))

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def violations(self) -> set[str]:
        return {v for label in self.labels for v in label.violations}

    def labels_for(self, violation: str) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels if violation in label.violations)


def load_vocabulary(path: Path | None = None, known_violations: set[str] | None = None) -> Vocabulary:
    """Load and validate the vocabulary; errors name the file.

    Violation names are checked against the taxonomy (``configs/violations.yaml``) unless
    ``known_violations`` is given, so a typo cannot silently detach a label from its rule.
    """
    path = path or DEFAULT_VOCABULARY
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        vocab = Vocabulary.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: invalid vocabulary: {exc}") from exc
    if known_violations is None:
        from mingchu.taxonomy import default_taxonomy

        known_violations = set(default_taxonomy().ids)
    unknown = vocab.violations - known_violations
    if unknown:
        raise ValueError(f"{path}: labels name unknown violations {sorted(unknown)}")
    return vocab
