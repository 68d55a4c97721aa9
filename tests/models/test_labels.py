"""COCO → Mingchu label map: only rule inputs survive, and ``mouse`` is never a rodent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mingchu.labels import (
    ANIMAL_LABELS,
    COCO_TO_MINGCHU,
    NEVER_MAPPED_COCO,
    label_map,
    map_label,
    remap_labels,
)
from mingchu.taxonomy import default_taxonomy

VOCABULARY = Path(__file__).resolve().parents[2] / "datasets" / "vocabulary.yaml"


@pytest.mark.parametrize(
    ("coco", "ours"),
    [("person", "person"), ("cat", "cat"), ("dog", "dog"), ("bird", "bird"), ("cell phone", "phone")],
)
def test_rule_inputs_are_mapped(coco: str, ours: str) -> None:
    assert map_label(coco, "coco") == ours


@pytest.mark.parametrize("coco", ["mouse", "teddy bear", "sheep", "knife", "cup", "remote", ""])
def test_other_coco_classes_are_dropped(coco: str) -> None:
    assert map_label(coco, "coco") is None


def test_mouse_is_never_a_rodent() -> None:
    assert "rodent" not in COCO_TO_MINGCHU.values()
    assert not NEVER_MAPPED_COCO & COCO_TO_MINGCHU.keys()


def test_own_models_are_identity() -> None:
    assert map_label("head_bare", "mingchu") == "head_bare"
    assert map_label("rodent", "mingchu") == "rodent"


def test_unknown_vocabulary_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown label vocabulary 'imagenet'"):
        map_label("person", "imagenet")  # type: ignore[arg-type]


def test_every_key_is_a_real_class_of_the_model(nanodet) -> None:
    """Catches typos like 'cellphone': keys must be class names the shipped model emits."""
    assert set(COCO_TO_MINGCHU) <= set(nanodet.class_names)
    assert label_map(nanodet.class_names, "coco") == dict(COCO_TO_MINGCHU)


def test_every_target_feeds_a_violation_rule() -> None:
    """Mapped labels must be ones the rules in configs/violations.yaml consume."""
    taxonomy = default_taxonomy()
    consumed = {label for cls in taxonomy.classes for label in cls.labels}
    assert set(COCO_TO_MINGCHU.values()) <= consumed
    assert set(taxonomy.get("pest_intrusion").labels) >= ANIMAL_LABELS
    assert "phone" in taxonomy.get("phone_use").labels


def test_targets_exist_in_our_vocabulary() -> None:
    if not VOCABULARY.is_file():
        pytest.skip("datasets/vocabulary.yaml not present in this checkout")
    names = {item["name"] for item in yaml.safe_load(VOCABULARY.read_text())["labels"]}
    assert set(COCO_TO_MINGCHU.values()) <= names


def test_remap_labels_keeps_order_and_drops_unused() -> None:
    keep, names = remap_labels(["cup", "person", "mouse", "cell phone", "dog"], "coco")
    assert keep == [1, 3, 4] and names == ("person", "phone", "dog")
    assert remap_labels([], "coco") == ([], ())
