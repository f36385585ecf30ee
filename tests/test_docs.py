"""The documentation stays true: README.md is short, every relative link in README and docs/ resolves
(files and #anchors), the configuration table is generated from postergenre/settings.py, the files,
benchmarks, commands, endpoints and Python names the docs cite exist, the README's quality table is the
weights' own figures, and facts with one source (the version) have one."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fixtures import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)


def _prose(text: str) -> str:
    """The Markdown without fenced code blocks and inline code (links there are examples, not links)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _code_blocks(text: str, lang: str = "") -> list[str]:
    return [m.group(2) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if not lang or m.group(1) == lang]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: formatting and punctuation dropped, lower case, spaces -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # links keep their text
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = github_slug(m.group(2))
            n = seen.get(slug, 0)
            found.add(slug if n == 0 else f"{slug}-{n}")
            seen[slug] = n + 1
    return found


def test_readme_fits_on_a_screen_and_keeps_the_space_front_matter():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250, f"README.md has {len(text.splitlines())} lines; move detail to docs/"
    assert text.startswith("---\n") and "\nsdk: docker\n" in text.split("\n---\n", 1)[0]
    assert re.search(r"!\[[^\]]+\]\(docs/images/[\w.-]+\.png\)", text), "README shows one screenshot from docs/images/"


def test_the_documentation_pages_exist():
    names = {p.name for p in DOCS}
    assert {"model-and-trust.md", "performance.md", "api.md", "app.md", "catalog.md", "tmdb.md", "deployment.md",
            "configuration.md", "architecture.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):   # http(s):, mailto: ... (offline: not fetched)
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)} (has {sorted(anchors(file))})")
    assert not broken, broken


def test_the_slugs_are_githubs():
    assert github_slug("Serving without torch (CPU-only install)") == "serving-without-torch-cpu-only-install"
    assert github_slug("The `int8` backbone") == "the-int8-backbone"
    assert github_slug("TMDB: find a film's poster by title") == "tmdb-find-a-films-poster-by-title"


def test_user_docs_carry_no_issue_numbers_or_dated_lab_notes():
    found = []
    for page in PAGES:
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bissue\s*#?\d+|\b20\d\d-\d\d-\d\d\b|\b(19|20)\d\d/\d\d/\d\d\b", line, re.I):
                found.append(f"{page.name}:{n}: {line.strip()}")
    assert not found, found


# --- configuration: one source ----------------------------------------------------------------------

def test_configuration_table_is_generated_from_settings():
    from postergenre import settings

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- generated: python -m postergenre.settings -->\n(.*?)<!-- end generated -->", text, re.S)
    assert m, "docs/configuration.md lost its generated block"
    assert m.group(1) == settings.markdown_table(), "regenerate it: python -m postergenre.settings"


def test_every_variable_the_code_reads_is_a_documented_setting():
    """Every POSTERGENRE_* / TMDB_API_* name in the code is one of settings.SETTINGS (TMDB_GENRES and the
    like are Python names, not variables)."""
    from postergenre import settings

    documented = {s.name for s in settings.SETTINGS}
    constants = {getattr(settings, n) for n in dir(settings) if n.endswith("_ENV")}
    assert documented == constants, f"settings constants without a SETTINGS row (or the reverse): {documented ^ constants}"
    files = [p for p in [ROOT / "app.py", *(ROOT / "postergenre").rglob("*.py"), *(ROOT / "app_pages").glob("*.py"),
                         *(ROOT / "app_components").glob("*.py"), ROOT / "Dockerfile"] if p.is_file()]
    used: dict[str, str] = {}
    for path in files:
        for name in re.findall(r"\b((?:POSTERGENRE|TMDB_API)_[A-Z][A-Z0-9_]*[A-Z0-9])\b", path.read_text(encoding="utf-8")):
            used.setdefault(name, str(path.relative_to(ROOT)))
    used = {n: f for n, f in used.items() if not n.endswith("_ENV")}
    # the docstring's shorthand "POSTERGENRE_API_MAX_UPLOAD_MB / _TIMEOUT" names prefixes, not variables
    undocumented = {n: f for n, f in used.items() if n not in documented and not any(d.startswith(n + "_") for d in documented)}
    assert not undocumented, f"variables read but not in settings.SETTINGS (docs/configuration.md): {undocumented}"


def test_documented_api_defaults_are_the_codes():
    from postergenre import settings
    from postergenre.api.config import APIConfig, MiB
    from postergenre.api.server import DEFAULT_HEADER_TIMEOUT_S

    default = {s.name: float(s.default) for s in settings.SETTINGS if s.name.startswith("POSTERGENRE_API_")}
    assert default == {settings.API_MAX_UPLOAD_MB_ENV: APIConfig.max_upload_bytes / MiB,
                       settings.API_TIMEOUT_ENV: APIConfig.request_timeout_s,
                       settings.API_CONCURRENCY_ENV: APIConfig.max_concurrency,
                       settings.API_HEADER_TIMEOUT_ENV: DEFAULT_HEADER_TIMEOUT_S}


# --- what the docs cite exists ---------------------------------------------------------------------

CITED_PATH = re.compile(r"`((?:postergenre|benchmarks|scripts|tests|weights|app_pages|app_components|experiments|docs)"
                        r"/[\w./-]*[\w/])`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_files_exist(page):
    missing = sorted({p for p in CITED_PATH.findall(page.read_text(encoding="utf-8"))
                      if not (ROOT / p).exists() and p != "postergenre/bundled/"})   # bundled/: made by pip install
    assert not missing, f"{page.name} cites files that do not exist: {missing}"


def test_every_benchmark_cited_anywhere_exists():
    texts = [*PAGES, ROOT / "weights" / "MODEL_CARD.md",
             *(p for d in ("postergenre", "benchmarks", "scripts", "experiments", "app_pages", "app_components")
               for p in (ROOT / d).rglob("*.py"))]
    missing = sorted({f"{name} (in {path.relative_to(ROOT)})" for path in texts if path.is_file()
                      for name in re.findall(r"benchmarks/\w+\.py", path.read_text(encoding="utf-8"))
                      if not (ROOT / name).is_file()})
    assert not missing, missing


def test_cli_commands_in_the_docs_exist():
    from postergenre.cli import COMMANDS, _MODULE_OF

    known = {c.replace("_", "-") for c in COMMANDS} | set(_MODULE_OF)
    used = {(page.name, m) for page in PAGES for block in _code_blocks(page.read_text(encoding="utf-8"), "bash")
            for m in re.findall(r"(?:^|[\s/;|&(])postergenre ([a-z][\w-]*)", block, re.M)}
    unknown = sorted(f"{page}: postergenre {c}" for page, c in used if c not in known)
    assert used and not unknown, unknown


def test_api_endpoints_in_the_docs_exist(tmp_path, monkeypatch):
    pytest.importorskip("fastapi")
    from postergenre import settings
    from postergenre.api import create_app

    monkeypatch.setenv(settings.INDEX_ENV, str(tmp_path / "index"))   # mounts /v1/similar (opened on first use)
    paths = create_app(preload=False).openapi()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    text = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    cited = set(re.findall(r"\b(GET|POST|PUT|DELETE) (/[\w/]+)", text))
    assert ("POST", "/v1/predict") in cited and not cited - routes, sorted(cited - routes)


def test_python_names_in_the_docs_exist():
    """``predictor.X``, ``result.X`` and ``s.X`` in the docs' Python examples are real attributes."""
    import dataclasses

    from postergenre.model.predictor import GenreScore, Prediction, Predictor

    def has(cls, name):
        return hasattr(cls, name) or name in {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) \
            else hasattr(cls, name)

    wrong = []
    for page in PAGES:
        for block in _code_blocks(page.read_text(encoding="utf-8"), "python"):
            for var, cls in (("predictor", Predictor), ("result", Prediction), ("s", GenreScore)):
                wrong += [f"{page.name}: {var}.{n}" for n in re.findall(rf"\b{var}\.(\w+)", block) if not has(cls, n)]
    assert not wrong, wrong


# --- facts with one source ------------------------------------------------------------------------

def test_readme_quality_table_is_the_weights_own_figures():
    """The README's table is the test-split report of weights/metadata.json (remade by `postergenre
    evaluate --split test --record`): after a retrain this fails until the README is updated."""
    meta = json.loads((ROOT / "weights" / "metadata.json").read_text())
    test = meta["metrics"]["test"]
    keys = ["macro_ap", "micro_ap", "macro_auc", "micro_auc", "macro_f1", "micro_f1", "samples_f1", "ece"]
    text = README.read_text(encoding="utf-8")
    rows = {"this model": test, "predict the training prior": test["baselines"]["training_prior"],
            "predict no genre": test["baselines"]["no_genre"]}
    for label, report in rows.items():
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| {label}")), None)
        assert line, f"README's quality table lost its row {label!r}"
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        assert cells == [f"{report[k]:.3f}" for k in keys], f"{label}: README {cells} vs metadata.json"
    assert f"{test['n_posters']:,} IMDb posters" in text


def test_one_version_string():
    """The version is written once, in postergenre/__init__.py: pyproject reads it, the CLI and the API
    report it, and the installed package's metadata agrees."""
    import tomllib
    from importlib import metadata

    import postergenre
    from postergenre.cli import build_parser

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "postergenre.__version__"}
    assert metadata.version("postergenre") == postergenre.__version__
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    written = [p for p in (ROOT / "postergenre").rglob("*.py")
               if re.search(r"""__version__\s*=\s*["']|version\s*=\s*["']\d""", p.read_text(encoding="utf-8"))]
    assert written == [ROOT / "postergenre" / "__init__.py"], written
