"""What the endpoints are handed with ``Depends``: the process's ModelState and, from it, the config,
the Predictor and the Genre Atlas. Tests override any of them with ``app.dependency_overrides``."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import Depends, Request

from postergenre.api.config import APIConfig
from postergenre.errors import WeightsError
from postergenre.look.atlas import Atlas
from postergenre.model.predictor import Predictor

__all__ = ["ModelState", "get_state", "get_config", "get_predictor", "get_atlas"]


class ModelState:
    """The process's one Predictor (loaded once, on demand or in the lifespan), the Genre Atlas, and
    the two bounded thread pools that do all model work: ``model_pool`` (predict / analyze,
    ``max_concurrency`` threads) and ``gradcam_pool`` (one thread: Grad-CAM hooks the one shared
    PyTorch model). Few, reused threads keep glibc's per-thread malloc arenas few too."""

    def __init__(self, weights: str | Path | None, config: APIConfig):
        self.weights, self.config = weights, config
        self._predictor: Predictor | None = None
        self._load_lock = threading.Lock()
        self.model_pool = ThreadPoolExecutor(config.max_concurrency, thread_name_prefix="postergenre-model")
        self.gradcam_pool = ThreadPoolExecutor(1, thread_name_prefix="postergenre-gradcam")
        self.atlas: Atlas | None = None

    def predictor(self) -> Predictor:
        if self._predictor is None:
            with self._load_lock:
                if self._predictor is None:
                    import postergenre

                    self._predictor = postergenre.load(self.weights)  # WeightsError -> 503
        return self._predictor

    def load_atlas(self) -> Atlas | None:
        """The Genre Atlas next to the weights, or None when it was not built."""
        from postergenre.look.atlas import load_atlas

        try:
            return load_atlas(Path(self.weights) / "atlas.json" if self.weights else None)
        except WeightsError:
            return None

    def shutdown(self) -> None:
        for pool in (self.model_pool, self.gradcam_pool):
            pool.shutdown(wait=False, cancel_futures=True)


def get_state(request: Request) -> ModelState:
    return request.app.state.model


def get_config(state: ModelState = Depends(get_state)) -> APIConfig:
    """The app's APIConfig (override in tests: ``app.dependency_overrides[get_config] = ...``)."""
    return state.config


def get_predictor(state: ModelState = Depends(get_state)) -> Predictor:
    """The shared Predictor (override in tests: ``app.dependency_overrides[get_predictor] = ...``)."""
    return state.predictor()


def get_atlas(state: ModelState = Depends(get_state)) -> Atlas | None:
    """The Genre Atlas loaded at startup, or None when it is not installed."""
    return state.atlas
