"""Running the app under uvicorn with limits on connections: a header timeout for clients that
dribble (or never send) their request head, uvicorn's keep-alive timeout for idle connections, and
glibc's malloc arenas capped where the server starts (threads would otherwise each grow their own).

uvicorn has a keep-alive timeout but none for a request head that never completes, so
``LimitedH11Protocol`` adds one to uvicorn's h11 protocol: a connection must deliver a complete
request head within ``POSTERGENRE_API_HEADER_TIMEOUT`` seconds (default 10) of connecting or of its
previous response, else it is closed. Request *bodies* are bounded by the request deadline.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from postergenre import settings
__all__ = ["LimitedH11Protocol", "limit_malloc_arenas", "DEFAULT_HEADER_TIMEOUT_S"]

DEFAULT_HEADER_TIMEOUT_S = 10.0
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt() parameter number for the arena limit


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout (pass as ``uvicorn.run(..., http=LimitedH11Protocol)``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = float(settings.env(settings.API_HEADER_TIMEOUT_ENV) or DEFAULT_HEADER_TIMEOUT_S)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request head is in: the deadline takes over
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.DONE):
            self._arm_header_timer()  # the next request's head must arrive in time too

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.DONE):
            self.logger.info("closing a connection that sent no complete request head in %g s", self.header_timeout)
            self.transport.close()


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """Cap glibc's malloc arenas: ``MALLOC_ARENA_MAX`` for worker processes started from here, and
    ``mallopt`` for this process (the variable is only read when a process starts). No-op elsewhere."""
    os.environ.setdefault("MALLOC_ARENA_MAX", str(arenas))
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(_M_ARENA_MAX, int(os.environ["MALLOC_ARENA_MAX"]))
    except (OSError, ValueError):  # not glibc (musl, macOS): nothing to limit
        pass
