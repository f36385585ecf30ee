"""The REST API (FastAPI): ranked genres, palette and composition, and Grad-CAM heatmaps over HTTP.

    from postergenre.api import create_app
    app = create_app()                       # or: postergenre serve --port 8000

One model per process, loaded in the app's lifespan. The endpoints (``routes``: an ``APIRouter`` with
prefix /v1, plus /healthz) get the config, the predictor and the atlas with ``Depends(get_config)``,
``Depends(get_predictor)``, ``Depends(get_atlas)``; tests swap any of them with
``app.dependency_overrides``. Model work is CPU-bound, so it runs on bounded thread pools
(``gate.run_gated``: ``max_concurrency`` threads; Grad-CAM, which hooks the shared PyTorch model, on
one); every request has a real deadline (work that timed out stops at its next stage), bodies are
capped while they stream in, URLs are fetched with the same safe fetcher as the app, and every error
is JSON: ``{"error": {"code": "...", "message": "..."}}``.

Modules: ``config`` (APIConfig), ``errors`` (error types and handlers), ``middleware`` (body limit),
``dependencies`` (ModelState and the Depends providers), ``gate`` (deadlines, bounded pools),
``inputs`` (reading and decoding the poster), ``routes`` (endpoints), ``app`` (create_app),
``server`` (uvicorn with connection limits). Only ``postergenre serve`` and the tests import this
package; the rest of postergenre never imports FastAPI.

May import anything of the package but commands/; the only folder that imports fastapi.
"""
from postergenre.api.app import create_app
from postergenre.api.config import APIConfig
from postergenre.api.dependencies import get_atlas, get_config, get_predictor, get_state
from postergenre.api.errors import InvalidRequest, PayloadTooLarge, RequestTimeout

__all__ = ["APIConfig", "create_app", "get_atlas", "get_config", "get_predictor", "get_state", "InvalidRequest",
           "PayloadTooLarge", "RequestTimeout"]
