"""``attribute_absence``: a person in a room that requires an item (hat, mask, uniform, gloves) lacks it.

Part boxes (head, face, hand, torso) are tied to the person box that contains most of them. A
person is in violation when a "bare" part is tied to them and no "covered" part is; keyed by
(zone, track id) so each person raises once per episode.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from edge_agent.detections import Detections
from edge_agent.rules.base import Observation, Rule, RuleContext, Violation, containment, large_enough
from edge_agent.zones import Zone

# (bad labels, good labels) per class, in our vocabulary (datasets/vocabulary.yaml).
ATTRIBUTES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "no_chef_hat": (frozenset({"head_bare"}), frozenset({"head_hat"})),
    "no_mask": (frozenset({"face_bare"}), frozenset({"face_mask"})),
    "no_uniform": (frozenset({"bare_torso"}), frozenset({"uniform"})),
    "bare_hands": (frozenset({"hand_bare"}), frozenset({"hand_glove"})),
}
MIN_CONTAINMENT = 0.6


def attribute_labels(class_id: str, labels: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """Known table entry, else derived from the taxonomy: labels containing 'bare' are the bad ones."""
    if class_id in ATTRIBUTES:
        return ATTRIBUTES[class_id]
    parts = [lab for lab in labels if lab != "person"]
    bad = frozenset(lab for lab in parts if "bare" in lab)
    if not bad:
        raise ValueError(f"attribute_absence for {class_id!r}: no 'bare' label among {labels}")
    return bad, frozenset(parts) - bad


class AttributeAbsenceRule(Rule):
    type = "attribute_absence"

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self.bad, self.good = attribute_labels(context.info.id, context.info.labels)

    def observe(self, obs: Observation) -> list[Violation]:
        frame, dets = obs.frame, obs.detections
        people = large_enough(dets.with_label("person"), frame, self.ctx.settings.min_box_area)
        parts = dets.with_label(*self.bad, *self.good)
        if len(people) == 0 or len(parts) == 0:
            self.episodes.update(set(), frame.monotonic_s)
            return []
        inside = containment(parts, people)
        owner = np.where(inside.max(axis=1) >= MIN_CONTAINMENT, inside.argmax(axis=1), -1)
        bare_people: list[int] = []
        for p in range(len(people)):
            mine = [parts.labels[i] for i in np.flatnonzero(owner == p)]
            if any(lab in self.bad for lab in mine) and not any(lab in self.good for lab in mine):
                bare_people.append(p)
        active: set[Hashable] = set()
        evidence: dict[Hashable, tuple[Zone, Detections]] = {}
        for zone in self.ctx.zones_applying():
            in_zone = zone.contains(people, frame.width, frame.height)
            for p in bare_people:
                if in_zone[p]:
                    key = (zone.id, int(people.track_ids[p]))
                    active.add(key)
                    idx = np.concatenate([[p], np.flatnonzero(owner == p) + len(people)])
                    both = _concat(people, parts)
                    evidence[key] = (zone, both[idx.astype(np.int64)])
        out = []
        for fired, duration in self.episodes.update(active, frame.monotonic_s):
            zone, boxes = evidence[fired]
            track = int(fired[1]) if isinstance(fired, tuple) else -1
            out.append(self._violation(obs, zone, track if track >= 0 else None, duration, boxes))
        return out


def _concat(a: Detections, b: Detections) -> Detections:
    return Detections(
        np.concatenate([a.xyxy, b.xyxy]).astype(np.float32),
        np.concatenate([a.scores, b.scores]).astype(np.float32),
        a.labels + b.labels,
        np.concatenate([a.track_ids, b.track_ids]).astype(np.int64),
    )
