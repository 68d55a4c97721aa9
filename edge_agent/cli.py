"""``mingchu-edge``: run the agent, check a config, analyse files offline, manage the device key.

Exit codes: 0 ok, 1 runtime failure, 2 bad input (config, file, arguments).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from mingchu.config import ConfigError
from mingchu.contract.messages import RoomType


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mingchu-edge", description="Mingchu edge agent (明厨亮灶 AI 抓拍)")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent until SIGTERM/Ctrl-C")
    run.add_argument("--config", required=True, type=Path, help="edge YAML config")
    chk = sub.add_parser("check-config", help="validate a config file (exit 2 with 'FILE: key: message')")
    chk.add_argument("file", type=Path)
    det = sub.add_parser("detect", help="analyse an image or video offline")
    det.add_argument("input", type=Path, help="image (jpg/png) or video file")
    det.add_argument("--model", default=None, help="model registry name (default: the registry's default)")
    det.add_argument("--out", type=Path, default=None, help="directory for annotated image/video")
    det.add_argument("--json", action="store_true", help="print one JSON line per analysed frame")
    det.add_argument("--fps", type=float, default=5.0, help="frames per second analysed in a video")
    det.add_argument("--room-type", default="prep", choices=[r.value for r in RoomType], help="定景 for the rules")
    for name, text in (("keygen", "create the device key if missing and print it"), ("show-key", "print the key")):
        k = sub.add_parser(name, help=text)
        group = k.add_mutually_exclusive_group(required=True)
        group.add_argument("--config", type=Path, help="take device.key_file from this config")
        group.add_argument("--key-file", type=Path, help="key file path")
    return p


def _key_path(args: argparse.Namespace) -> Path:
    if args.key_file is not None:
        return Path(args.key_file)
    from edge_agent.config import load_edge_config

    return load_edge_config(args.config).device.key_file


def cmd_check(args: argparse.Namespace) -> int:
    from edge_agent.config import load_edge_config

    cfg = load_edge_config(args.file)
    print(
        f"{args.file}: OK ({len(cfg.cameras)} camera(s), school {cfg.device.school_id}, device {cfg.device.device_id})"
    )
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from edge_agent.keys import load_key, load_or_create_key, public_key_b64, public_key_id

    path = _key_path(args)
    if args.command == "show-key" and not path.exists():
        print(f"{path}: no key yet; run 'mingchu-edge keygen'", file=sys.stderr)
        return 2
    key = load_or_create_key(path) if args.command == "keygen" else load_key(path)
    print(f"public_key: {public_key_b64(key)}")
    print(f"key_id: {public_key_id(key)}")
    print(f"key_file: {path}")
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from edge_agent.config import ModelConfig
    from edge_agent.model import load_model
    from edge_agent.offline import InputError, analyse, probe_input

    try:
        probe_input(args.input)
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from mingchu.model_registry import load_registry

    model = load_model(ModelConfig(name=args.model or load_registry().default))

    def progress(n: int) -> None:
        if n % 25 == 0:
            print(f"analysed {n} frames", file=sys.stderr)

    try:
        result = analyse(
            args.input,
            model,
            out_dir=args.out,
            json_out=sys.stdout if args.json else None,
            room_type=RoomType(args.room_type),
            fps=args.fps,
            progress=progress,
        )
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    summary = (
        f"{args.input}: {result.frames} frame(s), {result.detections} detection(s), {result.violations} violation(s)"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    for out in result.outputs:
        print(f"wrote {out}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from edge_agent.app import EdgeApp
    from edge_agent.config import load_edge_config

    cfg = load_edge_config(args.config)
    logging.basicConfig(level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = EdgeApp(cfg).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    try:
        done.wait()
    finally:
        app.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "check-config": cmd_check,
        "keygen": cmd_keys,
        "show-key": cmd_keys,
        "detect": cmd_detect,
        "run": cmd_run,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from edge_agent.detect import ModelMismatchError
        from edge_agent.keys import KeyFileError
        from edge_agent.outbox import OutboxError
        from mingchu.model_registry import ModelRegistryError

        if isinstance(exc, (KeyFileError, ModelRegistryError, ModelMismatchError, OutboxError, FileNotFoundError)):
            print(f"mingchu-edge {args.command}: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, ValueError) and "detector type" in str(exc):
            print(f"mingchu-edge {args.command}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
