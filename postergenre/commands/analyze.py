"""``postergenre analyze POSTER``: palette and composition measures of one poster."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", help="colour palette and composition measures of a poster",
        description="Dominant colours (k-means in CIELAB) and colour/composition measures of a poster; "
                    "with --genre, each measure is placed in that genre's range from the Genre Atlas.",
    )
    p.add_argument("poster", help="poster image file or http(s) URL")
    p.add_argument("-k", type=_palette_size, default=6, help="number of palette colours, 1..16 (default 6)")
    p.add_argument("--genre", help="compare with this genre's posters (needs the atlas)")
    p.add_argument("--atlas", help="atlas JSON (default: atlas.json in the weights folder)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _palette_size(text: str) -> int:
    k = int(text) if text.isdigit() else 0
    if not 1 <= k <= 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not a palette size; use a whole number from 1 to 16")
    return k


def run(args: argparse.Namespace) -> int:
    from postergenre.look.analysis import MEASURES, analyze_poster

    source = args.poster
    if source.startswith(("http://", "https://")):
        from postergenre.sources.fetch import fetch_url

        source = fetch_url(source)
    analysis = analyze_poster(source, k=args.k)
    comparisons = []
    if args.genre:
        from postergenre.look.atlas import compare_analysis, load_atlas

        comparisons = compare_analysis(load_atlas(args.atlas), args.genre, analysis)
    if args.json:
        out = analysis.to_dict()
        if args.genre:
            out["comparisons"] = [c.to_dict() for c in comparisons]
        print(json.dumps(out, indent=2))
        return 0
    w, h = analysis.size
    print(f"{args.poster}  ({w}x{h})")
    print("\nPalette")
    for c in analysis.palette:
        print(f"  {c.hex}  {c.share:6.1%}  {c.name}")
    print(f"\nDominant hue: {analysis.dominant_hue}")
    print("\nMeasures")
    for key, value in analysis.measures.items():
        m = MEASURES[key]
        print(f"  {m.label:<24} {m.format(value):>8}   {m.help}")
    for note in analysis.notes:
        print(f"\nnote: {note}")
    if comparisons:
        print(f"\nAgainst {comparisons[0].genre} posters (most unusual first)")
        for c in comparisons:
            print(f"  {c.label:<24} {c.phrase}")
    return 0
