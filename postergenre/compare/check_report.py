"""The brief check as one self-contained, printable HTML page (``postergenre check --report``): the
verdict first, then the fit, what competes (with the contrast heatmaps), the words, the look against the
genre and the examples; every image is embedded, so the file opens anywhere without a network.

    html = check_html(result)      # result = check_poster(...)
"""
from __future__ import annotations

import html
from datetime import datetime, timezone

from PIL import Image

from postergenre.compare.check import LIMITS, VERDICTS, BriefCheck, GenreCheck
from postergenre.compare.report import data_uri

__all__ = ["check_html"]

_CSS = """body{font-family:system-ui,sans-serif;margin:20px auto;color:#222;max-width:980px;line-height:1.35}
h1{font-size:1.4em;margin:0 0 2px}h2{font-size:1.15em;margin:14px 0 4px;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:8px 0 3px}.verdict{font-size:1.5em;font-weight:650;margin:8px 0}
.flag{background:#fff3cd;border:1px solid #e0c36a;padding:8px 12px;border-radius:6px;font-size:1.1em}
.top{display:flex;gap:18px;align-items:flex-start}.top img{width:170px;border-radius:4px;flex:none}.top>div{flex:1 1 0}
.maps{display:flex;gap:10px;flex-wrap:wrap}.maps figure{margin:0;width:140px}.maps img{width:140px;border-radius:4px}
figcaption,small{color:#555;font-size:.85em}table{border-collapse:collapse;margin:4px 0 6px}p{margin:4px 0}
td,th{border-bottom:1px solid #e4e4e4;padding:2px 8px;text-align:left;font-size:.9em}ul{margin:4px 0}
.chip{display:inline-block;width:14px;height:14px;border-radius:3px;border:1px solid #8886;vertical-align:middle}
.genre{break-inside:avoid}@media print{@page{margin:12mm}body{margin:0;max-width:none;font-size:10px}
.top img{width:120px}.maps figure,.maps img{width:92px}.verdict{font-size:1.3em}h2{margin-top:8px}}"""


def _rows(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    esc = html.escape
    return ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")


def _genre_section(result: BriefCheck, g: GenreCheck, maps: dict[str, Image.Image]) -> str:
    esc, f = html.escape, g.fit
    parts = [f"<div class='genre'><h2>{esc(g.genre)}</h2><p><b>{esc(f.words or 'no verdict')}</b> · "
             f"probability {f.probability:.0%}, rank {f.rank} of {len(result.prediction.scores)}"
             + (f" · {esc(f.sentence)}" if f.sentence else "") + "</p>"]
    if g.competitors:
        parts.append("<h3>What competes</h3>" + _rows(
            ["genre", "probability", "rank", ""],
            [[esc(c.genre), f"{c.probability:.0%}", str(c.rank), "ranks above" if c.outranks else "close behind"]
             for c in g.competitors]))
    figures = [(g.genre, f"where it says {g.genre}")] + [
        (f"{c.genre} vs {g.genre}", f"where it says {c.genre} rather than {g.genre}") for c in g.competitors]
    shown = [(maps[k], cap) for k, cap in figures if k in maps]
    if shown:
        parts.append("<div class='maps'>" + "".join(
            f"<figure><img src='{data_uri(im, 300)}' alt='{esc(cap)}'><figcaption>{esc(cap)}</figcaption></figure>"
            for im, cap in shown) + "</div>")
    if g.words_for or g.words_against:
        words = ", ".join(f"{esc(w)} (+{c:.2f})" for w, c in g.words_for) or "none"
        against = ", ".join(f"{esc(w)} ({c:.2f})" for w, c in g.words_against) or "none"
        parts.append(f"<h3>Words read on the poster</h3><p>towards {esc(g.genre)}: {words}<br>"
                     f"away from it: {against}</p>")
    if g.look:
        parts.append(f"<h3>Look against {esc(g.genre)} posters</h3>" + _rows(
            ["measure", "this poster", "", f"typical {g.genre}"],
            [[esc(n.label), esc(n.value_text), esc(n.phrase), esc(n.typical_text)] for n in g.look]))
    if g.colours:
        parts.append("<h3>Colours</h3><p>" + "<br>".join(
            f"<span class='chip' style='background:{c.hex}'></span> {esc(c.name)}: {esc(c.phrase)}" for c in g.colours) + "</p>")
    if g.examples:
        parts.append(f"<h3>{esc(g.genre)} posters of your catalog that look like it</h3>" + _rows(
            ["poster", "distance", "genres"],
            [[esc(e.path), f"{e.distance:.3f}", esc(", ".join(e.labels or e.predicted))] for e in g.examples]))
    return "".join(parts) + "</div>"


def check_html(result: BriefCheck, title: str | None = None, alpha: float = 0.5) -> str:
    """The whole check as a standalone HTML page (verdict first; images inline; prints on one page
    for one intended genre with a few competitors)."""
    esc = html.escape
    name = result.prediction.source or "poster"
    title = title or f"Brief check: {name}"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if result.flagged:
        verdict = f"<p class='verdict flag'>{esc(result.headline)}</p>"
    else:
        verdict = f"<p class='verdict'>{esc(result.headline)}</p>"
    top = ", ".join(f"{esc(s.genre)} {s.probability:.0%}" for s in result.prediction.scores[:5])
    maps = result.heatmaps(alpha)  # only the maps the check computed
    head = (f"{verdict}<div class='top'><img src='{data_uri(result.image)}' alt='{esc(name)}'><div>"
            f"<p>Intended: <b>{esc(' + '.join(result.intended))}</b><br><small>The model's top genres: {top}</small></p>"
            + "".join(f"<p><small>{esc(n[:1].upper() + n[1:])}.</small></p>" for n in result.notes)
            + "".join(_genre_section(result, g, maps) for g in result.genres[:1]) + "</div></div>")
    body = "".join(_genre_section(result, g, maps) for g in result.genres[1:])
    legend = "".join(f"<li><b>{esc(v.words.format(genre='X', first='Y'))}</b>: {esc(v.when)}</li>"
                     for v in VERDICTS.values())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><small>postergenre · {stamp}</small>{head}{body}"
            f"<h2>How to read it</h2><ul>{legend}</ul><p><small>Probabilities are calibrated on held-out "
            f"posters; percentiles compare with the genre's own posters in the Genre Atlas. Heatmaps: warm areas "
            f"push towards the genre named first.</small></p><p><small>{esc(LIMITS)}</small></p></body></html>")
