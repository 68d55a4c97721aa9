"""The vocabulary loads, covers every violation rule's labels, and rejects inconsistent files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mingchu.datasets.vocabulary import DEFAULT_VOCABULARY, load_vocabulary
from mingchu.taxonomy import default_taxonomy


def test_vocabulary_covers_every_violation_rule() -> None:
    vocab = load_vocabulary()
    taxonomy = default_taxonomy()
    assert vocab.names[0] == "person" and len(vocab.names) == len(set(vocab.names))
    for cls in taxonomy.classes:
        missing = set(cls.labels) - set(vocab.names)
        assert not missing, f"{cls.id} consumes labels missing from the vocabulary: {missing}"
        assert set(cls.labels) <= set(vocab.labels_for(cls.id)), cls.id
    assert vocab.violations <= set(taxonomy.ids)
    assert vocab.labels_for("camera_offline") == ()  # no detector label: frames/obstruction only
    assert set(vocab.labels_for("pest_intrusion")) == {"rodent", "cockroach", "cat", "dog", "bird"}


def test_aliases_resolve_foreign_names() -> None:
    vocab = load_vocabulary()
    assert vocab.resolve("Cell Phone") == "phone"
    assert vocab.resolve("with-mask") == "face_mask"
    assert vocab.resolve("PERSON") == "person"
    assert vocab.resolve("mouse") is None  # COCO's mouse is a computer mouse
    assert vocab.resolve("toaster") is None


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(DEFAULT_VOCABULARY.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "vocab.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["labels"][3].update(id=7), "label ids must be 0..18 in order"),
        (lambda r: r["labels"][4].update(name="person"), "duplicate label names"),
        (lambda r: r["labels"][5].update(aliases=["cell phone"]), "maps to both"),
        (lambda r: r["labels"][1].update(violations=["no_hat"]), r"unknown violations \['no_hat'\]"),
        (lambda r: r["labels"][1].update(colour="red"), "Extra inputs are not permitted"),
    ],
)
def test_bad_vocabulary_files_fail_naming_the_file(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, mutate)
    with pytest.raises(ValueError, match=message) as err:
        load_vocabulary(path)
    assert str(path) in str(err.value)


def test_unreadable_vocabulary(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid vocabulary"):
        load_vocabulary(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("labels: [", encoding="utf-8")
    with pytest.raises(ValueError, match="invalid vocabulary"):
        load_vocabulary(bad)
