"""User administration. Logging in and out lives with the sessions in :mod:`cloud_api.api.routes.people`."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from cloud_api.api.deps import AdminUser, SessionDep
from cloud_api.api.schemas import UserIn, UserOut
from cloud_api.db.models import User
from cloud_api.errors import ERROR_RESPONSES
from cloud_api.services import org as org_service

router = APIRouter(prefix="/api/v1", tags=["users"], responses=ERROR_RESPONSES)


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"], summary="Create a user (admin)")
def create_user(body: UserIn, session: SessionDep, _: AdminUser) -> User:
    return org_service.create_user(session, **body.model_dump())


@router.get("/users", response_model=list[UserOut], tags=["users"], summary="List users (admin)")
def list_users(session: SessionDep, _: AdminUser) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))
