"""Live view over WebSocket and the 直通负责人 report button.

WebSocket protocol (server → client): a JSON text message ``{"type": "frame", "seq", "captured_at",
"width", "height", "size"}`` followed by one binary message with the JPEG; ``{"type": "end", "reason"}``
before closing. Client → server: any text (e.g. ``"ping"``) at least every ``viewer_lease_s`` renews
the viewer's lease; ``"bye"`` leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from cloud_api.api.routes.people import SLUG, Me, Services
from cloud_api.db.base import utcnow
from cloud_api.db.models import Evidence
from cloud_api.db.models.people import LiveViewAudit, ParentReport
from cloud_api.db.models.users import Role
from cloud_api.errors import ERROR_RESPONSES
from cloud_api.live.relay import FrameOut, Viewer, ViewerLimitReached
from cloud_api.people.app import PeopleServices
from cloud_api.people.parents import LiveAuthorization, authorize_live
from cloud_api.people.principal import Principal, resolve
from cloud_api.services.cases import Actor, open_parent_report

router = APIRouter(prefix="/api/v1", tags=["live"], responses=ERROR_RESPONSES)
RECHECK_S = 2.0  # how often an open stream re-checks the grant (revocation ends it within this)
REPORTS_PER_HOUR = 10


def _same_origin(ws: WebSocket) -> bool:
    """Cookie-authenticated sockets must come from our own pages (cross-site WebSocket hijacking)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host", "")


def _authorize(services: PeopleServices, ws: WebSocket, camera_id: str) -> tuple[Principal, LiveAuthorization]:
    with services.db.session() as s:
        principal = resolve(s, services.config.session, "GET", ws.headers, ws.cookies, check_csrf=False)
        return principal, authorize_live(s, principal, camera_id, services.config.parents)


def _recheck(services: PeopleServices, principal: Principal, camera_id: str) -> bool:
    with services.db.session() as s:
        try:
            authorize_live(s, principal, camera_id, services.config.parents)
        except HTTPException:
            return False
        return True


def _audit_start(services: PeopleServices, p: Principal, auth: LiveAuthorization) -> int:
    with services.db.session() as s:
        row = LiveViewAudit(
            user_id=p.user_id,
            username=p.username,
            role=p.role,
            school_id=auth.school_id,
            camera_id=auth.camera_id,
            grant_id=auth.grant_id,
            started_at=utcnow(),
        )
        s.add(row)
        s.flush()
        return row.id


def _audit_end(services: PeopleServices, audit_id: int, reason: str, frames: int, size: int) -> None:
    with services.db.session() as s:
        row = s.get(LiveViewAudit, audit_id)
        if row is not None:
            row.ended_at, row.end_reason, row.frames, row.bytes_sent = utcnow(), reason[:32], frames, size


@router.websocket("/live/{camera_id}/ws")
async def live_ws(websocket: WebSocket, camera_id: str) -> None:
    services: PeopleServices = websocket.app.state.people
    relay = services.relay
    try:
        principal, auth = await run_in_threadpool(_authorize, services, websocket, camera_id)
    except HTTPException as exc:
        await websocket.close(code=4000 + exc.status_code, reason=str(exc.detail)[:100])
        return
    if principal.via == "cookie" and not _same_origin(websocket):
        await websocket.close(code=4403, reason="cross-origin")
        return
    if relay is None or not relay.connected:
        await websocket.close(code=1013, reason="live relay not connected; try again later")
        return
    key = (auth.school_id, auth.device_id, auth.camera_id)
    try:
        viewer = relay.join(key, counted=principal.role == Role.PARENT, limit=auth.max_viewers, until=auth.until)
    except ViewerLimitReached as exc:
        await websocket.close(code=4429, reason=str(exc)[:100])
        return
    await websocket.accept()
    audit_id = await run_in_threadpool(_audit_start, services, principal, auth)
    frames = sent = 0
    reason = "closed"

    async def receive() -> None:
        try:
            while True:
                text = await websocket.receive_text()
                if text == "bye":
                    relay.leave(viewer, "left")
                    return
                relay.touch(viewer)
        except (WebSocketDisconnect, RuntimeError, KeyError):  # gone without "bye": free the stream now
            relay.leave(viewer, "client_gone")

    async def recheck() -> None:
        while True:
            await asyncio.sleep(RECHECK_S)
            if not await run_in_threadpool(_recheck, services, principal, camera_id):
                relay.leave(viewer, "grant_ended")
                return

    tasks = [asyncio.create_task(receive()), asyncio.create_task(recheck())]
    try:
        while True:
            item = await viewer.queue.get()
            if isinstance(item, str):
                reason = item
                break
            await _send_frame(websocket, item)
            frames, sent = frames + 1, sent + len(item.jpeg)
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "end", "reason": reason})
            await websocket.close(code=1000, reason=reason)
    except (WebSocketDisconnect, RuntimeError):
        reason = "client_gone"
    finally:
        for task in tasks:
            task.cancel()
        relay.leave(viewer, reason)
        reason = viewer.ended or reason
        # shielded: when the server cancels this handler (client gone, shutdown) the audit row still closes
        await asyncio.shield(run_in_threadpool(_audit_end, services, audit_id, reason, frames, sent))


async def _send_frame(ws: WebSocket, frame: FrameOut) -> None:
    await ws.send_json(
        {
            "type": "frame",
            "seq": frame.seq,
            "captured_at": frame.captured_at.isoformat(),
            "width": frame.width,
            "height": frame.height,
            "size": len(frame.jpeg),
        }
    )
    await ws.send_bytes(frame.jpeg)


# -- 直通负责人 ----------------------------------------------------------------------------------------
class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(min_length=1, max_length=1000)


class ReportCreated(BaseModel):
    report_id: int
    case_id: int
    state: str
    screenshot_source: str = Field(description="snapshot (full-res from the edge) | live_frame (fallback) | none")


def _screenshot(services: PeopleServices, auth: LiveAuthorization) -> tuple[str, bytes | None, int, int]:
    """Full-resolution snapshot from the edge, else the latest relayed live frame (flagged), else nothing."""
    relay = services.relay
    if relay is None:
        return "none", None, 0, 0
    key = (auth.school_id, auth.device_id, auth.camera_id)
    snap = relay.snapshot(key)
    if snap is not None:
        return "snapshot", snap[0], snap[1], snap[2]
    latest = relay.latest_frame(key)
    if latest is not None:
        return "live_frame", latest.jpeg, latest.width, latest.height
    return "none", None, 0, 0


@router.post(
    "/live/{camera_id}/report",
    response_model=ReportCreated,
    status_code=201,
    summary="直通负责人: report what you see; a screenshot and your comment reach the school head",
)
def report(camera_id: Annotated[str, Path(pattern=SLUG)], body: ReportIn, me: Me, services: Services) -> ReportCreated:
    if me.role != Role.PARENT:
        raise HTTPException(403, "the 直通负责人 button is for parents; staff open cases directly")
    now = utcnow()
    with services.db.session() as s:
        auth = authorize_live(s, me, camera_id, services.config.parents, now)
        recent = s.scalar(
            select(func.count(ParentReport.id)).where(
                ParentReport.user_id == me.user_id, ParentReport.created_at > now - timedelta(hours=1)
            )
        )
        if (recent or 0) >= REPORTS_PER_HOUR:
            raise HTTPException(429, f"at most {REPORTS_PER_HOUR} reports per hour", headers={"Retry-After": "600"})
    source, jpeg, width, height = _screenshot(services, auth)
    storage_key = None
    if jpeg is not None:
        storage_key = _store(services, auth.school_id, now, jpeg)
    with services.db.session() as s:
        case = open_parent_report(
            s,
            school_id=auth.school_id,
            camera_id=auth.camera_id,
            reporter=Actor(name=me.display_name, role=me.role, user_id=me.user_id),
            comment=body.comment,
            config=services.hub.cases,
            taxonomy=services.taxonomy,
            notifier=services.notifier,
            now=now,
        )
        if jpeg is not None and storage_key is not None:
            s.add(
                Evidence(
                    case_id=case.id,
                    name=source,
                    storage_key=storage_key,
                    sha256=hashlib.sha256(jpeg).hexdigest(),
                    size=len(jpeg),
                    width=max(width, 1),
                    height=max(height, 1),
                )
            )
        row = ParentReport(
            case_id=case.id, user_id=me.user_id, school_id=auth.school_id, camera_id=camera_id, screenshot_source=source
        )
        s.add(row)
        s.flush()
        return ReportCreated(report_id=row.id, case_id=case.id, state=case.state, screenshot_source=source)


def _store(services: PeopleServices, school_id: str, now: datetime, jpeg: bytes) -> str:
    key = f"parent_reports/{school_id}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.jpg"
    services.storage.put(key, jpeg, "image/jpeg")
    return key


__all__ = ["Viewer", "router"]
