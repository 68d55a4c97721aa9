"""Who is calling: resolve a session from a bearer token or cookie (+CSRF), and scope checks.

Scope failures answer 404, not 403, for objects in another school, so probing ids leaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import HTTPException
from sqlalchemy.orm import Session

from cloud_api.db.base import utcnow
from cloud_api.db.models.org import School
from cloud_api.db.models.users import Role
from cloud_api.people import accounts
from cloud_api.people.config import SessionConfig

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_ROLES = frozenset({Role.SCHOOL_HEAD, Role.CANTEEN_MANAGER})
LAST_SEEN_EVERY_S = 60.0


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: str
    school_id: str | None
    district_id: str | None
    session_id: int
    via: str  # "bearer" | "cookie"


def unauthorized(detail: str = "not signed in or session ended") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def resolve(
    session: Session,
    cfg: SessionConfig,
    method: str,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    check_csrf: bool = True,
) -> Principal:
    """Authenticate a request; cookie sessions must echo the CSRF token on unsafe methods."""
    auth = headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization must be 'Bearer <token>'")
        via, token = "bearer", token.strip()
    else:
        via, token = "cookie", cookies.get(cfg.cookie_name, "")
    if not token:
        raise unauthorized()
    found = accounts.find_session(session, token)
    if found is None:
        raise unauthorized()
    row, user = found
    if via == "cookie" and check_csrf and method.upper() not in SAFE_METHODS:
        header = headers.get(cfg.csrf_header.lower()) or headers.get(cfg.csrf_header)
        if not accounts.csrf_matches(row, header, cookies.get(cfg.csrf_cookie_name)):
            raise HTTPException(
                403, f"CSRF check failed: send the {cfg.csrf_cookie_name} cookie value in {cfg.csrf_header}"
            )
    now = utcnow()
    if (now - row.last_seen_at).total_seconds() > LAST_SEEN_EVERY_S:  # not a write on every request
        row.last_seen_at = now
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        school_id=user.school_id,
        district_id=user.district_id,
        session_id=row.id,
        via=via,
    )


def can_oversee_school(session: Session, principal: Principal, school_id: str) -> bool:
    """Admin anywhere, regulator in their district, school staff in their school (not parents)."""
    if principal.role == Role.ADMIN:
        return True
    if principal.role in STAFF_ROLES:
        return principal.school_id == school_id
    if principal.role == Role.REGULATOR:
        school = session.get(School, school_id)
        return school is not None and school.district_id == principal.district_id
    return False
