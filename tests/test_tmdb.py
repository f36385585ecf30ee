"""The TMDB client against the fake TMDB server on 127.0.0.1 (nothing here contacts the real TMDB)."""
from __future__ import annotations

import logging
import socket
import time

import pytest

from fake_tmdb import API_KEY, INTERNAL, TOKEN, FakeTMDB, fake, fake_server  # noqa: F401 (fixtures)
from postergenre.errors import TMDBAuthError, TMDBError, TMDBNotFoundError, TMDBRateLimitError
from postergenre.genres import compare_genres
from postergenre.sources.images import load_image
from postergenre.sources.tmdb import RateLimiter, TMDBClient


def client_for(fake: FakeTMDB, **kw) -> TMDBClient:
    kw.setdefault("api_token", TOKEN)
    sleeps = []
    kw.setdefault("sleep", sleeps.append)  # backoff waits are recorded, not slept
    client = TMDBClient(base_url=fake.base_url, allow_private_images=True, backoff=0.01, **kw)
    client.sleeps = sleeps
    return client


def test_search_reads_the_documented_shape_with_a_bearer_token(fake):
    page = client_for(fake).search_movies("alien")
    assert page.page == 1 and page.total_results == len(page.results) == 12 and page.total_pages == 1
    first = page.results[0]
    film = fake.film(first.id)
    assert first.title == film["title"] and first.year == int(film["release_date"][:4])
    assert first.genre_ids == tuple(film["genre_ids"]) and len(first.genres) == len(first.genre_ids)
    no_poster = [m for m in page.results if not m.has_poster]
    assert no_poster and all(m.poster_path is None for m in no_poster)       # kept and flagged
    assert len(page.with_posters) == len(page.results) - len(no_poster)
    request = fake.requests[-1]
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert "api_key" not in request["query"]
    assert request["query"] | {} == {"query": "alien", "page": "1", "include_adult": "false", "language": "en-US"}


def test_search_year_filter_and_empty_query(fake):
    client = client_for(fake)
    year = fake.film(1001)["release_date"][:4]
    page = client.search_movies("Alien", year=int(year))
    assert fake.requests[-1]["query"]["year"] == year
    assert page.results and all(m.year == int(year) for m in page.results)
    with pytest.raises(TMDBError, match="empty"):
        client.search_movies("   ")


def test_v3_key_goes_in_the_query_and_never_into_reprs_messages_or_logs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(fake, api_token=None, api_key=API_KEY)
    client.search_movies("film")
    assert fake.requests[-1]["query"]["api_key"] == API_KEY
    assert "authorization" not in fake.requests[-1]["headers"]
    fake.script("/3/movie", 500, times=10)
    with pytest.raises(TMDBError) as err:
        client.movie(1001)
    dead = TMDBClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{_free_port()}/3", max_retries=0)
    with pytest.raises(TMDBError) as unreachable:
        dead.genres()
    for text in (repr(client), str(err.value), str(unreachable.value), caplog.text):
        assert API_KEY not in text
    assert "api_key=***" in caplog.text   # urllib3 logged the request line, redacted
    assert err.value.__cause__ is None and unreachable.value.__cause__ is None


def test_a_v3_key_given_as_the_token_is_used_as_a_key(fake):
    client = client_for(fake, api_token=API_KEY)
    assert client.api_key == API_KEY and client.api_token is None
    client.genres()
    assert fake.requests[-1]["query"]["api_key"] == API_KEY


def test_missing_credentials_say_how_to_add_them():
    with pytest.raises(TMDBAuthError) as err:
        TMDBClient.from_env(env={}, secrets={})
    text = str(err.value)
    assert "TMDB_API_TOKEN" in text and ".streamlit/secrets.toml" in text and "themoviedb.org" in text


def test_from_env_reads_env_then_secrets_and_the_base_url(fake):
    client = TMDBClient.from_env(env={"TMDB_API_BASE_URL": fake.base_url}, secrets={"TMDB_API_TOKEN": TOKEN})
    assert client.api_token == TOKEN and client.base_url == fake.base_url and client.allow_private_images
    assert client.genres()[878] == "Science Fiction"
    from_env = TMDBClient.from_env(env={"TMDB_API_KEY": API_KEY}, secrets={"TMDB_API_TOKEN": "unused"})
    assert from_env.api_key == API_KEY and from_env.base_url == "https://api.themoviedb.org/3"


def test_401_says_the_credentials_were_rejected(fake):
    with pytest.raises(TMDBAuthError) as err:
        client_for(fake, api_token="wrong-token").search_movies("alien")
    assert "Invalid API key" in str(err.value) and "TMDB_API_TOKEN" in str(err.value)
    assert "wrong-token" not in str(err.value)
    assert len(fake.paths("/3/search")) == 1   # a rejected key is not retried


def test_404_is_not_found(fake):
    with pytest.raises(TMDBNotFoundError, match="could not be found"):
        client_for(fake).movie(99)


def test_movie_details_map_genre_objects(fake):
    movie = client_for(fake).movie(1002)
    assert movie.genre_ids == tuple(fake.film(1002)["genre_ids"]) and movie.genres


def test_429_waits_retry_after_then_succeeds(fake):
    fake.script("/3/search/movie", 429, headers={"Retry-After": "1"})
    client = client_for(fake, sleep=time.sleep)
    page = client.search_movies("alien")
    assert page.results and client.stats["retries"] == 1
    first, second = [r["time"] for r in fake.requests if r["path"] == "/3/search/movie"]
    assert second - first >= 0.95


def test_retry_after_is_capped_and_persistent_429_raises(fake):
    fake.script("/3/genre", 429, headers={"Retry-After": "3600"}, times=3)
    client = client_for(fake, max_retries=2, max_retry_after=2.0)
    with pytest.raises(TMDBRateLimitError, match="429"):
        client.genres()
    assert client.sleeps == [2.0, 2.0] and len(fake.paths("/3/genre")) == 3


def test_5xx_backs_off_exponentially_then_succeeds(fake):
    fake.script("/3/genre", 503, INTERNAL, times=2)
    client = client_for(fake)
    assert client.genres()[28] == "Action"
    assert client.sleeps == [0.01, 0.02] and len(fake.paths("/3/genre")) == 3


def test_persistent_5xx_gives_up_with_advice(fake):
    fake.script("/3/genre", 500, times=5)
    with pytest.raises(TMDBError, match=r"500.*after 5 attempts"):
        client_for(fake).genres()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_malformed_json_is_a_tmdb_error_not_a_crash(fake, body):
    fake.script("/3/search/movie", 200, body)
    with pytest.raises(TMDBError, match="malformed"):
        client_for(fake).search_movies("alien")
    assert len(fake.paths("/3/search")) == 1


def test_results_of_the_wrong_shape_are_a_tmdb_error(fake):
    fake.script("/3/discover", 200, {"page": 1, "results": [{"title": "no id"}]})
    with pytest.raises(TMDBError, match="could not be read"):
        client_for(fake).discover(with_genres=28)


def test_timeouts_retry_then_fail_clearly():
    with socket.socket() as silent:   # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        client = TMDBClient(api_token=TOKEN, base_url=f"http://127.0.0.1:{silent.getsockname()[1]}/3",
                            timeout=0.2, max_retries=1, sleep=lambda s: None)
        start = time.monotonic()
        with pytest.raises(TMDBError, match="did not answer"):
            client.genres()
        assert client.stats["requests"] == 2 and time.monotonic() - start < 3


def test_configuration_is_asked_once_and_sizes_are_checked(fake):
    client = client_for(fake)
    assert client.poster_url("/abc.jpg", "w185") == fake.image_base + "w185/abc.jpg"
    assert client.poster_url("/abc.jpg") == fake.image_base + "w500/abc.jpg"
    assert client.configuration().poster_sizes[-1] == "original"
    assert fake.paths("/3/configuration") == ["/3/configuration"]
    with pytest.raises(TMDBError, match="w92, w154"):
        client.poster_url("/abc.jpg", "w999")
    for bad in (None, "", "abc.jpg", "/../etc/passwd", "/a b.jpg", "https://evil/x.jpg"):
        with pytest.raises(TMDBError, match="poster path"):
            client.poster_url(bad)


def test_download_poster_returns_a_checked_image(fake):
    client = client_for(fake)
    image = load_image(client.download_poster("/poster1001.jpg", "w185"))
    assert image.width == 185
    assert "authorization" not in fake.requests[-1]["headers"]   # the token is not sent to the image host
    with pytest.raises(TMDBError, match="not a usable image"):
        client.download_poster("/broken.jpg", "w185")
    from postergenre.errors import PosterGenreError
    with pytest.raises(PosterGenreError, match="larger than"):
        client.download_poster("/poster1001.jpg", "w500", max_bytes=1000)


def test_discover_by_genre_name_sorted_by_popularity(fake):
    page = client_for(fake).discover(with_genres=["Drama"], primary_release_date_gte="1990-01-01")
    query = fake.requests[-1]["query"]
    assert query["with_genres"] == "18" and query["sort_by"] == "popularity.desc"
    assert query["primary_release_date.gte"] == "1990-01-01" and query["include_adult"] == "false"
    assert page.results and all(18 in m.genre_ids and m.release_date >= "1990" for m in page.results)
    pops = [m.popularity for m in page.results]
    assert pops == sorted(pops, reverse=True)
    with pytest.raises(TMDBError, match="1 to 500"):
        client_for(fake).discover(page=501)


def test_answers_are_cached_in_memory_and_on_disk(fake, tmp_path):
    client = client_for(fake, cache=tmp_path)
    client.search_movies("alien")
    client.search_movies("alien")
    assert len(fake.paths("/3/search")) == 1 and client.stats["cache_hits"] == 1
    fresh = client_for(fake, cache=tmp_path, api_token=None, api_key=API_KEY)
    assert fresh.search_movies("alien").total_results == 12
    assert len(fake.paths("/3/search")) == 1
    stored = "".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert stored and API_KEY not in stored and TOKEN not in stored


def test_rate_limiter_keeps_a_sliding_window():
    now = [0.0]
    limiter = RateLimiter(3, 1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    waits = [limiter.acquire() for _ in range(7)]
    assert waits[:3] == [0, 0, 0] and waits[3] == pytest.approx(1.0) and now[0] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        RateLimiter(0, 1.0)


def test_client_side_rate_limit_spaces_real_requests(fake):
    client = client_for(fake, rate_limiter=RateLimiter(2, 0.5))
    for query in ("a", "b", "c"):
        client.search_movies(query)
    times = [r["time"] for r in fake.requests]
    assert times[2] - times[0] >= 0.45 and client.rate_limiter.waited > 0.3


def test_compare_genres_hits_misses_extras_untrained():
    result = compare_genres(["Horror", "Thriller", "Sci-Fi"], ["Horror", "Science Fiction", "Mystery", "History"],
                            ["Horror", "Thriller", "Science Fiction", "Mystery"])
    assert result == {"hits": ["Horror", "Science Fiction"], "misses": ["Mystery"], "extras": ["Thriller"],
                      "untrained": ["History"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_key_never_reaches_urllib3s_retry_logs_with_a_callers_session(fake, caplog):
    """A caller-supplied Session with urllib3 retries: the retry logger prints the URL too."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    caplog.set_level(logging.DEBUG)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=2, backoff_factor=0, status_forcelist=[500])))
    client = client_for(fake, api_token=None, api_key=API_KEY, session=session)
    fake.script("/3/movie", 500, times=2)
    assert client.movie(1001).id == 1001  # urllib3 retried twice, then got the film
    retry_lines = [r for r in caplog.records if r.name.startswith("urllib3") and "etr" in r.getMessage()]
    assert retry_lines, "urllib3 logged no retry: the test does not exercise the retry logger"
    assert API_KEY not in caplog.text and "api_key=***" in caplog.text
