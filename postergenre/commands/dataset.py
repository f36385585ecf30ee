"""``postergenre dataset tmdb --out DIR [--per-genre N] [--since YEAR] [--size w500]``: build a dataset folder."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from postergenre.sources.tmdb_dataset import TMDBDatasetConfig

    defaults = TMDBDatasetConfig()
    p = sub.add_parser("dataset", help="build a dataset folder (labels.csv + images) from TMDB",
                       description="Build training/evaluation data for `postergenre train` / `evaluate`.")
    kinds = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    t = kinds.add_parser(
        "tmdb", help="the N most popular films of each genre, from TMDB (needs TMDB_API_TOKEN or TMDB_API_KEY)",
        description="Downloads the posters of the N most popular films of each TMDB genre (deduplicated, "
                    "labelled with all their genres, split 80/10/10 by a hash of the TMDB id) into DIR/images/ "
                    "and writes DIR/labels.csv. Interrupted builds resume when re-run with the same options. "
                    "Credentials: TMDB_API_TOKEN (API Read Access Token) or TMDB_API_KEY in the environment. "
                    "TMDB's terms of use restrict some uses of its data (e.g. training models): check them first.")
    t.add_argument("--out", required=True, type=Path, help="dataset folder to create or resume")
    t.add_argument("--per-genre", type=int, default=defaults.per_genre, metavar="N",
                   help=f"most popular films taken per genre (default {defaults.per_genre})")
    t.add_argument("--since", type=int, default=None, metavar="YEAR", help="only films released in or after YEAR")
    t.add_argument("--size", default=defaults.size, help=f"poster size, e.g. w185, w342, w500 (default {defaults.size})")
    t.add_argument("--genres", default=None, metavar="LIST",
                   help="comma-separated TMDB genre names to draw films from (default: the 17 the model predicts; "
                        "training ignores History and TV Movie)")
    t.add_argument("--max-requests", type=int, default=defaults.max_requests, metavar="N",
                   help=f"at most N API requests per {defaults.per_seconds:g} s (default {defaults.max_requests})")
    t.add_argument("--cache-dir", type=Path, default=None,
                   help="on-disk cache of TMDB answers (default: ~/.cache/postergenre/tmdb)")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from postergenre.errors import DatasetError
    from postergenre import settings
    from postergenre.sources.tmdb import TMDBClient
    from postergenre.sources.tmdb_dataset import TMDBDatasetConfig, build_tmdb_dataset
    from postergenre.sources.tmdb_http import RateLimiter

    if args.max_requests < 1:
        raise DatasetError(f"--max-requests must be at least 1, not {args.max_requests}")
    cfg = TMDBDatasetConfig(per_genre=args.per_genre, since=args.since, size=args.size,
                            max_requests=args.max_requests)
    if args.genres:
        cfg.genres = tuple(g.strip() for g in args.genres.split(",") if g.strip())
    client = TMDBClient.from_env(cache=args.cache_dir or settings.cache_dir() / "tmdb",
                                 rate_limiter=RateLimiter(cfg.max_requests, cfg.per_seconds))
    client.poster_url("/check.jpg", cfg.size)   # fails fast on bad credentials or an unknown --size
    report = build_tmdb_dataset(args.out, cfg, client)
    print(report.summary())
    for movie_id, reason in list(report.failed.items())[:5]:
        print(f"  poster of TMDB film {movie_id} failed: {reason}")
    print(f"next: postergenre train --data {args.out} --out weights-tmdb/ && "
          f"postergenre evaluate --data {args.out} --weights weights-tmdb/")
    return 0
