"""Plumbing of the TMDB client: the transport (one GET with retries and TMDB's error bodies), a
client-side rate limiter, a response cache, and credential redaction."""
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
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from postergenre.errors import TMDBAuthError, TMDBError, TMDBNotFoundError, TMDBRateLimitError
from postergenre.settings import KEY_ENV, TOKEN_ENV

__all__ = ["Transport", "RateLimiter", "ResponseCache", "redact", "install_log_redaction"]

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


class Transport:
    """One authenticated GET to TMDB as JSON: the token in the Authorization header or the v3 key in
    the query, the rate limiter, retries (429 waits ``Retry-After`` up to ``max_retry_after``; 5xx,
    timeouts and dropped connections back off exponentially) and TMDB's error bodies turned into
    TMDBAuthError / TMDBNotFoundError / TMDBRateLimitError / TMDBError, every message redacted."""

    def __init__(self, session: requests.Session, base_url: str, token: str | None, key: str | None, *,
                 timeout: float, max_retries: int, backoff: float, max_retry_after: float,
                 rate_limiter: RateLimiter | None = None, sleep: Callable[[float], None] = time.sleep):
        self.session, self.base_url, self.timeout = session, base_url, timeout
        self.max_retries, self.backoff, self.max_retry_after = max_retries, backoff, max_retry_after
        self.rate_limiter, self.sleep = rate_limiter, sleep
        self._token, self._key = token, key
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0}

    def get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        headers = {"Accept": "application/json", "User-Agent": "postergenre/0.1"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        query = params | ({"api_key": self._key} if self._key else {})
        problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats["retries"] += 1
                self.sleep(wait)
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            self.stats["requests"] += 1
            wait = self.backoff * 2**attempt
            try:
                response = self.session.get(self.base_url + path, params=query, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                problem = f"TMDB did not answer {path} within {self.timeout:g} s"
                continue
            except requests.RequestException as e:
                problem = f"could not reach TMDB at {self._host()} ({type(e).__name__})"
                continue
            if response.status_code == 429:
                wait = min(_retry_after(response) or wait, self.max_retry_after)
                problem = "TMDB kept answering 429 Too Many Requests"
                continue
            if response.status_code in _RETRY_STATUSES:
                problem = f"TMDB answered {response.status_code} for {path} ({self._message(response)})"
                continue
            return self._decode(response, path)
        advice = f"after {self.max_retries + 1} attempts; check your connection or try again in a few minutes."
        error = TMDBRateLimitError if "429" in problem else TMDBError
        raise error(redact(f"{problem[0].upper()}{problem[1:]} {advice}", self._secrets()))

    def _decode(self, response: requests.Response, path: str) -> dict[str, Any]:
        code = response.status_code
        if code == 401:
            raise TMDBAuthError(self._scrub(
                f"TMDB rejected the credentials ({self._message(response)}). Check that {TOKEN_ENV} holds your "
                f"'API Read Access Token' (or {KEY_ENV} your v3 'API Key') from https://www.themoviedb.org/"
                "settings/api, in the environment or in .streamlit/secrets.toml."))
        if code == 404:
            raise TMDBNotFoundError(self._scrub(f"TMDB has nothing at {path} ({self._message(response)}); "
                                                "check the film id or search by title instead."))
        if not 200 <= code < 300:
            raise TMDBError(self._scrub(f"TMDB refused the request for {path}: {code} {self._message(response)}."))
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TMDBError(f"TMDB sent a malformed answer for {path} (not a JSON object); try again later.")
        return data

    def _message(self, response: requests.Response) -> str:
        """TMDB's ``status_message`` from an error body, else the HTTP reason."""
        try:
            body = response.json()
            message = body.get("status_message") if isinstance(body, dict) else None
        except ValueError:
            message = None
        return self._scrub(str(message or response.reason or "no details"))[:300]

    def _secrets(self) -> list[str]:
        return [s for s in (self._token, self._key) if s]

    def _scrub(self, text: str) -> str:
        return redact(text, self._secrets())

    def _host(self) -> str:
        return self.base_url.split("//", 1)[-1].split("/", 1)[0]


_RETRY_STATUSES = (500, 502, 503, 504)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date), None if absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None
