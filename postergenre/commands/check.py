"""postergenre check POSTER --genre Horror [--genre Comedy] [--json] [--report check.html]"""
from __future__ import annotations

import argparse
from pathlib import Path

from postergenre.commands._options import add_precision_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="does a poster say the genre it is meant to sell? (the brief check)",
        description="Check one poster against the genre(s) it should sell: the genre's calibrated probability, "
                    "rank and percentile among the genre's own posters with a verdict in words; the genres that "
                    "compete with it (contrast heatmaps in --report / --json --heatmaps); the words read on it "
                    "that push towards or away from the genre; its look against the genre's usual range; and, "
                    "with an index, catalog posters of the genre that look like it. An image that does not look "
                    "like a poster gets the warning and no verdict.",
        epilog="The check reads what the model learned from 1970-2017 IMDb posters; it knows nothing of box "
               "office, taste or legal questions.")
    p.add_argument("poster", metavar="POSTER", help="image file or http(s) URL")
    p.add_argument("--genre", action="append", required=True, metavar="GENRE",
                   help="the intended genre (give it twice for two, e.g. --genre Horror --genre Comedy)")
    p.add_argument("--json", action="store_true", help="print every figure as JSON instead of text")
    p.add_argument("--heatmaps", action="store_true", help="with --json: include the heatmaps as base64 PNGs")
    p.add_argument("--report", type=Path, metavar="FILE.html",
                   help="also write a self-contained, printable HTML report (verdict first, images inline)")
    p.add_argument("--anyway", action="store_true",
                   help="for an image that does not look like a poster, still show competitors, words, look and "
                        "heatmaps (the verdict stays withheld)")
    p.add_argument("--index", default=None, metavar="INDEX",
                   help="a catalog index (`postergenre index`) for example posters of the genre "
                        "(default: $POSTERGENRE_INDEX when set)")
    p.add_argument("--atlas", default=None, help="Genre Atlas JSON (default: atlas.json beside the weights)")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when available)")
    add_precision_argument(p)
    p.add_argument("--no-text", action="store_true", help="skip reading the poster's text (OCR): no word analysis")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    import postergenre
    from postergenre import settings
    from postergenre.commands._output import check_writable, display_name
    from postergenre.compare.check import check_poster, intended_genres
    from postergenre.errors import WeightsError
    from postergenre.look.atlas import load_atlas

    report = check_writable(args.report, "--report") if args.report else None  # before any work
    predictor = postergenre.load(args.weights, device=args.device, precision=args.precision)
    genres = intended_genres(predictor, args.genre)  # an unknown genre is refused before the poster is read
    source = args.poster
    if source.startswith(("http://", "https://")):
        from postergenre.sources.fetch import fetch_url

        image = fetch_url(source)
    else:
        image = Path(source)
    try:
        atlas = load_atlas(args.atlas)
    except WeightsError:
        if args.atlas:
            raise
        atlas = None
    index = None
    index_path = args.index or settings.env(settings.INDEX_ENV)
    if index_path:
        from postergenre.catalog.index import PosterIndex

        index = PosterIndex(index_path, predictor=predictor)
    prediction = predictor.predict(image, text=False if args.no_text else None)
    prediction.source = display_name(source if isinstance(image, bytes) else Path(source).name)
    result = check_poster(predictor, image, genres, atlas=atlas, index=index, prediction=prediction,
                          heatmaps=bool(report or args.heatmaps), anyway=args.anyway)
    if report:
        from postergenre.compare.check_report import check_html

        report.write_text(check_html(result), encoding="utf-8")
    if args.json:
        print(json.dumps(result.to_dict(heatmaps=args.heatmaps), indent=2))
    else:
        print(_text(result))
    if report:
        import sys

        print(f"wrote {display_name(report)}", file=sys.stderr)
    return 0


def _text(result) -> str:
    """The check as plain text: the verdict first, then each intended genre's details."""
    from postergenre.compare.check import LIMITS

    pred = result.prediction
    lines = [f"{pred.source or 'poster'} · intended: {' + '.join(result.intended)}", result.headline]
    if result.flagged and pred.poster_score is not None:
        lines.append(f"  ! poster score {pred.poster_score:.3f}: the genres are a guess; use --anyway to see the rest")
    n = len(pred.scores)
    for g in result.genres:
        f = g.fit
        lines.append(f"  {f.genre}: {f.probability:.0%}, rank {f.rank} of {n}" + (f" · {f.sentence}" if f.sentence else ""))
        for c in g.competitors:
            lines.append(f"    competes: {c.genre} {c.probability:.0%} ({'ranks above' if c.outranks else 'close behind'})")
        if g.words_for or g.words_against:
            lines.append("    words towards it: " + (", ".join(f"{w} (+{v:.2f})" for w, v in g.words_for) or "none")
                         + "; away: " + (", ".join(f"{w} ({v:.2f})" for w, v in g.words_against) or "none"))
        for note in g.look:
            lines.append(f"    look: {note.label} {note.value_text}: {note.phrase} ({note.typical_text})")
        for colour in g.colours:
            lines.append(f"    colour {colour.name}: {colour.phrase}")
        for e in g.examples:
            lines.append(f"    like it in your catalog: {e.path} (distance {e.distance:.3f})")
    lines += [f"  note: {note}" for note in result.notes]
    lines.append(f"What the check cannot know: {LIMITS}")
    return "\n".join(lines)
