"""The REST API (FastAPI): ranked genres, palette and composition, and Grad-CAM heatmaps over HTTP.

    from postergenre.api import create_app
    app = create_app()                       # or: postergenre serve --port 8000

One model per process, loaded in the app's lifespan and handed to the endpoints with
``Depends(get_predictor)`` (tests swap it with ``app.dependency_overrides``). Model work is CPU-bound,
so it runs in worker threads behind a bounded semaphore (Grad-CAM, which hooks the shared PyTorch
model, behind a lock); every request has a deadline, bodies are capped while they stream in, URLs are
fetched with the same safe fetcher as the app, and every error is JSON:
``{"error": {"code": "...", "message": "..."}}``. Only ``postergenre serve`` and the tests import this
module; the rest of the package never imports FastAPI.
"""
from .app import create_app
from .guards import APIConfig, InvalidRequest, PayloadTooLarge, RequestTimeout, get_predictor

__all__ = ["APIConfig", "create_app", "get_predictor", "InvalidRequest", "PayloadTooLarge", "RequestTimeout"]
