"""Reporting periods: local calendar days, weeks (Monday first) and months, as half-open UTC ranges.

Reports are read by people in China, so a "day" is an Asia/Shanghai day, never a UTC one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
Bucket = Literal["day", "week", "month"]
MAX_DAYS = 3700  # ten years: refuse absurd ranges instead of scanning forever


class PeriodError(ValueError):
    """A period that cannot be queried (end before start, too long, unknown bucket)."""


@dataclass(frozen=True)
class Period:
    """Local dates ``first``..``last`` inclusive, in ``zone``."""

    first: date
    last: date
    zone: str = DEFAULT_ZONE

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodError(f"period ends ({self.last}) before it starts ({self.first})")
        if self.days > MAX_DAYS:
            raise PeriodError(f"period of {self.days} days is longer than {MAX_DAYS}")
        ZoneInfo(self.zone)  # raises for an unknown zone

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """UTC instant of local midnight starting ``first``."""
        return datetime.combine(self.first, time(0), ZoneInfo(self.zone)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """UTC instant of local midnight after ``last`` (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), ZoneInfo(self.zone)).astimezone(UTC)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    @classmethod
    def day(cls, day: date, zone: str = DEFAULT_ZONE) -> Period:
        return cls(day, day, zone)

    @classmethod
    def week(cls, any_day: date, zone: str = DEFAULT_ZONE) -> Period:
        monday = any_day - timedelta(days=any_day.weekday())
        return cls(monday, monday + timedelta(days=6), zone)

    @classmethod
    def month(cls, year: int, month: int, zone: str = DEFAULT_ZONE) -> Period:
        first = date(year, month, 1)
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return cls(first, nxt - timedelta(days=1), zone)


def local_today(now: datetime, zone: str = DEFAULT_ZONE) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def bucket_of(day: date, bucket: Bucket) -> date:
    """First local date of the bucket holding ``day``."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise PeriodError(f"unknown bucket {bucket!r} (day, week or month)")


def bucket_label(start: date, bucket: Bucket) -> str:
    if bucket == "month":
        return start.strftime("%Y-%m")
    if bucket == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return start.isoformat()
