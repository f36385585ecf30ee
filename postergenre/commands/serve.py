"""postergenre serve [--host 127.0.0.1] [--port 8000] [--workers 1]: the REST API under uvicorn."""
from __future__ import annotations

import argparse
import os


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the REST API (FastAPI + uvicorn); docs at /docs",
                       description="Serve POST /v1/predict, /v1/analyze, /v1/explain, GET /v1/genres and /healthz. "
                                   "Each worker process loads one model; requests share it.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, one model each (default 1)")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--max-upload-mb", type=float, default=None, help="largest request body in MiB (default 15)")
    p.add_argument("--timeout", type=float, default=None, help="per-request deadline in seconds (default 30)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="model calls running at once per worker (default 2; others queue)")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..errors import PosterGenreError

    if args.workers < 1 or (args.concurrency is not None and args.concurrency < 1):
        raise PosterGenreError("--workers and --concurrency must be at least 1")
    # Settings travel as environment variables so that every worker process builds the same app.
    settings = {"POSTERGENRE_WEIGHTS": args.weights, "POSTERGENRE_API_MAX_UPLOAD_MB": args.max_upload_mb,
                "POSTERGENRE_API_TIMEOUT": args.timeout, "POSTERGENRE_API_CONCURRENCY": args.concurrency}
    os.environ.update({k: str(v) for k, v in settings.items() if v is not None})
    if args.weights:  # fail now with a clear message rather than in every worker
        from ..model import read_weights

        read_weights(args.weights)
    uvicorn.run("postergenre.api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level)
    return 0
