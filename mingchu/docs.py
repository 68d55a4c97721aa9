"""Regenerate ``docs/config/*.md`` from the config models (``python -m mingchu.docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

from mingchu.config import config_reference
from mingchu.taxonomy import Taxonomy

DOCS = Path(__file__).resolve().parent.parent / "docs" / "config"


def references() -> dict[str, str]:
    from cloud_api.config import HubConfig
    from edge_agent.config import EdgeConfig

    return {
        "edge.md": config_reference(EdgeConfig, "Edge agent configuration (`mingchu-edge`)"),
        "hub.md": config_reference(HubConfig, "Hub configuration (`mingchu-hub`)"),
        "violations.md": config_reference(Taxonomy, "Violation taxonomy (`configs/violations.yaml`)"),
    }


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else DOCS
    target.mkdir(parents=True, exist_ok=True)
    for name, text in references().items():
        (target / name).write_text(text + "\n", encoding="utf-8")
        print(target / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
