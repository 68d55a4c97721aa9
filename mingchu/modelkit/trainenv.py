"""Guard and set-up for commands that need torch + ultralytics (the separate ``.venv-train``).

The edge/hub runtime never carries torch; those commands fail with a pointer to ``make train-env``.
Ultralytics is kept offline: no settings written to the user's home, no font or weight downloads.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
)


class TrainEnvMissing(RuntimeError):
    """torch/ultralytics are not importable in this interpreter."""


def require_train_env(command: str) -> None:
    missing = [m for m in ("torch", "ultralytics") if importlib.util.find_spec(m) is None]
    if missing:
        raise TrainEnvMissing(
            f"'{command}' needs {', '.join(missing)}: run in the training environment (make train-env), "
            f"e.g. .venv-train/bin/mingchu-model {command} ..."
        )


def offline_ultralytics(config_dir: Path) -> None:
    """Point ultralytics at a private config dir holding a local font, and switch it offline.

    Must run before ``import ultralytics`` (it reads these at import time).
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    font = next((f for f in FONT_CANDIDATES if f.is_file()), None)
    if font is None:
        raise TrainEnvMissing(
            "no local TTF font found (install fonts-dejavu-core); ultralytics would try to download one"
        )
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (config_dir / name).exists():
            shutil.copyfile(font, config_dir / name)
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
