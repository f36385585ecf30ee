"""``POST /v1/check?genre=Horror[&genre=Comedy]``: the brief check (``postergenre.compare.check``) of the
posted poster against the genre(s) it is meant to sell. Same body rules as ``/v1/predict``."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from postergenre.api.config import APIConfig
from postergenre.api.dependencies import ModelState, get_atlas, get_config, get_predictor, get_state
from postergenre.api.gate import Deadline
from postergenre.api.inputs import ERRORS, POSTER_BODY, decode_for_model, on_poster
from postergenre.api.similar import catalog_index
from postergenre.look.atlas import Atlas
from postergenre.model.predictor import Predictor

__all__ = ["router"]

router = APIRouter(prefix="/v1")


@router.post("/check", tags=["model"], responses=ERRORS, openapi_extra=POSTER_BODY)
async def check(request: Request,
                genre: list[str] = Query(..., description="the intended genre; repeat for two "
                                         "(?genre=Horror&genre=Comedy)"),
                heatmaps: bool = Query(False, description="include the heatmaps (the intended genres' own and "
                                       "the competitors' contrast maps) as base64 PNGs"),
                anyway: bool = Query(False, description="for an image that does not look like a poster, still "
                                     "compute competitors, words, look and heatmaps (no verdict either way)"),
                alpha: float = Query(0.5, ge=0.0, le=1.0, description="heatmap opacity"),
                predictor: Predictor = Depends(get_predictor), atlas: Atlas | None = Depends(get_atlas),
                config: APIConfig = Depends(get_config), state: ModelState = Depends(get_state)) -> dict:
    """Does the poster say its genre? For each intended genre: calibrated probability, rank, percentile
    among the genre's own posters and a verdict in words (``verdict`` is null, with ``warning`` set, for an
    image that does not look like a poster); the genres that compete with it; the words read on the poster
    that push towards or away from it; its measures and colours outside the genre's usual range; with a
    catalog index, the genre's posters that look like it. ``limits`` says what the check cannot know."""
    from postergenre.compare.check import check_poster, intended_genres

    deadline = Deadline(config)
    genres = intended_genres(predictor, genre)  # an unknown genre: 422 with the list, before any work
    index = catalog_index(request.app, predictor)
    result, source = await on_poster(
        request, config, deadline, state.gradcam_pool, lambda data: decode_for_model(data, config, predictor),
        lambda image: check_poster(predictor, image, genres, atlas=atlas, index=index, heatmaps=heatmaps,
                                   anyway=anyway))
    result.prediction.source = source
    return {"model": predictor.name, **result.to_dict(heatmaps=heatmaps, alpha=alpha)}
