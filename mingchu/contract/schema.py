"""Export the contract as JSON Schema (``python -m mingchu.contract.schema docs/contract``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import TypeAdapter

from mingchu.contract.messages import MESSAGE_TYPES, AnyMessage


def schemas() -> dict[str, dict[str, object]]:
    result: dict[str, dict[str, object]] = {
        model.__name__: model.model_json_schema(mode="serialization") for model in MESSAGE_TYPES
    }
    result["AnyMessage"] = TypeAdapter(AnyMessage).json_schema(mode="serialization")
    return result


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/contract")):
        print(p)
