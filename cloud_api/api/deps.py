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

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/token")


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
    hub: HubDep, session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "missing bearer token")
    user_id = hub.tokens.verify(credentials.credentials)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise ApiError(401, "invalid or expired token")
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
