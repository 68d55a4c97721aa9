"""Who gets an alert, and on which of their channels (preferences, severities, quiet hours)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from cloud_api.db.models.org import School
from cloud_api.db.models.people import PushPreference
from cloud_api.db.models.users import Role, User
from cloud_api.push.alert import Alert

ESCALATION_KINDS = frozenset({"case_escalated", "yellow_card", "red_card"})
NEW_CASE_KINDS = frozenset({"case_opened", "parent_report"})


def roles_for(alert: Alert, requested: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The notifier's roles, plus: a new case (or parent report) always reaches the school's canteen
    managers and head; escalations (yellow/red card) and grade-1 new cases also reach the regulator."""
    roles = set(requested)
    if alert.kind in NEW_CASE_KINDS:
        roles |= {Role.CANTEEN_MANAGER.value, Role.SCHOOL_HEAD.value}
        if alert.severity == 1:
            roles.add(Role.REGULATOR.value)
    if alert.kind in ESCALATION_KINDS or alert.card in ("yellow", "red"):
        roles.add(Role.REGULATOR.value)
    roles.discard(Role.PARENT.value)  # parents follow their own reports in the app, never staff alerts
    return roles


def recipients(session: Session, school_id: str | None, roles: set[str]) -> list[User]:
    """Active staff of the school with those roles, and regulators of its district."""
    if school_id is None:
        return []
    school = session.get(School, school_id)
    if school is None:
        return []
    clauses: list[ColumnElement[bool]] = []
    staff_roles = roles - {Role.REGULATOR.value, Role.ADMIN.value}
    if staff_roles:
        clauses.append((User.school_id == school_id) & User.role.in_(staff_roles))
    if Role.REGULATOR.value in roles:
        clauses.append((User.role == Role.REGULATOR.value) & (User.district_id == school.district_id))
    if Role.ADMIN.value in roles:
        clauses.append(User.role == Role.ADMIN.value)
    if not clauses:
        return []
    return list(session.scalars(select(User).where(User.active.is_(True), or_(*clauses)).order_by(User.id)).all())


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(pref: PushPreference, now: datetime) -> bool:
    if not pref.quiet_start or not pref.quiet_end:
        return False
    try:
        local = now.astimezone(ZoneInfo(pref.timezone)).time()
    except ZoneInfoNotFoundError:
        return False
    start, end = _parse_hhmm(pref.quiet_start), _parse_hhmm(pref.quiet_end)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight, e.g. 22:00–07:00


def channel_choice(
    pref: PushPreference | None, alert: Alert, defaults: tuple[str, ...], now: datetime
) -> tuple[list[str], bool]:
    """(channel names the user wants for this alert, whether intrusive ones must stay quiet now).

    Grade 1 alerts ignore quiet hours: an unattended flame matters at 3 am too.
    """
    if pref is None:
        return list(defaults), False
    if alert.severity not in pref.severities:
        return [], False
    return [str(c) for c in pref.channels], alert.severity != 1 and in_quiet_hours(pref, now)
