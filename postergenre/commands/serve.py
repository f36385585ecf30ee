"""postergenre serve [--host 127.0.0.1] [--port 8000] [--workers 1]: the REST API under uvicorn."""
from __future__ import annotations

import argparse
import os

from postergenre.commands._options import add_precision_argument


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
    p.add_argument("--header-timeout", type=float, default=None,
                   help="close a connection whose request head is not complete this many seconds after it "
                        "connected or got its last response (slow or idle clients; default 10)")
    p.add_argument("--keep-alive", type=int, default=5,
                   help="close an idle keep-alive connection after this many seconds (uvicorn's "
                        "timeout_keep_alive; default 5)")
    p.add_argument("--max-connections", type=int, default=None,
                   help="answer 503 beyond this many concurrent connections (uvicorn's limit_concurrency; "
                        "default no limit)")
    p.add_argument("--index", default=None, help="similar-poster index (`postergenre index`): enables POST /v1/similar")
    add_precision_argument(p)
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from postergenre.errors import PosterGenreError

    if args.workers < 1 or (args.concurrency is not None and args.concurrency < 1):
        raise PosterGenreError("--workers and --concurrency must be at least 1")
    if (args.header_timeout is not None and args.header_timeout <= 0) or args.keep_alive < 1:
        raise PosterGenreError("--header-timeout must be over 0 and --keep-alive at least 1 (seconds)")
    from postergenre import settings as S
    from postergenre.api.server import LimitedH11Protocol, limit_malloc_arenas

    limit_malloc_arenas()  # before any model thread starts (and for every worker process)
    # Settings travel as environment variables so that every worker process builds the same app.
    settings = {S.WEIGHTS_ENV: args.weights, S.API_MAX_UPLOAD_MB_ENV: args.max_upload_mb,
                S.API_TIMEOUT_ENV: args.timeout, S.API_CONCURRENCY_ENV: args.concurrency,
                S.API_HEADER_TIMEOUT_ENV: args.header_timeout, S.INDEX_ENV: args.index,
                S.PRECISION_ENV: args.precision}
    os.environ.update({k: str(v) for k, v in settings.items() if v is not None})
    if args.weights:  # fail now with a clear message rather than in every worker
        from postergenre.model.weights import read_weights

        read_weights(args.weights)
    uvicorn.run("postergenre.api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, http=LimitedH11Protocol,
                timeout_keep_alive=args.keep_alive, limit_concurrency=args.max_connections)
    return 0
