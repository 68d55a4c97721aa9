"""Drop-in replacement for the core's ``get_current_user`` that makes logout global.

The core's HMAC tokens cannot be revoked; people sessions can. Wiring (one line in ``create_app``)::

    app.dependency_overrides[get_current_user] = people_current_user

Then every core endpoint accepts a people session (bearer ``mcs_…`` or cookie + CSRF on unsafe methods)
and refuses it the moment it is logged out. ``allow_legacy`` keeps the core's signed tokens working
during the switch (they still expire by themselves but cannot be revoked).
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from cloud_api.db.models.users import User
from cloud_api.people import accounts
from cloud_api.people.app import PeopleServices
from cloud_api.people.principal import resolve


def _user(request: Request, allow_legacy: bool) -> User:
    services: PeopleServices = request.app.state.people
    auth = request.headers.get("authorization", "")
    token = auth.partition(" ")[2].strip()
    with services.db.session() as s:
        if allow_legacy and token and not token.startswith(accounts.TOKEN_PREFIX):
            user_id = request.app.state.hub.tokens.verify(token)
            user = s.get(User, user_id) if user_id is not None else None
            if user is None or not user.active:
                raise HTTPException(401, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
            return user
        principal = resolve(s, services.config.session, request.method, request.headers, request.cookies)
        user = s.get(User, principal.user_id)
        assert user is not None  # resolve() checked it exists and is active
        return user


def people_current_user(request: Request) -> User:
    """People sessions only (the target state)."""
    return _user(request, allow_legacy=False)


def people_or_legacy_current_user(request: Request) -> User:
    """People sessions, or the core's signed tokens while clients migrate."""
    return _user(request, allow_legacy=True)
