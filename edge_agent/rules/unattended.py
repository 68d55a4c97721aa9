"""``unattended``: a flame burns in a zone with nobody in that zone for ``unattended_s`` (动火离人)."""

from __future__ import annotations

from collections.abc import Hashable

from edge_agent.detections import Detections
from edge_agent.rules.base import Observation, Rule, Violation, large_enough
from edge_agent.zones import Zone


class UnattendedRule(Rule):
    type = "unattended"

    def min_duration(self) -> float:
        return self.ctx.settings.unattended_s

    def observe(self, obs: Observation) -> list[Violation]:
        frame = obs.frame
        watched = [lab for lab in self.ctx.info.labels if lab != "person"] or ["flame"]
        flames = large_enough(obs.detections.with_label(*watched), frame, self.ctx.settings.min_box_area)
        people = obs.detections.with_label("person")
        active: set[Hashable] = set()
        found: dict[Hashable, tuple[Zone, Detections]] = {}
        for zone in self.ctx.zones_applying():
            here = zone.contains(flames, frame.width, frame.height, anchor="center")
            if not here.any():
                continue
            if zone.contains(people, frame.width, frame.height).any():
                continue
            active.add(zone.id)
            found[zone.id] = (zone, flames[here])
        return [
            self._violation(obs, found[key][0], None, duration, found[key][1])
            for key, duration in self.episodes.update(active, frame.monotonic_s)
        ]
