"""Rules, table-driven with scripted Detections on synthetic frames (pure logic, no model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge_agent.config import EdgeConfig
from edge_agent.detections import Detections
from edge_agent.rules import Observation, Rule, Violation, build_rules
from tests.edge.conftest import T0, dets, edge_config, make_frame

PERSON = (100.0, 40.0, 200.0, 230.0)
HEAD = (130.0, 45.0, 170.0, 80.0)
HAND = (105.0, 120.0, 125.0, 140.0)


def rules_for(tmp_path: Path, camera: dict[str, object] | None = None, **rules: dict[str, object]) -> list[Rule]:
    cam = {"id": "cam1", "room_id": "r1", "room_type": "prep", "url": "fake"}
    cam.update(camera or {})
    cfg: EdgeConfig = edge_config(tmp_path, cameras=[cam], rules=rules)
    return build_rules(cfg, cfg.cameras[0])


def run(
    rules: list[Rule],
    seconds: float,
    script: Detections,
    fps: float = 5.0,
    image: np.ndarray | None = None,
    start: datetime = T0,
) -> list[Violation]:
    out: list[Violation] = []
    for i in range(int(seconds * fps)):
        obs = Observation(make_frame(i / fps, image, start=start), script)
        for rule in rules:
            out.extend(rule.observe(obs))
    return out


def classes(violations: list[Violation]) -> list[str]:
    return [v.class_id for v in violations]


@pytest.mark.parametrize(
    ("label", "cls", "min_s", "seconds", "expected"),
    [
        ("cat", "pest_intrusion", 1.0, 0.6, 0),  # shorter than min_duration: nothing
        ("cat", "pest_intrusion", 1.0, 3.0, 1),
        ("bin_open", "bin_lid_open", 2.0, 5.0, 1),
        ("phone", "phone_use", 2.0, 1.0, 0),
        ("phone", "phone_use", 2.0, 4.0, 1),
        ("cigarette", "smoking", 2.0, 4.0, 1),
        ("bin_closed", "bin_lid_open", 0.0, 4.0, 0),  # the closed bin never raises
    ],
)
def test_presence_needs_min_duration(
    tmp_path: Path, label: str, cls: str, min_s: float, seconds: float, expected: int
) -> None:
    rules = rules_for(tmp_path, **{cls: {"min_duration_s": min_s}})
    found = run(rules, seconds, dets((label, (10, 150, 60, 200), 3)))
    assert classes(found).count(cls) == expected
    if expected:
        v = next(v for v in found if v.class_id == cls)
        assert v.duration_s >= min_s and v.zone_id == "all" and v.track_id == 3


def test_one_person_without_hat_for_a_minute_is_one_event(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, no_chef_hat={"min_duration_s": 3, "cooldown_s": 300, "realarm_s": 600})
    found = run(rules, 60, dets(("person", PERSON, 7), ("head_bare", HEAD, 8)))
    hats = [v for v in found if v.class_id == "no_chef_hat"]
    assert len(hats) == 1
    assert hats[0].track_id == 7 and 3.0 <= hats[0].duration_s < 3.5
    assert set(hats[0].detections.labels) == {"person", "head_bare"}


def test_realarm_raises_again_while_condition_lasts(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, no_chef_hat={"min_duration_s": 1, "realarm_s": 20})
    found = run(rules, 60, dets(("person", PERSON, 7), ("head_bare", HEAD, 8)))
    assert classes(found).count("no_chef_hat") == 3  # at 1 s, 21 s, 41 s


def test_two_people_are_two_events(tmp_path: Path) -> None:
    other = (220.0, 40.0, 300.0, 230.0)
    rules = rules_for(tmp_path, no_chef_hat={"min_duration_s": 1})
    found = run(
        rules,
        5,
        dets(("person", PERSON, 1), ("head_bare", HEAD, 2), ("person", other, 3), ("head_bare", (240, 45, 280, 80), 4)),
    )
    assert sorted(v.track_id for v in found if v.class_id == "no_chef_hat") == [1, 3]


@pytest.mark.parametrize(("cooldown", "expected"), [(60.0, 1), (0.0, 2)])
def test_cooldown_between_episodes_of_same_track(tmp_path: Path, cooldown: float, expected: int) -> None:
    """Bare head 0–5 s, gone 5–10 s (episode ends), back 10–15 s: a second event only without cooldown."""
    rules = rules_for(tmp_path, no_chef_hat={"min_duration_s": 1, "cooldown_s": cooldown, "grace_s": 1})
    bare = dets(("person", PERSON, 7), ("head_bare", HEAD, 8))
    found: list[Violation] = []
    for i in range(75):
        t = i / 5
        obs = Observation(make_frame(t), Detections.empty() if 5 <= t < 10 else bare)
        for rule in rules:
            found.extend(rule.observe(obs))
    assert classes(found).count("no_chef_hat") == expected


@pytest.mark.parametrize(
    ("room_type", "part", "cls", "expected"),
    [
        ("prep", "hand_bare", "bare_hands", 1),
        ("washing", "hand_bare", "bare_hands", 0),  # gloves are not required at the sink
        ("prep", "hand_glove", "bare_hands", 0),
        ("cooking", "head_bare", "no_chef_hat", 1),
        ("dining", "head_bare", "no_chef_hat", 0),
    ],
)
def test_attribute_absence_depends_on_room_type(
    tmp_path: Path, room_type: str, part: str, cls: str, expected: int
) -> None:
    rules = rules_for(tmp_path, {"room_type": room_type}, **{cls: {"min_duration_s": 1}})
    box = HAND if part.startswith("hand") else HEAD
    found = run(rules, 3, dets(("person", PERSON, 1), (part, box, 2)))
    assert classes(found).count(cls) == expected


def test_zone_room_type_overrides_camera(tmp_path: Path) -> None:
    """A washing zone inside a prep camera: bare hands there are fine, elsewhere not."""
    zones = [
        {"id": "sink", "room_type": "washing", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
        {"id": "bench", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
    ]
    rules = rules_for(tmp_path, {"zones": zones}, bare_hands={"min_duration_s": 1})
    left = run(rules, 3, dets(("person", (20, 40, 120, 230), 1), ("hand_bare", (25, 120, 45, 140), 2)))
    right = run(rules, 3, dets(("person", (200, 40, 300, 230), 5), ("hand_bare", (205, 120, 225, 140), 6)))
    assert classes(left).count("bare_hands") == 0
    bench = [v for v in right if v.class_id == "bare_hands"]
    assert len(bench) == 1 and bench[0].zone_id == "bench"


def test_bare_part_outside_any_person_is_ignored(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, no_chef_hat={"min_duration_s": 0.5})
    found = run(rules, 3, dets(("person", PERSON, 1), ("head_bare", (250, 10, 290, 40), 2)))
    assert "no_chef_hat" not in classes(found)


def test_min_box_area_drops_small_boxes(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, pest_intrusion={"min_duration_s": 0.5, "min_box_area": 0.01})
    tiny = run(rules, 3, dets(("cat", (10, 10, 15, 15), 1)))  # 25 px² of 76800
    assert "pest_intrusion" not in classes(tiny)
    big = run(rules, 3, dets(("cat", (10, 10, 60, 60), 1)))
    assert "pest_intrusion" in classes(big)


@pytest.mark.parametrize(
    ("people", "seconds", "expected"),
    [((), 10, 1), ((), 4, 0), ((("person", PERSON, 1),), 10, 0)],
)
def test_unattended_flame(tmp_path: Path, people: tuple, seconds: float, expected: int) -> None:
    rules = rules_for(tmp_path, unattended_flame={"unattended_s": 5})
    found = run(rules, seconds, dets(("flame", (200, 150, 240, 190), 9), *people))
    assert classes(found).count("unattended_flame") == expected


SCHEDULE = {"mon": ["06:00-14:00"], "sun": ["22:00-02:00"]}


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-03-02T10:00", 0),  # Monday inside 06-14
        ("2026-03-02T15:00", 1),  # Monday afternoon: after hours
        ("2026-03-01T23:00", 0),  # Sunday night inside the overnight range
        ("2026-03-02T01:30", 0),  # Monday 01:30: Sunday's range spills over
        ("2026-03-02T02:30", 1),  # just after the overnight range
        ("2026-03-03T01:30", 1),  # Tuesday 01:30: Monday has no overnight range
    ],
)
def test_after_hours_with_overnight_ranges(tmp_path: Path, local: str, expected: int) -> None:
    start = datetime.fromisoformat(local + "+08:00").astimezone(UTC)
    rules = rules_for(tmp_path, {"schedule": SCHEDULE}, unauthorized_entry={"min_duration_s": 2})
    found = run(rules, 4, dets(("person", PERSON, 4)), start=start)
    assert classes(found).count("unauthorized_entry") == expected


def test_no_schedule_never_after_hours(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, unauthorized_entry={"min_duration_s": 0})
    assert "unauthorized_entry" not in classes(run(rules, 3, dets(("person", PERSON, 4))))


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (np.full((240, 320, 3), 5, np.uint8), 1),  # dark
        (np.full((240, 320, 3), 128, np.uint8), 1),  # uniform (lens covered)
        (None, 0),  # normal textured picture
    ],
)
def test_obstructed(tmp_path: Path, image: np.ndarray | None, expected: int) -> None:
    rules = rules_for(tmp_path, camera_offline={"obstructed_s": 3})
    found = run(rules, 8, Detections.empty(), image=image)
    obstructed = [v for v in found if v.class_id == "camera_offline"]
    assert len(obstructed) == expected
    if expected:
        assert obstructed[0].frame is not None and obstructed[0].duration_s >= 3


def test_offline_after_silence_then_recovers(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, camera_offline={"offline_s": 10, "cooldown_s": 0, "realarm_s": 0})
    health = [r for r in rules if r.ctx.info.id == "camera_offline"]
    run(health, 1, Detections.empty())  # frames until t≈0.8
    now = datetime.now(UTC)
    assert health[0].idle(5.0, now) == []
    first = health[0].idle(11.0, now)
    assert len(first) == 1 and "offline" in first[0].detail
    assert health[0].idle(30.0, now) == []  # same outage, realarm off: one event
    health[0].observe(Observation(make_frame(31.0), Detections.empty()))
    assert health[0].idle(35.0, now) == []
    assert len(health[0].idle(42.0, now)) == 1  # a new outage is a new event


def test_disabled_class_builds_no_rule(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, smoking={"enabled": False})
    assert "presence:smoking" not in [r.name for r in rules]
    assert len(rules) == 10


def test_event_names_a_confirmed_track_not_a_new_one(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, pest_intrusion={"min_duration_s": 0.5})
    scripted = Detections.from_lists([(10, 10, 60, 60), (100, 10, 160, 60)], [0.95, 0.6], ["cat", "cat"], [-1, 5])
    found = run(rules, 2, scripted)
    assert found[0].track_id == 5  # the unconfirmed box scores higher but has no id yet
    untracked = run(rules_for(tmp_path, pest_intrusion={"min_duration_s": 0.5}), 2, dets(("cat", (1, 1, 50, 50), -1)))
    assert untracked[0].track_id is None


def test_evidence_frame_time_is_kept(tmp_path: Path) -> None:
    rules = rules_for(tmp_path, pest_intrusion={"min_duration_s": 1})
    found = run(rules, 2, dets(("dog", (10, 10, 100, 100), 1)))
    assert found[0].occurred_at == T0 + timedelta(seconds=1.0)
