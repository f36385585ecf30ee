"""The API's error types and their JSON form: every error, ours or the framework's, is answered as
``{"error": {"code", "message"}}`` with the status of the error table in docs/api.md."""
from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from postergenre.errors import FetchError, ImageLoadError, PosterGenreError, UnknownGenreError, WeightsError

__all__ = ["InvalidRequest", "PayloadTooLarge", "RequestTimeout", "ErrorBody", "error_response",
           "install_error_handlers"]


class PayloadTooLarge(PosterGenreError):
    """The request body is over ``APIConfig.max_upload_bytes``."""


class InvalidRequest(PosterGenreError):
    """The request is not shaped as documented (no ``file`` field, JSON without ``url``...)."""


class RequestTimeout(PosterGenreError):
    """The request did not finish within ``APIConfig.request_timeout_s``."""


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


# (exception type, HTTP status, error code), most specific first
_ERROR_MAP: tuple[tuple[type[Exception], int, str], ...] = (
    (PayloadTooLarge, 413, "payload_too_large"),
    (RequestTimeout, 504, "timeout"),
    (InvalidRequest, 422, "invalid_request"),
    (FetchError, 400, "fetch_failed"),
    (UnknownGenreError, 422, "unknown_genre"),
    (ImageLoadError, 422, "invalid_image"),
    (WeightsError, 503, "model_unavailable"),
    (PosterGenreError, 400, "bad_request"),
)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ImageLoadError) and _is_unsupported_format(exc):
        return error_response(415, "unsupported_media_type", str(exc))
    status, code = next((s, c) for t, s, c in _ERROR_MAP if isinstance(exc, t))
    return error_response(status, code, str(exc))


def _is_unsupported_format(exc: ImageLoadError) -> bool:
    """True when the bytes are not an image in a supported format at all (PDF, HTML, HEIC...), as
    opposed to a supported image that is damaged or too big (422)."""
    from PIL import UnidentifiedImageError

    return isinstance(exc.__cause__, UnidentifiedImageError)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}
    message = str(exc.detail)
    if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
        message = (f"{message.lower()}: {request.method} {request.url.path}; the endpoints and their methods "
                   "are listed at /docs")
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), message)


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
    return error_response(422, "invalid_request", "; ".join(parts) or "the request is not valid")


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "the server failed on this request; try again, and report it "
                                                 "if it keeps happening")


def install_error_handlers(app: Any) -> None:
    """Every error, ours or the framework's, answered as ``{"error": {"code", "message"}}``."""
    app.add_exception_handler(PosterGenreError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
