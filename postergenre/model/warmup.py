"""Work done ahead of the first request: a timer thread at the lowest CPU priority."""
from __future__ import annotations

import os
import threading
from typing import Callable

__all__ = ["in_background"]


def in_background(fn: Callable[[], object], delay: float = 2.0, low_priority: bool = True) -> threading.Timer:
    """Run ``fn`` in a daemon thread after ``delay`` seconds; with ``low_priority`` at the lowest CPU
    priority (Linux), so a prediction running meanwhile goes first. Not for imports: a request that
    needs the module waits for the import lock of a thread that the busy CPU then starves (measured:
    the first prediction in the app took several seconds longer). Errors are left for the real request
    to report."""
    def run() -> None:
        if low_priority:
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
