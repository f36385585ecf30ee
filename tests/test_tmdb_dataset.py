"""``postergenre dataset tmdb`` against the fake TMDB server: balanced, deduplicated, resumable."""
from __future__ import annotations

import collections

import pytest

from fake_tmdb import TOKEN, fake, fake_server  # noqa: F401 (fixtures)
from postergenre.errors import DatasetError, TMDBError
from postergenre.sources.dataset import load_dataset
from postergenre.sources.tmdb import TMDBClient
from postergenre.sources.tmdb_dataset import STATE_FILE, TMDBDatasetConfig, build_tmdb_dataset, split_for
from postergenre.sources.tmdb_http import RateLimiter

GENRES = ("Action", "Drama", "Comedy", "Horror")
PER_GENRE = 3
FAKE_TMDB_PER_PAGE = 2   # small pages, so genres need several discover pages


def build(fake, out, retries=4, **kw):
    client = TMDBClient(api_token=TOKEN, base_url=fake.base_url, allow_private_images=True, backoff=0.01,
                        max_retries=retries)
    cfg = TMDBDatasetConfig(per_genre=PER_GENRE, genres=GENRES, size="w92")
    return build_tmdb_dataset(out, cfg, client, progress=False, **kw)


def expected_films(fake) -> dict[str, list[int]]:
    """Each genre's PER_GENRE most popular films with posters, straight from the fake catalogue."""
    names = {g: next(i for i, n in fake_genres().items() if n == g) for g in GENRES}
    out = {}
    for genre, gid in names.items():
        films = sorted((f for f in fake.films if gid in f["genre_ids"] and f["poster_path"]),
                       key=lambda f: (-f["popularity"], f["id"]))
        out[genre] = [f["id"] for f in films[:PER_GENRE]]
    return out


def fake_genres() -> dict[int, str]:
    from postergenre.genres import TMDB_GENRES
    return {g.id: g.name for g in TMDB_GENRES}


def test_build_is_balanced_deduplicated_and_loadable(fake, tmp_path):
    report = build(fake, tmp_path)
    want = expected_films(fake)
    ids = sorted({i for films in want.values() for i in films})
    ds = load_dataset(tmp_path)           # the same format `postergenre train/evaluate --data` read
    table = ds.table
    assert list(table.columns[:7]) == ["file", "genres", "split", "tmdb_id", "title", "year", "popularity"]
    assert sorted(table["tmdb_id"].astype(int)) == ids and report.films == len(ids)
    assert report.downloaded == len(ids) and report.per_genre == {g: PER_GENRE for g in GENRES}
    for _, row in table.iterrows():
        film = fake.film(int(row["tmdb_id"]))
        assert row["genres"].split("|") == [fake_genres()[i] for i in film["genre_ids"]]   # all its genres
        assert row["split"] == split_for(film["id"]) and row["title"] == film["title"]
        assert row["file"] == f"images/{film['id']}.jpg"
    counts = collections.Counter(g for names in table["genre_list"] for g in names)
    assert all(counts[g] >= PER_GENRE for g in GENRES)
    assert not (tmp_path / ".labels.csv.tmp").exists()


def test_split_is_a_stable_80_10_10_hash():
    splits = collections.Counter(split_for(i) for i in range(20000))
    assert splits["train"] / 20000 == pytest.approx(0.8, abs=0.02)
    assert splits["val"] / 20000 == pytest.approx(0.1, abs=0.01)
    assert [split_for(7), split_for(7)] == [split_for(7)] * 2


def test_interrupted_build_resumes_to_the_same_result(fake, tmp_path):
    build(fake, tmp_path / "whole")
    assert len(fake.paths("/3/discover")) > len(GENRES)   # paging happened

    def interrupt(done, total):
        if done == 4:
            raise KeyboardInterrupt

    fake.requests.clear()
    with pytest.raises(KeyboardInterrupt):
        build(fake, tmp_path / "resumed", on_poster=interrupt)
    assert not (tmp_path / "resumed" / "labels.csv").exists()
    assert len(list((tmp_path / "resumed" / "images").iterdir())) == 4
    fake.requests.clear()
    report = build(fake, tmp_path / "resumed")
    assert report.reused == 4 and report.downloaded == report.films - 4
    assert not fake.paths("/3/discover")            # every genre's films were in the state file
    fetched = fake.paths("/t/p/")
    assert len(fetched) == len(set(fetched)) == report.films - 4   # no poster fetched twice
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert (whole / "labels.csv").read_text() == (resumed / "labels.csv").read_text()
    for image in (whole / "images").iterdir():
        assert (resumed / "images" / image.name).read_bytes() == image.read_bytes()


def test_build_interrupted_while_collecting_resumes_from_the_next_page(fake, tmp_path):
    build(fake, tmp_path / "whole")
    pages = fake.paths("/3/discover")
    fake.requests.clear()
    fake.script("/3/discover", 500, skip=3)
    with pytest.raises(TMDBError, match="500"):
        build(fake, tmp_path / "resumed", retries=0)
    fake.requests.clear()
    build(fake, tmp_path / "resumed")
    assert len(fake.paths("/3/discover")) == len(pages) - 3     # the 3 saved pages were not asked again
    assert (tmp_path / "whole" / "labels.csv").read_text() == (tmp_path / "resumed" / "labels.csv").read_text()


def test_failed_posters_are_skipped_then_retried(fake, tmp_path):
    fake.script("/t/p/", 404, b"<html>gone</html>", headers={"Content-Type": "text/html"})
    first = build(fake, tmp_path)
    assert len(first.failed) == 1 and first.films == first.downloaded
    missing = next(iter(first.failed))
    assert str(missing) not in (tmp_path / "labels.csv").read_text()
    second = build(fake, tmp_path)
    assert not second.failed and second.downloaded == 1 and second.films == first.films + 1


def test_resume_with_other_fixed_options_is_refused(fake, tmp_path):
    build(fake, tmp_path)
    client = TMDBClient(api_token=TOKEN, base_url=fake.base_url, allow_private_images=True)
    with pytest.raises(DatasetError, match="same --since/--size"):
        build_tmdb_dataset(tmp_path, TMDBDatasetConfig(per_genre=2, genres=GENRES, size="w185"), client,
                           progress=False)
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(DatasetError, match="delete it"):
        build(fake, tmp_path)


def test_since_and_rate_limit(fake, tmp_path):
    client = TMDBClient(api_token=TOKEN, base_url=fake.base_url, allow_private_images=True,
                        rate_limiter=RateLimiter(3, 0.2))
    cfg = TMDBDatasetConfig(per_genre=2, genres=GENRES, size="w92", since=2000)
    report = build_tmdb_dataset(tmp_path, cfg, client, progress=False)
    table = load_dataset(tmp_path).table
    assert report.films and all(int(y) >= 2000 for y in table["year"])
    assert all(r["query"]["primary_release_date.gte"] == "2000-01-01" for r in fake.requests
               if r["path"] == "/3/discover/movie")
    assert client.rate_limiter.waited > 0        # 1 config + 4 discover requests over a 3-per-0.2 s limit


def test_cli_builds_a_dataset_with_env_credentials(fake, tmp_path, monkeypatch, capsys):
    from postergenre.cli import main

    monkeypatch.setenv("TMDB_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("TMDB_API_TOKEN", TOKEN)
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    out = tmp_path / "data"
    code = main(["dataset", "tmdb", "--out", str(out), "--per-genre", "2", "--genres", "Horror,Sci-Fi",
                 "--size", "w92", "--cache-dir", str(tmp_path / "cache")])
    printed = capsys.readouterr().out
    assert code == 0 and "labels.csv" in printed and "postergenre train --data" in printed
    assert set(load_dataset(out).genres) >= {"Horror", "Science Fiction"}
    assert main(["dataset", "tmdb", "--out", str(out), "--size", "w1"]) == 2
    assert "w92, w154" in capsys.readouterr().err
    monkeypatch.setenv("TMDB_API_TOKEN", "wrong")
    assert main(["dataset", "tmdb", "--out", str(tmp_path / "x"), "--cache-dir", str(tmp_path / "c2")]) == 2
    assert "TMDB_API_TOKEN" in capsys.readouterr().err
