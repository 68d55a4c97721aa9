"""Passwords (Argon2) and signed bearer tokens (HMAC-SHA256), both small and dependency-light."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # immutable parameters; safe to share


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenSigner:
    """``payload.mac``; the payload names the user and expiry, the MAC makes it unforgeable without the secret."""

    secret: str
    ttl_s: int

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.secret.encode(), body.encode(), hashlib.sha256).digest())

    def issue(self, user_id: int, now: float | None = None) -> tuple[str, int]:
        exp = int((now or time.time()) + self.ttl_s)
        body = _b64(json.dumps({"sub": user_id, "exp": exp}, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}", exp

    def verify(self, token: str, now: float | None = None) -> int | None:
        """The user id, or None for a malformed, forged or expired token."""
        body, _, mac = token.partition(".")
        if not body or not mac or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            data = json.loads(_unb64(body))
            user_id, exp = int(data["sub"]), int(data["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        return user_id if exp > (now or time.time()) else None
