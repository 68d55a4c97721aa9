"""A dependency-free progress bar for long loops (synth, eval, calibration) on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T], total: int, label: str, stream: TextIO | None = None, every: float = 0.5
) -> Iterator[T]:
    """Yield ``items`` while redrawing ``label [####....] n/total rate`` at most every ``every`` s."""
    out = stream or sys.stderr
    start = last = time.monotonic()
    n = 0
    for n, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= every or n == total:
            last = now
            done = int(30 * n / max(total, 1))
            rate = n / max(now - start, 1e-9)
            out.write(f"\r{label} [{'#' * done}{'.' * (30 - done)}] {n}/{total} {rate:.1f}/s")
            out.flush()
    out.write("\n" if n else f"{label}: nothing to do\n")
    out.flush()
