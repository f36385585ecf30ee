"""Work done ahead of the first request: a timer thread at the lowest CPU priority."""
from __future__ import annotations

import os
import threading
from typing import Callable

__all__ = ["in_background"]


def in_background(fn: Callable[[], object], delay: float = 2.0) -> threading.Timer:
    """Run ``fn`` in a daemon thread after ``delay`` seconds, at the lowest CPU priority (Linux), so a
    prediction running meanwhile goes first. Errors are left for the real request to report."""
    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        try:
            fn()
        except Exception:  # noqa: BLE001  (the request that needs it raises the same error, with its message)
            pass

    timer = threading.Timer(delay, run)
    timer.daemon = True
    timer.start()
    return timer
