"""postergenre.settings: the one place that reads environment variables, default paths and secrets."""
from __future__ import annotations

from pathlib import Path

from postergenre import settings
def test_paths_follow_the_environment(monkeypatch, tmp_path):
    for name in (settings.WEIGHTS_ENV, settings.ATLAS_ENV, settings.CACHE_ENV, "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert settings.weights_dir() == settings.BUNDLED_WEIGHTS and (settings.BUNDLED_WEIGHTS / "metadata.json").is_file()
    assert settings.atlas_path() == settings.BUNDLED_WEIGHTS / "atlas.json"
    assert settings.cache_dir() == Path.home() / ".cache" / "postergenre"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.cache_dir() == tmp_path / "xdg" / "postergenre"
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "c"))
    monkeypatch.setenv(settings.WEIGHTS_ENV, str(tmp_path / "w"))
    assert settings.cache_dir() == tmp_path / "c"
    assert settings.atlas_path() == tmp_path / "w" / "atlas.json"  # the atlas sits with the weights
    monkeypatch.setenv(settings.ATLAS_ENV, str(tmp_path / "a.json"))
    assert settings.atlas_path() == tmp_path / "a.json"
    monkeypatch.setenv(settings.DEVICE_ENV, "  ")
    assert settings.device() is None  # blank counts as unset


def test_environment_wins_over_secrets_files(monkeypatch, tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    for folder, token in ((home, "from-home"), (project, "from-project")):
        (folder / ".streamlit").mkdir(parents=True)
        (folder / ".streamlit" / "secrets.toml").write_text(f'TMDB_API_TOKEN = "{token}"\nOTHER = "x"\nTMDB_API_KEY = "k"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    for name in (settings.TOKEN_ENV, settings.KEY_ENV, settings.BASE_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    assert "OTHER" not in settings.secrets_files()
    found = settings.tmdb_credentials()
    assert (found.token, found.key, found.base_url, found.present) == ("from-project", "k", None, True)
    monkeypatch.setenv(settings.TOKEN_ENV, "from-env")
    assert settings.tmdb_credentials().token == "from-env"
    assert settings.tmdb_credentials(environ={}, secrets={}).present is False
    assert settings.lookup(settings.DATA_ENV, environ={}, secrets={settings.DATA_ENV: " /data "}) == "/data"


def test_numbers_and_switches(monkeypatch):
    for name in (settings.THREADS_ENV, settings.PRECISION_ENV, settings.BACKEND_ENV):
        monkeypatch.delenv(name, raising=False)
    assert (settings.threads(), settings.precision(), settings.backend()) == (None, None, None)
    monkeypatch.setenv(settings.THREADS_ENV, "3")
    monkeypatch.setenv(settings.PRECISION_ENV, "int8")
    assert (settings.threads(), settings.precision()) == (3, "int8")


def test_no_module_but_settings_reads_our_variables():
    """Every POSTERGENRE_* / TMDB_* variable is read through postergenre.settings (the rest of the
    package may name a variable, e.g. in a message or to hand it to worker processes, but not read it)."""
    import re

    root = Path(settings.__file__).parent
    reads = re.compile(r"(os\.environ(\.get)?\s*[\[(]|os\.getenv\s*\()\s*['\"](POSTERGENRE|TMDB)_")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "settings.py" and reads.search(p.read_text())]
    assert not offenders, offenders
