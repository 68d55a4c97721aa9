"""A real S3-compatible HTTP server for tests: moto's standalone server (``python -m moto.server``).

It runs as its own process on a free 127.0.0.1 port, so every request the hub makes goes through
boto3's real HTTP stack (signing, retries, error parsing) exactly as against MinIO or AWS; nothing
is patched in the test process (no ``mock_aws``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

# moto accepts any credentials; these are what the hub under test signs with (set via the AWS_* env vars)
ACCESS_KEY = "mingchu-test-key"
SECRET_KEY = "mingchu-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """A running moto server; ``client()`` is an admin client with explicit credentials (no env needed)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.endpoint_url = f"http://127.0.0.1:{port}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"mingchu-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_moto(log: Path, timeout_s: float = 30.0) -> S3Server:
    """Start ``moto.server`` on a free port and wait until it answers S3 requests over HTTP."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(process, port, log)
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"moto server exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            server.client().list_buckets()
            return server
        except Exception as exc:  # connection refused until it listens
            last = exc
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"moto server on port {port} not ready after {timeout_s}s ({last}): {log.read_text()[-2000:]}")
