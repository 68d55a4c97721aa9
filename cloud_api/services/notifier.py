"""How case events reach people. The default records to ``notifications``; the push engineer plugs a sender in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import object_session

from cloud_api.db.models import Case, Notification


class Notifier(Protocol):
    """Called inside the case's transaction, so a notification exists iff the change committed."""

    def notify(self, event_kind: str, case: Case, recipients_roles: Sequence[str]) -> None: ...


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
