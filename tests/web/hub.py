"""A real hub for the web tests: the core ``create_app`` + the people area + our pages, on a temp SQLite DB,
served by uvicorn on a free port in a thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from cloud_api.app import create_app
from cloud_api.config import HubConfig
from cloud_api.context import build_context
from cloud_api.migrations import upgrade
from cloud_api.web import WebContext
from tests.web.seed import Seed, seed_all


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_hub(root: Path, *, live: bool = False) -> tuple[FastAPI, WebContext, Seed]:
    config = HubConfig.model_validate(
        {
            "database": {"url": f"sqlite:///{root / 'hub.db'}"},
            "storage": {"type": "local", "root": str(root / "evidence")},
            "ingest": {"enabled": False},
            "interview": {"open_cases": 3, "overdue_cases": 1},  # low, so the seeded school A is due a 约谈
        }
    )
    hub = build_context(config)
    upgrade(hub.db.engine)
    seed = seed_all(hub.db, hub.storage, config)
    app = create_app(config, hub=hub, live=live)
    return app, WebContext.from_hub(hub), seed


@dataclass
class RunningHub:
    url: str
    ctx: WebContext
    seed: Seed
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: FastAPI, ctx: WebContext, seed: Seed) -> RunningHub:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="hub", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return RunningHub(f"http://127.0.0.1:{port}", ctx, seed, server, thread)
