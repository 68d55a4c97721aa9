"""``after_hours``: a person in a zone outside the camera's staffed schedule (local time)."""

from __future__ import annotations

from collections.abc import Hashable

from edge_agent.detections import Detections
from edge_agent.rules.base import Observation, Rule, Violation, best_track, large_enough
from edge_agent.zones import Zone


class AfterHoursRule(Rule):
    """Keyed by zone: a group entering at night is one event; no schedule means never."""

    type = "after_hours"

    def observe(self, obs: Observation) -> list[Violation]:
        frame = obs.frame
        schedule = self.ctx.schedule
        if schedule is None or schedule.is_staffed(frame.captured_at):
            self.episodes.update(set(), frame.monotonic_s)
            return []
        people = large_enough(obs.detections.with_label("person"), frame, self.ctx.settings.min_box_area)
        active: set[Hashable] = set()
        found: dict[Hashable, tuple[Zone, Detections]] = {}
        for zone in self.ctx.zones_applying():
            here = zone.contains(people, frame.width, frame.height)
            if here.any():
                active.add(zone.id)
                found[zone.id] = (zone, people[here])
        out = []
        for key, duration in self.episodes.update(active, frame.monotonic_s):
            zone, dets = found[key]
            out.append(self._violation(obs, zone, best_track(dets), duration, dets, "after hours"))
        return out
