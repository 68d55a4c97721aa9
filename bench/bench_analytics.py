"""Analytics query latency over a seeded database (see bench/seed_cases.py): raw case scans vs the daily rollup.

    .venv/bin/python bench/seed_cases.py --cases 10000000
    .venv/bin/python bench/bench_analytics.py --database mingchu_bench --runs 30

Each query runs ``--warmup`` times untimed, then ``--runs`` times; we report p50/p95 wall time of the whole
service call (SQL + Python), as the API would spend it. The goal is p95 <= 300 ms for rankings and closure rates.
The seeded rollup is exactly up to date at ``NOW``; the "min old + closures" rows query it as the API may meet it
at worst (last refreshed ``FRESH_FOR`` earlier, 1000 closures since), and the overdue counts the rollup gives are
checked against a count straight from the cases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cloud_api.analytics import Period, Scope, closure_table, overall, rank_schools
from cloud_api.analytics.rollup import FRESH_FOR, refresh_rollup, rollup_counts
from cloud_api.analytics.stats import Counts, GroupStats
from cloud_api.db import Database
from cloud_api.db.models import Case
from cloud_api.services.workflow import OWING_STATES

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
END = date(2026, 10, 31)  # seed_cases.py puts cases in the year before 2026-11-01
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # seed_cases.END: no case was touched after this


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any], runs: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1), "runs": runs}


def rollup_overall(session: Session, period: Period, scope: Scope) -> GroupStats:
    total = Counts()
    for c in rollup_counts(session, "district", period, scope, NOW).values():
        total.add(c)
    return GroupStats.build("all", "全部", total)


def check_overdue(session: Session, period: Period, now: datetime, label: str) -> None:
    """The rollup's overdue per school (stored counters + live corrections) must equal a count straight from cases."""
    owing = [s.value for s in OWING_STATES]
    rows = session.execute(
        select(Case.school_id, func.count())
        .where(
            Case.closed_at.is_(None),
            Case.state.in_(owing),
            Case.deadline_at < now,
            Case.first_seen_at >= period.start,
            Case.first_seen_at < period.end,
        )
        .group_by(Case.school_id)
    ).all()
    raw = {str(k): int(n) for k, n in rows}
    rolled = rollup_counts(session, "school", period, Scope(), now)
    wrong = sum(rolled.get(k, Counts()).overdue != raw.get(k, 0) for k in set(rolled) | set(raw))
    if wrong:
        raise SystemExit(f"{label}: overdue of {wrong} schools differs from a live count")
    log(f"{label}: overdue matches a live count ({sum(raw.values()):,} cases)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="mingchu_bench")
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--skip-raw", action="store_true", help="only the rollup-backed queries")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    url = make_url(args.server).set(database=args.database).render_as_string(hide_password=False)
    db = Database(url)
    month = Period(END - timedelta(days=29), END)
    year = Period(END - timedelta(days=364), END)
    october = Period.month(END.year, END.month)
    everything, district = Scope(), Scope(district_id="d03")
    results: dict[str, dict[str, float]] = {}
    load_before = os.getloadavg()[0]
    with db.sessions() as session:
        n_cases = session.execute(text("SELECT count(*) FROM cases")).scalar_one()
        log(f"{n_cases:,} cases in {args.database}")

        def rank_rollup(period: Period, scope: Scope) -> Callable[[], Any]:
            return lambda: rank_schools(
                session, period, scope, NOW, counts=rollup_counts(session, "school", period, scope, NOW)
            )

        plan: list[tuple[str, Callable[[], Any], bool]] = [
            ("rankings, all 2000 schools, 30 days, rollup", rank_rollup(month, everything), False),
            ("rankings, one district, 30 days, rollup", rank_rollup(month, district), False),
            ("rankings, all schools, calendar month (月调度), rollup", rank_rollup(october, everything), False),
            ("rankings, all schools, 365 days, rollup", rank_rollup(year, everything), False),
            ("closure rate overall, 30 days, rollup", lambda: rollup_overall(session, month, everything), False),
            ("closure rate overall, 365 days, rollup", lambda: rollup_overall(session, year, everything), False),
            (
                "closure by district, 365 days, rollup",
                lambda: closure_table(
                    session,
                    "district",
                    year,
                    everything,
                    NOW,
                    rollup_counts(session, "district", year, everything, NOW),
                ),
                False,
            ),
            ("rankings, all schools, 30 days, raw cases", lambda: rank_schools(session, month, everything, NOW), True),
            ("rankings, one district, 30 days, raw cases", lambda: rank_schools(session, month, district, NOW), True),
            ("closure rate overall, 30 days, raw cases", lambda: overall(session, month, everything, NOW), True),
            (
                "category shares, one district, 30 days, raw cases",
                lambda: closure_table(session, "category", month, district, NOW),
                True,
            ),
        ]
        for name, fn, raw in plan:
            if raw and args.skip_raw:
                continue
            runs = args.runs if not raw else max(3, args.runs // 3)
            results[name] = timed(fn, runs, args.warmup if not raw else 1)
            log(f"{name}: {results[name]}")
        check_overdue(session, year, NOW, "365 days at the refresh")

        # incremental refresh: first catch up (untimed), then close 1000 open cases of the month and refresh
        later = NOW + timedelta(minutes=10)
        refresh_rollup(session, later)
        ids = (
            session.execute(
                select(Case.id)
                .where(Case.closed_at.is_(None), Case.first_seen_at >= month.start)
                .order_by(func.random())  # spread over schools and days, as real closures are
                .limit(1000)
            )
            .scalars()
            .all()
        )
        closed_at = later + timedelta(minutes=1)
        session.execute(
            update(Case).where(Case.id.in_(ids)).values(closed_at=closed_at, state="closed", updated_at=closed_at)
        )
        # the rollup as the API meets it at worst: FRESH_FOR after its last refresh, those closures not yet in it
        # (overdue of their (school, day) pairs is recounted live, deadlines passed since the refresh are added)
        stale = later + FRESH_FOR
        for name, period in (("30 days", month), ("365 days", year)):
            label = f"rankings, all schools, {name}, rollup {FRESH_FOR.seconds // 60} min old + {len(ids)} closures"

            def stale_rank(period: Period = period) -> Any:
                return rank_schools(
                    session,
                    period,
                    everything,
                    stale,
                    counts=rollup_counts(session, "school", period, everything, stale),
                )

            results[label] = timed(stale_rank, args.runs, args.warmup)
            log(f"{label}: {results[label]}")
            check_overdue(session, period, stale, label)
        t = time.perf_counter()
        pairs = refresh_rollup(session, later + timedelta(minutes=20))
        refresh_ms = (time.perf_counter() - t) * 1000
        session.rollback()  # leave the seeded data as it was
        results["incremental rollup refresh after 1000 closures"] = {"ms": round(refresh_ms, 1), "pairs": pairs}
        log(f"refresh of {pairs} (school, day) pairs after {len(ids)} closures: {refresh_ms:.0f} ms")
    db.dispose()
    summary = {
        "database": args.database,
        "cases": n_cases,
        "load_avg_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "results": results,
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
