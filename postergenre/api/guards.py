"""The API's guard rails: settings, error types and their JSON form, the body-size limit, and the
shared model with the gate that bounds concurrent model work (one model per process)."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import anyio
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import FetchError, ImageLoadError, PosterGenreError, UnknownGenreError, WeightsError

__all__ = ["APIConfig", "InvalidRequest", "PayloadTooLarge", "RequestTimeout", "ErrorBody", "BodySizeLimit",
           "ModelState", "get_state", "get_predictor", "run_gated", "timeout_message", "error_response",
           "install_error_handlers"]

MiB = 2**20

@dataclass(frozen=True)
class APIConfig:
    max_upload_bytes: int = 15 * MiB    # largest request body (upload or JSON); bigger -> 413
    request_timeout_s: float = 30.0     # deadline for reading the input + the model work; over -> 504
    fetch_timeout_s: float = 10.0       # deadline for fetching a {"url": ...} image
    max_concurrency: int = 2            # model calls running at once (they share the CPU); others queue
    allow_private_urls: bool = False    # fetch from private/loopback addresses (tests, intranets only)

    @classmethod
    def from_env(cls) -> "APIConfig":
        """Defaults overridden by POSTERGENRE_API_MAX_UPLOAD_MB / _TIMEOUT / _CONCURRENCY (used by
        ``postergenre serve`` so that every uvicorn worker gets the same settings)."""
        env = os.environ.get
        return cls(
            max_upload_bytes=int(float(env("POSTERGENRE_API_MAX_UPLOAD_MB", cls.max_upload_bytes / MiB)) * MiB),
            request_timeout_s=float(env("POSTERGENRE_API_TIMEOUT", cls.request_timeout_s)),
            max_concurrency=int(env("POSTERGENRE_API_CONCURRENCY", cls.max_concurrency)),
        )


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


# --- errors -> JSON -------------------------------------------------------------------------------

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


# --- request size limit (pure ASGI, so it also sees streamed bodies) ------------------------------

class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: at once from Content-Length, else while they stream in."""

    def __init__(self, app: Callable, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def _message(self) -> str:
        return (f"the request body is over the {self.max_bytes / MiB:g} MiB limit; send a smaller poster "
                "(e.g. JPEG, 2000 px on the long side)")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            response = error_response(413, "payload_too_large", self._message()) if length.isdigit() else \
                error_response(400, "bad_request", "the Content-Length header is not a number")
            return await response(scope, receive, send)
        received = 0

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise PayloadTooLarge(self._message())
            return message

        await self.app(scope, limited_receive, send)


# --- the shared model and the gate around it -------------------------------------------------------

class ModelState:
    """The process's one Predictor (loaded once, on demand or in the lifespan) and the locks around it."""

    def __init__(self, weights: str | Path | None, config: APIConfig):
        self.weights, self.config = weights, config
        self._predictor: Any = None
        self._load_lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(config.max_concurrency)  # predict / analyze
        self.gradcam_lock = threading.Lock()  # Grad-CAM hooks the one shared PyTorch model
        self.atlas: Any = None

    def predictor(self) -> Any:
        if self._predictor is None:
            with self._load_lock:
                if self._predictor is None:
                    import postergenre

                    self._predictor = postergenre.load(self.weights)  # WeightsError -> 503
        return self._predictor

    def load_atlas(self) -> Any:
        """The Genre Atlas next to the weights, or None when it was not built."""
        from ..atlas import load_atlas

        try:
            return load_atlas(Path(self.weights) / "atlas.json" if self.weights else None)
        except WeightsError:
            return None


def get_state(request: Request) -> ModelState:
    return request.app.state.model


def get_predictor(state: ModelState = Depends(get_state)) -> Any:
    """The shared Predictor (override in tests: ``app.dependency_overrides[get_predictor] = ...``)."""
    return state.predictor()


async def run_gated(state: ModelState, lock: Any, fn: Callable, *args: Any, deadline: float) -> Any:
    """Run ``fn(*args)`` in a worker thread holding ``lock`` (a semaphore slot or the Grad-CAM lock),
    giving up with RequestTimeout at ``deadline`` (time.monotonic()). A thread that overruns finishes
    in the background still holding its slot, so the bound on concurrent model work always holds."""

    def work() -> Any:
        if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise RequestTimeout(timeout_message(state))
        try:
            return fn(*args)
        finally:
            lock.release()

    try:
        with anyio.fail_after(max(0.0, deadline - time.monotonic())):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except TimeoutError:
        raise RequestTimeout(timeout_message(state)) from None


def timeout_message(state: ModelState) -> str:
    return (f"the request took longer than {state.config.request_timeout_s:g} s (the server is busy or the "
            "image is very large); try again shortly or send a smaller image")
