from __future__ import annotations

import pytest

from mingchu.contract import ContractError, Topics, parse_topic
from mingchu.contract.topics import hub_filters, live_filter


def test_topics_for_a_device() -> None:
    t = Topics("sch-001", "edge-01")
    assert t.events == "mingchu/v1/sch-001/edge-01/events"
    assert t.status == "mingchu/v1/sch-001/edge-01/status"
    assert t.command("snapshot") == "mingchu/v1/sch-001/edge-01/cmd/snapshot"
    assert t.live("cam-1") == "mingchu/v1/sch-001/edge-01/live/cam-1"


@pytest.mark.parametrize(
    ("topic", "channel", "name"),
    [
        ("mingchu/v1/s/d/events", "events", None),
        ("mingchu/v1/s/d/status", "status", None),
        ("mingchu/v1/s/d/stats", "stats", None),
        ("mingchu/v1/s/d/reply", "reply", None),
        ("mingchu/v1/s/d/cmd/live_start", "cmd", "live_start"),
        ("mingchu/v1/s/d/live/cam-2", "live", "cam-2"),
    ],
)
def test_parse_round_trip(topic: str, channel: str, name: str | None) -> None:
    info = parse_topic(topic)
    assert (info.channel, info.school_id, info.device_id, info.name) == (channel, "s", "d", name)


@pytest.mark.parametrize(
    "topic",
    [
        "other/v1/s/d/events",
        "mingchu/v2/s/d/events",
        "mingchu/v1/s/d/unknown",
        "mingchu/v1/s/d/events/extra",
        "mingchu/v1/s/d/live",
        "mingchu/v1/s/+/events",
        "mingchu/v1/s",
    ],
)
def test_bad_topics_are_contract_errors(topic: str) -> None:
    with pytest.raises(ContractError):
        parse_topic(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "x" * 65, "-lead"])
def test_ids_that_could_break_topics_are_refused(bad: str) -> None:
    with pytest.raises(ContractError):
        Topics(bad, "edge")


def test_hub_uses_shared_subscriptions_for_load_but_not_for_live() -> None:
    filters = hub_filters("hub")
    assert filters["events"] == "$share/hub/mingchu/v1/+/+/events"
    assert hub_filters()["status"] == "mingchu/v1/+/+/status"
    assert not live_filter().startswith("$share")
