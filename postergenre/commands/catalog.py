"""postergenre tag SOURCE --out OUT.parquet | index SOURCE --out INDEX | similar POSTER --index INDEX"""
from __future__ import annotations

import argparse

from postergenre.commands._options import add_precision_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tag", help="tag a catalog (folder, dataset folder or manifest) into Parquet, locally or on Ray",
        description="One row per input: path, predicted genres, summary, one probability column per genre, "
                    "every other field of the prediction, optional palette/composition measures (--analyze) "
                    "and embeddings (--embeddings); unreadable inputs get an error row. OUT is a folder of "
                    "Parquet part files; rerunning skips the inputs already in it (resume).")
    p.add_argument("source", metavar="SOURCE", help="folder (recursive), dataset folder (labels.csv), CSV/Parquet "
                   "manifest with a column of paths or http(s) URLs, or (--engine ray) an s3:// folder")
    p.add_argument("--out", required=True, help="output folder of Parquet files, e.g. catalog.parquet")
    _worker_options(p)
    p.add_argument("--analyze", action="store_true", help="add the palette and composition measures (for the atlas)")
    p.add_argument("--text", action=argparse.BooleanOptionalAction, default=True,
                   help="read each poster's text (default: on): OCR for the model's text channel and, with "
                        "--analyze, the text-coverage measure. --no-text: image alone, about 3-4x the posters per core; "
                        "docs/model-and-trust.md gives the quality both ways")
    p.add_argument("--embeddings", action="store_true", help="add the similarity embedding column")
    p.add_argument("--limit", type=int, default=None, help="tag at most N of the inputs still to do")
    p.set_defaults(func=run_tag)

    p = sub.add_parser("index", help="build a similar-poster index (LanceDB) of a catalog",
                       description="Embed every poster (or reuse a tag output made with --embeddings) and "
                                   "store the vectors in an embedded LanceDB table under INDEX.")
    p.add_argument("source", metavar="SOURCE", help="a tag output (its embeddings are reused when it was made "
                   "with --embeddings, else its posters are read again), or anything `tag` reads")
    p.add_argument("--out", required=True, help="index folder")
    _worker_options(p)
    p.add_argument("--text", action=argparse.BooleanOptionalAction, default=True,
                   help="when the posters are tagged first: read each poster's text for the genres stored "
                        "beside the vectors (default: on). --no-text: image alone, about 3-4x the posters per core; "
                        "the similarity vectors are the same either way")
    p.set_defaults(func=run_index)

    p = sub.add_parser("similar", help="the catalog posters that look most like a poster",
                       description="Nearest posters of an index by cosine distance of their embeddings.")
    p.add_argument("poster", metavar="POSTER", help="image file or http(s) URL")
    p.add_argument("--index", required=True, help="index folder built by `postergenre index`")
    p.add_argument("-k", type=int, default=10, help="how many posters (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_similar)


def _worker_options(p: argparse.ArgumentParser) -> None:
    from postergenre.catalog.tag import TagConfig

    d = TagConfig()
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="local (default) or ray")
    p.add_argument("--address", default=None, help="ray: address of an existing cluster (default: start a local one)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="ray: model actors, each loads the model once (default: the cluster's CPUs / --num-cpus)")
    p.add_argument("--num-cpus", type=float, default=d.num_cpus,
                   help=f"ray: CPUs per actor, also its ONNX Runtime threads (default {d.num_cpus:g})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"posters per model call (default {d.batch_size})")
    p.add_argument("--column", default=None, help="manifest column with the paths/URLs (default: path, file, url...)")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    add_precision_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _configs(args: argparse.Namespace, **worker):
    from postergenre.catalog.tag import TagConfig
    from postergenre.catalog.worker import WorkerConfig
    from postergenre.errors import DatasetError

    for name in ("concurrency", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise DatasetError(f"--{name.replace('_', '-')} must be 1 or more, not {getattr(args, name)}")
    if args.num_cpus <= 0:
        raise DatasetError(f"--num-cpus must be above 0, not {args.num_cpus}")
    tag_cfg = TagConfig(engine=args.engine, batch_size=args.batch_size, concurrency=args.concurrency,
                        num_cpus=args.num_cpus, address=args.address, progress=not args.quiet,
                        limit=getattr(args, "limit", None))
    device = None if args.device == "auto" else args.device
    return tag_cfg, WorkerConfig(weights=args.weights, device=device, precision=args.precision, **worker)


def run_tag(args: argparse.Namespace) -> int:
    import sys

    from postergenre.catalog.sources import resolve_source
    from postergenre.catalog.tag import summary_line, tag

    tag_cfg, wcfg = _configs(args, analyze=args.analyze, text=args.text, embeddings=args.embeddings)
    report = tag(resolve_source(args.source, args.column), args.out, tag_cfg, wcfg)
    print(summary_line(report), file=sys.stderr)
    return 1 if report.tagged and report.errors == report.tagged else 0


def run_index(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from postergenre.catalog.index import build_index
    from postergenre.catalog.sources import part_files, resolve_source

    tag_cfg, wcfg = _configs(args, text=args.text)
    src = args.source if part_files(Path(args.source)) else resolve_source(args.source, args.column)
    info = build_index(src, args.out, tag_cfg, wcfg, progress=not args.quiet)
    print(f"wrote {args.out}: {info['rows']} posters, {info['dim']}-d '{info['embedding']}' embeddings, "
          f"tagging {info['tag_seconds']} s, indexing {info['index_seconds']} s", file=sys.stderr)
    return 0


def run_similar(args: argparse.Namespace) -> int:
    import json

    from postergenre.catalog.index import PosterIndex
    from postergenre.sources.fetch import fetch_url

    poster = fetch_url(args.poster) if args.poster.startswith(("http://", "https://")) else args.poster
    hits = PosterIndex(args.index).similar(poster, args.k)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    for rank, h in enumerate(hits, 1):
        print(f"{rank:>3}. {h.distance:.4f}  {h.path}  {' · '.join(h.predicted) or '-'}"
              + (f"  (labels: {' · '.join(h.labels)})" if h.labels else ""))
    return 0
