"""The transition table, checked exhaustively (pure logic: no database)."""

from __future__ import annotations

import itertools

import pytest

from cloud_api.db.models.users import Role
from cloud_api.services import workflow
from cloud_api.services.workflow import ACTIONS, SYSTEM, State, TransitionError

ROLES = [r.value for r in Role] + [SYSTEM]

# The specification, written independently of the table: (action, from, to, roles, reason required)
EXPECTED = {
    ("notify", "new"): ("notified", {"system", "admin"}, False),
    ("acknowledge", "notified"): ("acknowledged", {"school_head", "canteen_manager", "admin"}, False),
    ("dispute", "notified"): ("disputed", {"school_head", "canteen_manager", "admin"}, True),
    ("start_rectification", "acknowledged"): ("rectifying", {"school_head", "canteen_manager", "admin"}, False),
    ("submit", "rectifying"): ("submitted", {"school_head", "canteen_manager", "admin"}, False),
    ("approve", "submitted"): ("approved", {"school_head", "regulator", "admin"}, False),
    ("reject", "submitted"): ("rectifying", {"school_head", "regulator", "admin"}, True),
    ("close", "approved"): ("closed", {"school_head", "regulator", "admin"}, False),
    ("mark_false_positive", "disputed"): ("false_positive", {"regulator", "admin"}, True),
    ("uphold", "disputed"): ("rectifying", {"regulator", "admin"}, True),
}


@pytest.mark.parametrize(("action", "state", "role"), list(itertools.product(sorted(ACTIONS), list(State), ROLES)))
def test_every_action_state_role_combination(action: str, state: State, role: str) -> None:
    spec = EXPECTED.get((action, state.value))
    if spec is None:
        with pytest.raises(TransitionError) as err:
            workflow.check(action, state, role, "a reason", via_api=False)
        assert err.value.kind == "illegal"
        assert state.value in str(err.value)
        return
    target, roles, needs_reason = spec
    if role not in roles:
        with pytest.raises(TransitionError) as err:
            workflow.check(action, state, role, "a reason", via_api=False)
        assert err.value.kind == "forbidden"
        return
    assert workflow.check(action, state, role, "a reason", via_api=False).target == target
    if needs_reason:
        with pytest.raises(TransitionError) as err:
            workflow.check(action, state, role, "  ", via_api=False)
        assert err.value.kind == "reason"


def test_table_matches_the_specification_exactly() -> None:
    table = {
        (t.action, t.source.value): (t.target.value, set(t.roles), t.reason_required) for t in workflow.TRANSITIONS
    }
    assert table == EXPECTED


@pytest.mark.parametrize("action", ["submit", "approve", "reject"])
def test_rectification_moves_only_through_their_endpoints(action: str) -> None:
    source = {"submit": State.RECTIFYING}.get(action, State.SUBMITTED)
    with pytest.raises(TransitionError, match="own endpoint"):
        workflow.check(action, source, "admin", "reason", via_api=True)


def test_unknown_action_and_final_states_explain_themselves() -> None:
    with pytest.raises(TransitionError, match="unknown action 'fly'"):
        workflow.check("fly", State.NEW, "admin", "")
    with pytest.raises(TransitionError, match="is final"):
        workflow.check("close", State.CLOSED, "admin", "")


def test_every_state_can_reach_closure() -> None:
    """100% closure is possible: from every state some path ends in closed or false_positive."""
    edges: dict[str, set[str]] = {}
    for t in workflow.TRANSITIONS:
        edges.setdefault(t.source, set()).add(t.target)
    for start in State:
        seen, todo = set(), [start.value]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(edges.get(node, ()))
        assert seen & {"closed", "false_positive"}, start
