"""ASGI middleware: the request-body size limit (pure ASGI, so it also sees streamed bodies)."""
from __future__ import annotations

from typing import Callable

from postergenre.api.config import MiB
from postergenre.api.errors import PayloadTooLarge, error_response

__all__ = ["BodySizeLimit"]


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
