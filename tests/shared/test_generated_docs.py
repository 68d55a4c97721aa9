"""The committed JSON Schema and config reference are what the code generates (regenerate: `make docs`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mingchu.contract.schema import schemas
from mingchu.docs import references

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(schemas()))
def test_contract_schema_is_current(name: str) -> None:
    committed = json.loads((DOCS / "contract" / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(schemas()[name])), "run `make docs`"


@pytest.mark.parametrize("name", ["edge.md", "hub.md", "violations.md"])
def test_config_reference_is_current(name: str) -> None:
    committed = (DOCS / "config" / name).read_text(encoding="utf-8")
    assert committed == references()[name] + "\n", "run `make docs`"
