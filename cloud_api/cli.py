"""``mingchu-hub``: serve, migrate, ingest, escalate, check-config, create-user, seed-demo."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from mingchu.config import ConfigError

log = logging.getLogger("mingchu.hub")


def _config(path: str | None):  # type: ignore[no-untyped-def]
    from cloud_api.config import load_hub_config

    return load_hub_config(path)


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        _config(args.file)
    except ConfigError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 2
    print(f"{args.file}: ok")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from cloud_api.db.session import make_engine
    from cloud_api.migrations import current, upgrade

    config = _config(args.config)
    engine = make_engine(config.database.url)
    upgrade(engine, args.revision)
    print(f"database at revision {current(engine)}")
    engine.dispose()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cloud_api.app import create_app
    from cloud_api.context import build_context
    from cloud_api.migrations import upgrade

    config = _config(args.config)
    if args.no_ingest:
        config = config.model_copy(update={"ingest": config.ingest.model_copy(update={"enabled": False})})
    hub = build_context(config)
    if config.database.url.startswith("sqlite") and config.database.auto_migrate:
        upgrade(hub.db.engine)
    app = create_app(hub=hub, background=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from cloud_api.context import build_context
    from cloud_api.ingest.worker import IngestWorker

    config = _config(args.config)
    if args.client_id:
        config = config.model_copy(update={"mqtt": config.mqtt.model_copy(update={"client_id": args.client_id})})
    hub = build_context(config)
    if args.metrics_port:
        start_http_server(args.metrics_port, registry=hub.registry)
    worker = IngestWorker(hub.ingest_service(), config.mqtt, config.ingest, hub.metrics)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.start()
    log.info("ingest worker %s running; Ctrl-C to stop", config.mqtt.client_id)
    stop.wait()
    worker.stop()
    return 0


def cmd_escalate(args: argparse.Namespace) -> int:
    from cloud_api.context import build_context
    from cloud_api.db.base import utcnow
    from cloud_api.services.escalation import escalate_overdue

    hub = build_context(_config(args.config))
    with hub.db.session() as session:
        given = escalate_overdue(session, utcnow(), hub.config.cases, hub.notifier)
    print(f"{len(given)} cards given")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from cloud_api.context import build_context
    from cloud_api.errors import ApiError
    from cloud_api.services.org import create_user

    hub = build_context(_config(args.config))
    try:
        with hub.db.session() as session:
            user = create_user(
                session, args.username, args.password, args.role, args.display_name or "", args.district, args.school
            )
            print(f"created user {user.username} ({user.role}) id={user.id}")
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from cloud_api.context import build_context
    from cloud_api.seed import seed_demo

    hub = build_context(_config(args.config))
    summary = seed_demo(hub, Path(args.key_dir))
    for line in summary:
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mingchu-hub", description="Mingchu hub: API, ingest and case workflow")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="hub YAML config (default: built-in defaults + MINGCHU_HUB__* env)")
        return p

    p = with_config(sub.add_parser("serve", help="API + in-process ingest worker + escalation loop"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-ingest", action="store_true", help="don't start the ingest worker")
    p.set_defaults(func=cmd_serve)

    p = with_config(sub.add_parser("migrate", help="upgrade the database schema"))
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_migrate)

    p = with_config(sub.add_parser("ingest", help="ingest worker only (run several to scale out)"))
    p.add_argument("--client-id", help="unique per worker (overrides mqtt.client_id)")
    p.add_argument("--metrics-port", type=int, default=0, help="serve /metrics on this port")
    p.set_defaults(func=cmd_ingest)

    p = with_config(sub.add_parser("escalate", help="give due yellow/red cards once"))
    p.set_defaults(func=cmd_escalate)

    p = sub.add_parser("check-config", help="validate a config file (exit 2 with one line on error)")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = with_config(sub.add_parser("create-user", help="add an API user"))
    p.add_argument("username")
    p.add_argument("--password", required=True)
    p.add_argument("--role", required=True, choices=["admin", "regulator", "school_head", "canteen_manager", "parent"])
    p.add_argument("--district")
    p.add_argument("--school")
    p.add_argument("--display-name")
    p.set_defaults(func=cmd_create_user)

    p = with_config(sub.add_parser("seed-demo", help="demo district, schools, cameras, device key and users"))
    p.add_argument("--key-dir", default="demo-keys", help="where the demo device's private key is written")
    p.set_defaults(func=cmd_seed_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
