"""Response and request models of the API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from cloud_api.people.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from mingchu.contract.topics import ID_PATTERN

T = TypeVar("T")
Slug = Field(pattern=ID_PATTERN, description="slug: letters, digits, _ and -")


class Page(BaseModel, Generic[T]):
    """A page of results plus the total count matching the filters."""

    data: list[T]
    count: int


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(Orm):
    id: int
    username: str
    display_name: str
    role: str
    district_id: str | None
    school_id: str | None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    display_name: str = Field(default="", max_length=128)
    role: Literal["admin", "regulator", "school_head", "canteen_manager", "parent"]
    district_id: str | None = None
    school_id: str | None = None


class DistrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Slug
    name: str = Field(min_length=1, max_length=128)


class DistrictOut(Orm):
    id: str
    name: str


class SchoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Slug
    district_id: str = Slug
    name: str = Field(min_length=1, max_length=128)


class SchoolOut(Orm):
    id: str
    district_id: str
    name: str


class CanteenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Slug
    school_id: str = Slug
    name: str = Field(min_length=1, max_length=128)


class CanteenOut(Orm):
    id: str
    school_id: str
    name: str
    auto_registered: bool


class RoomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Slug
    canteen_id: str = Slug
    name: str = Field(min_length=1, max_length=128)
    room_type: Literal["cooking", "prep", "washing", "storage", "dining", "other"] = "other"


class RoomOut(Orm):
    id: str
    canteen_id: str
    school_id: str
    name: str
    room_type: str
    auto_registered: bool


class CameraIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Slug
    school_id: str = Slug
    room_id: str | None = None
    device_id: str | None = None
    name: str = Field(default="", max_length=128)


class CameraPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room_id: str | None = None
    name: str | None = Field(default=None, max_length=128)


class CameraOut(Orm):
    id: str
    school_id: str
    room_id: str | None
    device_id: str | None
    name: str
    state: str
    state_at: datetime | None
    auto_registered: bool


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Slug
    school_id: str = Slug
    name: str = Field(default="", max_length=128)
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key: str = Field(description="base64 of the new raw 32-byte Ed25519 public key")


class KeyOut(Orm):
    key_id: str
    public_key: str
    created_at: datetime
    retired_at: datetime | None


class DeviceOut(Orm):
    id: str
    school_id: str
    name: str
    state: str
    state_at: datetime | None
    agent_version: str
    trusted_on_first_use: bool
    keys: list[KeyOut] = []


class OnlineRateOut(BaseModel):
    school_id: str
    since: datetime
    until: datetime
    devices_count: int
    devices_online_rate: float | None
    cameras_count: int
    cameras_online_rate: float | None


class EvidenceOut(BaseModel):
    id: int
    name: str
    url: str
    sha256: str
    width: int
    height: int
    content_type: str


class EventOut(BaseModel):
    event_id: str
    occurred_at: datetime
    received_at: datetime
    score: float
    duration_s: float
    rule: str
    boxes: list[dict[str, Any]]
    evidence: list[EvidenceOut]


class TransitionOut(Orm):
    id: int
    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor_name: str
    actor_role: str
    reason: str


class PhotoOut(BaseModel):
    id: int
    url: str
    thumbnail_url: str
    width: int
    height: int
    content_type: str


class RectificationOut(BaseModel):
    id: int
    text: str
    submitted_at: datetime
    status: str
    review_reason: str
    reviewed_at: datetime | None
    photos: list[PhotoOut]


class CaseOut(Orm):
    id: int
    kind: str
    school_id: str
    canteen_id: str | None
    room_id: str | None
    camera_id: str | None
    track_id: int | None
    violation_class: str
    severity: int
    state: str
    card: str
    event_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    deadline_at: datetime
    closed_at: datetime | None
    overdue: bool = False


class EscalationOut(Orm):
    level: str
    at: datetime
    due_at: datetime


class CaseDetail(CaseOut):
    comment: str
    reporter_name: str
    events: list[EventOut]
    evidence: list[EvidenceOut]
    timeline: list[TransitionOut]
    rectifications: list[RectificationOut]
    escalations: list[EscalationOut]
    allowed_actions: list[str]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(description="acknowledge, dispute, start_rectification, close, mark_false_positive, uphold…")
    reason: str = Field(default="", max_length=2000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)


class InterviewOut(BaseModel):
    school_id: str
    school_name: str
    district_id: str
    open_cases: int
    overdue_cases: int
    repeat_offences: dict[str, int]
    reasons: list[str]


class QuarantineOut(Orm):
    id: int
    received_at: datetime
    topic: str
    school_id: str | None
    device_id: str | None
    reason: str
    detail: str
    payload_size: int


class AlertOut(Orm):
    id: int
    created_at: datetime
    kind: str
    school_id: str | None
    device_id: str | None
    detail: str
