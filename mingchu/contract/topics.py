"""MQTT topic layout: ``mingchu/v1/{school_id}/{device_id}/{channel}[/{name}]``.

=========================================  =====  ========  ===============================
topic                                      QoS    retained  payload
=========================================  =====  ========  ===============================
``…/events``                               1      no        :class:`ViolationEvent`
``…/status``                               1      yes       :class:`DeviceStatus` (LWT too)
``…/stats``                                0      no        :class:`DeviceStats`
``…/cmd/{command}``                        1      no        :class:`Command` (hub → edge)
``…/reply``                                1      no        :class:`CommandReply`
``…/live/{camera_id}``                     0      no        :class:`LiveFrame`
=========================================  =====  ========  ===============================

Ids are slugs (letters, digits, ``_`` and ``-``) so they can never contain MQTT wildcards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mingchu.contract.errors import ContractError

TOPIC_ROOT = "mingchu/v1"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID = re.compile(ID_PATTERN)

Channel = Literal["events", "status", "stats", "cmd", "reply", "live"]
_NAMED_CHANNELS = {"cmd", "live"}
_CHANNELS = {"events", "status", "stats", "cmd", "reply", "live"}


def _check_id(kind: str, value: str) -> str:
    if not _ID.match(value):
        raise ContractError("bad_id", f"{kind} {value!r} is not a valid id (letters, digits, _ and -; ≤ 64)")
    return value


@dataclass(frozen=True)
class Topics:
    """Topic builder for one device."""

    school_id: str
    device_id: str

    def __post_init__(self) -> None:
        _check_id("school_id", self.school_id)
        _check_id("device_id", self.device_id)

    @property
    def base(self) -> str:
        return f"{TOPIC_ROOT}/{self.school_id}/{self.device_id}"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    @property
    def reply(self) -> str:
        return f"{self.base}/reply"

    @property
    def commands(self) -> str:
        """Filter the edge subscribes to for every command."""
        return f"{self.base}/cmd/+"

    def command(self, name: str) -> str:
        return f"{self.base}/cmd/{_check_id('command', name)}"

    def live(self, camera_id: str) -> str:
        return f"{self.base}/live/{_check_id('camera_id', camera_id)}"


def hub_filters(share_group: str | None = None) -> dict[Channel, str]:
    """What the hub subscribes to; with a group, as MQTT shared subscriptions to split load."""
    prefix = f"$share/{_check_id('share group', share_group)}/" if share_group else ""
    return {
        "events": f"{prefix}{TOPIC_ROOT}/+/+/events",
        "status": f"{prefix}{TOPIC_ROOT}/+/+/status",
        "stats": f"{prefix}{TOPIC_ROOT}/+/+/stats",
        "reply": f"{prefix}{TOPIC_ROOT}/+/+/reply",
    }


def live_filter() -> str:
    """Live frames are relayed by whichever hub process holds viewers, so never shared."""
    return f"{TOPIC_ROOT}/+/+/live/+"


@dataclass(frozen=True)
class TopicInfo:
    channel: Channel
    school_id: str
    device_id: str
    name: str | None = None  # command name or camera id


def parse_topic(topic: str) -> TopicInfo:
    """Split a concrete topic into its parts, or raise :class:`ContractError`."""
    root = TOPIC_ROOT + "/"
    if not topic.startswith(root):
        raise ContractError("bad_topic", f"topic {topic!r} is not under {TOPIC_ROOT}/")
    parts = topic[len(root) :].split("/")
    if len(parts) < 3 or parts[2] not in _CHANNELS:
        raise ContractError("bad_topic", f"topic {topic!r} has no known channel")
    school_id, device_id, channel = parts[0], parts[1], parts[2]
    expected = 4 if channel in _NAMED_CHANNELS else 3
    if len(parts) != expected:
        raise ContractError("bad_topic", f"topic {topic!r} has {len(parts)} parts after the root, expected {expected}")
    try:
        _check_id("school_id", school_id)
        _check_id("device_id", device_id)
        name = _check_id("name", parts[3]) if expected == 4 else None
    except ContractError as exc:
        raise ContractError("bad_topic", f"topic {topic!r}: {exc}") from exc
    return TopicInfo(channel, school_id, device_id, name)  # type: ignore[arg-type]
