"""VAPID key pair: generated with ``cryptography`` on first run, kept as a PEM in the data dir."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

KEY_FILE = "vapid_private.pem"


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid02  # RFC 8292 "vapid t=…, k=…" header
    public_key_b64url: str  # what the browser passes to pushManager.subscribe as applicationServerKey


def load_or_create(key_dir: Path) -> VapidKeys:
    """Read ``key_dir/vapid_private.pem``, creating it (mode 0600) when missing."""
    path = key_dir / KEY_FILE
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    pem = path.read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, ec.SECP256R1):
        raise ValueError(f"{path} is not a P-256 private key")
    raw = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(Vapid02.from_pem(pem), base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
