"""The endpoints: ``router`` (prefix /v1: predict, analyze, explain, genres) and ``service`` (/healthz).
Everything they use comes in with ``Depends`` (config, predictor, atlas), so tests can override it."""
from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from postergenre.api.config import APIConfig
from postergenre.api.dependencies import ModelState, get_atlas, get_config, get_predictor, get_state
from postergenre.api.errors import ErrorBody
from postergenre.api.gate import Deadline
from postergenre.api.inputs import ERRORS, POSTER_BODY, decode_for_model, on_poster, overlay_copy
from postergenre.errors import WeightsError
from postergenre.look.atlas import Atlas
from postergenre.model.predictor import Predictor

__all__ = ["router", "service", "PredictionOut"]

router = APIRouter(prefix="/v1")
service = APIRouter()


class GenreScoreOut(BaseModel):
    genre: str
    probability: float             # calibrated on held-out posters
    confidence: str | None = None  # very likely / likely / possible / unlikely
    threshold: float | None = None  # the probability this genre needed at its rank; null when ranked below
                                    # the headline rule's max_genres (no probability would put it there)
    predicted: bool                # in the headline
    logit: float | None = None     # the head's raw logit


class PredictionOut(BaseModel):
    model: str
    source: str | None
    looks_like_poster: bool | None = None  # the poster check's verdict (None: weights without the check)
    poster_score: float | None = None      # share of real val posters that look less like a poster
    warning: str | None = None             # set when the image does not look like a poster
    predicted: list[str]
    summary: str
    genres: list[GenreScoreOut]
    text: list[str] | None = None   # text lines read from the poster's pixels (OCR); null when OCR is off
    text_words: dict[str, list[dict[str, Any]]] = {}  # top genres -> [{word, contribution}] of the text model


@service.get("/healthz", tags=["service"], responses={503: {"model": ErrorBody}})
def healthz(predictor: Predictor = Depends(get_predictor), atlas: Atlas | None = Depends(get_atlas)) -> dict:
    """Readiness: 200 once the model is loaded, 503 (with the reason) when it cannot be."""
    return {"status": "ok", "model": predictor.name, "genres": len(predictor.genres),
            "backend": getattr(predictor, "backend", None), "atlas": atlas is not None}


@router.get("/genres", tags=["model"], responses=ERRORS)
def genres(predictor: Predictor = Depends(get_predictor)) -> dict:
    """The genres the model predicts, in model order, with their TMDB ids, and the rule that picks a
    poster's headline genres (``decision_rule``): the top-ranked genre when its calibrated probability
    reaches ``top_min``, then each next one in rank order while it reaches ``cutoff``, at most
    ``max_genres`` (the rule ``/v1/predict`` applies: the poster's text read when the model has a text
    channel). A genre has no threshold of its own: what it needs depends on its rank."""
    from postergenre.genres import genre_by_name

    return {"model": predictor.name, "decision_rule": predictor.trust().rule.to_dict(),
            "genres": [{"genre": g, "tmdb_id": genre_by_name(g).id} for g in predictor.genres]}


@router.post("/predict", tags=["model"], response_model=PredictionOut, responses=ERRORS, openapi_extra=POSTER_BODY)
async def predict(request: Request, predictor: Predictor = Depends(get_predictor), config: APIConfig = Depends(get_config),
                  state: ModelState = Depends(get_state)) -> dict:
    """Every genre ranked by calibrated probability, the headline's genres marked, and whether the image
    looks like a movie poster at all (``looks_like_poster``, ``poster_score``, ``warning``)."""
    pred, source = await on_poster(request, config, Deadline(config), state.model_pool,
                                   lambda data: decode_for_model(data, config, predictor), predictor.predict)
    pred.source = source
    return {"model": predictor.name, **pred.to_dict()}


@router.post("/analyze", tags=["analysis"], responses=ERRORS, openapi_extra=POSTER_BODY)
async def analyze(request: Request, genre: str | None = Query(None, description="also place each measure "
                  "in this genre's range (Genre Atlas), e.g. Horror"), config: APIConfig = Depends(get_config),
                  atlas: Atlas | None = Depends(get_atlas), state: ModelState = Depends(get_state)) -> dict:
    """Palette (dominant colours) and composition measures; with ``genre``, how they compare with it."""
    from postergenre.look.analysis import analyze_poster
    from postergenre.look.atlas import compare_analysis
    from postergenre.sources.images import load_image

    deadline = Deadline(config)
    if genre is not None:
        if atlas is None:
            raise WeightsError("the Genre Atlas (atlas.json) is not installed on this server; "
                               "call /v1/analyze without ?genre=")
        genre = atlas.genre_name(genre)  # UnknownGenreError -> 422 before any work
    analysis, source = await on_poster(request, config, deadline, state.model_pool,
                                       lambda data: load_image(data, max_bytes=config.max_upload_bytes),
                                       analyze_poster)
    out = {"source": source, **analysis.to_dict()}
    if genre is not None:
        out["genre"] = genre
        out["compared"] = [c.to_dict() for c in compare_analysis(atlas, genre, analysis)]
    return out


@router.post("/explain", tags=["model"], openapi_extra=POSTER_BODY,
             responses={**ERRORS, 200: {"content": {"image/png": {}}, "description": "the heatmap over the poster "
                                        "(at most explain_max_side px); headers X-Genre and X-Probability"}})
async def explain(request: Request, predictor: Predictor = Depends(get_predictor),
                  genre: str | None = Query(None, description="genre to explain (default: the top one)"),
                  alpha: float = Query(0.45, ge=0.0, le=1.0, description="heatmap opacity"),
                  config: APIConfig = Depends(get_config), state: ModelState = Depends(get_state)) -> Response:
    """Grad-CAM heatmap (PNG) of where the poster drives the model towards ``genre``."""
    deadline = Deadline(config)
    if genre is not None:
        genre = predictor.genres[predictor.genre_index(genre)]  # UnknownGenreError -> 422 before any work
    (heatmap, png), _ = await on_poster(request, config, deadline, state.gradcam_pool,
                                        lambda data: decode_for_model(data, config, predictor),
                                        lambda image: _explain_png(predictor, image, genre, alpha, config))
    return Response(png, media_type="image/png", headers={
        "X-Genre": heatmap.genre, "X-Probability": f"{heatmap.probability:.6f}"})


def _explain_png(predictor: Predictor, image: Any, genre: str | None, alpha: float,
                 config: APIConfig) -> tuple[Any, bytes]:
    """(the Heatmap, the poster with it blended on top as PNG, at most explain_max_side px); ``genre``
    None = the most probable one. The prediction (text included) is /v1/predict's, on the same decode;
    the map is computed and drawn on the small copy (memory bounded by its size, not the upload's)."""
    from postergenre.model.explain import explain

    small = overlay_copy(image, config)
    heatmap = explain(predictor, small, genres=[genre] if genre else None, top_k=1,
                      prediction=predictor.predict(image))[0]
    buf = io.BytesIO()
    heatmap.overlay(small, alpha).save(buf, "PNG")
    return heatmap, buf.getvalue()
