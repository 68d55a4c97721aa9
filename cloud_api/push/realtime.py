"""In-process fan-out of events to each user's open SSE streams (thread-safe publish)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Subscription:
    """One open stream: events are put on ``queue`` in its own event loop."""

    user_id: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(maxsize=100))


class EventBroker:
    """Per-user subscriber sets; a full queue drops the event for that slow stream only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, set[Subscription]] = defaultdict(set)

    def subscribe(self, user_id: int) -> Subscription:
        sub = Subscription(user_id, asyncio.get_running_loop())
        with self._lock:
            self._subs[user_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs[sub.user_id].discard(sub)
            if not self._subs[sub.user_id]:
                del self._subs[sub.user_id]

    def listeners(self, user_id: int) -> int:
        with self._lock:
            return len(self._subs.get(user_id, ()))

    def publish(self, user_id: int, event: dict[str, Any]) -> int:
        """Queue ``event`` for each open stream of the user; returns how many streams got it."""
        with self._lock:
            subs = list(self._subs.get(user_id, ()))
        for sub in subs:
            with contextlib.suppress(RuntimeError):  # loop closed: the stream is going away
                sub.loop.call_soon_threadsafe(_offer, sub.queue, event)
        return len(subs)


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(event)
