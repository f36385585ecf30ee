import pytest

from postergenre.errors import UnknownGenreError
from postergenre.genres import TMDB_GENRES, TRAINED_GENRES, genre_by_id, genre_by_name, normalise_genre, parse_genres


def test_tmdb_list_matches_the_documented_ids():
    ids = {g.name: g.id for g in TMDB_GENRES}
    assert len(TMDB_GENRES) == 19
    assert ids["Action"] == 28 and ids["Western"] == 37 and ids["Science Fiction"] == 878
    assert ids["TV Movie"] == 10770 and ids["Family"] == 10751 and ids["Music"] == 10402
    assert len(set(ids.values())) == 19


def test_trained_genres_are_the_17_of_the_data():
    assert len(TRAINED_GENRES) == 17
    assert "History" not in TRAINED_GENRES and "TV Movie" not in TRAINED_GENRES
    assert not genre_by_name("History").trained


def test_lookup_and_aliases():
    assert genre_by_id(27).name == "Horror"
    assert genre_by_name("sci-fi").name == "Science Fiction"
    assert normalise_genre("  horror ") == "Horror"
    assert normalise_genre("Children") == "Family"
    assert normalise_genre("Film-Noir") is None


def test_unknown_genre_messages_list_the_choices():
    with pytest.raises(UnknownGenreError, match="available: Action"):
        genre_by_name("Cowboy")
    with pytest.raises(UnknownGenreError, match="28 Action"):
        genre_by_id(1)


def test_parse_genres_splits_and_reports_unknown():
    known, unknown = parse_genres("Comedy|Sci-Fi||Film-Noir|comedy")
    assert known == ["Comedy", "Science Fiction"]
    assert unknown == ["Film-Noir"]
