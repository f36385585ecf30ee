"""Catalog at scale: tag (local and Ray engines), resume, atlas from Parquet, similar-poster index.

One local Ray cluster for the module (2 CPUs, no dashboard); a few dozen real posters and one broken
file. Real-poster tests skip without ../shared (CI has it).
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

N_POSTERS = 30


def _copy_dataset(src: Path, dest: Path, n: int, seed: int) -> Path:
    rows = list(csv.DictReader(open(src / "labels.csv", newline="", encoding="utf-8")))
    rng = np.random.default_rng(seed)
    picked = sorted((rows[i] for i in rng.choice(len(rows), n, replace=False)), key=lambda r: r["file"])
    (dest / "images").mkdir(parents=True)
    for r in picked:
        shutil.copy(src / r["file"], dest / r["file"])
    broken = dict(picked[0], imdb_id="tt0000000", file="images/broken.jpg")
    (dest / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with open(dest / "labels.csv", "w", newline="", encoding="utf-8") as fh:  # sorted by file, as the Parquet
        w = csv.DictWriter(fh, fieldnames=list(picked[0]))
        w.writeheader()
        w.writerows(sorted([*picked, broken], key=lambda r: r["file"]))
    return dest


@pytest.fixture(scope="module")
def catalog_dir(real_posters, tmp_path_factory) -> Path:
    return _copy_dataset(real_posters, tmp_path_factory.mktemp("catalog"), N_POSTERS, seed=1)


@pytest.fixture(scope="module")
def local_out(catalog_dir, tmp_path_factory, predictor) -> Path:
    from postergenre.catalog import TagConfig, WorkerConfig, tag

    out = tmp_path_factory.mktemp("tagged") / "out.parquet"
    with pytest.MonkeyPatch.context() as mp:  # text=False: no OCR at all, neither coverage nor text channel
        mp.setattr("postergenre.model.ocr.read_text", lambda *a, **k: pytest.fail("OCR ran with text=False"))
        report = tag(catalog_dir, out, TagConfig(progress=False), WorkerConfig(analyze=True, text=False, embeddings=True))
    assert (report.tagged, report.errors) == (N_POSTERS + 1, 1)
    return out


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from postergenre.catalog.tag import ray_init

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_init()  # quiet Ray Data on the running cluster
    yield ray
    ray.shutdown()


def test_local_rows_match_the_predictor(local_out, catalog_dir, predictor):
    from postergenre.catalog import read_output
    from postergenre.catalog.rows import prob_column

    t = read_output(local_out).to_pandas()
    assert len(t) == N_POSTERS + 1 and t["path"].is_unique
    bad = t[t["error"].notna()]
    assert list(bad["path"]) == [str((catalog_dir / "images" / "broken.jpg").resolve())]
    assert "damaged" in bad["error"].iloc[0] and bad["prob_drama"].isna().all()
    good = t[t["error"].isna()]
    row = good.iloc[3]
    pred = predictor.predict(row["path"], text=False)  # tagged with text=False: the image alone
    for g in predictor.genres:
        assert abs(row[prob_column(g)] - pred.probabilities[g]) < 1e-5
    assert list(row["predicted"]) == pred.predicted and row["summary"] == pred.summary
    assert row["labels"] is not None and len(row["labels"]) >= 1 and row["split"] in ("train", "val", "test")
    assert good["m_brightness"].between(0, 100).all() and good["hues"].map(len).eq(12).all()
    emb = np.stack(good["embedding"].to_numpy())
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)


def test_ray_engine_gives_the_same_rows(ray_cluster, local_out, catalog_dir, tmp_path):
    from postergenre.catalog import TagConfig, WorkerConfig, read_output, tag

    out = tmp_path / "ray.parquet"
    report = tag(catalog_dir, out, TagConfig(engine="ray", concurrency=2, num_cpus=1, batch_size=8, progress=False),
                 WorkerConfig(analyze=True, text=False, embeddings=True))
    assert (report.tagged, report.errors) == (N_POSTERS + 1, 1)
    a, b = read_output(local_out).to_pandas(), read_output(out).to_pandas()
    assert list(a.columns) == list(b.columns) and list(a["path"]) == list(b["path"])
    num = [c for c in a.columns if c.startswith(("prob_", "m_"))]
    assert np.nanmax(np.abs(a[num].to_numpy(float) - b[num].to_numpy(float))) < 1e-4
    assert (a[num].isna().to_numpy() == b[num].isna().to_numpy()).all()
    assert (a["error"].fillna("") == b["error"].fillna("")).all()
    assert (a["summary"].fillna("") == b["summary"].fillna("")).all()
    ok = a["error"].isna()
    assert np.abs(np.stack(a["embedding"][ok]) - np.stack(b["embedding"][ok])).max() < 1e-4


def test_resume_after_interruption(catalog_dir, tmp_path):
    from postergenre.catalog import TagConfig, read_output, tag

    out = tmp_path / "out.parquet"
    first = tag(catalog_dir, out, TagConfig(progress=False, chunk=4, limit=10))  # "interrupted" after 10
    assert first.tagged == 10
    (out / "part-torn-00000.parquet").write_bytes(b"PAR1 cut off")   # a write cut off by a kill
    second = tag(catalog_dir, out, TagConfig(progress=False, chunk=8))
    assert (second.skipped, second.tagged) == (10, N_POSTERS + 1 - 10)
    assert not (out / "part-torn-00000.parquet").exists()
    t = read_output(out)
    assert t.num_rows == N_POSTERS + 1 and len(set(t.column("path").to_pylist())) == N_POSTERS + 1
    assert tag(catalog_dir, out, TagConfig(progress=False)).tagged == 0


def test_atlas_from_parquet_equals_atlas_from_folder(local_out, catalog_dir, predictor, tmp_path):
    from postergenre.look.atlas_build import AtlasConfig, build_atlas
    from postergenre.catalog.atlas import atlas_from_parquet
    from postergenre.sources.dataset import load_dataset

    cfg = AtlasConfig(split=None, per_genre=None, text=False, min_genre=3, fit_split=None)  # the whole catalog
    from_parquet = atlas_from_parquet(local_out, cfg)
    from_folder = build_atlas(load_dataset(catalog_dir), None, cfg, predictor=predictor, cache_dir=tmp_path,
                              progress=False)
    for a in (from_parquet, from_folder):
        for key in ("dataset", "build_seconds", "genres_from"):
            a["source"].pop(key, None)
    assert from_parquet["source"]["unreadable"] == 1 and len(from_parquet["genres"]) >= 2
    _assert_close(from_parquet, from_folder)


def _assert_close(a, b, where="atlas"):
    """Equal, floats within 1e-4 relative (probabilities are rounded to 5 decimals on both sides)."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _assert_close(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(a)), (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_index_and_similar(real_posters, tmp_path, predictor):
    from PIL import Image, ImageOps

    from postergenre.catalog import TagConfig
    from postergenre.catalog.index import PosterIndex, build_index

    folder = _copy_dataset(real_posters, tmp_path / "cat", 200, seed=2)
    info = build_index(folder, tmp_path / "index", TagConfig(progress=False), progress=False)
    assert info["rows"] == 200  # the broken file is not indexed
    index = PosterIndex(tmp_path / "index", predictor=predictor)
    paths = sorted((folder / "images").glob("tt*.jpg"))
    for p in paths[:3]:
        hits = index.similar(p, k=10)
        assert hits[0].path == str(p.resolve()) and hits[0].distance < 1e-4
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
        mirrored = ImageOps.mirror(Image.open(p).convert("RGB"))
        assert str(p.resolve()) in [h.path for h in index.similar(mirrored, k=3)]


def test_index_cli_on_a_folder_of_hundreds_of_posters(tmp_path, capsys, predictor):
    """`postergenre index FOLDER` at catalog size (issue 26): with 300 posters the command crashed with
    'File name too long', the resolved inputs being read as a folder name. Now: an index of every poster
    and a one-line summary; a folder without readable posters gets a short message, not the list."""
    import json
    import time

    from fixtures import make_poster
    from postergenre.cli import main

    folder = tmp_path / "a folder of key art for the catalog" / "posters"
    folder.mkdir(parents=True)
    for i in range(300):
        make_poster(seed=i).save(folder / f"key-art-variant-{i:03d}.jpg", quality=80)
    t0 = time.perf_counter()
    assert main(["index", str(folder), "--out", str(tmp_path / "index"), "--no-text", "--quiet"]) == 0
    assert time.perf_counter() - t0 < 240
    assert json.loads((tmp_path / "index" / "index.json").read_text())["rows"] == 300
    assert "300 posters" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    for i in range(300):
        (broken / f"not-really-a-poster-{i:03d}.jpg").write_bytes(b"plain text")
    assert main(["index", str(broken), "--out", str(tmp_path / "index2"), "--no-text", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the 300 inputs of the catalog" in err and len(err) < 400


def test_a_tag_output_is_a_source_of_its_own_posters(local_out, catalog_dir):
    """`postergenre index OUT` (or `tag OUT`) on a tag output made without embeddings re-reads the same
    posters (its path column), rather than saying the folder holds no images."""
    from postergenre.catalog.sources import resolve_source

    again, first = resolve_source(local_out), resolve_source(catalog_dir)
    assert again.kind == "manifest" and sorted(again.paths) == sorted(first.paths)


def test_cli_errors_are_messages(tmp_path, capsys):
    from postergenre.cli import main

    assert main(["tag", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["similar", str(tmp_path / "x.jpg"), "--index", str(tmp_path)]) == 2
    assert "postergenre index" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_index(local_out, tmp_path_factory) -> Path:
    from postergenre.catalog.index import build_index

    index = tmp_path_factory.mktemp("index") / "index"
    assert build_index(local_out, index, progress=False)["rows"] == N_POSTERS  # reuses the tag output
    return index


def test_api_similar_only_with_an_index(small_index, catalog_dir, monkeypatch, predictor):
    from fastapi.testclient import TestClient

    from postergenre.api import create_app

    poster = sorted((catalog_dir / "images").glob("tt*.jpg"))[5]
    monkeypatch.delenv("POSTERGENRE_INDEX", raising=False)
    with TestClient(create_app(preload=False)) as client:
        assert client.post("/v1/similar", content=poster.read_bytes()).status_code == 404
    monkeypatch.setenv("POSTERGENRE_INDEX", str(small_index))
    with TestClient(create_app(preload=False)) as client:
        r = client.post("/v1/similar?k=3", files={"file": ("p.jpg", poster.read_bytes(), "image/jpeg")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["index_size"] == N_POSTERS and len(body["similar"]) == 3
        assert body["similar"][0]["path"] == str(poster.resolve()) and body["similar"][0]["distance"] < 1e-4
        assert client.post("/v1/similar", content=b"not an image").status_code in (400, 415, 422)


def test_app_shows_similar_posters_only_with_an_index(small_index, catalog_dir, monkeypatch, predictor):
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    monkeypatch.syspath_prepend(str(root))
    poster = sorted((catalog_dir / "images").glob("tt*.jpg"))[7]
    monkeypatch.delenv("POSTERGENRE_INDEX", raising=False)
    at = AppTest.from_file(str(root / "app.py"), default_timeout=180).run()
    assert any("POSTERGENRE_INDEX" in c.value for c in at.sidebar.caption)          # the About hint
    at.file_uploader(key="poster").upload("p.jpg", poster.read_bytes(), "image/jpeg").run()
    assert not at.exception and "Similar posters in your catalog" not in [h.value for h in at.subheader]
    monkeypatch.setenv("POSTERGENRE_INDEX", str(small_index))
    at = AppTest.from_file(str(root / "app.py"), default_timeout=180).run()
    assert not any("POSTERGENRE_INDEX" in c.value for c in at.sidebar.caption)
    at.file_uploader(key="poster").upload("p.jpg", poster.read_bytes(), "image/jpeg").run()
    assert not at.exception and not at.error
    assert "Similar posters in your catalog" in [h.value for h in at.subheader]
    assert any(f"**{poster.stem}**" in c.value and "distance 0.000" in c.value for c in at.caption)
    compare = [b for b in at.button if b.key and b.key.startswith("similar_compare_")]
    compare[1].click().run()
    picks = at.session_state["compare_tmdb_picks"]
    assert "catalog:p.jpg" in picks and len(picks) == 2, (list(picks), len(compare))  # the poster read + the similar one
