"""Rules keyed by the taxonomy's ``rule`` type; one module per type, one instance per class and camera."""

from __future__ import annotations

from edge_agent.config import CameraConfig, EdgeConfig
from edge_agent.rules.after_hours import AfterHoursRule
from edge_agent.rules.attribute_absence import AttributeAbsenceRule
from edge_agent.rules.base import Observation, Quality, Rule, RuleContext, Violation
from edge_agent.rules.camera_health import CameraHealthRule, measure_quality
from edge_agent.rules.presence import PresenceRule
from edge_agent.rules.unattended import UnattendedRule
from edge_agent.zones import Schedule, build_zones
from mingchu.taxonomy import Taxonomy, default_taxonomy

RULE_TYPES: dict[str, type[Rule]] = {
    cls.type: cls for cls in (PresenceRule, AttributeAbsenceRule, UnattendedRule, AfterHoursRule, CameraHealthRule)
}


def build_rules(config: EdgeConfig, camera: CameraConfig, taxonomy: Taxonomy | None = None) -> list[Rule]:
    """Every enabled class's rule for ``camera``, with settings merged shipped ← file ← camera."""
    taxonomy = taxonomy or default_taxonomy()
    zones = build_zones(camera)
    schedule = Schedule(camera.schedule, config.device.timezone) if camera.schedule else None
    rules: list[Rule] = []
    for info in taxonomy.classes:
        settings = config.rule_settings(camera, info.id)
        if not settings.enabled:
            continue
        if info.rule not in RULE_TYPES:
            raise ValueError(f"class {info.id!r} wants rule type {info.rule!r}, known: {sorted(RULE_TYPES)}")
        ctx = RuleContext(camera.id, camera.room_type, zones, schedule, info, settings)
        rules.append(RULE_TYPES[info.rule](ctx))
    return rules


__all__ = [
    "RULE_TYPES",
    "Observation",
    "Quality",
    "Rule",
    "RuleContext",
    "Violation",
    "build_rules",
    "measure_quality",
]
