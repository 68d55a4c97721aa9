"""Alert channels, built from config by a registry keyed by ``type``.

A channel names the *targets* an alert goes to for one user (a robot URL shared by a group, a
browser subscription, the user's open pages) and sends to one target, raising
:class:`DeliveryError` so the service can retry with back-off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.models.people import WebPushSubscription
from cloud_api.db.models.users import User
from cloud_api.people.config import (
    ChannelConfig,
    DingtalkChannelConfig,
    RealtimeChannelConfig,
    WebhookChannelConfig,
    WebPushChannelConfig,
    WecomChannelConfig,
)
from cloud_api.push.alert import Alert
from cloud_api.push.realtime import EventBroker
from cloud_api.push.vapid import VapidKeys


class DeliveryError(Exception):
    """A failed send; ``permanent`` ones (gone subscription, 4xx) are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class Channel(Protocol):
    name: str

    @property
    def type(self) -> str: ...

    def targets(self, session: Session, user: User, alert: Alert) -> list[str]: ...

    def send(self, alert: Alert, target: str) -> None: ...


class _RobotBase:
    """Shared by JSON-over-HTTP channels: one target per channel (the URL), school filter."""

    type: ClassVar[str]

    def __init__(self, cfg: WebhookChannelConfig | WecomChannelConfig | DingtalkChannelConfig) -> None:
        self.name = cfg.name
        self.cfg = cfg

    def targets(self, session: Session, user: User, alert: Alert) -> list[str]:
        schools = self.cfg.school_ids
        if schools is not None and alert.school_id not in schools:
            return []
        return [str(self.cfg.url)]

    def body(self, alert: Alert) -> dict[str, Any]:
        raise NotImplementedError

    def url_for(self, target: str) -> str:
        return target

    def send(self, alert: Alert, target: str) -> None:
        try:
            response = httpx.post(self.url_for(target), json=self.body(alert), timeout=self.cfg.timeout_s)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=True)
        self.check_reply(response)

    def check_reply(self, response: httpx.Response) -> None:
        """Robots answer 200 with ``errcode``; non-zero is a failure (e.g. rate limit 45009)."""
        try:
            data = response.json()
        except ValueError:
            return
        if isinstance(data, dict) and data.get("errcode", 0) != 0:
            raise DeliveryError(f"errcode {data.get('errcode')}: {data.get('errmsg', '')}"[:300])


class WebhookChannel(_RobotBase):
    type = "webhook"

    def body(self, alert: Alert) -> dict[str, Any]:
        return {"source": "mingchu", "alert": alert.as_json()}

    def check_reply(self, response: httpx.Response) -> None:
        return None


class WecomChannel(_RobotBase):
    type = "wecom"

    def body(self, alert: Alert) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"content": alert.markdown()}}


class DingtalkChannel(_RobotBase):
    type = "dingtalk"
    cfg: DingtalkChannelConfig

    def body(self, alert: Alert) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"title": alert.title, "text": alert.markdown()}}

    def url_for(self, target: str) -> str:
        """With a secret, DingTalk wants ``timestamp`` and ``sign`` = base64(HMAC-SHA256(ts\\nsecret))."""
        if not self.cfg.secret:
            return target
        ts = str(int(time.time() * 1000))
        digest = hmac.new(self.cfg.secret.encode(), f"{ts}\n{self.cfg.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
        sep = "&" if "?" in target else "?"
        return f"{target}{sep}timestamp={ts}&sign={sign}"


class RealtimeChannel:
    """SSE to the user's open pages; a user with no open page counts as a permanent miss."""

    type = "realtime"

    def __init__(self, cfg: RealtimeChannelConfig, broker: EventBroker) -> None:
        self.name = cfg.name
        self.broker = broker

    def targets(self, session: Session, user: User, alert: Alert) -> list[str]:
        return [f"user:{user.id}"]

    def send(self, alert: Alert, target: str) -> None:
        user_id = int(target.split(":", 1)[1])
        if self.broker.publish(user_id, {"event": alert.kind, "data": alert.as_json()}) == 0:
            raise DeliveryError("no open stream", permanent=True)


class WebPushChannel:
    """Encrypted Web Push (RFC 8291 aes128gcm) signed with our VAPID key (RFC 8292)."""

    type = "webpush"

    def __init__(self, cfg: WebPushChannelConfig, keys: VapidKeys, deps: ChannelDeps) -> None:
        self.name = cfg.name
        self.cfg = cfg
        self.keys = keys
        self._deps = deps

    def targets(self, session: Session, user: User, alert: Alert) -> list[str]:
        rows = session.scalars(select(WebPushSubscription).where(WebPushSubscription.user_id == user.id)).all()
        return [r.endpoint for r in rows]

    def send(self, alert: Alert, target: str) -> None:
        from pywebpush import WebPushException, webpush

        info = self._deps.subscription_for(target)
        if info is None:
            raise DeliveryError("subscription no longer stored", permanent=True)
        try:
            webpush(
                subscription_info=info,
                data=json.dumps({"title": alert.title, "body": alert.text, "url": alert.url, "case_id": alert.case_id}),
                vapid_private_key=self.keys.vapid,
                vapid_claims={"sub": self.cfg.subject},
                ttl=self.cfg.ttl_s,
                timeout=self.cfg.timeout_s,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                self._deps.forget(target)
                raise DeliveryError(f"subscription gone (HTTP {status})", permanent=True) from exc
            raise DeliveryError(
                f"push service: {exc}"[:300], permanent=status is not None and 400 <= status < 500 and status != 429
            ) from exc
        except Exception as exc:  # requests' connection errors and friends
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from exc


ChannelFactory = Callable[[Any, "ChannelDeps"], Channel]


class ChannelDeps:
    """What channels may need besides their config."""

    def __init__(
        self,
        broker: EventBroker,
        vapid_for: Callable[[Path], VapidKeys],
        subscription_for: Callable[[str], dict[str, Any] | None],
        forget: Callable[[str], None],
    ) -> None:
        self.broker = broker
        self.vapid_for = vapid_for
        self.subscription_for = subscription_for
        self.forget = forget


REGISTRY: dict[str, ChannelFactory] = {
    "webhook": lambda cfg, deps: WebhookChannel(cfg),
    "wecom": lambda cfg, deps: WecomChannel(cfg),
    "dingtalk": lambda cfg, deps: DingtalkChannel(cfg),
    "realtime": lambda cfg, deps: RealtimeChannel(cfg, deps.broker),
    "webpush": lambda cfg, deps: WebPushChannel(cfg, deps.vapid_for(cfg.key_dir), deps),
}


def build_channels(configs: tuple[ChannelConfig, ...], deps: ChannelDeps) -> dict[str, Channel]:
    """Instantiate each configured channel by its ``type``; names must be unique."""
    channels: dict[str, Channel] = {}
    for cfg in configs:
        if cfg.name in channels:
            raise ValueError(f"push channel name {cfg.name!r} is used twice")
        channels[cfg.name] = REGISTRY[cfg.type](cfg, deps)
    return channels
