"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud_api.services.workflow import TransitionError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    503: "unavailable",
}
_TRANSITION_STATUS = {"illegal": 409, "forbidden": 403, "reason": 422}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """Every non-2xx response has this body."""

    error: ErrorBody


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, details: Any = None) -> None:
        self.status, self.message, self.code, self.details = (
            status,
            message,
            code or _CODES.get(status, "error"),
            details,
        )
        super().__init__(message)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def _body(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status, headers=headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _body(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(TransitionError)
    async def _transition(_: Request, exc: TransitionError) -> JSONResponse:
        status = _TRANSITION_STATUS[exc.kind]
        code = {"illegal": "illegal_transition", "forbidden": "forbidden", "reason": "reason_required"}[exc.kind]
        return _body(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "message": str(e.get("msg", "")), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        where = ".".join(details[0]["loc"]) if details else ""
        message = str(details[0]["message"]) if details else "invalid request"
        return _body(422, "validation_error", f"{where}: {message}" if where else message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = dict(exc.headers) if exc.headers else None
        return _body(exc.status_code, _CODES.get(exc.status_code, "error"), message, headers=headers)

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        return _body(409, "conflict", "the record was changed by someone else at the same time; reload and retry")

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return _body(409, "conflict", "the change conflicts with existing data (duplicate or still referenced)")

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return _body(503, "unavailable", "the database is unavailable; try again shortly", headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _body(500, "internal_error", "internal error; see the hub log")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": code} for status, code in _CODES.items() if status != 405
}
