"""``presence``: one of the class's labels stays in a zone (pests, open bin, phone, cigarette)."""

from __future__ import annotations

from collections.abc import Hashable

from edge_agent.detections import Detections
from edge_agent.rules.base import Observation, Rule, Violation, best_track, large_enough
from edge_agent.zones import Zone


class PresenceRule(Rule):
    """Keyed by zone: several mice at once are one intrusion, not one event per box."""

    type = "presence"

    def observe(self, obs: Observation) -> list[Violation]:
        frame = obs.frame
        found = large_enough(obs.detections.with_label(*self.ctx.info.labels), frame, self.ctx.settings.min_box_area)
        active: set[Hashable] = set()
        in_zone: dict[Hashable, tuple[Zone, Detections]] = {}
        for zone in self.ctx.zones_applying():
            mask = zone.contains(found, frame.width, frame.height, anchor="center")
            if mask.any():
                active.add(zone.id)
                in_zone[zone.id] = (zone, found[mask])
        out = []
        for key, duration in self.episodes.update(active, frame.monotonic_s):
            zone, dets = in_zone[key]
            out.append(self._violation(obs, zone, best_track(dets), duration, dets))
        return out
