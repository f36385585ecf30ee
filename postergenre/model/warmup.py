"""Work done ahead of the first request: a timer thread at the lowest CPU priority."""
from __future__ import annotations

import logging
import os
import threading
from typing import Callable

__all__ = ["in_background"]

log = logging.getLogger(__name__)


def in_background(fn: Callable[[], object], delay: float = 2.0, low_priority: bool = True) -> threading.Timer:
    """Run ``fn`` in a daemon thread after ``delay`` seconds; with ``low_priority`` at the lowest CPU
    priority (Linux), so a prediction running meanwhile goes first. Not for imports: a request that
    needs the module waits for the import lock of a thread that the busy CPU then starves (measured:
    the first prediction in the app took several seconds longer). A failure is logged (a warning with
    the exception and its traceback, on the ``postergenre.model.warmup`` logger) and not raised: the
    request that needs the same work raises the same error to its user, with its message."""
    def run() -> None:
        if low_priority:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            except (AttributeError, OSError):
                pass
        try:
            fn()
        except Exception:  # noqa: BLE001  (a thread has no caller to raise to: say it in the log)
            log.warning("background warm-up %s failed; the first request that needs it will redo the work "
                        "and report the error", getattr(fn, "__qualname__", repr(fn)), exc_info=True)

    timer = threading.Timer(delay, run)
    timer.daemon = True
    timer.start()
    return timer
