"""All ORM models; importing this package registers every table on ``Base.metadata``.

Other areas (people, push, analytics) add their own modules here and import them below.
"""

from cloud_api.db.models import people  # noqa: F401  (registers the people tables)
from cloud_api.db.models.cases import (
    Case,
    CaseTransition,
    Escalation,
    Evidence,
    Notification,
    Rectification,
    RectificationPhoto,
    ViolationEventRow,
)
from cloud_api.db.models.devices import (
    CameraStatsLatest,
    CameraStatusLog,
    Device,
    DeviceKey,
    DeviceStatsLatest,
    DeviceStatusLog,
)
from cloud_api.db.models.ingest import Quarantine, SecurityAlert
from cloud_api.db.models.org import Camera, Canteen, District, Room, School
from cloud_api.db.models.users import Role, User

__all__ = [
    "Camera",
    "CameraStatsLatest",
    "CameraStatusLog",
    "Canteen",
    "Case",
    "CaseTransition",
    "Device",
    "DeviceKey",
    "DeviceStatsLatest",
    "DeviceStatusLog",
    "District",
    "Escalation",
    "Evidence",
    "Notification",
    "Quarantine",
    "Rectification",
    "RectificationPhoto",
    "Role",
    "Room",
    "School",
    "SecurityAlert",
    "User",
    "ViolationEventRow",
]
