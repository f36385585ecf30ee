"""First-visit examples on the Predict page: this week's trending films with a TMDB key (against the
fake TMDB server), drawn posters of made-up films without one or when TMDB fails."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fake_tmdb import TOKEN, fake, fake_server  # noqa: F401 (fixtures)
from fixtures import ROOT
from postergenre.errors import TMDBError
from postergenre.sources.tmdb import TMDBClient


def examples_script():
    import streamlit as st

    from app_components.examples import example_posters

    picked = example_posters()
    if picked:
        st.markdown(f"picked {picked.name} · {len(picked.data)} bytes")


@pytest.fixture(autouse=True)
def fresh_caches():
    import streamlit as st

    st.cache_data.clear()  # TMDB answers are cached per credentials: each test sees its own server's
    yield


@pytest.fixture
def no_tmdb(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    for name in ("TMDB_API_TOKEN", "TMDB_API_KEY", "TMDB_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def with_tmdb(fake, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("TMDB_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("TMDB_API_TOKEN", TOKEN)
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    return fake


def example_buttons(at: AppTest):
    return [b for b in at.button if b.key.startswith("example_")]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_client_trending_is_this_weeks_films(fake):
    client = TMDBClient(api_token=TOKEN, base_url=fake.base_url, allow_private_images=True)
    page = client.trending("week")
    assert fake.paths() == ["/3/trending/movie/week"]
    popularity = [m.popularity for m in page.results]
    assert len(page.results) == 20 and popularity == sorted(popularity, reverse=True)
    with pytest.raises(TMDBError, match="'day' or 'week'"):
        client.trending("month")


def test_without_tmdb_the_examples_are_drawn_and_labelled(no_tmdb):
    from app_components.examples import DRAWN, DRAWN_LABEL

    at = AppTest.from_function(examples_script, default_timeout=60).run()
    assert not at.exception and not at.error
    buttons = example_buttons(at)
    assert [b.label for b in buttons] == [d.name for d in DRAWN]
    assert "made-up films, drawn by postergenre" in markdown(at)
    assert len(at.get("image")) == len(DRAWN)
    buttons[1].click().run()
    assert not at.exception
    picked = next(m.value for m in at.markdown if m.value.startswith("picked"))
    assert f"{DRAWN[1].name} ({DRAWN_LABEL})" in picked
    assert example_buttons(at)[1].proto.type == "primary"   # the pick is marked and stays on a rerun


def test_drawn_posters_are_posters_to_the_model(predictor):
    """Each drawn example reads as a poster (no 'not a poster' warning) with a genre in its headline:
    a first visitor's first result is not a warning."""
    from app_components.examples import DRAWN, drawn_poster

    for i, d in enumerate(DRAWN):
        pred = predictor.predict(drawn_poster(i))
        assert pred.warning is None and pred.predicted, (d.name, pred.summary)


def test_with_tmdb_the_examples_are_trending_films(with_tmdb):
    at = AppTest.from_function(examples_script, default_timeout=60).run()
    assert not at.exception and not at.error
    assert "this week's trending films on TMDB" in markdown(at)
    trending = sorted((f for f in with_tmdb.films if f["poster_path"]), key=lambda f: (-f["popularity"], f["id"]))[:6]
    buttons = example_buttons(at)
    assert [b.key for b in buttons] == [f"example_tmdb:{f['id']}" for f in trending]
    urls = [i.proto.imgs[0].url for i in at.get("image")]
    assert urls == [f"{with_tmdb.image_base}w185{f['poster_path']}" for f in trending]   # no credentials
    assert "not endorsed or certified by TMDB" in markdown(at)
    buttons[0].click().run()
    assert not at.exception and not at.error
    assert any(m.value.startswith(f"picked {trending[0]['title']}") and "trending on TMDB" in m.value for m in at.markdown)
    assert f"/t/p/w500{trending[0]['poster_path']}" in with_tmdb.paths("/t/p/")


def test_tmdb_trouble_falls_back_to_drawn_examples(with_tmdb):
    from app_components.examples import DRAWN

    with_tmdb.script("/3/trending", 401)
    at = AppTest.from_function(examples_script, default_timeout=60).run()
    assert not at.exception and not at.error
    assert [b.label for b in example_buttons(at)] == [d.name for d in DRAWN]
    said = " ".join(c.value for c in at.caption)
    assert "trending films could not be loaded" in said and TOKEN not in said


def test_predict_page_reads_an_example(predictor, no_tmdb):
    """On the Predict page, one click on an example gives the genres without an upload."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception and example_buttons(at)
    example_buttons(at)[0].click().run()
    assert not at.exception and not at.error
    assert at.get("plotly_chart") and "Where the model looked" in [h.value for h in at.subheader]
