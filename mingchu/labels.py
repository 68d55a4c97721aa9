"""Translate a model's class names into our label vocabulary (``datasets/vocabulary.yaml``).

Why: rules consume our labels (``person``, ``phone``, ``cat`` …), while a pretrained COCO model
speaks COCO (``cell phone``). Our own kitchen models already speak our vocabulary, so for them
the mapping is the identity. The COCO table is deliberately short and explicit: only classes
that feed a violation rule are kept, everything else maps to ``None`` and is dropped.

COCO ``mouse`` is a *computer* mouse and must never become ``rodent``; COCO has no rodent class.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Literal

Vocabulary = Literal["coco", "mingchu"]

PERSON = "person"
PHONE = "phone"
ANIMAL_LABELS: frozenset[str] = frozenset({"cat", "dog", "bird"})  # pest/animal intrusion

COCO_TO_MINGCHU: MappingProxyType[str, str] = MappingProxyType(
    {
        "person": PERSON,  # after-hours entry, unattended flame, attribute rules
        "cat": "cat",  # pest / animal intrusion
        "dog": "dog",
        "bird": "bird",
        "cell phone": PHONE,  # phone use
    }
)

# COCO classes that look tempting but must stay unmapped (asserted by tests).
NEVER_MAPPED_COCO: frozenset[str] = frozenset({"mouse", "teddy bear", "sheep", "remote"})


def map_label(label: str, vocabulary: Vocabulary) -> str | None:
    """Our label for a model's ``label``; ``None`` when no rule uses it."""
    if vocabulary == "mingchu":
        return label
    if vocabulary == "coco":
        return COCO_TO_MINGCHU.get(label)
    raise ValueError(f"unknown label vocabulary {vocabulary!r}; expected 'coco' or 'mingchu'")


def label_map(class_names: Iterable[str], vocabulary: Vocabulary) -> dict[str, str]:
    """``{model label: our label}`` for the class names a model can emit (unused ones left out)."""
    out: dict[str, str] = {}
    for name in class_names:
        mapped = map_label(name, vocabulary)
        if mapped is not None:
            out[name] = mapped
    return out


def remap_labels(labels: Iterable[str], vocabulary: Vocabulary) -> tuple[list[int], tuple[str, ...]]:
    """Indices of the labels worth keeping and their new names, for filtering a ``Detections``.

    ``idx, names = remap_labels(dets.labels, "coco")`` then
    ``Detections(dets.xyxy[idx], dets.scores[idx], names, dets.track_ids[idx])``.
    """
    keep: list[int] = []
    names: list[str] = []
    for i, label in enumerate(labels):
        mapped = map_label(label, vocabulary)
        if mapped is not None:
            keep.append(i)
            names.append(mapped)
    return keep, tuple(names)
