"""Push preferences, Web Push subscriptions, the per-user SSE stream and the delivery log."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from cloud_api.api.routes.people import Me, Services
from cloud_api.db.base import utcnow
from cloud_api.db.models import School
from cloud_api.db.models.people import PushDelivery, PushPreference, WebPushSubscription
from cloud_api.db.models.users import Role
from cloud_api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["notifications"], responses=ERROR_RESPONSES)
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
SSE_KEEPALIVE_S = 15.0
SSE_POLL_S = 0.5  # how quickly a closed connection is noticed


class PreferencesIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: list[str] = Field(max_length=16, description="channel names from the hub config")
    severities: list[int] = Field(default=[1, 2, 3], max_length=3, description="grades to receive")
    quiet_start: str | None = Field(default=None, pattern=HHMM)
    quiet_end: str | None = Field(default=None, pattern=HHMM)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)

    @field_validator("severities")
    @classmethod
    def _grades(cls, v: list[int]) -> list[int]:
        if any(g not in (1, 2, 3) for g in v):
            raise ValueError("severities are grades 1, 2 or 3")
        return sorted(set(v))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


@router.get("/notifications/preferences", response_model=PreferencesIO, summary="The caller's alert preferences")
def get_preferences(me: Me, services: Services) -> PreferencesIO:
    with services.db.session() as s:
        row = s.get(PushPreference, me.user_id)
        if row is None:
            return PreferencesIO(channels=list(services.config.push.default_channels))
        return PreferencesIO(
            channels=[str(c) for c in row.channels],
            severities=[int(g) for g in row.severities],
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
            timezone=row.timezone,
        )


@router.put("/notifications/preferences", response_model=PreferencesIO, summary="Set channels, severities, quiet hours")
def put_preferences(body: PreferencesIO, me: Me, services: Services) -> PreferencesIO:
    known = set(services.push.channels)
    unknown = sorted(set(body.channels) - known)
    if unknown:
        raise HTTPException(422, f"unknown channels {unknown}; configured: {sorted(known)}")
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise HTTPException(422, "quiet_start and quiet_end go together")
    if me.role == Role.PARENT:
        raise HTTPException(403, "parents follow their reports in the app")
    with services.db.session() as s:
        row = s.get(PushPreference, me.user_id) or PushPreference(user_id=me.user_id)
        row.channels, row.severities = body.channels, body.severities
        row.quiet_start, row.quiet_end, row.timezone = body.quiet_start, body.quiet_end, body.timezone
        row.updated_at = utcnow()
        s.add(row)
    return body


@router.get("/push/vapid-public-key", summary="applicationServerKey for pushManager.subscribe")
def vapid_public_key(_me: Me, services: Services) -> dict[str, str]:
    key = services.push.vapid_public_key()
    if key is None:
        raise HTTPException(404, "web push is not configured")
    return {"public_key": key}


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p256dh: str = Field(pattern=r"^[A-Za-z0-9_-]{80,100}={0,2}$", description="base64url P-256 public key")
    auth: str = Field(pattern=r"^[A-Za-z0-9_-]{16,32}={0,2}$", description="base64url 16-byte secret")


class SubscriptionIn(BaseModel):
    """The browser's ``PushSubscription.toJSON()``."""

    model_config = ConfigDict(extra="ignore")  # browsers add expirationTime
    endpoint: str = Field(min_length=10, max_length=1024)
    keys: SubscriptionKeys

    @field_validator("endpoint")
    @classmethod
    def _https(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+/", v):
            raise ValueError("endpoint must be an http(s) URL")
        return v


@router.post("/push/subscriptions", status_code=201, summary="Store this browser's PushSubscription")
def subscribe(body: SubscriptionIn, me: Me, services: Services) -> dict[str, int]:
    if me.role == Role.PARENT:
        raise HTTPException(403, "parents follow their reports in the app")
    with services.db.session() as s:
        row = s.scalars(select(WebPushSubscription).where(WebPushSubscription.endpoint == body.endpoint)).first()
        if row is None:
            row = WebPushSubscription(endpoint=body.endpoint, user_id=me.user_id, p256dh="", auth="")
            s.add(row)
        row.user_id, row.p256dh, row.auth = me.user_id, body.keys.p256dh, body.keys.auth
        s.flush()
        return {"id": row.id}


@router.delete("/push/subscriptions/{subscription_id}", status_code=204, summary="Forget a subscription")
def unsubscribe(subscription_id: int, me: Me, services: Services) -> None:
    with services.db.session() as s:
        row = s.get(WebPushSubscription, subscription_id)
        if row is None or row.user_id != me.user_id:
            raise HTTPException(404, "subscription not found")
        s.delete(row)


@router.get("/events/stream", summary="Server-sent events for the caller (new cases, escalations, reports)")
async def event_stream(request: Request, me: Me, services: Services) -> StreamingResponse:
    broker = services.broker
    sub = broker.subscribe(me.user_id)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            quiet_since = asyncio.get_running_loop().time()
            while not await request.is_disconnected():
                try:
                    item = await asyncio.wait_for(sub.queue.get(), SSE_POLL_S)
                except TimeoutError:
                    if asyncio.get_running_loop().time() - quiet_since >= SSE_KEEPALIVE_S:
                        quiet_since = asyncio.get_running_loop().time()
                        yield b": keepalive\n\n"
                    continue
                quiet_since = asyncio.get_running_loop().time()
                yield f"event: {item['event']}\ndata: {json.dumps(item['data'], ensure_ascii=False)}\n\n".encode()
        finally:
            broker.unsubscribe(sub)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


class DeliveryOut(BaseModel):
    id: int
    alert_kind: str
    case_id: int | None
    school_id: str | None
    user_id: int | None
    channel: str
    channel_type: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


@router.get("/notifications/deliveries", response_model=list[DeliveryOut], summary="Delivery log (staff, scoped)")
def deliveries(
    me: Me,
    services: Services,
    case_id: Annotated[int | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Any]:
    q = select(PushDelivery).order_by(PushDelivery.id.desc()).limit(limit)
    if case_id is not None:
        q = q.where(PushDelivery.case_id == case_id)
    if me.role in (Role.SCHOOL_HEAD, Role.CANTEEN_MANAGER) and me.school_id:
        q = q.where(PushDelivery.school_id == me.school_id)
    elif me.role == Role.REGULATOR and me.district_id:
        q = q.where(PushDelivery.school_id.in_(select(School.id).where(School.district_id == me.district_id)))
    elif me.role != Role.ADMIN:
        raise HTTPException(403, "parents do not read the delivery log")
    with services.db.session() as s:
        return [DeliveryOut.model_validate(r, from_attributes=True) for r in s.scalars(q)]
