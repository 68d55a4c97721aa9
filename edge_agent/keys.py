"""The device's Ed25519 signing key: created once (mode 0600), its public half registered on the hub."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from mingchu.contract.signing import key_id, public_key_bytes


class KeyFileError(RuntimeError):
    """The key file exists but cannot be used; never overwritten, so a key is never lost silently."""


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Load the PEM key at ``path``, or create it atomically with mode 0600 if missing."""
    if path.exists():
        return load_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key meanwhile: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return load_key(path)


def load_key(path: Path) -> Ed25519PrivateKey:
    """Read an existing key, with an error naming the file when it is not an Ed25519 PEM key."""
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise KeyFileError(f"{path}: not a readable unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: key is {type(key).__name__}, expected Ed25519")
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """Base64 of the raw 32-byte public key, as in ``DeviceStatus.public_key``."""
    return base64.b64encode(public_key_bytes(key.public_key())).decode()


def public_key_id(key: Ed25519PrivateKey) -> str:
    return key_id(public_key_bytes(key.public_key()))
