"""The TMDB search flow in the app (Streamlit AppTest) against the fake TMDB server on 127.0.0.1."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fixtures import ROOT
from fake_tmdb import TOKEN, fake, fake_server  # noqa: F401 (fixtures)
from postergenre.genres import TRAINED_GENRES, genre_by_id
from postergenre.genres import compare_genres


def search_script():
    import streamlit as st

    from app_components.tmdb_view import draw_genre_comparison, tmdb_attribution, tmdb_search_ui
    from postergenre.genres import TRAINED_GENRES

    choice = tmdb_search_ui()
    if choice:
        st.markdown(f"chosen {choice.movie.id} · {choice.label} · {len(choice.poster)} bytes")
        draw_genre_comparison(["Drama", "Horror"], list(choice.movie.genres), list(TRAINED_GENRES))
    tmdb_attribution()


@pytest.fixture
def app_env(fake, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("TMDB_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("TMDB_API_TOKEN", TOKEN)
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    return fake


def run_search(query: str, year: int | None = None) -> AppTest:
    at = AppTest.from_function(search_script, default_timeout=30).run()
    at.text_input(key="tmdb_query").input(query)
    if year:
        at.number_input(key="tmdb_year").set_value(year)
    return at.run()


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_search_grid_pick_and_compare(app_env):
    at = run_search("alien")
    assert not at.exception and not at.error
    buttons = [b for b in at.button if b.key.startswith("tmdb_picked_")]
    assert len(buttons) == 12                                   # every match, poster or not
    no_poster = [b for b in buttons if b.disabled]
    assert no_poster and "no poster on TMDB" in markdown(at)    # kept and flagged
    images = [i.proto.imgs[0].url for i in at.get("image")]
    assert len(images) == len(buttons) - len(no_poster)
    assert all(u.startswith(app_env.image_base + "w185/poster") for u in images)   # grid size, no credentials
    pick = next(b for b in buttons if not b.disabled)
    movie_id = int(pick.key.rsplit("_", 1)[1])
    assert at.expander[0].proto.expanded
    pick.click().run()
    assert not at.exception and not at.error
    assert "chosen: " in at.expander[0].label and not at.expander[0].proto.expanded   # the grid folds away
    chosen = next(m.value for m in at.markdown if m.value.startswith("chosen"))
    assert chosen.startswith(f"chosen {movie_id} · ") and "bytes" in chosen
    tmdb_genres = [genre_by_id(g).name for g in app_env.film(movie_id)["genre_ids"]]
    expected = compare_genres(["Drama", "Horror"], tmdb_genres, TRAINED_GENRES)
    text = markdown(at)
    for title, name in (("Hits", "hits"), ("Misses", "misses"), ("Extras", "extras")):
        assert f"**{title}** · {len(expected[name])}" in text
        assert all(f">{g}</span>" in text for g in expected[name])
    assert any(r["path"].startswith("/t/p/w500/") for r in app_env.requests)   # analysis size downloaded
    assert "not endorsed or certified by TMDB" in markdown(at)


def test_year_filter_and_no_results(app_env):
    at = run_search("zzz-no-such-film")
    assert not at.exception and "No film on TMDB matches" in at.warning[0].value
    year = int(app_env.film(1006)["release_date"][:4])
    at = run_search("alien", year)
    assert not at.exception and any(r["query"].get("year") == str(year) for r in app_env.requests)
    shown = [int(b.key.rsplit("_", 1)[1]) for b in at.button if b.key.startswith("tmdb_picked_")]
    assert 1006 in shown and all(app_env.film(i)["release_date"].startswith(str(year)) for i in shown)


def test_without_credentials_the_app_speaks_to_users(app_env, monkeypatch):
    monkeypatch.delenv("TMDB_API_TOKEN")
    at = AppTest.from_function(search_script, default_timeout=30).run()
    assert not at.exception and not at.error
    assert "TMDB search is not enabled on this deployment" in at.info[0].value
    assert "secrets.toml" not in at.info[0].value and "TMDB_API_TOKEN" not in at.info[0].value
    assert [t.key for t in at.text_input] == ["tmdb_user_token_field"] and "not endorsed" in markdown(at)


def test_a_visitors_own_token_searches_for_this_session_only(app_env, monkeypatch, caplog):
    monkeypatch.delenv("TMDB_API_TOKEN")
    at = AppTest.from_function(search_script, default_timeout=30).run()
    at.text_input(key="tmdb_user_token_field").input(TOKEN).run()
    at.text_input(key="tmdb_query").input("alien").run()
    assert not at.exception and not at.error
    assert any(b.key.startswith("tmdb_picked_") for b in at.button)          # the search ran with it
    assert TOKEN not in caplog.text and TOKEN not in markdown(at)
    fresh = AppTest.from_function(search_script, default_timeout=30).run()   # another browser session
    assert "not enabled" in fresh.info[0].value and not any(t.key == "tmdb_query" for t in fresh.text_input)


def test_rejected_token_is_an_error_message_without_the_token(app_env, monkeypatch):
    monkeypatch.setenv("TMDB_API_TOKEN", "not-a-valid-token-123")
    at = run_search("alien")
    assert not at.exception
    assert "rejected" in at.error[0].value and "not-a-valid-token-123" not in at.error[0].value


def test_tmdb_trouble_is_a_message_not_a_traceback(app_env):
    app_env.script("/3/search/movie", 200, b"{broken json")
    at = run_search("broken json query")
    assert not at.exception and "malformed" in at.error[0].value


def test_predict_page_reads_a_poster_found_on_tmdb(app_env, predictor):
    """The whole Predict page: TMDB search -> pick -> prediction beside TMDB's genres."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.session_state["source"] = "TMDB search"  # the Predict page's input tab
    at.run()
    at.text_input(key="tmdb_query").input("alien").run()
    pick = next(b for b in at.button if b.key.startswith("tmdb_picked_") and not b.disabled)
    movie_id = int(pick.key.rsplit("_", 1)[1])
    pick.click().run()
    assert not at.exception and not at.error
    film = app_env.film(movie_id)
    assert at.get("plotly_chart")                                   # the ranked genres
    assert "The model vs TMDB's genres" in [s.value for s in at.subheader]
    predicted = [g for g in predictor.genres if g in at.subheader[0].value.split(" · ")]
    tmdb_genres = [genre_by_id(g).name for g in film["genre_ids"]]
    expected = compare_genres(predicted, tmdb_genres, predictor.genres)
    assert f"**Hits** · {len(expected['hits'])}" in markdown(at)
    assert any(film["title"] in (i.proto.imgs[0].caption or "") for i in at.get("image"))
