"""A fake TMDB API v3 + image server on 127.0.0.1 for tests: the documented JSON shapes, TMDB's error
bodies, scripted trouble (429 + Retry-After, 5xx, malformed JSON) and posters drawn with PIL.

    from fake_tmdb import fake, fake_server       # fixtures: one server per test module, reset per test

    with FakeTMDB() as tmdb:
        client = TMDBClient(api_token=tmdb.token, base_url=tmdb.base_url, allow_private_images=True)
        tmdb.script("/3/search/movie", 503)        # the next matching request answers 503
        tmdb.requests                              # every request: path, query, headers, time

Catalogue: 60 films (ids 1001..1060), deterministic genres/popularity/dates; every 7th has no poster.
"""
from __future__ import annotations

import io
import json
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image, ImageDraw

from fixtures import SHARED_POSTERS

from postergenre.genres import TMDB_GENRES

TOKEN = "eyJhbGciOiJIUzI1NiJ9.fake-read-access-token.sig"
API_KEY = "0123456789abcdef0123456789abcdef"
POSTER_SIZES = ["w92", "w154", "w185", "w342", "w500", "w780", "original"]
UNAUTHORISED = {"status_code": 7, "status_message": "Invalid API key: You must be granted a valid key.", "success": False}
NOT_FOUND = {"status_code": 34, "status_message": "The resource you requested could not be found.", "success": False}
RATE_LIMITED = {"status_code": 25, "status_message": "Your request count (#) is over the allowed limit of (40).",
                "success": False}
INTERNAL = {"status_code": 11, "status_message": "Internal error: Something went wrong, contact TMDB.", "success": False}


def catalogue(n: int = 60) -> list[dict]:
    """Films in TMDB's search/discover result shape."""
    genre_ids = [g.id for g in TMDB_GENRES]
    films = []
    for i in range(n):
        movie_id = 1001 + i
        year = 1975 + (i * 7) % 45
        films.append({
            "adult": False, "backdrop_path": None, "id": movie_id, "original_language": "en",
            "original_title": f"Film {movie_id}", "title": f"{'Alien' if i % 5 == 0 else 'Film'} {movie_id}",
            "overview": f"Overview of film {movie_id}.", "popularity": round(1000.0 / (1 + (i * 37) % n), 3),
            "poster_path": None if i % 7 == 3 else f"/poster{movie_id}.jpg",
            "release_date": "" if i == 11 else f"{year}-0{1 + i % 9}-1{i % 10}",
            "genre_ids": list(dict.fromkeys(genre_ids[(i * k * 7) % 19] for k in range(1, 2 + i % 3))),
            "video": False,
            "vote_average": round(5 + (i % 40) / 10, 1), "vote_count": 100 + i,
        })
    return films


def poster_jpeg(name: str, width: int) -> bytes:
    """A deterministic poster-shaped JPEG (2:3) for an image path and width: one of the shared dataset's
    real posters when it is there (the app's poster check would rightly call drawn circles "not a
    poster"), else a drawn stand-in."""
    rng = random.Random(name)
    height = width * 3 // 2
    real = sorted((SHARED_POSTERS / "images").glob("tt00*.jpg"))[:200] if (SHARED_POSTERS / "images").is_dir() else []
    if real:
        buf = io.BytesIO()
        Image.open(rng.choice(real)).convert("RGB").resize((width, height), Image.BICUBIC).save(buf, "JPEG", quality=90)
        return buf.getvalue()
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(5, max(6, width // 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@dataclass
class Scripted:
    prefix: str                 # answers requests whose path starts with this
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)
    times: int = 1
    skip: int = 0               # let this many matching requests through first


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up mid-request (the timeout tests) resets its connection: that is the
    scenario under test, not a server error worth a traceback in the test log."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class FakeTMDB:
    def __init__(self, films: list[dict] | None = None, per_page: int = 20):
        self.films = films if films is not None else catalogue()
        self.per_page = per_page  # TMDB's pages hold 20
        self.token, self.api_key = TOKEN, API_KEY
        self.requests: list[dict] = []
        self._scripts: list[Scripted] = []
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.base_url = self.origin + "/3"
        self.image_base = self.origin + "/t/p/"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeTMDB:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, prefix: str, status: int, body: dict | bytes | None = None, *, headers: dict | None = None,
               times: int = 1, skip: int = 0) -> None:
        """After ``skip`` requests under ``prefix``, the next ``times`` answer ``status`` with ``body``
        (TMDB's error body for the status when not given)."""
        if body is None:
            body = {401: UNAUTHORISED, 404: NOT_FOUND, 429: RATE_LIMITED}.get(status, INTERNAL)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self._lock:
            self._scripts.append(Scripted(prefix, status, raw, headers or {}, times, skip))

    def reset(self) -> FakeTMDB:
        """Forget recorded requests and pending scripts (between tests sharing one server)."""
        with self._lock:
            self.requests.clear()
            self._scripts.clear()
        return self

    def paths(self, prefix: str = "") -> list[str]:
        return [r["path"] for r in self.requests if r["path"].startswith(prefix)]

    def film(self, movie_id: int) -> dict | None:
        return next((f for f in self.films if f["id"] == movie_id), None)

    # --- answering ------------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes, dict]:
        with self._lock:
            self.requests.append({"path": path, "query": dict(query), "headers": dict(headers), "time": time.monotonic()})
            script = next((s for s in self._scripts if path.startswith(s.prefix)), None)
            if script and script.skip:
                script.skip -= 1
                script = None
            if script:
                script.times -= 1
                if script.times <= 0:
                    self._scripts.remove(script)
                return script.status, script.body, script.headers
        if path.startswith("/t/p/"):
            return self._image(path)
        if headers.get("authorization") != f"Bearer {TOKEN}" and query.get("api_key") != API_KEY:
            return _json(401, UNAUTHORISED)
        if path == "/3/configuration":
            return _json(200, {"images": {"base_url": self.image_base,
                                          "secure_base_url": self.image_base, "poster_sizes": POSTER_SIZES,
                                          "backdrop_sizes": ["w300", "w780", "w1280", "original"]},
                               "change_keys": ["adult", "genres", "images", "title"]})
        if path == "/3/genre/movie/list":
            return _json(200, {"genres": [{"id": g.id, "name": g.name} for g in TMDB_GENRES]})
        if path == "/3/search/movie":
            words = query.get("query", "").casefold()
            found = [f for f in self.films if words in f["title"].casefold()
                     and (not query.get("year") or f["release_date"].startswith(query["year"]))]
            return _json(200, _paged(found, query, self.per_page))
        if path == "/3/discover/movie":
            return _json(200, _paged(self._discover(query), query, self.per_page))
        if path in ("/3/trending/movie/day", "/3/trending/movie/week"):  # most popular first, as TMDB
            return _json(200, _paged(sorted(self.films, key=lambda f: (-f["popularity"], f["id"])), query, self.per_page))
        match = re.fullmatch(r"/3/movie/(\d+)", path)
        if match and self.film(int(match.group(1))):
            film = dict(self.film(int(match.group(1))))
            names = {g.id: g.name for g in TMDB_GENRES}
            film["genres"] = [{"id": i, "name": names[i]} for i in film.pop("genre_ids")]
            return _json(200, film | {"imdb_id": None, "runtime": 100, "status": "Released"})
        return _json(404, NOT_FOUND)

    def _discover(self, query: dict[str, str]) -> list[dict]:
        films = self.films
        if query.get("with_genres"):
            wanted = {int(g) for g in query["with_genres"].split(",")}
            films = [f for f in films if wanted <= set(f["genre_ids"])]
        if query.get("primary_release_date.gte"):
            films = [f for f in films if f["release_date"] and f["release_date"] >= query["primary_release_date.gte"]]
        if query.get("sort_by", "popularity.desc") == "popularity.desc":
            films = sorted(films, key=lambda f: (-f["popularity"], f["id"]))
        return films

    def _image(self, path: str) -> tuple[int, bytes, dict]:
        match = re.fullmatch(r"/t/p/(\w+)(/[\w.-]+)", path)
        if not match or match.group(1) not in POSTER_SIZES:
            return 404, b"<html>Not Found</html>", {"Content-Type": "text/html"}
        size, name = match.groups()
        if name.startswith("/broken"):  # an image server answering junk
            return 200, b"\x00garbage, not a JPEG" * 10, {"Content-Type": "image/jpeg"}
        width = 500 if size == "original" else int(size[1:])
        return 200, poster_jpeg(name, width), {"Content-Type": "image/jpeg"}


def _paged(films: list[dict], query: dict[str, str], per_page: int) -> dict:
    page = int(query.get("page", "1"))
    total_pages = max(1, -(-len(films) // per_page))
    return {"page": page, "results": films[(page - 1) * per_page: page * per_page],
            "total_pages": total_pages, "total_results": len(films)}


def _json(status: int, body: dict) -> tuple[int, bytes, dict]:
    return status, json.dumps(body).encode(), {"Content-Type": "application/json;charset=utf-8"}


def _handler(fake: FakeTMDB) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = fake.answer(parts.path, query, headers)
            self.send_response(status)
            extra = {"Content-Type": "application/json;charset=utf-8"} | extra
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet: request lines would carry the test api_key
            pass

    return Handler


@pytest.fixture(scope="module")
def fake_server(request):
    """One fake TMDB per test module; a module may set FAKE_TMDB_PER_PAGE (default 20, as TMDB)."""
    with FakeTMDB(per_page=getattr(request.module, "FAKE_TMDB_PER_PAGE", 20)) as server:
        yield server


@pytest.fixture
def fake(fake_server):
    return fake_server.reset()
