"""The REST API: every endpoint with the real model, every error code with a small fake model."""
from __future__ import annotations

import http.server
import io
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures import ROOT, jpeg_bytes, make_poster

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from postergenre import settings  # noqa: E402
from postergenre.api import APIConfig, create_app, get_predictor  # noqa: E402
from postergenre.genres import TRAINED_GENRES  # noqa: E402
from postergenre.model.predictor import GenreScore, Prediction  # noqa: E402

POSTER = jpeg_bytes(make_poster(seed=3), quality=90)


class FakePredictor:
    """Just enough of a Predictor for the error paths: fixed scores, optional delay, counts overlap."""

    name, backend = "fake", "none"

    def __init__(self, delay: float = 0.0):
        self.genres = list(TRAINED_GENRES)
        self.thresholds = np.full(len(self.genres), 0.5, dtype=np.float32)
        self.delay, self.running, self.most_at_once = delay, 0, 0
        self._lock = threading.Lock()

    def predict(self, image):
        assert isinstance(image, Image.Image)  # the API decodes before the model sees it
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.delay)
        with self._lock:
            self.running -= 1
        probs = np.linspace(0.9, 0.1, len(self.genres))
        return Prediction([GenreScore(g, float(p), 0.5, bool(p >= 0.5)) for g, p in zip(self.genres, probs)])

    def genre_index(self, genre: str) -> int:
        from postergenre.errors import UnknownGenreError

        if genre not in self.genres:
            raise UnknownGenreError(f"genre {genre!r} is not predicted by this model")
        return self.genres.index(genre)


def client_with(fake, **config) -> fastapi_testclient.TestClient:
    app = create_app(config=APIConfig(**config), preload=False)
    app.dependency_overrides[get_predictor] = lambda: fake
    return fastapi_testclient.TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def real_client(predictor):
    app = create_app(config=APIConfig(allow_private_urls=True), preload=False)
    app.dependency_overrides[get_predictor] = lambda: predictor  # the session's one model
    with fastapi_testclient.TestClient(app) as client:
        yield client


def upload(data: bytes = POSTER, name: str = "poster.jpg", ctype: str = "image/jpeg") -> dict:
    return {"files": {"file": (name, data, ctype)}}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert err["code"] == code and len(err["message"]) > 10
    return err


@pytest.fixture(scope="module")
def image_server():
    """A 127.0.0.1 HTTP server answering /poster.jpg with POSTER (for {"url": ...} requests)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow.jpg":
                time.sleep(1.5)
            ok = self.path in ("/poster.jpg", "/slow.jpg")
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "image/jpeg" if ok else "text/plain")
            body = POSTER if ok else b"no"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# --- the real model ------------------------------------------------------------------------------

def test_predict_upload_matches_the_predictor(real_client, predictor):
    r = real_client.post("/v1/predict", **upload())
    assert r.status_code == 200, r.text
    body = r.json()
    direct = predictor.predict(POSTER)
    assert body["model"] == predictor.name and body["source"] == "poster.jpg"
    assert [g["genre"] for g in body["genres"]] == [s.genre for s in direct.scores]
    assert [g["probability"] for g in body["genres"]] == pytest.approx([s.probability for s in direct.scores], abs=1e-5)
    assert body["predicted"] == direct.predicted
    assert body["text"] == direct.text  # the OCR'd lines (null when the weights have no text channel)
    assert [g["threshold"] for g in body["genres"]] == pytest.approx([s.threshold for s in direct.scores], abs=1e-6)
    last = predictor.trust().rule.max_genres  # below the headline's last place: no threshold (null), never 1.01
    assert None not in [g["threshold"] for g in body["genres"][:last]]
    assert all(g["threshold"] is None for g in body["genres"][last:])
    assert [g["confidence"] for g in body["genres"]] == [s.confidence for s in direct.scores]
    assert body["looks_like_poster"] == direct.looks_like_poster
    assert body["poster_score"] == pytest.approx(direct.poster_score, abs=1e-4)


def test_predict_says_when_an_image_is_not_a_poster(real_client, predictor):
    if predictor.poster_check is None:
        pytest.skip("weights without a poster check")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)).save(buf, "PNG")
    r = real_client.post("/v1/predict", files={"file": ("noise.png", buf.getvalue(), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["looks_like_poster"] is False and 0 <= body["poster_score"] < 0.01
    assert body["warning"].startswith("This does not look like a movie poster")


def test_predict_url_and_raw_body_give_the_same_answer(real_client, image_server):
    by_upload = real_client.post("/v1/predict", **upload()).json()["genres"]
    by_url = real_client.post("/v1/predict", json={"url": f"{image_server}/poster.jpg"})
    assert by_url.status_code == 200, by_url.text
    assert by_url.json()["source"].endswith("/poster.jpg") and by_url.json()["genres"] == by_upload
    raw = real_client.post("/v1/predict", content=POSTER, headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200 and raw.json()["genres"] == by_upload


def test_url_fetch_errors_are_400(real_client, image_server):
    assert_error(real_client.post("/v1/predict", json={"url": f"{image_server}/missing.jpg"}), 400, "fetch_failed")
    assert_error(real_client.post("/v1/predict", json={"url": "ftp://example.com/a.jpg"}), 400, "fetch_failed")


def test_private_urls_are_refused_by_default():
    client = client_with(FakePredictor())
    err = assert_error(client.post("/v1/predict", json={"url": "http://127.0.0.1:9/poster.jpg"}), 400, "fetch_failed")
    assert "loopback" in err["message"]


def test_genres_and_healthz(real_client, predictor):
    body = real_client.get("/v1/genres").json()
    genres = body["genres"]
    assert [g["genre"] for g in genres] == predictor.genres
    assert all(isinstance(g["tmdb_id"], int) for g in genres)
    # what the headline really applies: the weights' decision rule, not per-genre thresholds
    rule = body["decision_rule"]
    shipped = json.loads((settings.weights_dir() / "metadata.json").read_text())["decision_rule"]
    assert rule == {k: shipped[k] for k in ("top_min", "cutoff", "max_genres")}
    assert 0 < rule["top_min"] < 1 and 0 < rule["cutoff"] < 1 and rule["max_genres"] >= 1
    assert all("threshold" not in g for g in genres)
    health = real_client.get("/healthz").json()
    assert health["status"] == "ok" and health["model"] == predictor.name and health["genres"] == len(predictor.genres)


def test_analyze_palette_composition_and_genre_ranges(real_client):
    r = real_client.post("/v1/analyze", **upload())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["size"] == [182, 268] and 1 <= len(body["palette"]) <= 6
    assert sum(c["share"] for c in body["palette"]) == pytest.approx(1.0, abs=0.02)
    assert 0 <= body["measures"]["brightness"] <= 100
    if real_client.get("/healthz").json()["atlas"]:
        ranged = real_client.post("/v1/analyze?genre=sci-fi", **upload()).json()
        assert ranged["genre"] == "Science Fiction" and ranged["compared"]
        assert all(0 <= c["percentile"] <= 100 and "Science Fiction" in c["phrase"] for c in ranged["compared"])
        assert_error(real_client.post("/v1/analyze?genre=Opera", **upload()), 422, "unknown_genre")


def test_explain_returns_a_png_heatmap(real_client, predictor):
    r = real_client.post("/v1/explain?genre=horror", **upload())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.headers["x-genre"] == "Horror"
    assert float(r.headers["x-probability"]) == pytest.approx(predictor.predict(POSTER).probabilities["Horror"], abs=1e-4)
    heatmap = Image.open(io.BytesIO(r.content))
    assert heatmap.format == "PNG" and heatmap.width > 50 and heatmap.height > 50
    plain = np.asarray(Image.open(io.BytesIO(POSTER)).convert("RGB").resize(heatmap.size), dtype=float)
    assert np.abs(np.asarray(heatmap.convert("RGB"), dtype=float) - plain).mean() > 3  # something drawn over it
    assert_error(real_client.post("/v1/explain?genre=Opera", **upload()), 422, "unknown_genre")
    top = real_client.post("/v1/explain", **upload())  # no genre: the most probable one
    assert top.status_code == 200 and top.headers["x-genre"] == predictor.predict(POSTER).scores[0].genre


# --- error paths (fake model) -----------------------------------------------------------------------

def test_bad_images_are_422_and_non_images_415():
    client = client_with(FakePredictor())
    assert_error(client.post("/v1/predict", **upload(POSTER[: len(POSTER) // 3])), 422, "invalid_image")
    assert_error(client.post("/v1/predict", **upload(jpeg_bytes(make_poster(8, 8)))), 422, "invalid_image")
    assert_error(client.post("/v1/predict", **upload(b"%PDF-1.7 not a poster", "a.pdf", "application/pdf")),
                 415, "unsupported_media_type")
    assert_error(client.post("/v1/analyze", **upload(b"<html><body>hi</body></html>", "a.html", "text/html")),
                 415, "unsupported_media_type")
    assert_error(client.post("/v1/predict", content=b"hello", headers={"content-type": "text/plain"}),
                 415, "unsupported_media_type")


def test_malformed_requests_are_422():
    client = client_with(FakePredictor())
    assert_error(client.post("/v1/predict", json={"link": "https://example.com/a.jpg"}), 422, "invalid_request")
    assert_error(client.post("/v1/predict", files={"poster": ("a.jpg", POSTER, "image/jpeg")}), 422, "invalid_request")
    assert_error(client.post("/v1/explain?alpha=7", **upload()), 422, "invalid_request")
    assert_error(client.post("/v1/explain?genre=Opera", **upload()), 422, "unknown_genre")


def test_oversized_bodies_are_413_by_header_and_while_streaming():
    client = client_with(FakePredictor(), max_upload_bytes=100_000)
    big = jpeg_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 400, 3), dtype=np.uint8)))
    assert len(big) > 100_000
    assert_error(client.post("/v1/predict", **upload(big)), 413, "payload_too_large")

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        for i in range(0, len(big), 16_384):
            yield big[i : i + 16_384]

    assert_error(client.post("/v1/predict", content=chunks(), headers={"content-type": "image/jpeg"}),
                 413, "payload_too_large")
    assert client.post("/v1/predict", **upload()).status_code == 200  # small ones still pass


def test_missing_weights_are_503(tmp_path):
    app = create_app(weights=tmp_path, config=APIConfig(), preload=False)
    client = fastapi_testclient.TestClient(app)
    err = assert_error(client.get("/healthz"), 503, "model_unavailable")
    assert "postergenre train" in err["message"] or "POSTERGENRE_WEIGHTS" in err["message"]
    assert_error(client.post("/v1/predict", **upload()), 503, "model_unavailable")
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")


def test_slow_model_work_times_out_with_504():
    client = client_with(FakePredictor(delay=1.5), request_timeout_s=0.3)
    t0 = time.monotonic()
    assert_error(client.post("/v1/predict", **upload()), 504, "timeout")
    assert time.monotonic() - t0 < 1.2  # answered at the deadline, not when the model finished


def test_a_slow_url_fetch_times_out_with_504(image_server):
    client = client_with(FakePredictor(), request_timeout_s=0.4, allow_private_urls=True)
    t0 = time.monotonic()
    assert_error(client.post("/v1/predict", json={"url": f"{image_server}/slow.jpg"}), 504, "timeout")
    assert time.monotonic() - t0 < 1.2


def test_concurrent_requests_share_one_model_within_the_bound():
    fake = FakePredictor(delay=0.05)
    client = client_with(fake, max_concurrency=2)
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(client.post("/v1/predict", **upload()).status_code))
               for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 10
    assert fake.most_at_once == 2  # requests overlapped, but never more than the bound


def test_openapi_docs_list_every_endpoint():
    client = client_with(FakePredictor())
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/predict", "/v1/analyze", "/v1/explain", "/v1/genres", "/healthz"} <= set(paths)
    assert set(paths["/v1/predict"]["post"]["requestBody"]["content"]) >= {"multipart/form-data", "application/json"}
    assert client.get("/docs").status_code == 200


# --- packaging ------------------------------------------------------------------------------------

def test_core_and_cli_never_import_fastapi():
    code = ("import sys, postergenre, postergenre.model.predictor, postergenre.cli\n"
            "postergenre.cli.build_parser()\n"
            "bad = [m for m in ('fastapi', 'starlette', 'uvicorn', 'streamlit') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_answers_on_localhost(predictor):
    import httpx

    port = _free_port()
    weights = Path(predictor.weights_dir)
    proc = subprocess.Popen([sys.executable, "-m", "postergenre", "serve", "--port", str(port), "--weights",
                             str(weights), "--log-level", "warning"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health is not None, proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no answer"
        assert health.status_code == 200 and health.json()["model"] == predictor.name
        r = httpx.post(f"http://127.0.0.1:{port}/v1/predict", files={"file": ("p.jpg", POSTER, "image/jpeg")}, timeout=30)
        assert r.status_code == 200 and len(r.json()["genres"]) == len(predictor.genres)
    finally:
        proc.terminate()
        proc.wait(10)
