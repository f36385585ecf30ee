"""``create_app()``: the FastAPI app, its lifespan (atlas, model warm-up), middleware, error handlers
and the routers of ``routes`` (FastAPI's "bigger applications" layout)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI

from postergenre import settings
from postergenre.api.check import router as check_router
from postergenre.api.config import APIConfig
from postergenre.api.dependencies import ModelState
from postergenre.api.docs import install_docs
from postergenre.api.errors import install_error_handlers
from postergenre.api.middleware import BodySizeLimit
from postergenre.api.routes import router, service
from postergenre.errors import WeightsError

__all__ = ["create_app"]


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
        state.shutdown()

    app = FastAPI(title="postergenre API", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Read a movie poster: ranked genres, colour and composition, Grad-CAM heatmaps. "
                              "Send the poster as a multipart `file`, as JSON `{\"url\": ...}`, or as the raw image.")
    app.state.model = state
    app.add_middleware(BodySizeLimit, max_bytes=config.max_upload_bytes)
    install_error_handlers(app)
    app.include_router(service)
    app.include_router(router)
    app.include_router(check_router)  # POST /v1/check: the brief check
    install_docs(app)   # /docs and /redoc from package assets (offline), GET / -> /docs
    index = settings.env(settings.INDEX_ENV)
    if index:  # a similar-poster index: POST /v1/similar
        from postergenre.api.similar import add_similar  # LanceDB only when an index is configured

        add_similar(app, index)
    return app


def _warm_up(state: ModelState) -> None:
    """Load the model and run one prediction so the first request does not pay for lazy setup; Grad-CAM's
    own model follows in a low-priority background thread."""
    from PIL import Image

    predictor = state.predictor()
    predictor.predict(Image.new("RGB", (182, 268), (90, 60, 40)))
    predictor.warm_up()  # Grad-CAM's model (the fp32 graph of an int8 predictor) and the text model, in the background


def _version() -> str:
    from postergenre import __version__
    return __version__
