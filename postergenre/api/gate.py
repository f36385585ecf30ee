"""The gate around model work: a request's deadline, and running its work on a bounded pool so that
a request that times out stops holding its slot (queued work is cancelled; running work stops at the
next stage, ``Deadline.check``; decoding itself is bounded up front by ``load_image``)."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from typing import Any, Callable

from postergenre.api.config import APIConfig
from postergenre.api.errors import RequestTimeout

__all__ = ["Deadline", "run_gated", "timeout_message"]


class Deadline:
    """A request's deadline, ``timeout_s`` from now (time.monotonic())."""

    def __init__(self, config: APIConfig):
        self.config, self.at = config, time.monotonic() + config.request_timeout_s

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def check(self) -> None:
        """Raise RequestTimeout when the deadline has passed (called between stages of the work)."""
        if time.monotonic() >= self.at:
            raise RequestTimeout(timeout_message(self.config))


async def run_gated(pool: Executor, fn: Callable[[], Any], deadline: Deadline) -> Any:
    """``fn()`` on ``pool``, answered with RequestTimeout at the deadline. Work still queued then is
    cancelled; work already running stops at its next ``deadline.check()`` and frees its thread."""

    def work() -> Any:
        deadline.check()  # it may have waited in the queue past its deadline
        return fn()

    future = pool.submit(work)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout=deadline.left())
    except (asyncio.TimeoutError, TimeoutError):
        future.cancel()
        raise RequestTimeout(timeout_message(deadline.config)) from None


def timeout_message(config: APIConfig) -> str:
    return (f"the request took longer than {config.request_timeout_s:g} s (the server is busy or the "
            "image is very large); try again shortly or send a smaller image")
