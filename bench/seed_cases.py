"""Seed a PostgreSQL database with millions of synthetic cases for the analytics benchmark.

    .venv/bin/python bench/seed_cases.py --cases 10000000            # into database mingchu_bench
    .venv/bin/python bench/seed_cases.py --cases 1000000 --database mingchu_bench_1m
    .venv/bin/python bench/seed_cases.py --rollup-only --database mingchu_bench_1m   # migrate, rebuild rollups

The rows are generated inside PostgreSQL (``INSERT … SELECT generate_series``, seeded ``random()``), which
beats COPY from Python because nothing crosses the socket; secondary indexes on ``cases`` are dropped during
the load and rebuilt afterwards (much faster than maintaining them row by row). The schema comes from the
project's Alembic migrations, so the benchmark runs against the real tables and indexes. Finally the daily
rollup is rebuilt (as of ``END``, the "now" the benchmark queries at) and everything is ANALYZEd. ``--rollup-only``
keeps the cases, applies new migrations and only rebuilds the rollups. Progress goes to stderr; a JSON summary
to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from cloud_api import migrations
from cloud_api.analytics.rollup import rebuild_rollup
from cloud_api.db import Database
from mingchu.taxonomy import default_taxonomy

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
END = datetime(2026, 11, 1, tzinfo=UTC)  # fixed so every run seeds the same data


def log(msg: str) -> None:
    print(f"[seed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def recreate_database(server_url: str, name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"bad database name {name!r}")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def seed_org(engine: Engine, districts: int, schools: int, cameras: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO districts (id, name, created_at) VALUES (:id, :name, now())"),
            [{"id": f"d{d:02d}", "name": f"第{d + 1}区"} for d in range(districts)],
        )
        conn.execute(
            text("INSERT INTO schools (id, district_id, name, created_at) VALUES (:id, :d, :name, now())"),
            [{"id": f"sch-{s:05d}", "d": f"d{s % districts:02d}", "name": f"第{s + 1}学校"} for s in range(schools)],
        )
        conn.execute(
            text(
                "INSERT INTO cameras (id, school_id, name, state, auto_registered) "
                "VALUES (:id, :school, :name, 'online', false)"
            ),
            [
                {"id": f"sch-{s:05d}-cam{c}", "school": f"sch-{s:05d}", "name": f"后厨{c + 1}"}
                for s in range(schools)
                for c in range(cameras)
            ],
        )


def _array(values: list[str] | list[int] | list[float], cast: str) -> str:
    inner = ",".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)
    return f"(ARRAY[{inner}]::{cast}[])"


def insert_sql(schools: int, cameras: int, days: int) -> str:
    tax = default_taxonomy()
    classes = _array([c.id for c in tax.classes], "text")
    severities = _array([c.severity for c in tax.classes], "int")
    hours = _array([c.deadline_hours for c in tax.classes], "float8")
    n = len(tax.classes)
    # Schools are skewed (power law) so rankings differ; older cases are mostly closed, recent ones less so.
    return f"""
    INSERT INTO cases (kind, school_id, camera_id, violation_class, severity, state, card, event_count,
                       first_seen_at, last_seen_at, deadline_at, created_at, updated_at, closed_at,
                       reporter_name, comment, version)
    SELECT 'violation', school, school || '-cam' || (g % {cameras}), {classes}[ci + 1], {severities}[ci + 1],
           CASE WHEN rc > 0.99 THEN 'false_positive' WHEN closed IS NOT NULL THEN 'closed'
                ELSE (ARRAY['notified','acknowledged','rectifying','submitted'])[1 + g % 4] END,
           'none', 1, ts, ts, ts + {hours}[ci + 1] * interval '1 hour', ts, COALESCE(closed, ts), closed, '', '', 1
    FROM (
      SELECT g, ts, ci, rc, 'sch-' || lpad(si::text, 5, '0') AS school,
             CASE WHEN rc < (CASE WHEN ts < :end - interval '7 days' THEN 0.97 ELSE 0.6 END) OR rc > 0.99
                  THEN LEAST(ts + (0.25 + rh * rh * 100) * interval '1 hour', :end - interval '1 hour') END AS closed
      FROM (
        SELECT g,
               :end - random() * interval '{days} days' AS ts,
               LEAST(floor(power(random(), 1.6) * {schools})::int, {schools - 1}) AS si,
               LEAST(floor(random() * {n})::int, {n - 1}) AS ci,
               random() AS rc, random() AS rh
        FROM generate_series(:lo, :hi) g
      ) r
    ) x
    """


def secondary_indexes(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def rebuild_rollups(url: str) -> tuple[int, float]:
    """Rebuild the daily and monthly rollups as of ``END`` and ANALYZE them; returns (day rows, seconds)."""
    t_roll = time.perf_counter()
    db = Database(url)
    with db.session() as session:
        rebuild_rollup(session, END)
        rollup_rows = int(session.execute(text("SELECT count(*) FROM analytics_school_day")).scalar_one())
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE analytics_school_day"))
        conn.execute(text("VACUUM ANALYZE analytics_school_month"))
    db.dispose()
    return rollup_rows, time.perf_counter() - t_roll


def rollup_only(url: str, name: str) -> int:
    t0 = time.perf_counter()
    engine = create_engine(url)
    migrations.upgrade(engine, "heads")
    engine.dispose()
    log(f"schema of {name} at the latest migrations")
    rollup_rows, rollup_s = rebuild_rollups(url)
    log(f"rollup rebuilt: {rollup_rows:,} rows in {rollup_s:.1f} s")
    summary = {
        "database": name,
        "rollup_rebuild_s": round(rollup_s, 1),
        "rollup_rows": rollup_rows,
        "total_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000_000, help="number of cases (default 10M)")
    parser.add_argument("--schools", type=int, default=2000, help="schools (default 2000)")
    parser.add_argument("--districts", type=int, default=20, help="districts (default 20)")
    parser.add_argument("--cameras", type=int, default=4, help="cameras per school (default 4)")
    parser.add_argument("--days", type=int, default=365, help="cases spread over this many days before 2026-11-01")
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per INSERT (progress granularity)")
    parser.add_argument("--database", default="mingchu_bench", help="database to (re)create")
    parser.add_argument("--server", default=SERVER, help="URL of an existing database on the server, for CREATE")
    parser.add_argument("--seed", type=float, default=0.42, help="random seed in [-1, 1]")
    parser.add_argument(
        "--rollup-only", action="store_true", help="keep the cases: migrate and rebuild the rollups of --database"
    )
    args = parser.parse_args(argv)
    if args.cases < 1 or args.schools < 1 or args.districts < 1 or args.cameras < 1 or args.days < 1:
        parser.error("counts must be positive")
    if not -1 <= args.seed <= 1:
        parser.error("--seed must be within [-1, 1]")
    if args.rollup_only:
        if not args.database.replace("_", "").isalnum():
            parser.error(f"bad database name {args.database!r}")
        url = make_url(args.server).set(database=args.database).render_as_string(hide_password=False)
        return rollup_only(url, args.database)

    t0 = time.perf_counter()
    url = recreate_database(args.server, args.database)
    engine = create_engine(url)
    migrations.upgrade(engine, "heads")
    log(f"schema ready in {args.database}")
    seed_org(engine, args.districts, args.schools, args.cameras)
    indexes = secondary_indexes(engine)
    with engine.begin() as conn:
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    log(f"dropped {len(indexes)} secondary indexes for the load")

    sql = text(insert_sql(args.schools, args.cameras, args.days))
    t_load = time.perf_counter()
    done = 0
    while done < args.cases:
        n = min(args.chunk, args.cases - done)
        with engine.begin() as conn:
            # replica role skips the per-row foreign-key triggers (rows are valid by construction); superuser only
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("SELECT setseed(:s)"), {"s": args.seed * (1 - done / max(args.cases, 1))})
            conn.execute(sql, {"lo": done + 1, "hi": done + n, "end": END})
        done += n
        rate = done / (time.perf_counter() - t_load)
        log(f"cases {done:,}/{args.cases:,} ({100 * done / args.cases:.0f}%), {rate:,.0f} rows/s")
    load_s = time.perf_counter() - t_load

    t_idx = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '256MB'"))
        for i, (name, ddl) in enumerate(indexes, start=1):
            conn.execute(text(ddl))
            log(f"index {i}/{len(indexes)} {name} rebuilt")
    index_s = time.perf_counter() - t_idx
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE cases"))
    log("vacuum analyze done")

    rollup_rows, rollup_s = rebuild_rollups(url)
    log(f"rollup rebuilt: {rollup_rows:,} rows in {rollup_s:.1f} s")
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
    engine.dispose()
    summary = {
        "database": args.database,
        "cases": args.cases,
        "schools": args.schools,
        "districts": args.districts,
        "load_s": round(load_s, 1),
        "index_rebuild_s": round(index_s, 1),
        "rollup_rebuild_s": round(rollup_s, 1),
        "rollup_rows": rollup_rows,
        "total_s": round(time.perf_counter() - t0, 1),
        "database_size": size,
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
