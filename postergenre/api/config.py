"""The API's settings: one frozen dataclass, from arguments or the environment (``postergenre serve``)."""
from __future__ import annotations

from dataclasses import dataclass

from postergenre import settings
__all__ = ["APIConfig", "MiB"]

MiB = 2**20


@dataclass(frozen=True)
class APIConfig:
    max_upload_bytes: int = 15 * MiB    # largest request body (upload or JSON); bigger -> 413
    request_timeout_s: float = 30.0     # deadline for reading the input + the model work; over -> 504
    fetch_timeout_s: float = 10.0       # deadline for fetching a {"url": ...} image
    max_concurrency: int = 2            # model calls running at once (they share the CPU); others queue
    allow_private_urls: bool = False    # fetch from private/loopback addresses (tests, intranets only)
    explain_max_side: int = 720         # Grad-CAM PNGs are at most this many px on the long side (2x
                                        # the model's input; the heatmap has no finer detail)

    @classmethod
    def from_env(cls) -> "APIConfig":
        """Defaults overridden by POSTERGENRE_API_MAX_UPLOAD_MB / _TIMEOUT / _CONCURRENCY (used by
        ``postergenre serve`` so that every uvicorn worker gets the same settings)."""
        def env(name: str, default: float) -> str | float:
            return settings.env(name) or default

        return cls(
            max_upload_bytes=int(float(env(settings.API_MAX_UPLOAD_MB_ENV, cls.max_upload_bytes / MiB)) * MiB),
            request_timeout_s=float(env(settings.API_TIMEOUT_ENV, cls.request_timeout_s)),
            max_concurrency=int(env(settings.API_CONCURRENCY_ENV, cls.max_concurrency)),
        )
