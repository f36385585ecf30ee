"""postergenre explain POSTER [--genre G ...] [--top K] [--out heat.png]"""
from __future__ import annotations

import argparse
from pathlib import Path

from postergenre.commands._options import add_precision_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="Grad-CAM heatmap: where the poster raised a genre's score",
                       description="Grad-CAM on the head's logit for each genre, blended over the poster. "
                                   "With several genres, the heatmaps are saved side by side in one image.")
    p.add_argument("poster", help="image file or http(s) URL")
    p.add_argument("--genre", action="append", default=None, help="genre to explain (repeatable; default: the top ones)")
    p.add_argument("--top", type=int, default=3, help="how many top genres when no --genre is given (default 3)")
    p.add_argument("--out", type=Path, default=None,
                   help="output PNG (default: POSTER-NAME_heatmaps.png in the current folder; missing parent "
                        "folders are created; checked before any work)")
    p.add_argument("--alpha", type=float, default=0.6, help="heatmap opacity 0..1 (default 0.6)")
    p.add_argument("--colormap", default="jet", help="heatmap colours: jet (default), turbo, inferno, magma, plasma, viridis or hot")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N")
    add_precision_argument(p)
    p.add_argument("--text", action=argparse.BooleanOptionalAction, default=True,
                   help="read the poster's text (OCR), so the tiles' probabilities and the top genres are the ones "
                        "`predict`, the API and the app give (default: on). --no-text: the image alone, faster; "
                        "the heatmaps are the same either way (they come from the image)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import postergenre

    from postergenre.errors import PosterGenreError
    from postergenre.model.explain import COLORMAPS, explain
    from postergenre.evaluation.explain_sheet import heatmap_sheet
    from postergenre.sources.fetch import fetch_url
    from postergenre.sources.images import load_image
    from postergenre.commands._output import check_writable, display_name

    if args.colormap not in COLORMAPS:
        raise PosterGenreError(f"Unknown --colormap {args.colormap!r}: use one of {', '.join(COLORMAPS)}.")
    out = check_writable(args.out or default_out(args.poster))  # before any work
    src = fetch_url(args.poster) if args.poster.startswith(("http://", "https://")) else Path(args.poster)
    poster = load_image(src)
    predictor = postergenre.load(args.weights, device=args.device, precision=args.precision)
    maps = explain(predictor, poster, args.genre, top_k=args.top, text=args.text)  # the maps need no OCR (--no-text)
    sheet = heatmap_sheet(poster, maps, alpha=args.alpha, colormap=args.colormap,  # labelled tiles
                          tile_height=min(poster.height, 720))
    try:
        sheet.save(out)
    except (OSError, ValueError) as e:  # unwritable place, or an ending Pillow cannot save
        raise PosterGenreError(f"--out {display_name(out)} cannot be written ({getattr(e, 'strerror', None) or e}); "
                               "choose another file ending in .png.") from None
    for h in maps:
        print(f"{h.genre:<16} {h.probability:6.1%}")
    print(f"wrote {display_name(out)} (poster, then {', '.join(h.genre for h in maps)}, left to right)")
    if predictor.text_model is not None and not args.text:
        print("probabilities from the image alone (--no-text); without it the poster's text is read too, as "
              "`predict` does")
    return 0


def default_out(poster: str) -> Path:
    """``<poster's name>_heatmaps.png`` in the current folder (a URL's last path part, else "poster")."""
    from urllib.parse import urlsplit

    stem = Path(urlsplit(poster).path if poster.startswith(("http://", "https://")) else poster).stem
    return Path(f"{stem or 'poster'}_heatmaps.png")
