"""The FastAPI app: ``create_app()`` and its endpoints (predict, analyze, explain, genres, healthz)."""
from __future__ import annotations

import io
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import WeightsError
from .guards import (APIConfig, BodySizeLimit, ErrorBody, InvalidRequest, ModelState, RequestTimeout, get_predictor,
                     install_error_handlers, run_gated, timeout_message)

__all__ = ["create_app", "PredictionOut"]

class GenreScoreOut(BaseModel):
    genre: str
    probability: float
    threshold: float
    predicted: bool


class PredictionOut(BaseModel):
    model: str
    source: str | None
    predicted: list[str]
    summary: str
    genres: list[GenreScoreOut]


class URLInput(BaseModel):
    url: str


# --- reading the poster from the request ------------------------------------------------------------

POSTER_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}},
    "application/json": {"schema": {"type": "object", "required": ["url"],
                                    "properties": {"url": {"type": "string", "format": "uri",
                                                           "example": "https://example.com/poster.jpg"}}}},
    "image/*": {"schema": {"type": "string", "format": "binary"}},
}}}
ERRORS = {code: {"model": ErrorBody} for code in (400, 413, 415, 422, 503, 504)}


async def read_poster(request: Request, state: ModelState, deadline: float) -> tuple[bytes, str | None]:
    """(encoded image bytes, source name) from a multipart ``file``, a JSON ``{"url": ...}`` (fetched
    safely) or a raw image body; RequestTimeout when the upload or the fetch runs past ``deadline``."""
    try:
        with anyio.fail_after(max(0.0, deadline - time.monotonic())):
            return await _read_poster(request, state)
    except TimeoutError:
        raise RequestTimeout(timeout_message(state)) from None


async def _read_poster(request: Request, state: ModelState) -> tuple[bytes, str | None]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidRequest("the form has no file field named 'file'; send the poster as "
                                     "multipart/form-data with the field name 'file'")
            return await upload.read(), upload.filename
    if ctype == "application/json":
        try:
            url = URLInput.model_validate_json(await request.body()).url
        except ValueError:
            raise InvalidRequest('the JSON body must be {"url": "https://..."} naming a poster image') from None
        cfg = state.config
        return await anyio.to_thread.run_sync(lambda: _fetch(url, cfg), abandon_on_cancel=True), url
    if ctype.startswith("image/") or ctype == "application/octet-stream":
        return await request.body(), None
    raise StarletteHTTPException(415, f"content type {ctype or '(none)'!r} is not accepted; send multipart/form-data "
                                      'with a file field, JSON {"url": ...}, or the image itself (image/*)')


def _fetch(url: str, cfg: APIConfig) -> bytes:
    from ..fetch import fetch_url

    return fetch_url(url, max_bytes=cfg.max_upload_bytes, timeout=cfg.fetch_timeout_s,
                     allow_private=cfg.allow_private_urls)


def _decode(data: bytes, cfg: APIConfig):
    from ..images import load_image

    return load_image(data, max_bytes=cfg.max_upload_bytes)


# --- the app ---------------------------------------------------------------------------------------

def create_app(weights: str | Path | None = None, config: APIConfig | None = None, *, preload: bool = True) -> FastAPI:
    """The API app. ``weights``: a weights folder (default: the bundled/$POSTERGENRE_WEIGHTS one).
    ``preload``: load the model (and warm it up) at startup rather than on the first request."""
    config = config or APIConfig.from_env()
    state = ModelState(weights, config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.atlas = await anyio.to_thread.run_sync(state.load_atlas)
        if preload:
            try:
                await anyio.to_thread.run_sync(_warm_up, state)
            except WeightsError:
                pass  # the app still starts: /healthz and every model endpoint answer 503 with the reason
        yield

    app = FastAPI(title="postergenre API", version=_version(), lifespan=lifespan,
                  description="Read a movie poster: ranked genres, colour and composition, Grad-CAM heatmaps. "
                              "Send the poster as a multipart `file`, as JSON `{\"url\": ...}`, or as the raw image.")
    app.state.model = state
    app.add_middleware(BodySizeLimit, max_bytes=config.max_upload_bytes)
    install_error_handlers(app)

    @app.get("/healthz", tags=["service"], responses={503: {"model": ErrorBody}})
    def healthz(predictor: Any = Depends(get_predictor)) -> dict:
        """Readiness: 200 once the model is loaded, 503 (with the reason) when it cannot be."""
        return {"status": "ok", "model": predictor.name, "genres": len(predictor.genres),
                "backend": getattr(predictor, "backend", None), "atlas": state.atlas is not None}

    @app.get("/v1/genres", tags=["model"], responses=ERRORS)
    def genres(predictor: Any = Depends(get_predictor)) -> dict:
        """The genres the model predicts, in model order, with their decision thresholds and TMDB ids."""
        from ..genres import genre_by_name

        return {"model": predictor.name, "genres": [
            {"genre": g, "threshold": round(float(t), 6), "tmdb_id": genre_by_name(g).id}
            for g, t in zip(predictor.genres, predictor.thresholds)]}

    @app.post("/v1/predict", tags=["model"], response_model=PredictionOut, responses=ERRORS, openapi_extra=POSTER_BODY)
    async def predict(request: Request, predictor: Any = Depends(get_predictor)) -> dict:
        """Every genre ranked by probability, each with its threshold and whether it clears it."""
        deadline = time.monotonic() + config.request_timeout_s
        data, source = await read_poster(request, state, deadline)
        pred = await run_gated(state, state.slots, lambda: predictor.predict(_decode(data, config)), deadline=deadline)
        pred.source = source
        return {"model": predictor.name, **pred.to_dict()}

    @app.post("/v1/analyze", tags=["analysis"], responses=ERRORS, openapi_extra=POSTER_BODY)
    async def analyze(request: Request, genre: str | None = Query(None, description="also place each measure "
                      "in this genre's range (Genre Atlas), e.g. Horror")) -> dict:
        """Palette (dominant colours) and composition measures; with ``genre``, how they compare with it."""
        from ..analysis import analyze_poster
        from ..atlas import compare_analysis

        deadline = time.monotonic() + config.request_timeout_s
        if genre is not None:
            if state.atlas is None:
                raise WeightsError("the Genre Atlas (atlas.json) is not installed on this server; "
                                   "call /v1/analyze without ?genre=")
            genre = state.atlas.genre_name(genre)  # UnknownGenreError -> 422 before any work
        data, source = await read_poster(request, state, deadline)
        analysis = await run_gated(state, state.slots, lambda: analyze_poster(_decode(data, config)), deadline=deadline)
        out = {"source": source, **analysis.to_dict()}
        if genre is not None:
            out["genre"] = genre
            out["compared"] = [c.to_dict() for c in compare_analysis(state.atlas, genre, analysis)]
        return out

    @app.post("/v1/explain", tags=["model"], openapi_extra=POSTER_BODY,
              responses={**ERRORS, 200: {"content": {"image/png": {}}, "description": "the heatmap over the poster; "
                                                                                  "headers X-Genre and X-Probability"}})
    async def explain(request: Request, predictor: Any = Depends(get_predictor),
                      genre: str | None = Query(None, description="genre to explain (default: the top one)"),
                      alpha: float = Query(0.45, ge=0.0, le=1.0, description="heatmap opacity")) -> Response:
        """Grad-CAM heatmap (PNG) of where the poster drives the model towards ``genre``."""
        deadline = time.monotonic() + config.request_timeout_s
        if genre is not None:
            genre = predictor.genres[predictor.genre_index(genre)]  # UnknownGenreError -> 422 before any work
        data, _ = await read_poster(request, state, deadline)
        heatmap, png = await run_gated(state, state.gradcam_lock, lambda: _explain_png(
            predictor, _decode(data, config), genre, alpha), deadline=deadline)
        return Response(png, media_type="image/png", headers={
            "X-Genre": heatmap.genre, "X-Probability": f"{heatmap.probability:.6f}"})

    return app


def _explain_png(predictor: Any, image: Any, genre: str | None, alpha: float) -> tuple[Any, bytes]:
    """(the Heatmap, the poster with it blended on top as PNG); ``genre`` None = the most probable one."""
    from ..explain import explain

    heatmap = explain(predictor, image, genres=[genre] if genre else None, top_k=1)[0]
    buf = io.BytesIO()
    heatmap.overlay(image, alpha).save(buf, "PNG")
    return heatmap, buf.getvalue()


def _warm_up(state: ModelState) -> None:
    """Load the model and run one prediction so the first request does not pay for lazy setup."""
    from PIL import Image

    state.predictor().predict(Image.new("RGB", (182, 268), (90, 60, 40)))


def _version() -> str:
    from .. import __version__

    return __version__
