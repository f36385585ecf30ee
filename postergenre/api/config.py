"""The API's settings: one frozen dataclass, from arguments or the environment (``postergenre serve``)."""
from __future__ import annotations

import os
from dataclasses import dataclass

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
        env = os.environ.get
        return cls(
            max_upload_bytes=int(float(env("POSTERGENRE_API_MAX_UPLOAD_MB", cls.max_upload_bytes / MiB)) * MiB),
            request_timeout_s=float(env("POSTERGENRE_API_TIMEOUT", cls.request_timeout_s)),
            max_concurrency=int(env("POSTERGENRE_API_CONCURRENCY", cls.max_concurrency)),
        )
