"""``postergenre atlas --data DIR --out weights/atlas.json``: build the Genre Atlas from a dataset folder."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "atlas", help="build the Genre Atlas (per-genre colour/composition statistics) from a dataset folder",
        description="Analyze a sample of a dataset folder (labels.csv + images), predict its genres with the "
                    "model, and write a small JSON of aggregate statistics per genre: typical palette, each "
                    "measure's distribution, decade trends, effect sizes. Per-poster results are cached, so "
                    "an interrupted build resumes. With the model, each genre's probability over every poster of "
                    "--fit-split labelled with it (the brief check's 'reads as Horror more strongly than 72%% of "
                    "Horror posters').",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset folder with labels.csv")
    src.add_argument("--from", dest="from_parquet", metavar="OUT.parquet",
                     help="instead: a `postergenre tag --analyze` output; every row is used (no sampling), "
                          "genres are its labels, else the predicted genres")
    p.add_argument("--out", default=None, help="output JSON (default: atlas.json in the weights folder)")
    p.add_argument("--split", default="train", choices=["train", "val", "test", "all"],
                   help="rows of labels.csv to use (default train)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--per-genre", type=int, default=300, metavar="N",
                       help="up to N posters per genre, each poster once (default 300; 0 = every poster)")
    group.add_argument("--limit", type=int, default=None, metavar="N", help="instead: N posters at random")
    p.add_argument("--no-model", action="store_true", help="skip the model's predictions (no weights needed)")
    p.add_argument("--text", action=argparse.BooleanOptionalAction, default=True,
                   help="read the posters' text (default: on): text coverage is measured with the PP-OCR "
                        "detector, and the model's text channel gets each poster's words from the dataset's "
                        "OCR cache (read once per dataset, shared with `evaluate`). --no-text: neither; faster, "
                        "image-only predictions")
    p.add_argument("--fit-split", default="val", choices=["train", "val", "test", "none"],
                   help="with the model: the split whose posters give each genre's probability distribution (the "
                        "brief check's percentile; default val: held-out posters, which the head was not trained "
                        "on; every poster of it is predicted, cached)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--cache-dir", default=None, help="per-poster cache (default: the postergenre cache folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from postergenre import settings
    from postergenre.look.atlas_build import AtlasConfig, build_atlas
    from postergenre.sources.dataset import load_dataset
    from postergenre.errors import DatasetError

    for name in ("per_genre", "limit"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise DatasetError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    if args.from_parquet:
        return _run_from(args)
    ds = load_dataset(args.data)
    cfg = AtlasConfig(split=None if args.split == "all" else args.split, per_genre=args.per_genre or None,
                      limit=args.limit or None, seed=args.seed, text=args.text,
                      fit_split=None if args.fit_split == "none" else args.fit_split)
    predictor = None
    if not args.no_model:
        import postergenre

        predictor = postergenre.load()
    out = args.out or settings.atlas_path()
    atlas = build_atlas(ds, out, cfg, predictor=predictor, cache_dir=args.cache_dir)
    src = atlas["source"]
    print(f"wrote {out}: {src['posters']} posters ({src['sampling']}, split {args.split}), "
          f"{len(atlas['genres'])} genres, {src['build_seconds']} s"
          + (f"; {src['unreadable']} unreadable poster(s) skipped" if src["unreadable"] else ""))
    return 0


def _run_from(args: argparse.Namespace) -> int:
    from postergenre import settings
    from postergenre.look.atlas_build import AtlasConfig
    from postergenre.catalog.atlas import atlas_from_parquet

    out = args.out or settings.atlas_path()
    cfg = AtlasConfig(split=None if args.split == "all" else args.split, per_genre=None, seed=args.seed)
    atlas = atlas_from_parquet(args.from_parquet, cfg, dest=out)
    src = atlas["source"]
    print(f"wrote {out}: {src['posters']} posters of {args.from_parquet} (genres from {src['genres_from']}), "
          f"{len(atlas['genres'])} genres, {src['build_seconds']} s"
          + (f"; {src['unreadable']} unreadable poster(s) skipped" if src["unreadable"] else ""))
    return 0
