"""Bearer-token login. Minimal on purpose: cookies, CSRF and lockout come with the people module."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from sqlalchemy import select

from cloud_api.api.deps import AdminUser, CurrentUser, HubDep, SessionDep
from cloud_api.api.schemas import TokenOut, UserIn, UserOut
from cloud_api.db.models import User
from cloud_api.errors import ERROR_RESPONSES, ApiError
from cloud_api.services import org as org_service
from cloud_api.services.security import verify_password

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/auth/token", response_model=TokenOut, summary="Log in with username and password (form fields)")
def login(
    hub: HubDep,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> TokenOut:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise ApiError(401, "wrong username or password")
    token, exp = hub.tokens.issue(user.id)
    return TokenOut(access_token=token, expires_at=exp, role=user.role)


@router.get("/auth/me", response_model=UserOut, summary="Who the token belongs to")
def me(user: CurrentUser) -> User:
    return user


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"], summary="Create a user (admin)")
def create_user(body: UserIn, session: SessionDep, _: AdminUser) -> User:
    return org_service.create_user(session, **body.model_dump())


@router.get("/users", response_model=list[UserOut], tags=["users"], summary="List users (admin)")
def list_users(session: SessionDep, _: AdminUser) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))
