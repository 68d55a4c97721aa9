"""Request dependencies: the hub context, a DB session per request, the current user and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cloud_api.context import HubContext
from cloud_api.db.models import User
from cloud_api.errors import ApiError
from cloud_api.people.principal import resolve

_bearer = HTTPBearer(auto_error=False, description="access_token from POST /api/v1/auth/login")


def get_hub(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


HubDep = Annotated[HubContext, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    """One transaction per request: committed if the handler returns, rolled back if it raises."""
    with hub.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(
    request: Request,
    session: SessionDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """A live people session: bearer token for the API, or cookie + CSRF token for the web.

    Sessions are rows, not signed blobs, so logging out (or an admin revoking a user) ends them at once.
    """
    people = request.app.state.people
    principal = resolve(session, people.config.session, request.method, request.headers, request.cookies)
    user = session.get(User, principal.user_id)
    if user is None or not user.active:
        raise ApiError(401, "invalid or expired session")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: str) -> Callable[[User], User]:
    """Dependency factory: 403 unless the current user has one of ``roles``."""
    allowed = frozenset(roles)

    def _check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise ApiError(403, f"role {user.role!r} may not do this (needs one of: {', '.join(sorted(allowed))})")
        return user

    return _check


AdminUser = Annotated[User, Depends(require_role("admin"))]
