"""The Catalog page (Streamlit AppTest) and its core (postergenre.catalog.explore) on a small real catalog
tagged here with the CLI (30 real posters with labels and years, and one broken file), the synthetic
catalog generator of benchmarks/catalog_page.py at a small size, and what a visitor can open.

Real-poster tests skip without ../shared (CI has it)."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fixtures import ROOT

pytest.importorskip("duckdb")

PAGE = str(ROOT / "app_pages" / "catalog.py")
N_POSTERS = 30
K = "catalogs/small.parquet:"  # the filter widgets' key prefix: the catalog's name


def small_catalog(real_posters: Path, base: Path) -> Path:
    """``base/catalogs/small.parquet``: N_POSTERS val posters (labels, years) and one broken file, tagged
    with ``postergenre tag --analyze --embeddings --no-text``, and its index beside it. Made once per
    test session (the browser test reuses it)."""
    import pandas as pd

    root = base / "catalogs"
    out = root / "small.parquet"
    if (root / "small.index" / "index.json").is_file():
        return out
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    labels = pd.read_csv(real_posters / "labels.csv", dtype=str)
    rows = labels[labels["split"] == "val"].sample(N_POSTERS, random_state=3)
    broken = base / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    manifest = pd.DataFrame({"path": [str(real_posters / f) for f in rows["file"]] + [str(broken)],
                             "genres": list(rows["genres"]) + ["Drama"], "year": list(rows["year"]) + ["1999"]})
    manifest.to_csv(base / "manifest.csv", index=False)
    cli = [sys.executable, "-m", "postergenre"]
    subprocess.run([*cli, "tag", str(base / "manifest.csv"), "--out", str(out), "--analyze", "--embeddings",
                    "--no-text", "--quiet"], check=True, cwd=ROOT, timeout=600)
    subprocess.run([*cli, "index", str(out), "--out", str(root / "small.index"), "--quiet"], check=True, cwd=ROOT,
                   timeout=300)
    return out


@pytest.fixture(scope="module")
def catalog(real_posters, predictor, tmp_path_factory) -> Path:
    return small_catalog(real_posters, tmp_path_factory.getbasetemp())


@pytest.fixture
def page_env(catalog, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("POSTERGENRE_CATALOG", str(catalog.parent))
    monkeypatch.delenv("POSTERGENRE_INDEX", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    return catalog


def _table(catalog: Path):
    from postergenre.catalog.tag import read_output

    return read_output(catalog).to_pandas()


def _run(at: AppTest, tab: str | None = None) -> AppTest:
    if tab:
        at.session_state["catalog_view"] = tab
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _metric(at: AppTest, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def test_every_view_renders(page_env):
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    assert at.title[0].value == "Catalog"
    assert _metric(at, "Posters") == N_POSTERS + 1 and _metric(at, "Failed to read") == 1
    assert _metric(at, "Match the filters") == N_POSTERS
    assert [e.label for e in at.expander][1:] == ["Why 1 row failed"]
    errors = at.dataframe[0].value
    assert errors["example"].tolist() == ["broken.jpg"] and "damaged" in errors["error"][0]
    assert {"Genre mix", "Genres predicted together"} <= {s.value for s in at.subheader}
    assert len(at.get("plotly_chart")) == 2
    _run(at, "Labels vs model")
    assert {"Labelled as … predicted as", "Posters that most contradict their labels"} <= {s.value for s in at.subheader}
    assert any("reads as" in c.value for c in at.caption)
    _run(at, "Trends")
    assert {"Genre shares", "Brightness", "Palettes by decade"} <= {s.value for s in at.subheader}
    assert any("0s**" in m.value for m in at.markdown)          # "**1990s** · 7 posters sampled"
    _run(at, "Look-alikes")
    assert len(at.get("vega_lite_chart")) == 1                   # the map
    at.text_input(key="like_text").input("tt").run()
    pick = at.selectbox(key="like_pick")
    pick.select_index(0).run()
    assert not at.exception and any("distance" in c.value for c in at.caption)  # nearest posters from the index
    _run(at, "Rows & export")
    assert [b.proto.label for b in at.get("download_button")] == ["CSV", "Parquet"]
    assert len([c for c in at.caption if "distance" not in c.value and ".jpg**  \n" in c.value]) == 12  # a page of posters


def test_filters_change_the_numbers(page_env):
    t = _table(page_env)
    ok = t[t["error"].isna()]
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    genre = "Drama"
    at.selectbox(key=K + "genre").select(genre)
    _run(at)
    assert _metric(at, "Match the filters") == sum(genre in p for p in ok["predicted"])
    at.segmented_control(key=K + "source").set_value("Labels")
    _run(at)
    assert _metric(at, "Match the filters") == sum(genre in labels for labels in ok["labels"])
    years = ok["year"].astype(int)
    lo, hi = int(years.min()), int(years.median())
    at.slider(key=K + "years").set_range(lo, hi)
    _run(at)
    expected = sum(genre in l and lo <= int(y) <= hi for l, y in zip(ok["labels"], ok["year"]))
    assert _metric(at, "Match the filters") == expected
    at.selectbox(key=K + "genre").select("All genres")
    at.slider(key=K + "years").set_range(int(years.min()), int(years.max()))
    at.slider(key=K + "prob").set_range(50, 100)
    _run(at)
    assert _metric(at, "Match the filters") == int((ok[[c for c in ok if c.startswith("prob_")]].max(axis=1) >= 0.5).sum())


def _constructed(catalog: Path, dest: Path) -> tuple[Path, list[str]]:
    """A copy of ``catalog`` whose labels are rewritten: three posters get the genre the model gives the
    lowest probability as their only label (the strongest contradictions, in a known order); every other
    poster is labelled with its own most probable genre (no contradiction)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from postergenre.catalog.rows import prob_column
    from postergenre.catalog.tag import read_output

    t = read_output(catalog)
    genres = __import__("json").loads(pq.read_schema(next(catalog.glob("*.parquet"))).metadata[b"postergenre"])["genres"]
    P = np.column_stack([t.column(prob_column(g)).to_numpy(zero_copy_only=False) for g in genres])
    ok = ~np.isnan(P).any(1)
    P = np.nan_to_num(P)                                      # the error row: no probabilities, no labels
    labels = [[genres[int(np.argmax(p))]] if good else None for p, good in zip(P, ok)]
    margin = np.where(ok, P.max(1) - P.min(1), -1)
    worst = [int(i) for i in np.argsort(-margin)[:3]]
    for i in worst:
        labels[i] = [genres[int(np.argmin(P[i]))]]
    t = t.set_column(t.column_names.index("labels"), "labels", pa.array(labels, pa.list_(pa.string())))
    dest.mkdir(parents=True)
    pq.write_table(t.cast(pq.read_schema(next(catalog.glob("*.parquet")))), dest / "part-0.parquet")
    return dest, [t.column("path")[i].as_py() for i in worst]


def test_disagreement_is_right_on_constructed_cases(catalog, tmp_path):
    from sklearn.metrics import average_precision_score, precision_score, recall_score

    from postergenre.catalog.explore import Catalog, Filters
    from postergenre.catalog.rows import prob_column

    folder, worst = _constructed(catalog, tmp_path / "constructed.parquet")
    cat = Catalog(folder)
    found = cat.contradictions(Filters(), limit=10)
    assert [w["path"] for w in found] == worst            # only the three, strongest first
    for w in found:
        assert w["reads_p"] > w["label_p"] and w["reads_as"] not in w["labels"] and w["label_best"] == w["labels"][0]
    genre = found[0]["reads_as"]  # filters apply: only posters labelled with it (so not found[0] itself)
    within = cat.contradictions(Filters(genre=genre, source="labels"), limit=1000)
    assert all(genre in w["labels"] for w in within) and found[0]["path"] not in {w["path"] for w in within}
    # precision / recall / AP against scikit-learn on the real labels
    real = Catalog(catalog)
    t = _table(catalog)
    t = t[t["error"].isna()]
    mix, ap = real.mix(Filters()), real.average_precision(Filters())
    for j, g in enumerate(real.genres):
        y = np.array([g in labels for labels in t["labels"]])
        p = np.array([g in pred for pred in t["predicted"]])
        if y.any():
            assert ap[g] == pytest.approx(average_precision_score(y, t[prob_column(g)]), abs=1e-6)
            assert mix["recall"][j] == pytest.approx(recall_score(y, p))
        if p.any():
            assert mix["precision"][j] == pytest.approx(precision_score(y, p, zero_division=0))


def test_disagreement_grid_on_the_page(catalog, tmp_path, monkeypatch):
    folder, worst = _constructed(catalog, tmp_path / "cat" / "constructed.parquet")
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("POSTERGENRE_CATALOG", str(folder))
    at = _run(AppTest.from_file(PAGE, default_timeout=120), "Labels vs model")
    cards = [c.value for c in at.caption if "reads as" in c.value]
    assert [c.split("**")[1] for c in cards] == [Path(p).name for p in worst]


def _bench():
    spec = importlib.util.spec_from_file_location("catalog_page_bench", ROOT / "benchmarks" / "catalog_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_generator_at_a_small_size(catalog, tmp_path):
    import pyarrow.parquet as pq

    from postergenre.catalog.explore import Catalog, Filters
    from postergenre.catalog.sources import part_files
    from postergenre.catalog.tag import read_output

    out = _bench().synthesize(catalog, tmp_path / "synthetic.parquet", 3000, part_rows=500, progress=False)
    parts = part_files(out)
    assert len(parts) == 6
    template = pq.read_schema(part_files(catalog)[0])
    assert all(pq.read_schema(p).equals(template, check_metadata=True) for p in parts)  # the same layout
    t = read_output(out).to_pandas()
    assert len(t) == 3000 and t["path"].is_unique
    assert 0 < t["error"].notna().sum() < 300                # about the template's 1 in 31
    ok = t[t["error"].isna()]
    probs = ok[[c for c in ok if c.startswith("prob_")]].to_numpy()
    assert ((probs > 0) & (probs < 1)).all() and probs.std(0).min() > 0
    years = ok["year"].astype(int)
    real = _table(catalog)
    real_years = real["year"].dropna().astype(int)
    assert real_years.min() <= years.min() and years.max() <= real_years.max()
    assert np.allclose(np.linalg.norm(np.stack(ok["embedding"].to_numpy()), axis=1), 1, atol=1e-4)
    cat = Catalog(out)
    assert cat.stats["rows"] == 3000 and cat.count(Filters())["rows"] == len(ok)


def test_no_path_outside_the_configured_catalogs_can_be_opened(catalog, real_posters, tmp_path, monkeypatch):
    from postergenre.catalog.explore import Catalog, available_catalogs, resolve_catalog
    from postergenre.errors import DatasetError

    roots = [catalog.parent]
    assert list(available_catalogs(roots)) == ["catalogs/small.parquet"]
    outside = tmp_path / "elsewhere.parquet"
    shutil.copytree(catalog, outside, ignore=shutil.ignore_patterns(".explore"))
    for name in (str(outside), "/etc", "../elsewhere.parquet", "catalogs/../elsewhere.parquet", "small.parquet/.."):
        with pytest.raises(DatasetError, match="not one of this server's catalogs"):
            resolve_catalog(name, roots)
    # a poster outside the catalog is never read, even a real image; one of its rows is
    cat = Catalog(catalog)
    t = _table(catalog)
    inside = t[t["error"].isna()]["path"].iloc[0]
    stranger = str(next((real_posters / "images").glob("*.jpg")))
    assert stranger not in set(_table(catalog)["path"])
    thumbs = cat.thumbnails([inside, stranger, "/etc/passwd"])
    assert thumbs[inside] and thumbs[stranger] is None and thumbs["/etc/passwd"] is None
    # the page: the only typed text searches the catalog's own paths; a name not listed is refused
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("POSTERGENRE_CATALOG", str(catalog.parent))
    at = _run(AppTest.from_file(PAGE, default_timeout=120), "Look-alikes")
    assert [t.key for t in at.text_input] == ["like_text"]
    at.text_input(key="like_text").input("/etc/passwd").run()
    assert at.selectbox(key="like_pick").options == []
    sys.path.insert(0, str(ROOT))
    from app_components import catalog as view

    with pytest.raises(DatasetError):
        view.open_catalog(str(outside))


def test_without_a_catalog_the_page_says_how_and_a_space_hides_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delenv("POSTERGENRE_CATALOG", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "postergenre tag posters/ --out catalog.parquet --analyze --embeddings" in at.code[0].value
    from app_components import catalog as view

    assert view.page_visible()                                    # locally the page explains itself
    monkeypatch.setenv("SPACE_ID", "someone/postergenre")
    assert not view.page_visible()                                # a Space without a catalog: no page
    monkeypatch.setenv("POSTERGENRE_CATALOG", str(tmp_path))
    assert view.page_visible()
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("POSTERGENRE_CATALOG", str(tmp_path / "empty"))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert "names no folder with a tag output" in at.warning[0].value


def test_export_holds_the_filtered_rows(catalog):
    import io

    import pandas as pd

    from postergenre.catalog.explore import Catalog, Filters

    cat = Catalog(catalog)
    f = Filters(genre="Drama")
    csv = pd.read_csv(io.BytesIO(cat.export(f, "csv")))
    assert len(csv) == cat.count(f)["rows"] > 0 and all("Drama" in p.split("|") for p in csv["predicted"])
    assert {"path", "labels", "year", "prob_drama", "m_brightness"} <= set(csv.columns) and "embedding" not in csv
    parquet = pd.read_parquet(io.BytesIO(cat.export(f, "parquet")))
    assert len(parquet) == len(csv) and "palette" in parquet


def test_look_alikes_of_an_upload_then_a_broken_file(page_env, real_posters):
    t = _table(page_env)
    poster = next(p for p in sorted((real_posters / "images").glob("*.jpg")) if str(p) not in set(t["path"]))
    at = _run(AppTest.from_file(PAGE, default_timeout=180), "Look-alikes")
    at.segmented_control(key="like_how").set_value("an upload").run()
    at.file_uploader(key="like_upload").upload(poster.name, poster.read_bytes(), "image/jpeg").run()
    assert not at.exception and not at.error
    distances = [float(c.value.rsplit("distance ", 1)[1]) for c in at.caption if "distance " in c.value]
    assert len(distances) == 12 and distances == sorted(distances)   # the nearest first
    at.file_uploader(key="like_upload").upload("broken.jpg", b"\xff\xd8\xff\xe0 not a jpeg", "image/jpeg").run()
    assert not at.exception
    assert at.warning or at.error                                     # a message, never a traceback
    message = " ".join(m.value for m in [*at.warning, *at.error])
    assert "could not be searched" in message and "damaged" in message
