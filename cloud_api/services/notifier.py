"""How case events reach people. The default records to ``notifications``; the push engineer plugs a sender in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session, object_session

from cloud_api.db.bulk import insert_rows
from cloud_api.db.models import Case, Notification


class CaseRef(NamedTuple):
    """What a notification needs of a case that ingest inserted without loading it."""

    case_id: int
    school_id: str


class Notifier(Protocol):
    """Called inside the case's transaction, so a notification exists iff the change committed."""

    def notify(self, event_kind: str, case: Case, recipients_roles: Sequence[str]) -> None: ...

    def notify_many(
        self, session: Session, event_kind: str, cases: Sequence[CaseRef], recipients_roles: Sequence[str]
    ) -> None:
        """The same for a batch of cases (ingest opens up to a batch of cases per transaction)."""
        ...


class RecordingNotifier:
    """Writes a :class:`Notification` row in the case's own session (an outbox a sender can drain)."""

    def notify(self, event_kind: str, case: Case, recipients_roles: Sequence[str]) -> None:
        session = object_session(case)
        if session is None:
            raise RuntimeError("case is not attached to a session")
        session.add(
            Notification(
                kind=event_kind, case_id=case.id, school_id=case.school_id, recipients_roles=list(recipients_roles)
            )
        )

    def notify_many(
        self, session: Session, event_kind: str, cases: Sequence[CaseRef], recipients_roles: Sequence[str]
    ) -> None:
        if not cases:
            return
        roles = list(recipients_roles)
        rows = [
            {"kind": event_kind, "case_id": c.case_id, "school_id": c.school_id, "recipients_roles": roles}
            for c in cases
        ]
        insert_rows(session.connection(), cast(Table, Notification.__table__), rows)  # no ORM objects


# Who hears about what (roles; the notifier resolves people within the case's scope).
RECIPIENTS: dict[str, tuple[str, ...]] = {
    "case_opened": ("school_head", "canteen_manager"),
    "case_disputed": ("regulator",),
    "rectification_submitted": ("regulator",),
    "rectification_rejected": ("school_head", "canteen_manager"),
    "case_closed": ("school_head", "canteen_manager"),
    "yellow_card": ("school_head", "canteen_manager", "regulator"),
    "red_card": ("school_head", "regulator", "admin"),
}
