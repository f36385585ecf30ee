"""Readable images are read (issue 26): every file-name ending browsers save JPEGs under (.jfif, .jpe,
.pjpeg, .pjp) is accepted wherever .jpg is (the app's uploaders, the CLI's and the catalog's folder scans,
the API), from one list (``postergenre.sources.images.FORMAT_EXTENSIONS``); and a print-size JPEG
(8000x12000 key art, over the 40 MP limit) is read at a reduced scale instead of refused, while a
progressive one that large is still refused, saying what to do. The time and memory bounds on hostile
files are tests/test_hostile_images.py's (print-size cases included)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from fixtures import ROOT, jpeg_bytes, make_poster
from postergenre.errors import ImageLoadError
from postergenre.sources.images import FORMAT_EXTENSIONS, SUPPORTED_EXTENSIONS, load_image

JPEG_ALIASES = ("jfif", "jpe", "pjpeg", "pjp")
POSTER = jpeg_bytes(make_poster(seed=5), quality=90)


def _print_file(progressive: bool = False) -> bytes:
    """An 8000x12000 JPEG (96 MP): flat colours, so it stays small to write and read."""
    image = Image.new("RGB", (8000, 12000), (20, 20, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle([1000, 2000, 7000, 9000], fill=(200, 30, 40))
    draw.ellipse([2500, 3500, 5500, 6500], fill=(240, 220, 60))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=70, progressive=progressive)
    return buf.getvalue()


def test_jpeg_aliases_are_in_the_one_list_every_picker_reads():
    from app_components.inputs import POSTER_TYPES
    from postergenre.catalog.sources import resolve_source  # noqa: F401  (reads SUPPORTED_EXTENSIONS)

    assert set(JPEG_ALIASES) <= set(FORMAT_EXTENSIONS["JPEG"])
    assert SUPPORTED_EXTENSIONS == tuple(e for exts in FORMAT_EXTENSIONS.values() for e in exts)
    assert POSTER_TYPES == list(SUPPORTED_EXTENSIONS)


def test_predict_page_reads_a_jfif_upload_as_it_reads_a_jpg(predictor, monkeypatch):
    """The uploader refused .jfif ("image/jpeg files are not allowed") though its label promises JPEG."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.syspath_prepend(str(ROOT))
    shown = []
    for name in ("poster.jpg", "poster.jfif"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
        at.file_uploader(key="poster").upload(name, POSTER, "image/jpeg").run()
        assert not at.exception and not at.error, name
        shown.append(([h.value for h in at.subheader], [w.value for w in at.warning]))
    assert shown[1] == shown[0] and shown[0][0]


def test_cli_and_catalog_read_every_jpeg_ending(tmp_path, capsys, predictor):
    from postergenre.catalog.sources import resolve_source
    from postergenre.cli import main

    folder = tmp_path / "drafts"
    folder.mkdir()
    names = [f"draft.{ext}" for ext in JPEG_ALIASES] + ["final.JPG"]
    for name in names:
        (folder / name).write_bytes(POSTER)
    assert sorted(Path(p).name for p in resolve_source(folder).paths) == sorted(names)
    assert main(["predict", str(folder), "--json", "--no-text", "--quiet",
                 "--weights", str(predictor.weights_dir)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert sorted(Path(r["source"]).name for r in results) == sorted(names)
    assert all("error" not in r and r["genres"] for r in results)


def test_api_reads_jfif_and_pjpeg(predictor):
    from fastapi.testclient import TestClient

    from postergenre.api import APIConfig, create_app, get_predictor

    app = create_app(config=APIConfig(), preload=False)
    app.dependency_overrides[get_predictor] = lambda: predictor
    with TestClient(app) as client:
        r = client.post("/v1/predict", files={"file": ("poster.jfif", POSTER, "image/pjpeg")})
        assert r.status_code == 200, r.text
        raw = client.post("/v1/predict", content=POSTER, headers={"content-type": "image/pjpeg"})
        assert raw.status_code == 200, raw.text
        assert raw.json()["genres"] == r.json()["genres"]


def test_a_print_size_jpeg_is_read_at_a_reduced_scale_not_refused(predictor):
    data = _print_file()
    assert len(data) < 15 * 2**20  # within the app's and the API's upload limits
    image = load_image(data)
    assert image.size == (4000, 6000) and image.info["reduced_from"] == (8000, 12000)  # 1/2: fits 40 MP
    assert load_image(data, draft=(448, 672)).size == (1000, 1500)  # what prediction asks for: 1/8
    assert load_image(POSTER).info.get("reduced_from") is None
    pred = predictor.predict(data, text=False)
    small = predictor.predict(load_image(data, draft=(1000, 1500)), text=False)
    assert pred.probabilities == pytest.approx(small.probabilities, abs=0.02)  # the same poster, read smaller
    with pytest.raises(ImageLoadError, match=r"96.0 megapixels, over the 40 MP limit; resize it .*baseline, not "
                                             r"progressive\) JPEG, which is read at a reduced scale"):
        load_image(_print_file(progressive=True))
