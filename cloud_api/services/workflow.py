"""The case state machine, written as data: one row per allowed (action, from → to).

Anything not in :data:`TRANSITIONS` is illegal (HTTP 409); a legal move by the wrong role is 403.
``SYSTEM`` is the ingest worker and the escalation job, never an API user.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cloud_api.db.models.users import Role

SYSTEM = "system"


class State(StrEnum):
    NEW = "new"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    DISPUTED = "disputed"
    RECTIFYING = "rectifying"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CLOSED = "closed"
    FALSE_POSITIVE = "false_positive"


CLOSED_STATES = frozenset({State.CLOSED, State.FALSE_POSITIVE})
# Overdue counts only while the school still owes work (a submitted case waits on the reviewer).
OWING_STATES = frozenset({State.NEW, State.NOTIFIED, State.ACKNOWLEDGED, State.DISPUTED, State.RECTIFYING})

_STAFF = frozenset({Role.SCHOOL_HEAD, Role.CANTEEN_MANAGER, Role.ADMIN})
# The school head is responsible by law and verifies the fix; the regulator may too (and re-inspects).
_APPROVE = frozenset({Role.SCHOOL_HEAD, Role.REGULATOR, Role.ADMIN})
# A dispute is decided outside the school, or a school could dismiss its own violations.
_REVIEW = frozenset({Role.REGULATOR, Role.ADMIN})


@dataclass(frozen=True)
class Transition:
    action: str
    source: State
    target: State
    roles: frozenset[str]
    reason_required: bool = False
    api: bool = True  # False: only through its own endpoint (rectification upload / review)


TRANSITIONS: tuple[Transition, ...] = (
    Transition("notify", State.NEW, State.NOTIFIED, frozenset({SYSTEM, Role.ADMIN})),
    Transition("acknowledge", State.NOTIFIED, State.ACKNOWLEDGED, _STAFF),
    Transition("dispute", State.NOTIFIED, State.DISPUTED, _STAFF, reason_required=True),
    Transition("start_rectification", State.ACKNOWLEDGED, State.RECTIFYING, _STAFF),
    Transition("submit", State.RECTIFYING, State.SUBMITTED, _STAFF, api=False),
    Transition("approve", State.SUBMITTED, State.APPROVED, _APPROVE, api=False),
    Transition("reject", State.SUBMITTED, State.RECTIFYING, _APPROVE, reason_required=True, api=False),
    Transition("close", State.APPROVED, State.CLOSED, _APPROVE),
    Transition("mark_false_positive", State.DISPUTED, State.FALSE_POSITIVE, _REVIEW, reason_required=True),
    Transition("uphold", State.DISPUTED, State.RECTIFYING, _REVIEW, reason_required=True),
)

ACTIONS = frozenset(t.action for t in TRANSITIONS)


class TransitionError(Exception):
    """``kind`` is ``illegal`` (409), ``forbidden`` (403) or ``reason`` (422)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def find(action: str, source: str) -> Transition | None:
    for t in TRANSITIONS:
        if t.action == action and t.source == source:
            return t
    return None


def roles_for(action: str) -> frozenset[str]:
    """Who may take ``action`` from any state (for showing or hiding a control)."""
    return frozenset().union(*(t.roles for t in TRANSITIONS if t.action == action))


def check(action: str, source: str, role: str, reason: str, *, via_api: bool = True) -> Transition:
    """Return the transition or raise :class:`TransitionError` saying exactly why not."""
    if action not in ACTIONS:
        raise TransitionError("illegal", f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    t = find(action, source)
    if t is None:
        allowed = sorted(x.action for x in TRANSITIONS if x.source == source)
        hint = f"allowed from {source!r}: {', '.join(allowed)}" if allowed else f"{source!r} is final"
        raise TransitionError("illegal", f"cannot {action} a case in state {source!r} ({hint})")
    if via_api and not t.api:
        raise TransitionError("illegal", f"{action!r} happens through its own endpoint (rectification upload/review)")
    if role not in t.roles:
        raise TransitionError("forbidden", f"role {role!r} may not {action} (allowed: {', '.join(sorted(t.roles))})")
    if t.reason_required and not reason.strip():
        raise TransitionError("reason", f"{action!r} needs a reason")
    return t
