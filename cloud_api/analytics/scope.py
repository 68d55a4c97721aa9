"""Who may see which schools: regulators their district, school staff their school, admins everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, true

from cloud_api.db.models import Case, School


class ScopeDenied(PermissionError):
    """The caller's role may not read analytics at all (HTTP 403)."""


class UserLike(Protocol):
    role: str
    district_id: str | None
    school_id: str | None


@dataclass(frozen=True)
class Scope:
    """``None`` means unrestricted on that level; both set means both must hold."""

    district_id: str | None = None
    school_id: str | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def for_user(cls, user: UserLike) -> Scope:
        role = str(user.role)
        if role == "admin":
            return cls()
        if role == "regulator":
            if not user.district_id:
                raise ScopeDenied("regulator has no district")
            return cls(district_id=user.district_id)
        if role in ("school_head", "canteen_manager"):
            if not user.school_id:
                raise ScopeDenied(f"{role} has no school")
            return cls(school_id=user.school_id)
        raise ScopeDenied(f"role {role!r} may not read analytics")

    def narrow(self, district_id: str | None = None, school_id: str | None = None) -> Scope:
        """Apply a caller's filter; a filter outside the scope is refused rather than silently widened."""
        if district_id and self.district_id and district_id != self.district_id:
            raise ScopeDenied(f"district {district_id!r} is outside your scope")
        if school_id and self.school_id and school_id != self.school_id:
            raise ScopeDenied(f"school {school_id!r} is outside your scope")
        return Scope(district_id=district_id or self.district_id, school_id=school_id or self.school_id)

    def school_filter(self) -> ColumnElement[bool]:
        """Condition on :class:`School` rows."""
        parts: list[ColumnElement[Any]] = []
        if self.district_id:
            parts.append(School.district_id == self.district_id)
        if self.school_id:
            parts.append(School.id == self.school_id)
        return and_(true(), *parts)

    def case_filter(self) -> ColumnElement[bool]:
        """Condition on :class:`Case` rows joined to their :class:`School`."""
        parts: list[ColumnElement[Any]] = []
        if self.district_id:
            parts.append(School.district_id == self.district_id)
        if self.school_id:
            parts.append(Case.school_id == self.school_id)
        return and_(true(), *parts)
