"""Bounded exponential backoff with jitter for reconnecting cameras.

Jitter spreads reconnects when a whole school's switch reboots and 16 cameras drop at once.
"""

from __future__ import annotations

import random


class Backoff:
    """``initial * multiplier**attempt`` capped at ``maximum``, each delay scaled by ``1 ± jitter``."""

    def __init__(
        self,
        initial_s: float = 0.5,
        maximum_s: float = 30.0,
        multiplier: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if initial_s <= 0 or maximum_s < initial_s or multiplier < 1 or not 0 <= jitter < 1:
            raise ValueError(
                f"bad backoff: initial_s={initial_s} maximum_s={maximum_s} multiplier={multiplier} jitter={jitter}"
            )
        self.initial_s, self.maximum_s, self.multiplier, self.jitter = initial_s, maximum_s, multiplier, jitter
        self._rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        """The wait before the next try; grows until ``maximum_s`` (jitter never exceeds it)."""
        base = min(self.maximum_s, self.initial_s * self.multiplier**self.attempt)
        self.attempt += 1
        delay = base * (1 + self._rng.uniform(-self.jitter, self.jitter))
        return min(self.maximum_s, max(0.0, delay))

    def reset(self) -> None:
        """Call after a healthy stretch so the next outage starts with a short wait again."""
        self.attempt = 0
