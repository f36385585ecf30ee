"""Plumbing of the TMDB client: a client-side rate limiter, a response cache, and credential redaction."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["RateLimiter", "ResponseCache", "redact", "install_log_redaction"]

_API_KEY_IN_URL = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets, any ``api_key=...`` value and any Bearer token replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", _API_KEY_IN_URL.sub(r"\1***", text))


class _RedactingFilter(logging.Filter):
    """Rewrites a log record's message with ``redact`` (urllib3 logs every request line at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = _RedactingFilter()


# Every logger of the HTTP stack that can see a request URL. A logger's filters only apply to records
# it creates itself (not to its children's), so each one is named: the request line
# (connectionpool), "Retrying (...) after ...: /path?api_key=..." (connectionpool) and "Incremented
# Retry for (url='...')" (util.retry) when a caller's Session mounts urllib3 retries, redirects
# (poolmanager), and requests' own.
_HTTP_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager",
                 "urllib3.response", "urllib3.util.retry", "urllib3.util", "requests", "requests.adapters",
                 "requests.sessions")


def install_log_redaction() -> None:
    """Make every log record of urllib3 and requests (whose messages include query strings) print
    ``api_key=***``: the loggers named above and any other of theirs already created (idempotent)."""
    existing = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("urllib3", "requests")]
    for name in {*_HTTP_LOGGERS, *existing}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class RateLimiter:
    """At most ``max_requests`` calls of ``acquire`` in any ``per_seconds`` window (thread-safe).

    TMDB's documented ceiling is about 40-50 requests per second per key; bulk jobs should stay well
    below it, so the default here is the old, conservative 40 per 10 seconds.
    """

    def __init__(self, max_requests: int = 40, per_seconds: float = 10.0, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if max_requests < 1 or per_seconds <= 0:
            raise ValueError(f"a rate limit needs max_requests >= 1 and per_seconds > 0, not {max_requests}/{per_seconds}")
        self.max_requests, self.per_seconds = int(max_requests), float(per_seconds)
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting, for reports and tests

    def acquire(self) -> float:
        """Wait until one more request fits in the window, then count it; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.per_seconds:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    self.waited += waited
                    return waited
                pause = self.per_seconds - (now - self._sent[0])
                self._sleep(pause)
                waited += pause


class ResponseCache:
    """JSON answers keyed by path + parameters (credentials are never part of a key or a file):
    a small in-memory LRU, plus one file per answer under ``folder`` when given, fresh for ``ttl`` s."""

    def __init__(self, folder: str | Path | None = None, ttl: float = 24 * 3600, memory_items: int = 256):
        self.folder = Path(folder).expanduser() if folder else None
        self.ttl, self.memory_items = ttl, memory_items
        self._memory: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(path: str, params: dict[str, Any]) -> str:
        text = json.dumps([path, sorted((str(k), str(v)) for k, v in params.items())])
        return hashlib.sha1(text.encode()).hexdigest()

    def get(self, path: str, params: dict[str, Any]) -> dict | None:
        key = self.key(path, params)
        with self._lock:
            hit = self._memory.get(key)
            if hit and time.time() - hit[0] < self.ttl:
                self._memory.move_to_end(key)
                return json.loads(json.dumps(hit[1]))  # a copy: callers may change what they get
        file = self._file(key)
        if file is None or not file.is_file():
            return None
        try:
            saved = json.loads(file.read_text())
            if time.time() - float(saved["saved"]) >= self.ttl:
                return None
            data = saved["data"]
        except (OSError, ValueError, KeyError, TypeError):  # a torn or foreign file is just a miss
            return None
        self._remember(key, data, float(saved["saved"]))
        return data

    def put(self, path: str, params: dict[str, Any], data: dict) -> None:
        key, now = self.key(path, params), time.time()
        self._remember(key, json.loads(json.dumps(data)), now)
        file = self._file(key)
        if file is None:
            return
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"saved": now, "path": path, "data": data}))
            tmp.replace(file)
        except OSError:  # a read-only or full disk only costs the cache
            pass

    def _remember(self, key: str, data: dict, saved: float) -> None:
        with self._lock:
            self._memory[key] = (saved, data)
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)

    def _file(self, key: str) -> Path | None:
        return self.folder / key[:2] / f"{key}.json" if self.folder else None
