"""Overdue cases get a yellow card at the deadline and a red one ``red_card_after_hours`` later; plus the 约谈 list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_api.config import CasesConfig, InterviewConfig
from cloud_api.db.models import Case, Escalation, School
from cloud_api.services import workflow
from cloud_api.services.notifier import RECIPIENTS, Notifier

_LEVELS = ("yellow", "red")
_RANK = {"none": 0, "yellow": 1, "red": 2}


def escalate_overdue(session: Session, now: datetime, config: CasesConfig, notifier: Notifier) -> list[Escalation]:
    """Give every due card exactly once (the case's ``card`` remembers); returns the new escalations."""
    red_after = timedelta(hours=config.red_card_after_hours)
    rows = session.scalars(
        select(Case)
        .where(Case.state.in_(list(workflow.OWING_STATES)), Case.deadline_at <= now, Case.card != "red")
        .order_by(Case.id)
    ).all()
    given: list[Escalation] = []
    for case in rows:
        due = {"yellow": case.deadline_at, "red": case.deadline_at + red_after}
        for rank, level in enumerate(_LEVELS, start=1):
            if _RANK.get(case.card, 0) >= rank:
                continue
            if now < due[level]:
                break
            case.card = level
            esc = Escalation(case_id=case.id, school_id=case.school_id, level=level, at=now, due_at=due[level])
            session.add(esc)
            notifier.notify(f"{level}_card", case, RECIPIENTS[f"{level}_card"])
            given.append(esc)
    session.flush()
    return given


@dataclass
class InterviewEntry:
    """A school due for 约谈 and why."""

    school_id: str
    school_name: str
    district_id: str
    open_cases: int
    overdue_cases: int
    repeat_offences: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def interview_list(
    session: Session, now: datetime, config: InterviewConfig, district_id: str | None = None
) -> list[InterviewEntry]:
    """Schools past any threshold: open cases, overdue cases, or one class repeated within the window."""
    open_states = [s.value for s in workflow.State if s not in workflow.CLOSED_STATES]
    schools = select(School)
    if district_id is not None:
        schools = schools.where(School.district_id == district_id)
    by_school = {s.id: s for s in session.scalars(schools)}
    if not by_school:
        return []
    ids = list(by_school)
    open_counts = dict(
        session.execute(
            select(Case.school_id, func.count())
            .where(Case.school_id.in_(ids), Case.state.in_(open_states))
            .group_by(Case.school_id)
        ).all()
    )
    overdue_counts = dict(
        session.execute(
            select(Case.school_id, func.count())
            .where(Case.school_id.in_(ids), Case.state.in_(list(workflow.OWING_STATES)), Case.deadline_at <= now)
            .group_by(Case.school_id)
        ).all()
    )
    since = now - timedelta(days=config.repeat_window_days)
    repeats: dict[str, dict[str, int]] = {}
    for school_id, cls, n in session.execute(
        select(Case.school_id, Case.violation_class, func.count())
        .where(Case.school_id.in_(ids), Case.first_seen_at >= since, Case.state != workflow.State.FALSE_POSITIVE)
        .group_by(Case.school_id, Case.violation_class)
    ).all():
        if n >= config.repeat_offences:
            repeats.setdefault(school_id, {})[cls] = n
    result = []
    for sid, school in sorted(by_school.items()):
        entry = InterviewEntry(
            school_id=sid,
            school_name=school.name,
            district_id=school.district_id,
            open_cases=open_counts.get(sid, 0),
            overdue_cases=overdue_counts.get(sid, 0),
            repeat_offences=repeats.get(sid, {}),
        )
        if entry.open_cases >= config.open_cases:
            entry.reasons.append(f"{entry.open_cases} open cases (threshold {config.open_cases})")
        if entry.overdue_cases >= config.overdue_cases:
            entry.reasons.append(f"{entry.overdue_cases} overdue cases (threshold {config.overdue_cases})")
        for cls, n in sorted(entry.repeat_offences.items()):
            entry.reasons.append(f"{cls} repeated {n} times in {config.repeat_window_days} days")
        if entry.reasons:
            result.append(entry)
    return result
