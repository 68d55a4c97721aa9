"""Account hardening: Argon2 verification, login lockout, revocable server-side sessions.

Tokens are random, shown once and stored as SHA-256, so a database leak does not leak sessions, and
a revoked row makes the token useless on every hub process at once (signed stateless tokens cannot).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.base import utcnow
from cloud_api.db.models.people import AuthSession, LoginThrottle
from cloud_api.db.models.users import User
from cloud_api.people.config import LockoutConfig, SessionConfig
from cloud_api.services.security import hash_password, verify_password

TOKEN_PREFIX = "mcs_"
# The one password rule for accounts users make themselves (parents' join, password change).
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256

log = logging.getLogger(__name__)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class LoginLocked(Exception):
    """Too many failures: ``retry_after_s`` until the lock ends."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"locked for {retry_after_s:.0f} s")


def throttle_keys(username: str, ip: str) -> list[str]:
    return [f"user:{username.strip().lower()[:64]}", f"ip:{ip[:64]}"]


def check_lock(session: Session, keys: list[str], now: datetime) -> None:
    """Raise :class:`LoginLocked` when any key is locked."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
    remaining = max(((r.locked_until - now).total_seconds() for r in rows if r.locked_until), default=0.0)
    if remaining > 0:
        raise LoginLocked(remaining)


def record_failure(session: Session, keys: list[str], now: datetime, cfg: LockoutConfig) -> None:
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now)
            session.add(row)
        if (now - row.window_start).total_seconds() > cfg.window_s or (row.locked_until and row.locked_until <= now):
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= cfg.max_failures:
            row.locked_until = now + timedelta(seconds=cfg.lock_s)
    session.flush()


def clear_failures(session: Session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)


@dataclass(frozen=True)
class IssuedSession:
    """What a login returns; the raw token and CSRF value exist only here."""

    session_id: int
    token: str
    csrf: str | None
    expires_at: datetime


def authenticate(
    session: Session, username: str, password: str, ip: str, cfg: LockoutConfig, now: datetime | None = None
) -> User | None:
    """The active user for these credentials, or None; raises :class:`LoginLocked` while locked."""
    now = now or utcnow()
    keys = throttle_keys(username, ip)
    check_lock(session, keys, now)
    user = session.scalars(select(User).where(User.username == username.strip())).first()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        record_failure(session, keys, now, cfg)
        return None
    clear_failures(session, keys[0])
    return user


def open_session(
    session: Session, user: User, kind: str, cfg: SessionConfig, ip: str = "", user_agent: str = ""
) -> IssuedSession:
    """Create a ``web`` (with CSRF secret) or ``api`` session."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "web" else None
    now = utcnow()
    row = AuthSession(
        token_sha256=sha256_hex(token),
        csrf_sha256=sha256_hex(csrf) if csrf else None,
        user_id=user.id,
        kind=kind,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(minutes=cfg.ttl_minutes),
        ip=ip[:64],
        user_agent=user_agent[:256],
    )
    session.add(row)
    session.flush()
    return IssuedSession(row.id, token, csrf, row.expires_at)


def find_session(session: Session, token: str, now: datetime | None = None) -> tuple[AuthSession, User] | None:
    """The live session and its active user for a raw token, or None (expired, revoked, unknown)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.scalars(select(AuthSession).where(AuthSession.token_sha256 == sha256_hex(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def csrf_matches(row: AuthSession, header: str | None, cookie: str | None) -> bool:
    """Double submit, bound to the session: header == cookie and both hash to the session's secret."""
    if not header or not cookie or row.csrf_sha256 is None:
        return False
    return hmac.compare_digest(header, cookie) and hmac.compare_digest(sha256_hex(header), row.csrf_sha256)


def revoke_session(session: Session, session_id: int) -> None:
    row = session.get(AuthSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_user_sessions(session: Session, user_id: int, keep_session_id: int | None = None) -> int:
    """Log a user out everywhere (password change, deactivation), except ``keep_session_id`` if given;
    returns how many were live."""
    q = select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep_session_id is not None:
        q = q.where(AuthSession.id != keep_session_id)
    rows = session.scalars(q).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    return len(rows)


class WrongPassword(Exception):
    """The current password given to a password change is wrong (counted like a failed login)."""


class BadNewPassword(ValueError):
    """The new password breaks the rule; ``reason`` is ``too_short``, ``too_long`` or ``unchanged``."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def check_new_password(password: str) -> None:
    """Raise :class:`BadNewPassword` unless ``password`` meets the account password rule."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise BadNewPassword("too_short", f"the new password needs at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise BadNewPassword("too_long", f"the new password is at most {PASSWORD_MAX_LENGTH} characters")


def change_password(
    session: Session,
    user_id: int,
    current_session_id: int,
    current_password: str,
    new_password: str,
    ip: str,
    cfg: LockoutConfig,
    now: datetime | None = None,
) -> int:
    """Set a new password after checking the current one; every other session of the user ends.

    A wrong current password counts against the same lockout keys as a failed login (username and
    address) and raises :class:`WrongPassword`; the caller must commit so the failure is kept. While
    locked, :class:`LoginLocked`. Returns how many other sessions were ended.
    """
    now = now or utcnow()
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise WrongPassword()
    keys = throttle_keys(user.username, ip)
    check_lock(session, keys, now)
    if not verify_password(user.password_hash, current_password):
        record_failure(session, keys, now, cfg)
        raise WrongPassword()
    check_new_password(new_password)
    if verify_password(user.password_hash, new_password):
        raise BadNewPassword("unchanged", "the new password must differ from the current one")
    clear_failures(session, keys[0])
    user.password_hash = hash_password(new_password)
    ended = revoke_user_sessions(session, user.id, keep_session_id=current_session_id)
    session.flush()
    log.info("user %s (id %d) changed their password; %d other sessions ended", user.username, user.id, ended)
    return ended
