"""A sample 月调度 report from a small made-up district, for docs and demos (no database needed).

    .venv/bin/python -m cloud_api.reports.sample --out docs/screenshots/report-monthly.png

Writes ``.html`` and ``.pdf`` beside ``--out`` and renders page 1 of the PDF to PNG with poppler's ``pdftoppm``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from cloud_api.analytics import Scope
from cloud_api.analytics.rollup import create_analytics_tables
from cloud_api.db import Base, Database
from cloud_api.db.models import Camera, CameraStatusLog, Case, District, School
from cloud_api.reports.pdf import make_pdf_renderer
from cloud_api.reports.report import build_report, render_html
from mingchu.taxonomy import default_taxonomy

SCHOOLS = ["实验小学", "第一中学", "第二中学", "育才小学", "外国语学校", "第三小学", "民族中学", "职业高中"]
NOW = datetime(2026, 4, 3, 2, 0, tzinfo=UTC)


def seed_demo(session: Session, seed: int = 7) -> None:
    """About 400 cases in March 2026 over 8 schools, with realistic class frequencies and closure delays."""
    rng = random.Random(seed)
    taxonomy = default_taxonomy()
    weights = [14, 10, 6, 8, 2, 7, 3, 9, 1, 2, 3]
    session.add(District(id="demo", name="示范区"))
    session.flush()
    for i, name in enumerate(SCHOOLS):
        session.add(School(id=f"s{i}", district_id="demo", name=name))
    session.flush()
    for i in range(len(SCHOOLS)):
        for c in range(rng.randint(3, 8)):
            cam = f"s{i}-c{c}"
            session.add(Camera(id=cam, school_id=f"s{i}", name=f"后厨{c + 1}"))
            session.flush()  # the log has no ORM relationship, so the camera must exist first
            session.add(CameraStatusLog(camera_id=cam, state="online", at=datetime(2026, 2, 1, tzinfo=UTC)))
            if rng.random() < 0.3:
                down = datetime(2026, 3, rng.randint(1, 28), tzinfo=UTC)
                session.add(CameraStatusLog(camera_id=cam, state="offline", at=down))
                session.add(
                    CameraStatusLog(camera_id=cam, state="online", at=down + timedelta(hours=rng.randint(2, 60)))
                )
    session.flush()
    start = datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    for _ in range(400):
        cls = rng.choices(taxonomy.classes, weights=weights)[0]
        school = min(int(rng.paretovariate(1.2)) - 1, len(SCHOOLS) - 1)
        first = start + timedelta(seconds=rng.randint(0, 31 * 86400 - 1))
        deadline = first + timedelta(hours=cls.deadline_hours)
        closed = first + timedelta(hours=rng.expovariate(1 / (cls.deadline_hours * 0.7)))
        is_closed = closed < NOW and rng.random() < 0.93
        session.add(
            Case(
                school_id=f"s{school}",
                violation_class=cls.id,
                severity=cls.severity,
                state="closed" if is_closed else rng.choice(["notified", "rectifying", "submitted"]),
                first_seen_at=first,
                last_seen_at=first,
                deadline_at=deadline,
                closed_at=closed if is_closed else None,
                created_at=first,
                updated_at=closed if is_closed else first,
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="PNG path; .html and .pdf are written beside it")
    parser.add_argument("--dpi", type=int, default=80, help="PNG resolution")
    args = parser.parse_args(argv)
    if args.out.suffix.lower() != ".png":
        parser.error("--out must end in .png")
    if not shutil.which("pdftoppm"):
        print("pdftoppm not found (Debian: apt-get install poppler-utils)", file=sys.stderr)
        return 2
    db = Database("sqlite://")
    Base.metadata.create_all(db.engine)
    create_analytics_tables(db.engine)
    with db.session() as session:
        seed_demo(session)
    with db.session() as session:
        html = render_html(build_report(session, "monthly", date(2026, 3, 1), Scope(district_id="demo"), NOW))
    db.dispose()
    pdf = make_pdf_renderer().render(html)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".html").write_text(html, encoding="utf-8")
    args.out.with_suffix(".pdf").write_bytes(pdf)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(args.dpi),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(args.out.with_suffix(".pdf")),
                str(Path(tmp) / "page"),
            ],
            check=True,
        )
        shutil.move(str(Path(tmp) / "page.png"), args.out)
    print(f"wrote {args.out} (+ .html, .pdf)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
