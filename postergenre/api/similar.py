"""``POST /v1/similar``: the catalog posters that look most like the posted one. Mounted only when the
server has a similar-poster index (``POSTERGENRE_INDEX``, or ``postergenre serve --index INDEX``)."""
from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from postergenre.api.config import APIConfig
from postergenre.api.dependencies import ModelState, get_config, get_predictor, get_state
from postergenre.api.gate import Deadline
from postergenre.api.inputs import ERRORS, POSTER_BODY, decode_for_model, on_poster
from postergenre.model.predictor import Predictor

__all__ = ["add_similar", "catalog_index"]


def catalog_index(app: FastAPI, predictor: Predictor) -> Any | None:
    """The server's catalog index (opened once, on first use, with the app's shared Predictor), or None
    when the server has none (``add_similar`` was not called)."""
    state = app.state
    path = getattr(state, "index_path", None)
    if path is None:
        return None
    with state.index_lock:
        if getattr(state, "index", None) is None:
            from postergenre.catalog.index import PosterIndex

            state.index = PosterIndex(path, predictor=predictor)
    return state.index


def add_similar(app: FastAPI, index_path: str) -> None:
    """Add the endpoint to ``app``; the index opens on first use (``catalog_index``)."""
    router = APIRouter(prefix="/v1", tags=["catalog"])
    app.state.index_path, app.state.index_lock, app.state.index = index_path, threading.Lock(), None

    @router.post("/similar", responses=ERRORS, openapi_extra=POSTER_BODY)
    async def similar(request: Request, k: int = Query(10, ge=1, le=100, description="how many posters"),
                      predictor: Predictor = Depends(get_predictor), config: APIConfig = Depends(get_config),
                      state: ModelState = Depends(get_state)) -> dict:
        """The ``k`` nearest posters of the server's catalog index (cosine distance, nearest first)."""
        index = catalog_index(request.app, predictor)
        hits, _ = await on_poster(request, config, Deadline(config), state.model_pool,
                                  lambda data: decode_for_model(data, config, predictor),
                                  lambda image: index.similar(image, k))
        return {"index_size": len(index), "k": k, "similar": [h.to_dict() for h in hits]}

    app.include_router(router)
