"""The 11 violation classes, loaded from ``configs/violations.yaml``.

The class ids are also a closed set in the wire contract (:class:`mingchu.contract.ViolationClass`);
a test keeps the two in step.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mingchu.config import StrictModel, load_config

Category = Literal["personnel_hygiene", "behaviour", "pests", "environment", "safety", "equipment"]
RuleType = Literal["attribute_absence", "presence", "unattended", "after_hours", "camera_health"]

DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parent.parent / "configs" / "violations.yaml"


class CategoryInfo(StrictModel):
    """Display names of a category."""

    name_zh: str
    name_en: str


class ViolationClassInfo(StrictModel):
    """One violation class: how it is named, graded, and which rule and labels raise it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable snake_case id used on the wire")
    name_zh: str = Field(description="Chinese display name")
    name_en: str = Field(description="English display name")
    category: Category
    severity: int = Field(ge=1, le=3, description="1 immediate, 2 deadline, 3 routine")
    deadline_hours: float = Field(gt=0, description="default rectification deadline")
    rule: RuleType = Field(description="edge rule type that raises this class")
    labels: tuple[str, ...] = Field(default=(), description="detector labels the rule consumes")


class Taxonomy(StrictModel):
    """The whole ``violations.yaml`` file."""

    version: int = 1
    categories: dict[Category, CategoryInfo]
    classes: tuple[ViolationClassInfo, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Taxonomy:
        ids = [c.id for c in self.classes]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate class ids: {sorted(duplicates)}")
        return self

    def get(self, class_id: str) -> ViolationClassInfo:
        for item in self.classes:
            if item.id == class_id:
                return item
        raise KeyError(f"unknown violation class {class_id!r}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.classes)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    return load_config(Taxonomy, path or DEFAULT_TAXONOMY_PATH)


@cache
def default_taxonomy() -> Taxonomy:
    """The shipped taxonomy, parsed once (immutable, so caching shares no mutable state)."""
    return load_taxonomy(DEFAULT_TAXONOMY_PATH)
