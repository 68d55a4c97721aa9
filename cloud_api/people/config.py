"""Config of the people area (accounts, parents, live view, push); meant as ``HubConfig.people``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, HttpUrl

from mingchu.config import StrictModel


class LockoutConfig(StrictModel):
    """Brute-force protection: too many failures lock the username and the client address."""

    max_failures: int = Field(default=5, ge=1, description="failures within `window_s` that cause a lock")
    window_s: float = Field(default=900.0, gt=0, description="window in which failures are counted")
    lock_s: float = Field(default=900.0, gt=0, description="how long a lock lasts")


class SessionConfig(StrictModel):
    """Server-side sessions: cookie for the web, bearer token for the API; both revocable."""

    ttl_minutes: int = Field(default=720, ge=1, description="session lifetime")
    cookie_name: str = Field(default="mc_session", pattern=r"^[A-Za-z0-9_]+$", description="HttpOnly session cookie")
    csrf_cookie_name: str = Field(default="mc_csrf", pattern=r"^[A-Za-z0-9_]+$", description="readable CSRF cookie")
    csrf_header: str = Field(default="X-CSRF-Token", description="header that must echo the CSRF cookie")


class ParentsConfig(StrictModel):
    """Parents' authorised live view."""

    invite_ttl_hours: float = Field(default=72.0, gt=0, description="how long an invite code can be redeemed")
    default_grant_days: int = Field(default=30, ge=1, le=365, description="grant length unless the invite says")
    max_viewers_per_camera: int = Field(default=5, ge=1, description="concurrent parent viewers per camera")
    forbidden_area_types: tuple[str, ...] = Field(
        default=("washroom", "toilet", "changing_room", "locker_room", "dormitory"),
        description="area or room types never shown to parents, whatever a school sets",
    )
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="base of the invite QR link")


class LiveConfig(StrictModel):
    """Live relay of JPEG frames from the edge over MQTT to browsers over WebSocket."""

    max_width: int = Field(default=640, ge=160, le=1920, description="frame width asked of the edge")
    fps: float = Field(default=3.0, gt=0, le=10, description="frame rate asked of the edge")
    edge_lease_s: float = Field(default=30.0, gt=1, le=600, description="edge stops by itself unless renewed")
    renew_before_s: float = Field(default=10.0, gt=0, description="renew the edge lease this long before it ends")
    viewer_lease_s: float = Field(default=20.0, gt=0, description="a viewer who sends nothing this long is dropped")
    tick_s: float = Field(default=0.5, gt=0, description="how often leases are checked")
    viewer_queue: int = Field(default=4, ge=1, description="frames buffered per viewer; older ones are dropped")
    snapshot_timeout_s: float = Field(default=8.0, gt=0, description="wait for the edge's snapshot reply")
    connect_wait_s: float = Field(default=5.0, ge=0, description="how long start-up waits for the broker")
    client_id: str = Field(default="mingchu-hub-live-1", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="MQTT client")


class WebhookChannelConfig(StrictModel):
    """Generic JSON POST."""

    type: Literal["webhook"] = Field(default="webhook", description="channel type (selects this channel)")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,64}$", description="name users pick in preferences")
    url: HttpUrl = Field(description="endpoint receiving the JSON alert")
    school_ids: tuple[str, ...] | None = Field(default=None, description="only alerts of these schools; null: all")
    timeout_s: float = Field(default=5.0, gt=0, description="HTTP timeout")


class WecomChannelConfig(StrictModel):
    """WeCom (企业微信) group robot, markdown message."""

    type: Literal["wecom"] = Field(default="wecom", description="channel type (selects this channel)")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,64}$", description="name users pick in preferences")
    url: HttpUrl = Field(description="robot webhook URL including its key")
    school_ids: tuple[str, ...] | None = Field(default=None, description="only alerts of these schools; null: all")
    timeout_s: float = Field(default=5.0, gt=0, description="HTTP timeout")


class DingtalkChannelConfig(StrictModel):
    """DingTalk (钉钉) group robot, markdown message; optional signing secret."""

    type: Literal["dingtalk"] = Field(default="dingtalk", description="channel type (selects this channel)")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,64}$", description="name users pick in preferences")
    url: HttpUrl = Field(description="robot webhook URL including its access token")
    secret: str | None = Field(default=None, description="the robot's 加签 secret (adds timestamp and sign)")
    school_ids: tuple[str, ...] | None = Field(default=None, description="only alerts of these schools; null: all")
    timeout_s: float = Field(default=5.0, gt=0, description="HTTP timeout")


class WebPushChannelConfig(StrictModel):
    """Browser Web Push with VAPID; keys are generated into `key_dir` on first run."""

    type: Literal["webpush"] = Field(default="webpush", description="channel type (selects this channel)")
    name: str = Field(default="webpush", pattern=r"^[a-z0-9_-]{1,64}$", description="name users pick")
    subject: str = Field(default="mailto:ops@example.org", description="VAPID contact (mailto: or https:)")
    key_dir: Path = Field(default=Path("var/push"), description="where the VAPID private key is kept")
    ttl_s: int = Field(default=3600, ge=0, description="how long the push service keeps an undelivered message")
    timeout_s: float = Field(default=5.0, gt=0, description="HTTP timeout")


class RealtimeChannelConfig(StrictModel):
    """Server-sent events to the user's open pages (`/api/v1/events/stream`)."""

    type: Literal["realtime"] = Field(default="realtime", description="channel type (selects this channel)")
    name: str = Field(default="realtime", pattern=r"^[a-z0-9_-]{1,64}$", description="name users pick")


ChannelConfig = Annotated[
    WebhookChannelConfig | WecomChannelConfig | DingtalkChannelConfig | WebPushChannelConfig | RealtimeChannelConfig,
    Field(discriminator="type"),
]


class PushConfig(StrictModel):
    """Alert channels, retries and defaults for users without preferences."""

    channels: tuple[ChannelConfig, ...] = Field(
        default=(RealtimeChannelConfig(),), description="configured channels (registry keyed by `type`)"
    )
    default_channels: tuple[str, ...] = Field(default=("realtime",), description="for users without preferences")
    max_attempts: int = Field(default=5, ge=1, le=20, description="tries per delivery")
    backoff_initial_s: float = Field(default=1.0, gt=0, description="wait before the 2nd try; doubles each time")
    backoff_max_s: float = Field(default=300.0, gt=0, description="longest wait between tries")
    poll_s: float = Field(default=2.0, gt=0, description="how often the notifications outbox is read")
    workers: int = Field(default=2, ge=1, le=16, description="parallel senders")
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="base of links in alerts")


class PeopleConfig(StrictModel):
    """Accounts, parents, live view and push alerts."""

    lockout: LockoutConfig = Field(default_factory=LockoutConfig, description="login lockout")
    session: SessionConfig = Field(default_factory=SessionConfig, description="sessions and CSRF")
    parents: ParentsConfig = Field(default_factory=ParentsConfig, description="parents' live view")
    live: LiveConfig = Field(default_factory=LiveConfig, description="live relay")
    push: PushConfig = Field(default_factory=PushConfig, description="push alerts")
