"""Organisation and users: creation with referential checks that give clear messages (not DB errors)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.models import Camera, Canteen, Device, District, Room, School, User
from cloud_api.db.models.users import Role
from cloud_api.errors import ApiError
from cloud_api.services.security import hash_password


def _require(session: Session, model: type, key: str, what: str) -> object:
    row = session.get(model, key)
    if row is None:
        raise ApiError(422, f"{what} {key!r} does not exist", code="unknown_reference")
    return row


def _fresh(session: Session, model: type, key: str, what: str) -> None:
    if session.get(model, key) is not None:
        raise ApiError(409, f"{what} {key!r} already exists")


def create_district(session: Session, id: str, name: str) -> District:
    _fresh(session, District, id, "district")
    row = District(id=id, name=name)
    session.add(row)
    session.flush()
    return row


def create_school(session: Session, id: str, district_id: str, name: str) -> School:
    _fresh(session, School, id, "school")
    _require(session, District, district_id, "district")
    row = School(id=id, district_id=district_id, name=name)
    session.add(row)
    session.flush()
    return row


def create_canteen(session: Session, id: str, school_id: str, name: str) -> Canteen:
    _fresh(session, Canteen, id, "canteen")
    _require(session, School, school_id, "school")
    row = Canteen(id=id, school_id=school_id, name=name)
    session.add(row)
    session.flush()
    return row


def create_room(session: Session, id: str, canteen_id: str, name: str, room_type: str = "other") -> Room:
    _fresh(session, Room, id, "room")
    canteen = _require(session, Canteen, canteen_id, "canteen")
    assert isinstance(canteen, Canteen)
    row = Room(id=id, canteen_id=canteen_id, school_id=canteen.school_id, name=name, room_type=room_type)
    session.add(row)
    session.flush()
    return row


def create_camera(
    session: Session, id: str, school_id: str, room_id: str | None = None, device_id: str | None = None, name: str = ""
) -> Camera:
    _fresh(session, Camera, id, "camera")
    _require(session, School, school_id, "school")
    if room_id is not None:
        room = _require(session, Room, room_id, "room")
        if isinstance(room, Room) and room.school_id != school_id:
            raise ApiError(422, f"room {room_id!r} belongs to school {room.school_id!r}", code="unknown_reference")
    if device_id is not None:
        device = _require(session, Device, device_id, "device")
        if isinstance(device, Device) and device.school_id != school_id:
            raise ApiError(422, f"device {device_id!r} belongs to another school", code="unknown_reference")
    row = Camera(id=id, school_id=school_id, room_id=room_id, device_id=device_id, name=name or id)
    session.add(row)
    session.flush()
    return row


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    district_id: str | None = None,
    school_id: str | None = None,
) -> User:
    """Scope must match the role: regulators need a district, school staff and parents a school."""
    if role not in {r.value for r in Role}:
        raise ApiError(422, f"unknown role {role!r}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ApiError(409, f"user {username!r} already exists")
    if role == Role.REGULATOR and not district_id:
        raise ApiError(422, "a regulator needs district_id")
    if role in (Role.SCHOOL_HEAD, Role.CANTEEN_MANAGER, Role.PARENT) and not school_id:
        raise ApiError(422, f"a {role} needs school_id")
    if district_id:
        _require(session, District, district_id, "district")
    if school_id:
        school = _require(session, School, school_id, "school")
        if isinstance(school, School):
            district_id = district_id or school.district_id
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name or username,
        district_id=district_id,
        school_id=school_id,
    )
    session.add(user)
    session.flush()
    return user
