"""Accounts (login with lockout, cookie+CSRF or bearer sessions, logout), parents' invites and grants,
camera privacy settings, the live-view audit, and a parent's own 直通负责人 reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cloud_api.db.base import utcnow
from cloud_api.db.models import Case, School
from cloud_api.db.models.people import LiveViewAudit, ParentGrant, ParentReport
from cloud_api.db.models.users import Role
from cloud_api.errors import ERROR_RESPONSES, ErrorResponse
from cloud_api.people import accounts, parents
from cloud_api.people.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, BadNewPassword, LoginLocked
from cloud_api.people.app import PeopleServices, get_services
from cloud_api.people.principal import Principal, resolve

router = APIRouter(prefix="/api/v1", tags=["people"], responses=ERROR_RESPONSES)
Services = Annotated[PeopleServices, Depends(get_services)]
SLUG = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


def current_principal(request: Request, services: Services) -> Principal:
    """Bearer token or session cookie (with CSRF on unsafe methods), checked against the sessions table."""
    with services.db.session() as s:
        return resolve(s, services.config.session, request.method, request.headers, request.cookies)


Me = Annotated[Principal, Depends(current_principal)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- accounts ------------------------------------------------------------------------------------
class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    mode: Literal["token", "cookie"] = Field(default="token", description="token: bearer for API; cookie: web")


class SessionOut(BaseModel):
    user_id: int
    username: str
    role: str
    school_id: str | None
    district_id: str | None
    expires_at: datetime | None = None
    access_token: str | None = Field(default=None, description="bearer token (mode=token only), shown once")
    csrf_token: str | None = Field(default=None, description="echo in X-CSRF-Token on unsafe requests (cookie mode)")


@router.post("/auth/login", response_model=SessionOut, summary="Log in; locked after repeated failures (429)")
def login(body: LoginIn, request: Request, response: Response, services: Services) -> SessionOut:
    cfg = services.config
    with services.db.session() as s:
        try:
            user = accounts.authenticate(s, body.username, body.password, client_ip(request), cfg.lockout)
        except LoginLocked as exc:
            raise HTTPException(
                429, "too many failed logins; try again later", headers={"Retry-After": str(int(exc.retry_after_s) + 1)}
            ) from exc
        if user is None:
            # the failure must be counted even though we answer with an error: commit first
            s.commit()
            raise HTTPException(401, "wrong username or password")
        kind = "web" if body.mode == "cookie" else "api"
        issued = accounts.open_session(
            s, user, kind, cfg.session, ip=client_ip(request), user_agent=request.headers.get("user-agent", "")
        )
        out = SessionOut(
            user_id=user.id,
            username=user.username,
            role=user.role,
            school_id=user.school_id,
            district_id=user.district_id,
            expires_at=issued.expires_at,
        )
    if kind == "api":
        out.access_token = issued.token
        return out
    secure = request.url.scheme == "https"
    max_age = cfg.session.ttl_minutes * 60
    response.set_cookie(
        cfg.session.cookie_name, issued.token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    response.set_cookie(
        cfg.session.csrf_cookie_name, issued.csrf or "", max_age=max_age, samesite="strict", secure=secure, path="/"
    )
    out.csrf_token = issued.csrf
    return out


@router.post("/auth/logout", status_code=204, summary="End this session (the token stops working at once)")
def logout(me: Me, response: Response, services: Services) -> Response:
    with services.db.session() as s:
        accounts.revoke_session(s, me.session_id)
    response = Response(status_code=204)
    response.delete_cookie(services.config.session.cookie_name, path="/")
    response.delete_cookie(services.config.session.csrf_cookie_name, path="/")
    return response


@router.post("/auth/logout-all", summary="End every session of this user")
def logout_all(me: Me, services: Services) -> dict[str, int]:
    with services.db.session() as s:
        return {"revoked": accounts.revoke_user_sessions(s, me.user_id)}


class PasswordChangeIn(_In):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)
    new_password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class PasswordChangeOut(BaseModel):
    other_sessions_ended: int = Field(description="sessions of this user that ended (this one stays signed in)")


@router.post(
    "/auth/password",
    response_model=PasswordChangeOut,
    summary="Change the caller's password; every other session of the user ends",
    description=(
        "A wrong current password is 403 and counts against the login lockout (429 while locked); "
        f"the new password needs {PASSWORD_MIN_LENGTH}–{PASSWORD_MAX_LENGTH} characters and must differ (422)."
    ),
)
def change_password(body: PasswordChangeIn, request: Request, me: Me, services: Services) -> PasswordChangeOut:
    with services.db.session() as s:
        try:
            ended = accounts.change_password(
                s,
                me.user_id,
                me.session_id,
                body.current_password,
                body.new_password,
                client_ip(request),
                services.config.lockout,
            )
        except LoginLocked as exc:
            raise HTTPException(
                429, "too many failed logins; try again later", headers={"Retry-After": str(int(exc.retry_after_s) + 1)}
            ) from exc
        except accounts.WrongPassword:
            s.commit()  # keep the failure count although we answer with an error
            raise HTTPException(403, "current password is wrong") from None
        except BadNewPassword as exc:
            raise HTTPException(422, str(exc)) from exc
    return PasswordChangeOut(other_sessions_ended=ended)


@router.get("/auth/session", response_model=SessionOut, summary="Who this session belongs to")
def whoami(me: Me) -> SessionOut:
    return SessionOut(
        user_id=me.user_id, username=me.username, role=me.role, school_id=me.school_id, district_id=me.district_id
    )


# -- cameras and parents -------------------------------------------------------------------------
class CameraSettingIn(_In):
    parent_viewable: bool
    area_type: str = Field(default="kitchen", pattern=r"^[a-z_]{1,32}$")
    max_viewers: int | None = Field(default=None, ge=1, le=100)


class CameraSettingOut(BaseModel):
    camera_id: str
    parent_viewable: bool
    area_type: str
    max_viewers: int | None


@router.put(
    "/people/cameras/{camera_id}/live-setting",
    response_model=CameraSettingOut,
    summary="Mark a camera viewable by parents (school head); privacy areas are refused",
)
def put_camera_setting(
    camera_id: Annotated[str, Path(pattern=SLUG)], body: CameraSettingIn, me: Me, services: Services
) -> CameraSettingOut:
    with services.db.session() as s:
        row = parents.set_camera_setting(
            s,
            me,
            camera_id,
            services.config.parents,
            parent_viewable=body.parent_viewable,
            area_type=body.area_type,
            max_viewers=body.max_viewers,
        )
        return CameraSettingOut(
            camera_id=row.camera_id,
            parent_viewable=row.parent_viewable,
            area_type=row.area_type,
            max_viewers=row.max_viewers,
        )


@router.get("/people/live-cameras", summary="Cameras the caller may watch live (parents: by grant)")
def live_cameras(me: Me, services: Services) -> list[str]:
    now = utcnow()
    with services.db.session() as s:
        if me.role == Role.PARENT:
            grants = s.scalars(
                select(ParentGrant).where(
                    ParentGrant.user_id == me.user_id,
                    ParentGrant.revoked_at.is_(None),
                    ParentGrant.starts_at <= now,
                    ParentGrant.expires_at > now,
                )
            ).all()
            ids: set[str] = set()
            for g in grants:
                viewable = parents.viewable_camera_ids(s, g.school_id, services.config.parents)
                ids |= {c for c in viewable if g.camera_ids is None or c in g.camera_ids}
            return sorted(ids)
        if me.role in (Role.SCHOOL_HEAD, Role.CANTEEN_MANAGER) and me.school_id:
            return parents.viewable_camera_ids(s, me.school_id, services.config.parents)
        raise HTTPException(403, "only parents and school staff list live cameras here")


class InviteIn(_In):
    school_id: str = Field(pattern=SLUG)
    camera_ids: list[str] | None = Field(default=None, max_length=64)
    grant_days: int | None = Field(default=None, ge=1, le=365)
    label: str = Field(default="", max_length=128)


class InviteOut(BaseModel):
    id: int
    code: str
    link: str
    qr_svg: str
    expires_at: datetime
    grant_days: int


@router.post("/people/invites", response_model=InviteOut, status_code=201, summary="Invite a parent (school head)")
def create_invite(body: InviteIn, me: Me, services: Services) -> InviteOut:
    cfg = services.config.parents
    with services.db.session() as s:
        invite, code = parents.create_invite(
            s, me, body.school_id, cfg, camera_ids=body.camera_ids, grant_days=body.grant_days, label=body.label
        )
        link = parents.invite_link(cfg, code)
        return InviteOut(
            id=invite.id,
            code=code,
            link=link,
            qr_svg=parents.qr_svg(link),
            expires_at=invite.expires_at,
            grant_days=invite.grant_days,
        )


class InviteStateOut(BaseModel):
    id: int
    school_id: str
    label: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None = Field(description="when the invite was cancelled (it can no longer be redeemed)")


@router.delete(
    "/people/invites/{invite_id}",
    response_model=InviteStateOut,
    summary="Cancel an unused invite (school head of its school, admin); a redeemed one is 409",
)
def cancel_invite(invite_id: int, me: Me, services: Services) -> InviteStateOut:
    with services.db.session() as s:
        row = parents.cancel_invite(s, me, invite_id)
        return InviteStateOut.model_validate(row, from_attributes=True)


class RedeemIn(_In):
    code: str = Field(min_length=8, max_length=64)
    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    display_name: str = Field(default="", max_length=128)


class GrantOut(BaseModel):
    id: int
    user_id: int
    school_id: str
    camera_ids: list[str] | None
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _grant_out(g: ParentGrant) -> GrantOut:
    cams = [str(c) for c in g.camera_ids] if g.camera_ids is not None else None
    return GrantOut(
        id=g.id,
        user_id=g.user_id,
        school_id=g.school_id,
        camera_ids=cams,
        starts_at=g.starts_at,
        expires_at=g.expires_at,
        revoked_at=g.revoked_at,
    )


@router.post(
    "/people/invites/redeem",
    response_model=GrantOut,
    status_code=201,
    summary="Parent creates an account from a code",
    responses={410: {"model": ErrorResponse, "description": "invite_cancelled: the school cancelled this invite"}},
)
def redeem(body: RedeemIn, request: Request, services: Services) -> GrantOut:
    ip_key = [f"invite-ip:{client_ip(request)}"]
    now = utcnow()
    with services.db.session() as s:
        try:
            accounts.check_lock(s, ip_key, now)
        except LoginLocked as exc:
            raise HTTPException(
                429, "too many bad codes", headers={"Retry-After": str(int(exc.retry_after_s) + 1)}
            ) from exc
    with services.db.session() as s:
        try:
            _user, grant = parents.redeem_invite(s, body.code, body.username, body.password, body.display_name, now)
            return _grant_out(grant)
        except HTTPException as exc:
            if exc.status_code == 400:
                with services.db.session() as s2:
                    accounts.record_failure(s2, ip_key, now, services.config.lockout)
            raise


@router.get("/people/grants", response_model=list[GrantOut], summary="Parents' grants of the caller's school (head)")
def list_grants(me: Me, services: Services) -> list[GrantOut]:
    if me.role != Role.SCHOOL_HEAD or not me.school_id:
        raise HTTPException(403, "only a school head manages parents' grants")
    with services.db.session() as s:
        rows = s.scalars(select(ParentGrant).where(ParentGrant.school_id == me.school_id).order_by(ParentGrant.id))
        return [_grant_out(g) for g in rows]


@router.delete("/people/grants/{grant_id}", response_model=GrantOut, summary="Revoke a grant (live views end)")
def revoke_grant(grant_id: int, me: Me, services: Services) -> GrantOut:
    with services.db.session() as s:
        return _grant_out(parents.revoke_grant(s, me, grant_id))


class AuditOut(BaseModel):
    id: int
    username: str
    role: str
    school_id: str
    camera_id: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str
    frames: int
    bytes_sent: int


@router.get("/people/live-audit", response_model=list[AuditOut], summary="Who watched which camera when (staff)")
def live_audit(me: Me, services: Services, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
    q = select(LiveViewAudit).order_by(LiveViewAudit.id.desc()).limit(limit)
    if me.role == Role.SCHOOL_HEAD and me.school_id:
        q = q.where(LiveViewAudit.school_id == me.school_id)
    elif me.role == Role.REGULATOR and me.district_id:
        q = q.where(LiveViewAudit.school_id.in_(select(School.id).where(School.district_id == me.district_id)))
    elif me.role != Role.ADMIN:
        raise HTTPException(403, "only school heads, regulators and admins read the live-view audit")
    with services.db.session() as s:
        return [AuditOut.model_validate(r, from_attributes=True) for r in s.scalars(q)]


# -- a parent's reports --------------------------------------------------------------------------
class ReportOut(BaseModel):
    id: int
    case_id: int
    camera_id: str
    state: str
    screenshot_source: str
    comment: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


def _report_out(r: ParentReport, c: Case) -> ReportOut:
    return ReportOut(
        id=r.id,
        case_id=c.id,
        camera_id=r.camera_id,
        state=c.state,
        screenshot_source=r.screenshot_source,
        comment=c.comment,
        created_at=r.created_at,
        updated_at=c.updated_at,
        closed_at=c.closed_at,
    )


@router.get("/people/reports", response_model=list[ReportOut], summary="The caller's own 直通负责人 reports")
def my_reports(me: Me, services: Services) -> list[ReportOut]:
    if me.role != Role.PARENT:
        raise HTTPException(403, "staff follow reports as cases")
    with services.db.session() as s:
        rows = s.execute(
            select(ParentReport, Case)
            .join(Case, Case.id == ParentReport.case_id)
            .where(ParentReport.user_id == me.user_id)
            .order_by(ParentReport.id.desc())
        ).all()
        return [_report_out(r, c) for r, c in rows]


@router.get("/people/reports/{report_id}", response_model=ReportOut, summary="One of the caller's reports")
def my_report(report_id: int, me: Me, services: Services) -> ReportOut:
    with services.db.session() as s:
        row = s.execute(
            select(ParentReport, Case).join(Case, Case.id == ParentReport.case_id).where(ParentReport.id == report_id)
        ).first()
        if row is None or me.role != Role.PARENT or row[0].user_id != me.user_id:
            raise HTTPException(404, "report not found")
        return _report_out(row[0], row[1])
