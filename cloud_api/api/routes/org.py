"""Organisation CRUD: admins write; everyone reads within their scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cloud_api.api.deps import AdminUser, CurrentUser, SessionDep
from cloud_api.api.schemas import (
    CameraIn,
    CameraOut,
    CameraPatch,
    CanteenIn,
    CanteenOut,
    DistrictIn,
    DistrictOut,
    RoomIn,
    RoomOut,
    SchoolIn,
    SchoolOut,
)
from cloud_api.db.models import Camera, Canteen, District, Room, School, User
from cloud_api.db.models.users import Role
from cloud_api.errors import ERROR_RESPONSES, ApiError, not_found
from cloud_api.services import org as org_service
from cloud_api.services.scoping import school_filter

router = APIRouter(prefix="/api/v1", tags=["organisation"], responses=ERROR_RESPONSES)


def _scoped_get(session: SessionDep, model: Any, key: str, user: User, what: str) -> Any:
    col = model.id if model is School else model.school_id
    row = session.scalar(school_filter(select(model).where(model.id == key), col, user))
    if row is None:
        raise not_found(what)  # out of scope looks exactly like missing
    return row


def _delete(session: SessionDep, row: Any, what: str) -> Response:
    try:
        session.delete(row)
        session.flush()
    except IntegrityError as exc:
        raise ApiError(409, f"{what} is still referenced (remove what belongs to it first)") from exc
    return Response(status_code=204)


@router.get("/districts", response_model=list[DistrictOut], summary="Districts in scope")
def list_districts(session: SessionDep, user: CurrentUser) -> list[District]:
    stmt = select(District).order_by(District.id)
    if user.role != Role.ADMIN:
        stmt = stmt.where(District.id == user.district_id)
    return list(session.scalars(stmt))


@router.post("/districts", response_model=DistrictOut, status_code=201, summary="Create a district (admin)")
def create_district(body: DistrictIn, session: SessionDep, _: AdminUser) -> District:
    return org_service.create_district(session, **body.model_dump())


@router.delete("/districts/{district_id}", status_code=204, summary="Delete an empty district (admin)")
def delete_district(district_id: str, session: SessionDep, _: AdminUser) -> Response:
    row = session.get(District, district_id)
    if row is None:
        raise not_found("district")
    return _delete(session, row, "district")


@router.get("/schools", response_model=list[SchoolOut], summary="Schools in scope")
def list_schools(session: SessionDep, user: CurrentUser) -> list[School]:
    return list(session.scalars(school_filter(select(School).order_by(School.id), School.id, user)))


@router.post("/schools", response_model=SchoolOut, status_code=201, summary="Create a school (admin)")
def create_school(body: SchoolIn, session: SessionDep, _: AdminUser) -> School:
    return org_service.create_school(session, **body.model_dump())


@router.get("/schools/{school_id}", response_model=SchoolOut, summary="One school")
def get_school(school_id: str, session: SessionDep, user: CurrentUser) -> School:
    return _scoped_get(session, School, school_id, user, "school")  # type: ignore[no-any-return]


@router.delete("/schools/{school_id}", status_code=204, summary="Delete an empty school (admin)")
def delete_school(school_id: str, session: SessionDep, _: AdminUser) -> Response:
    row = session.get(School, school_id)
    if row is None:
        raise not_found("school")
    return _delete(session, row, "school")


@router.get("/canteens", response_model=list[CanteenOut], summary="Canteens in scope")
def list_canteens(session: SessionDep, user: CurrentUser, school_id: str | None = None) -> list[Canteen]:
    stmt = school_filter(select(Canteen).order_by(Canteen.id), Canteen.school_id, user)
    if school_id:
        stmt = stmt.where(Canteen.school_id == school_id)
    return list(session.scalars(stmt))


@router.post("/canteens", response_model=CanteenOut, status_code=201, summary="Create a canteen (admin)")
def create_canteen(body: CanteenIn, session: SessionDep, _: AdminUser) -> Canteen:
    return org_service.create_canteen(session, **body.model_dump())


@router.delete("/canteens/{canteen_id}", status_code=204, summary="Delete an empty canteen (admin)")
def delete_canteen(canteen_id: str, session: SessionDep, _: AdminUser) -> Response:
    row = session.get(Canteen, canteen_id)
    if row is None:
        raise not_found("canteen")
    return _delete(session, row, "canteen")


@router.get("/rooms", response_model=list[RoomOut], summary="Rooms in scope")
def list_rooms(session: SessionDep, user: CurrentUser, canteen_id: str | None = None) -> list[Room]:
    stmt = school_filter(select(Room).order_by(Room.id), Room.school_id, user)
    if canteen_id:
        stmt = stmt.where(Room.canteen_id == canteen_id)
    return list(session.scalars(stmt))


@router.post("/rooms", response_model=RoomOut, status_code=201, summary="Create a room (admin)")
def create_room(body: RoomIn, session: SessionDep, _: AdminUser) -> Room:
    return org_service.create_room(session, **body.model_dump())


@router.delete("/rooms/{room_id}", status_code=204, summary="Delete an empty room (admin)")
def delete_room(room_id: str, session: SessionDep, _: AdminUser) -> Response:
    row = session.get(Room, room_id)
    if row is None:
        raise not_found("room")
    return _delete(session, row, "room")


@router.get("/cameras", response_model=list[CameraOut], summary="Cameras in scope")
def list_cameras(session: SessionDep, user: CurrentUser, school_id: str | None = None) -> list[Camera]:
    stmt = school_filter(select(Camera).order_by(Camera.id), Camera.school_id, user)
    if school_id:
        stmt = stmt.where(Camera.school_id == school_id)
    return list(session.scalars(stmt))


@router.post("/cameras", response_model=CameraOut, status_code=201, summary="Register a camera (admin)")
def create_camera(body: CameraIn, session: SessionDep, _: AdminUser) -> Camera:
    return org_service.create_camera(session, **body.model_dump())


@router.patch("/cameras/{camera_id}", response_model=CameraOut, summary="Place or rename a camera (admin)")
def patch_camera(camera_id: str, body: CameraPatch, session: SessionDep, _: AdminUser) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise not_found("camera")
    if body.room_id is not None:
        room = session.get(Room, body.room_id)
        if room is None or room.school_id != camera.school_id:
            raise ApiError(422, f"room {body.room_id!r} is not a room of school {camera.school_id!r}")
        camera.room_id = room.id
    if body.name is not None:
        camera.name = body.name
    return camera


@router.delete("/cameras/{camera_id}", status_code=204, summary="Delete a camera (admin)")
def delete_camera(camera_id: str, session: SessionDep, _: AdminUser) -> Response:
    row = session.get(Camera, camera_id)
    if row is None:
        raise not_found("camera")
    return _delete(session, row, "camera")
