"""Opening cases from events (repeats attach to the open case), parent reports, and audited transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.config import CasesConfig, RectificationConfig
from cloud_api.db.base import utcnow
from cloud_api.db.models import Case, CaseTransition, Evidence
from cloud_api.services import workflow
from cloud_api.services.images import clean_image
from cloud_api.services.notifier import RECIPIENTS, Notifier
from cloud_api.services.workflow import State
from cloud_api.storage import Storage, case_image_key
from mingchu.contract import ViolationEvent
from mingchu.taxonomy import Taxonomy

PARENT_REPORT = "parent_report"
PARENT_REPORT_SEVERITY = 2
_RELEASE_OPEN_KEY = frozenset({State.APPROVED, State.CLOSED, State.FALSE_POSITIVE})
_NOTIFY_ON = {
    "dispute": "case_disputed",
    "submit": "rectification_submitted",
    "reject": "rectification_rejected",
    "close": "case_closed",
    "mark_false_positive": "case_closed",
}


@dataclass(frozen=True)
class Actor:
    """Who performs a transition; ``role`` is a :class:`Role` value or ``system``."""

    name: str
    role: str
    user_id: int | None = None


SYSTEM_ACTOR = Actor(name="system", role=workflow.SYSTEM)


def deadline_hours(violation_class: str, severity: int, config: CasesConfig, taxonomy: Taxonomy) -> float:
    """Hub config per grade wins; otherwise the taxonomy's per-class default; parent reports use grade 2's."""
    if severity in config.deadline_hours:
        return config.deadline_hours[severity]
    try:
        return taxonomy.get(violation_class).deadline_hours
    except KeyError:
        same_grade = [c.deadline_hours for c in taxonomy.classes if c.severity == severity]
        return min(same_grade) if same_grade else 24.0


def open_key(camera_id: str, track_id: int | None, violation_class: str) -> str:
    return f"{camera_id}:{'-' if track_id is None else track_id}:{violation_class}"


def _log(session: Session, case: Case, action: str, source: str | None, target: str, actor: Actor, reason: str) -> None:
    session.add(
        CaseTransition(
            case_id=case.id,
            action=action,
            from_state=source,
            to_state=target,
            actor_user_id=actor.user_id,
            actor_name=actor.name,
            actor_role=actor.role,
            reason=reason,
        )
    )


def _open(session: Session, case: Case, notifier: Notifier, reason: str) -> Case:
    session.add(case)
    session.flush()
    _log(session, case, "open", None, State.NEW, SYSTEM_ACTOR, reason)
    notifier.notify("case_opened", case, RECIPIENTS["case_opened"])
    transition(session, case, "notify", SYSTEM_ACTOR, "", notifier, via_api=False)
    return case


def attach_or_open(
    session: Session, event: ViolationEvent, config: CasesConfig, taxonomy: Taxonomy, notifier: Notifier
) -> tuple[Case, bool]:
    """The open case for this camera+track+class gets the event; otherwise a new case. Returns (case, created)."""
    key = open_key(event.place.camera_id, event.track_id, event.violation_class.value)
    case = session.scalar(select(Case).where(Case.open_key == key))
    if case is not None:
        case.event_count += 1
        case.last_seen_at = max(case.last_seen_at, event.occurred_at)
        case.severity = min(case.severity, event.severity)
        return case, False
    hours = deadline_hours(event.violation_class.value, event.severity, config, taxonomy)
    case = Case(
        kind="violation",
        school_id=event.school_id,
        canteen_id=event.place.canteen_id,
        room_id=event.place.room_id,
        camera_id=event.place.camera_id,
        device_id=event.device_id,
        track_id=event.track_id,
        violation_class=event.violation_class.value,
        severity=event.severity,
        state=State.NEW,
        first_seen_at=event.occurred_at,
        last_seen_at=event.occurred_at,
        deadline_at=event.occurred_at + timedelta(hours=hours),
        open_key=key,
    )
    return _open(session, case, notifier, f"event {event.event_id}"), True


def open_parent_report(
    session: Session,
    *,
    school_id: str,
    camera_id: str | None,
    reporter: Actor,
    comment: str,
    config: CasesConfig,
    taxonomy: Taxonomy,
    notifier: Notifier,
    now: datetime | None = None,
) -> Case:
    """A 直通负责人 report from a parent: its own case (never merged), grade 2. Screenshots are added as evidence."""
    now = now or utcnow()
    hours = deadline_hours(PARENT_REPORT, PARENT_REPORT_SEVERITY, config, taxonomy)
    case = Case(
        kind=PARENT_REPORT,
        school_id=school_id,
        camera_id=camera_id,
        violation_class=PARENT_REPORT,
        severity=PARENT_REPORT_SEVERITY,
        state=State.NEW,
        first_seen_at=now,
        last_seen_at=now,
        deadline_at=now + timedelta(hours=hours),
        reporter_user_id=reporter.user_id,
        reporter_name=reporter.name,
        comment=comment,
    )
    return _open(session, case, notifier, "parent report")


def add_image_evidence(
    session: Session, case: Case, name: str, raw: bytes, storage: Storage, limits: RectificationConfig
) -> Evidence:
    """A screenshot or photo attached to a case (parent reports): validated, EXIF-stripped, stored."""
    image = clean_image(name, raw, limits)
    key = case_image_key(case.school_id, case.id, image.sha256, image.suffix)
    storage.put(key, image.data, image.content_type)
    evidence = Evidence(
        case_id=case.id,
        name=name[:32],
        storage_key=key,
        sha256=image.sha256,
        size=len(image.data),
        width=image.width,
        height=image.height,
        content_type=image.content_type,
    )
    session.add(evidence)
    session.flush()
    return evidence


def transition(
    session: Session,
    case: Case,
    action: str,
    actor: Actor,
    reason: str,
    notifier: Notifier,
    *,
    via_api: bool = True,
) -> None:
    """Check against the table, move the case, append to the audit log, notify. Raises ``TransitionError``."""
    t = workflow.check(action, case.state, actor.role, reason, via_api=via_api)
    source = case.state
    case.state = t.target
    if t.target in _RELEASE_OPEN_KEY:
        case.open_key = None
    if t.target in workflow.CLOSED_STATES:
        case.closed_at = utcnow()
    _log(session, case, action, source, t.target, actor, reason)
    kind = _NOTIFY_ON.get(action)
    if kind:
        notifier.notify(kind, case, RECIPIENTS[kind])


def is_overdue(case: Case, now: datetime) -> bool:
    return case.state in workflow.OWING_STATES and case.deadline_at <= now
