"""Pure routing logic: roles per alert kind, quiet hours (including across midnight), severities."""

from __future__ import annotations

from datetime import UTC, datetime

from cloud_api.db.models.people import PushPreference
from cloud_api.push.alert import Alert
from cloud_api.push.routing import channel_choice, in_quiet_hours, roles_for


def _alert(kind: str = "case_opened", severity: int = 2, card: str = "none") -> Alert:
    return Alert(kind, "sa", 1, severity, "t", "", card=card)


def test_roles_per_kind() -> None:
    assert roles_for(_alert()) == {"canteen_manager", "school_head"}
    assert roles_for(_alert(severity=1)) == {"canteen_manager", "school_head", "regulator"}
    assert "regulator" in roles_for(_alert("yellow_card"), ("school_head", "canteen_manager", "regulator"))
    assert "regulator" in roles_for(_alert("case_closed", card="red"))
    assert roles_for(_alert("case_disputed"), ("regulator",)) == {"regulator"}
    assert "parent" not in roles_for(_alert("case_closed"), ("parent", "school_head"))


def _pref(start: str | None, end: str | None, severities: list[int] | None = None) -> PushPreference:
    return PushPreference(
        user_id=1,
        channels=["hook"],
        severities=severities or [1, 2, 3],
        quiet_start=start,
        quiet_end=end,
        timezone="Asia/Shanghai",
    )


def test_quiet_hours_wrap_midnight_in_local_time() -> None:
    night = _pref("22:00", "07:00")
    assert in_quiet_hours(night, datetime(2026, 1, 1, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    assert in_quiet_hours(night, datetime(2026, 1, 1, 22, 30, tzinfo=UTC))  # 06:30
    assert not in_quiet_hours(night, datetime(2026, 1, 1, 23, 30, tzinfo=UTC))  # 07:30
    assert not in_quiet_hours(night, datetime(2026, 1, 1, 4, 0, tzinfo=UTC))  # 12:00
    lunch = _pref("12:00", "13:00")
    assert in_quiet_hours(lunch, datetime(2026, 1, 1, 4, 30, tzinfo=UTC))
    assert not in_quiet_hours(_pref(None, None), datetime(2026, 1, 1, 15, 0, tzinfo=UTC))


def test_channel_choice() -> None:
    at_night = datetime(2026, 1, 1, 15, 0, tzinfo=UTC)
    assert channel_choice(None, _alert(), ("realtime",), at_night) == (["realtime"], False)
    assert channel_choice(_pref("22:00", "07:00"), _alert(), (), at_night) == (["hook"], True)
    assert channel_choice(_pref("22:00", "07:00"), _alert(severity=1), (), at_night) == (["hook"], False)
    assert channel_choice(_pref(None, None, [1]), _alert(severity=3), (), at_night) == ([], False)
