"""The storage interface and the key layout shared by every backend."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class StorageError(RuntimeError):
    """A backend could not read or write (disk full, bucket missing…); ingest retries, the API answers 503."""


class Storage(Protocol):
    """Put and get immutable blobs by key. Writes are idempotent: same key, same bytes."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def get(self, key: str) -> bytes:
        """Raise ``KeyError`` when missing, :class:`StorageError` when the backend fails."""
        ...

    def exists(self, key: str) -> bool: ...


def evidence_key(school_id: str, occurred_at: datetime, event_id: UUID, name: str) -> str:
    """``evidence/{school}/{yyyy}/{mm}/{dd}/{event_id}-{name}.jpg``: per school and day, so retention is a prefix.

    One folder per day, not per event: a new folder per event cost ingest a mkdir each. Keys are stored with
    the evidence rows, so files written under the earlier per-event layout stay readable."""
    d = occurred_at
    return f"evidence/{school_id}/{d:%Y}/{d:%m}/{d:%d}/{event_id}-{name}.jpg"


def photo_key(school_id: str, case_id: int, sha256: str, suffix: str) -> str:
    """Rectification photos are content-addressed inside their case."""
    return f"rectification/{school_id}/{case_id}/{sha256}{suffix}"


def case_image_key(school_id: str, case_id: int, sha256: str, suffix: str) -> str:
    """Screenshots and photos attached to a case outside rectification (e.g. parent reports)."""
    return f"case-images/{school_id}/{case_id}/{sha256}{suffix}"


def quarantine_key(received_at: datetime, sha256: str) -> str:
    return f"quarantine/{received_at:%Y/%m/%d}/{sha256}.bin"


def check_key(key: str) -> str:
    """Keys are relative paths of slug-ish parts; never ``..`` or absolute (path traversal)."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key
