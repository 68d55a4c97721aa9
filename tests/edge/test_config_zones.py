"""Edge config validation, the example config, zones and schedules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge_agent.config import EdgeConfig, ScheduleConfig, load_edge_config
from edge_agent.detections import Detections
from edge_agent.zones import Schedule, build_zones, points_in_polygon
from mingchu.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "edge.example.yaml"

MINIMAL = """
device: {school_id: s1, device_id: d1, canteen_id: c1}
cameras:
  - {id: cam1, room_id: r1, room_type: prep, url: x.mp4}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_uses_the_demo_clip() -> None:
    cfg = load_edge_config(EXAMPLE)
    assert cfg.cameras[0].url == "tests/assets/vtest_10s.mp4"
    assert (ROOT / cfg.cameras[0].url).is_file()
    assert cfg.rule_settings(cfg.cameras[0], "phone_use").min_duration_s == 15  # camera override
    assert cfg.rule_settings(cfg.cameras[0], "no_chef_hat").min_duration_s == 5  # file-wide override
    assert cfg.rule_settings(cfg.cameras[0], "no_mask").room_types is not None  # shipped default kept


def test_every_field_has_a_description() -> None:
    from pydantic import BaseModel

    def walk(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
        missing = []
        seen.add(model)
        for name, field in model.model_fields.items():
            if model.__name__ != "RuleOverride" and not field.description:
                missing.append(f"{model.__name__}.{name}")
            for arg in (*getattr(field.annotation, "__args__", ()), field.annotation):
                for sub in (*getattr(arg, "__args__", ()), arg):
                    if isinstance(sub, type) and issubclass(sub, BaseModel) and sub not in seen:
                        missing += walk(sub, seen)
        return missing

    assert walk(EdgeConfig, set()) == []


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (MINIMAL + "mqtt: {hots: x}\n", "mqtt.hots", "unknown key"),
        (MINIMAL + "mqtt: {port: many}\n", "mqtt.port", "integer"),
        (MINIMAL.replace("room_type: prep", "room_type: attic"), "cameras[0].room_type", "attic"),
        (MINIMAL + "rules: {no_hat: {enabled: false}}\n", "rules.no_hat", "unknown violation class"),
        (
            MINIMAL.replace("url: x.mp4", "url: x.mp4, schedule: {mon: ['25:00-26:00']}"),
            "cameras[0].schedule.mon",
            "HH:MM",
        ),
        (MINIMAL + "device: {school_id: 's/1', device_id: d1, canteen_id: c1}\n", "device.school_id", "pattern"),
        (
            MINIMAL.replace("url: x.mp4", "url: x.mp4, zones: [{id: z, polygon: [[0, 0], [2, 0], [1, 1]]}]"),
            "cameras[0].zones[0].polygon",
            "",
        ),
        ("device: {school_id: s1, device_id: d1, canteen_id: c1, timezone: Mars/Base}\n", "device.timezone", "Mars"),
        (MINIMAL + "  - {id: cam1, room_id: r2, room_type: prep, url: y.mp4}\n", "cameras", "duplicate camera ids"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_edge_config(path)
    assert str(err.value).startswith(f"{path}: {key}")
    assert fragment in str(err.value)


def test_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINGCHU_EDGE__MQTT__PORT", "2883")
    assert load_edge_config(write(tmp_path, MINIMAL)).mqtt.port == 2883


def test_points_in_polygon_including_frame_border() -> None:
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    tri = np.array([[0, 0], [1, 0], [0, 1]], np.float32)
    pts = np.array([[0.5, 0.5], [1.0, 1.0], [0.9, 0.9], [0.1, 0.1]], np.float32)
    assert points_in_polygon(pts, square).tolist() == [True, True, True, True]
    assert points_in_polygon(pts, tri).tolist() == [True, False, False, True]


def test_zone_uses_feet_of_people(tmp_path: Path) -> None:
    cfg = EdgeConfig.model_validate(
        {
            "device": {"school_id": "s", "device_id": "d", "canteen_id": "c"},
            "cameras": [
                {
                    "id": "c1",
                    "room_id": "r",
                    "room_type": "prep",
                    "url": "x",
                    "zones": [{"id": "floor", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],
                }
            ],
        }
    )
    (zone,) = build_zones(cfg.cameras[0])
    standing = Detections.from_lists([[10, 10, 50, 90]], [0.9], ["person"])  # feet at y=90 of 100
    head_only = Detections.from_lists([[10, 10, 50, 40]], [0.9], ["person"])
    assert zone.contains(standing, 100, 100).tolist() == [True]
    assert zone.contains(head_only, 100, 100).tolist() == [False]
    assert zone.room_type == "prep"


def test_schedule_local_time_and_overnight() -> None:
    sched = Schedule(ScheduleConfig(fri=("22:00-06:00",), sat=("08:00-09:00",)), "Asia/Shanghai")
    at = lambda s: datetime.fromisoformat(s)  # noqa: E731
    assert sched.is_staffed(at("2026-03-06T23:00+08:00"))  # Friday night
    assert sched.is_staffed(at("2026-03-07T05:59+08:00"))  # Saturday early, from Friday
    assert not sched.is_staffed(at("2026-03-07T06:00+08:00"))
    assert sched.is_staffed(at("2026-03-07T00:30+00:00"))  # 08:30 Saturday Shanghai, given in UTC
    with pytest.raises(ValueError, match="aware"):
        sched.is_staffed(datetime(2026, 3, 7, 8, 30))
    assert not Schedule(ScheduleConfig(), "UTC").is_staffed(datetime.now(UTC))
