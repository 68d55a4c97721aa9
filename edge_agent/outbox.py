"""Durable, ordered, size-bounded queue of encoded event envelopes (SQLite in WAL mode).

Every event is committed here *before* it is published and deleted only after the broker's
PUBACK, so a crash, ``kill -9`` or a week without network loses nothing. Rows are replayed in
insertion order. When the queued bytes would exceed ``max_bytes`` the configured policy applies
and is always logged and counted, never silent:

* ``refuse_new`` (default): the new event is refused (``put`` returns False) — the oldest
  evidence, usually the most important to follow up, is kept.
* ``evict_oldest``: the oldest rows are deleted until the new one fits.

Above ``warn_fraction`` of ``max_bytes`` :attr:`near_full` is True (stats flag and a warning).
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger("edge_agent.outbox")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    event_id: str
    topic: str
    payload: bytes


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or written."""


class Outbox:
    """Thread-safe; one connection guarded by a lock (events are rare, so contention is nil)."""

    def __init__(
        self,
        path: Path,
        max_bytes: int,
        warn_fraction: float = 0.8,
        when_full: Literal["refuse_new", "evict_oldest"] = "refuse_new",
    ) -> None:
        self.path, self.max_bytes, self.warn_fraction, self.when_full = path, max_bytes, warn_fraction, when_full
        self.refused = 0
        self.evicted = 0
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"{path}: cannot open outbox ({exc})") from exc
        self._bytes, self._depth = self._totals()
        self._warned = False

    def _totals(self) -> tuple[int, int]:
        row = self._db.execute("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM outbox").fetchone()
        return int(row[0]), int(row[1])

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def near_full(self) -> bool:
        return self._bytes >= self.warn_fraction * self.max_bytes

    def put(self, event_id: str, topic: str, payload: builtins.bytes) -> bool:
        """Commit one event; False if refused by the full policy (logged). Duplicates are ignored."""
        size = len(payload)
        with self._lock:
            if size > self.max_bytes:
                self.refused += 1
                log.error("outbox: event %s (%d bytes) is larger than the whole outbox; refused", event_id, size)
                return False
            if self._bytes + size > self.max_bytes:
                if self.when_full == "refuse_new":
                    self.refused += 1
                    log.error(
                        "outbox FULL (%d/%d bytes): refusing event %s (policy refuse_new)",
                        self._bytes,
                        self.max_bytes,
                        event_id,
                    )
                    return False
                self._evict_for(size)
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (event_id, topic, payload, size, created_at) VALUES (?, ?, ?, ?, ?)",
                    (event_id, topic, payload, size, time.time()),
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.path}: cannot store event {event_id} ({exc})") from exc
            if cur.rowcount:
                self._bytes += size
                self._depth += 1
            if self.near_full and not self._warned:
                log.warning("outbox near full: %d of %d bytes (%d events)", self._bytes, self.max_bytes, self._depth)
            self._warned = self.near_full
            return True

    def _evict_for(self, size: int) -> None:
        while self._depth and self._bytes + size > self.max_bytes:
            row = self._db.execute("SELECT seq, event_id, size FROM outbox ORDER BY seq LIMIT 1").fetchone()
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (row[0],))
            self._bytes -= int(row[2])
            self._depth -= 1
            self.evicted += 1
            log.error("outbox FULL: evicted oldest event %s (policy evict_oldest)", row[1])

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[OutboxItem]:
        """Queued events with ``seq > after_seq`` in insertion order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxItem(int(r[0]), str(r[1]), str(r[2]), bytes(r[3])) for r in rows]

    def ack(self, seq: int) -> str | None:
        """Delete a row once the broker acknowledged it; returns its event id (None if already gone)."""
        with self._lock:
            row = self._db.execute("SELECT size, event_id FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                return None
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._bytes -= int(row[0])
            self._depth -= 1
            self._warned = self.near_full
            return str(row[1])

    def close(self) -> None:
        with self._lock:
            self._db.close()
