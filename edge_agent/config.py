"""The edge agent's config file: one pydantic model per section, unknown keys rejected.

Loaded with ``load_config(EdgeConfig, path, env_prefix="MINGCHU_EDGE")`` so a typo fails with one
line naming the file and the dotted key. ``python -m mingchu.docs`` renders the reference.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from mingchu.config import StrictModel, load_config
from mingchu.contract.messages import RoomType
from mingchu.contract.topics import ID_PATTERN
from mingchu.taxonomy import default_taxonomy

Slug = Annotated[str, Field(pattern=ID_PATTERN)]
Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]
Polygon = Annotated[tuple[Point, ...], Field(min_length=3)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
ENV_PREFIX = "MINGCHU_EDGE"


class DeviceConfig(StrictModel):
    """Who this box is: ids used in topics and on every event (定位)."""

    school_id: Slug = Field(description="school id as registered on the hub")
    device_id: Slug = Field(description="this edge box's id, unique within the school")
    canteen_id: Slug = Field(description="canteen the cameras belong to")
    key_file: Path = Field(default=Path("device_key.pem"), description="Ed25519 signing key; created 0600 on first run")
    timezone: str = Field(default="Asia/Shanghai", description="IANA zone for schedules and evidence time stamps")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class TlsConfig(StrictModel):
    """Broker TLS; leave out for plain TCP on a trusted LAN."""

    ca_file: Path | None = Field(default=None, description="CA bundle that signed the broker certificate")
    cert_file: Path | None = Field(default=None, description="client certificate for mutual TLS")
    key_file: Path | None = Field(default=None, description="client private key for mutual TLS")
    insecure: bool = Field(default=False, description="skip host name check (test rigs only)")


class MqttConfig(StrictModel):
    """Broker connection: QoS 1, persistent session, last will."""

    host: str = Field(default="127.0.0.1", description="broker host name or address")
    port: int = Field(default=1883, ge=1, le=65535, description="broker port (8883 for TLS)")
    tls: TlsConfig | None = Field(default=None, description="TLS settings; null for plain TCP")
    username: str | None = Field(default=None, description="broker user name")
    password: str | None = Field(default=None, description="broker password (prefer MINGCHU_EDGE__MQTT__PASSWORD)")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive; the LWT fires ~1.5x after loss")
    client_id: str | None = Field(default=None, description="MQTT client id; default edge-<school>-<device>")
    protocol: Literal["5", "3.1.1"] = Field(default="5", description="MQTT protocol version")
    session_expiry_s: int = Field(default=86400, ge=0, description="broker keeps our session this long when offline")
    stats_interval_s: float = Field(default=30.0, gt=0, description="how often DeviceStats is published")
    max_inflight: int = Field(default=20, ge=1, le=1000, description="unacknowledged events at once")


class OutboxConfig(StrictModel):
    """Durable queue every event is written to before it is published."""

    path: Path = Field(default=Path("outbox.sqlite3"), description="SQLite file (WAL mode)")
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, description="size bound of queued payloads")
    warn_fraction: float = Field(default=0.8, gt=0, le=1, description="raise the near-full alarm above this fill")
    when_full: Literal["refuse_new", "evict_oldest"] = Field(
        default="refuse_new", description="refuse_new keeps the oldest evidence; evict_oldest keeps the newest"
    )


class ModelConfig(StrictModel):
    """Which detector runs and how its output is filtered."""

    name: str | None = Field(default="coco-nanodet-g", description="model registry name (models/registry.yaml)")
    path: Path | None = Field(default=None, description="ONNX file; overrides name")
    type: str = Field(default="nanodet", description="detector family: nanodet | yolo")
    score_threshold: float = Field(default=0.35, ge=0, le=1, description="minimum score for any class")
    iou_threshold: float = Field(default=0.5, gt=0, le=1, description="NMS IoU threshold")
    class_thresholds: dict[str, float] = Field(default_factory=dict, description="per-label minimum score")
    threads: int = Field(default=1, ge=1, le=64, description="onnxruntime intra-op threads")
    providers: tuple[str, ...] = Field(default=("CPUExecutionProvider",), description="onnxruntime providers")
    label_map: dict[str, str] = Field(
        default_factory=dict, description="model class name → our label; unmapped names pass unchanged"
    )

    @model_validator(mode="after")
    def _some_model(self) -> ModelConfig:
        if self.name is None and self.path is None:
            raise ValueError("set model.name or model.path")
        return self


class EvidenceConfig(StrictModel):
    """Evidence pictures attached to every event."""

    jpeg_quality: int = Field(default=85, ge=30, le=100, description="JPEG quality of evidence pictures")
    max_width: int = Field(default=1280, ge=160, le=3840, description="evidence pictures are downscaled to this")
    font_file: Path | None = Field(default=None, description="TTF/TTC for Chinese labels; default: search system fonts")


class MetricsConfig(StrictModel):
    """Prometheus ``/metrics`` endpoint."""

    enabled: bool = Field(default=True, description="serve /metrics")
    host: str = Field(default="127.0.0.1", description="listen address")
    port: int = Field(default=9108, ge=0, le=65535, description="listen port (0 = any free port)")


class RuleSettings(StrictModel):
    """Tuning of one violation class; defaults apply to every camera unless overridden."""

    enabled: bool = Field(default=True, description="raise this class at all")
    min_duration_s: float = Field(default=3.0, ge=0, description="condition must hold this long")
    grace_s: float = Field(default=2.0, ge=0, description="gaps shorter than this do not end an episode")
    cooldown_s: float = Field(default=300.0, ge=0, description="after an event, same track/zone is quiet this long")
    realarm_s: float = Field(
        default=600.0, ge=0, description="re-raise a still-ongoing condition after this (0 = never)"
    )
    min_box_area: float = Field(
        default=0.0, ge=0, le=1, description="ignore boxes smaller than this fraction of the frame"
    )
    room_types: tuple[RoomType, ...] | None = Field(
        default=None, description="room types the rule applies in; null = every room"
    )
    unattended_s: float = Field(default=60.0, gt=0, description="unattended_flame: no person near the flame this long")
    offline_s: float = Field(default=30.0, gt=0, description="camera_health: no frames this long → offline")
    dark_luma: float = Field(default=20.0, ge=0, le=255, description="camera_health: mean luma below → obstructed")
    uniform_std: float = Field(default=6.0, ge=0, description="camera_health: luma std below → obstructed (covered)")
    blur_var: float = Field(default=15.0, ge=0, description="camera_health: Laplacian variance below → obstructed")
    obstructed_s: float = Field(default=30.0, gt=0, description="camera_health: obstruction must last this long")


class RuleOverride(StrictModel):
    """Per-camera changes to :class:`RuleSettings`; only the keys given change."""

    enabled: bool | None = None
    min_duration_s: float | None = Field(default=None, ge=0)
    grace_s: float | None = Field(default=None, ge=0)
    cooldown_s: float | None = Field(default=None, ge=0)
    realarm_s: float | None = Field(default=None, ge=0)
    min_box_area: float | None = Field(default=None, ge=0, le=1)
    room_types: tuple[RoomType, ...] | None = None
    unattended_s: float | None = Field(default=None, gt=0)
    offline_s: float | None = Field(default=None, gt=0)
    dark_luma: float | None = Field(default=None, ge=0, le=255)
    uniform_std: float | None = Field(default=None, ge=0)
    blur_var: float | None = Field(default=None, ge=0)
    obstructed_s: float | None = Field(default=None, gt=0)


_PPE = (RoomType.COOKING, RoomType.PREP, RoomType.WASHING)


def default_rule_settings() -> dict[str, RuleSettings]:
    """Shipped tuning per class: PPE only in kitchen rooms, gloves and masks only in prep/cooking."""
    base = {cid: RuleSettings() for cid in default_taxonomy().ids}
    tuned: dict[str, dict[str, object]] = {
        "no_chef_hat": {"room_types": _PPE},
        "no_uniform": {"room_types": _PPE},
        "no_mask": {"room_types": (RoomType.COOKING, RoomType.PREP)},
        "bare_hands": {"room_types": (RoomType.PREP,)},
        "smoking": {"min_duration_s": 2.0},
        "phone_use": {"min_duration_s": 10.0, "room_types": _PPE},
        "pest_intrusion": {"min_duration_s": 1.0, "cooldown_s": 600.0},
        "bin_lid_open": {"min_duration_s": 60.0, "cooldown_s": 1800.0},
        "unauthorized_entry": {"min_duration_s": 5.0, "cooldown_s": 600.0},
        "camera_offline": {"min_duration_s": 0.0, "cooldown_s": 1800.0, "realarm_s": 3600.0},
    }
    for cid, update in tuned.items():
        base[cid] = base[cid].model_copy(update=update)
    return base


class ZoneConfig(StrictModel):
    """A region of the picture (normalised 0–1 polygon) and the kind of room it shows (定景)."""

    id: Slug = Field(description="zone id, unique within the camera")
    room_type: RoomType | None = Field(default=None, description="room type here; default the camera's")
    polygon: Polygon = Field(description="[[x, y], ...] corners as fractions of width and height")
    anchor: Literal["bottom_center", "center"] = Field(
        default="bottom_center", description="point of a person box tested against the polygon (feet by default)"
    )


def parse_range(text: str) -> tuple[int, int]:
    """``"06:00-14:30"`` → minutes (start, end); end ≤ start means the range runs past midnight."""
    m = _RANGE.match(text.strip())
    if not m:
        raise ValueError(f"time range {text!r} is not HH:MM-HH:MM")
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if end > 24 * 60:
        raise ValueError(f"time range {text!r} ends after 24:00")
    return start, end


class ScheduleConfig(StrictModel):
    """Staffed hours per weekday in local time; ``"22:00-06:00"`` runs into the next day."""

    mon: tuple[str, ...] = Field(default=(), description="staffed ranges on Monday, e.g. ['06:00-14:00']")
    tue: tuple[str, ...] = Field(default=(), description="Tuesday")
    wed: tuple[str, ...] = Field(default=(), description="Wednesday")
    thu: tuple[str, ...] = Field(default=(), description="Thursday")
    fri: tuple[str, ...] = Field(default=(), description="Friday")
    sat: tuple[str, ...] = Field(default=(), description="Saturday")
    sun: tuple[str, ...] = Field(default=(), description="Sunday")

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _ranges(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            parse_range(item)
        return v


class CameraConfig(StrictModel):
    """One camera: where to read it, which room it shows, its zones and schedule."""

    id: Slug = Field(description="camera id, unique on this device")
    name: str = Field(default="", max_length=128, description="display name, e.g. 切配间东")
    room_id: Slug = Field(description="room id (定位)")
    room_type: RoomType = Field(description="room type (定景); decides which rules apply")
    url: str = Field(min_length=1, description="main stream: rtsp://… or a local video file path")
    sub_url: str | None = Field(default=None, description="low-resolution stream used for detection")
    detect_fps: float = Field(default=5.0, gt=0, le=30, description="detections per second")
    enabled: bool = Field(default=True, description="read this camera at all")
    motion_masks: tuple[Polygon, ...] = Field(default=(), description="polygons the motion gate ignores (clocks, TVs)")
    motion_gate: bool = Field(default=True, description="skip the detector on frames where nothing moved")
    motion_keepalive_s: float = Field(
        default=5.0, gt=0, description="run the detector at least this often even without motion"
    )
    zones: tuple[ZoneConfig, ...] = Field(default=(), description="zones; none = one zone 'all' over the frame")
    schedule: ScheduleConfig | None = Field(default=None, description="staffed hours; null = never after-hours")
    rules: dict[ClassId, RuleOverride] = Field(default_factory=dict, description="per-class overrides for this camera")

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, v: tuple[ZoneConfig, ...]) -> tuple[ZoneConfig, ...]:
        ids = [z.id for z in v]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate zone ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return v


def _known_class(key: str) -> str:
    known = default_taxonomy().ids
    if key not in known:
        raise ValueError(f"unknown violation class; known: {', '.join(known)}")
    return key


ClassId = Annotated[str, AfterValidator(_known_class)]


class EdgeConfig(StrictModel):
    """The whole edge agent config file."""

    device: DeviceConfig = Field(description="identity of this box")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="broker connection")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="durable event queue")
    model: ModelConfig = Field(default_factory=ModelConfig, description="detector")
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig, description="evidence pictures")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Prometheus endpoint")
    rules: dict[ClassId, RuleOverride] = Field(
        default_factory=dict, description="per-class changes to the shipped defaults, for every camera"
    )
    cameras: tuple[CameraConfig, ...] = Field(default=(), description="cameras this box reads")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="log verbosity")

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, v: tuple[CameraConfig, ...]) -> tuple[CameraConfig, ...]:
        ids = [c.id for c in v]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate camera ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return v

    def rule_settings(self, camera: CameraConfig, class_id: str) -> RuleSettings:
        """Shipped defaults ← config ``rules`` ← the camera's overrides."""
        settings = default_rule_settings()[class_id]
        for override in (self.rules.get(class_id), camera.rules.get(class_id)):
            if override is not None:
                update = override.model_dump(exclude_unset=True)
                update = {k: v for k, v in update.items() if v is not None or k == "room_types"}
                settings = settings.model_copy(update=update)
        return settings

    def camera(self, camera_id: str) -> CameraConfig | None:
        return next((c for c in self.cameras if c.id == camera_id), None)


def load_edge_config(path: str | Path | None) -> EdgeConfig:
    """Read and validate the file (env ``MINGCHU_EDGE__SECTION__KEY`` overrides); raises ConfigError."""
    return load_config(EdgeConfig, path, env_prefix=ENV_PREFIX)
