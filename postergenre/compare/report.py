"""Reports of a poster comparison: one self-contained HTML file (images and the interactive chart
embedded, no network needed to open it; it reads on a phone without sideways scrolling: its tables
stack into one block per row below 600 px) and a PNG summary sheet for slides and chats.

    html = to_html_report(comparison, genre="Horror", heatmaps=images)
    html = to_html_report(comparison, batch=batch)     # with the table of every poster read (and the unreadable)
    png = to_png_report(comparison, genre="Horror", heatmaps=images)
"""
from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from postergenre.compare.posters import POSTER_COLOURS, PosterComparison

if TYPE_CHECKING:
    from postergenre.compare.batch import PosterBatch

__all__ = ["to_html_report", "to_png_report", "measure_rows", "overview_rows", "data_uri", "ordinal"]

_CSS = """body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px;overflow-wrap:break-word}
table{border-collapse:collapse;margin:8px 0 24px}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
.row{display:flex;flex-wrap:wrap;gap:16px}.card{flex:1 1 220px;max-width:280px;min-width:0}
.card img{width:100%;border-radius:4px}img{max-width:100%}img.thumb{width:48px;max-width:none;border-radius:3px}
.chip{display:inline-block;width:26px;height:26px;border-radius:4px;border:1px solid #8884;vertical-align:middle}
.plot{max-width:100%;overflow:hidden}small{color:#666}.name{overflow-wrap:anywhere}
@media (max-width:600px){body{margin:12px}.card{flex-basis:140px}
table,tbody,tr,td{display:block}thead{display:none}tr{border-bottom:1px solid #ddd;padding:6px 0}
td{border:0;padding:2px 0}td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
.thumb{float:left;margin:0 10px 4px 0}tr::after{content:"";display:block;clear:both}}"""


def measure_rows(comparison: PosterComparison, genre: str | None) -> list[dict[str, str]]:
    """The measures table as display strings: measure, one column per poster, and the genre's middle
    half ("typical Horror") when there is an atlas; values formatted by their measure (%, L*, ...)."""
    from postergenre.look.analysis import MEASURES

    genre = comparison.range_genre(genre)
    table = comparison.measures(genre)
    rows = []
    for label, row in table.iterrows():
        m = MEASURES[row["key"]]
        out = {"measure": f"{label} ({m.unit})" if m.unit not in ("", "%") else label}
        for name in comparison.names:
            value = m.format(row[name]) if row[name] == row[name] else "n/a"  # NaN check
            pct = row.get(f"{name} percentile")
            out[name] = value if pct is None or pct != pct else f"{value} ({ordinal(round(pct))} percentile)"
        if genre is not None and f"{genre} 25%" in row and row[f"{genre} 25%"] == row[f"{genre} 25%"]:
            out[f"typical {genre}"] = f"{m.format(row[f'{genre} 25%'])} – {m.format(row[f'{genre} 75%'])}"
        rows.append(out)
    return rows


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def data_uri(image: Image.Image, long_side: int = 480) -> str:
    """The image as an inline JPEG ``data:`` URI (long side at most ``long_side``), for self-contained HTML."""
    im = image.convert("RGB")
    im.thumbnail((long_side, long_side))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _table(rows: list[dict[str, str]], raw: tuple[str, ...] = ()) -> str:
    """An HTML table of display strings, escaped (the columns in ``raw`` are HTML already). Each cell
    carries its column's name, shown before it when the table stacks at phone width."""
    if not rows:
        return ""
    head = "".join(f"<th>{_breakable(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(
        f'<td{f" data-label={chr(34)}{html.escape(k)}{chr(34)}" if k else ""}>{v if k in raw else html.escape(str(v))}</td>'
        for k, v in r.items())
        + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _breakable(text: str, longest: int = 16) -> str:
    """``text`` escaped; one with a word over ``longest`` characters (a file name as a poster's name) may
    break anywhere, so it never widens a table past the page."""
    escaped = html.escape(text)
    return f'<span class="name">{escaped}</span>' if any(len(w) > longest for w in text.split()) else escaped


def overview_rows(batch: PosterBatch, top: int = 3) -> list[dict[str, str]]:
    """The table of every poster read, as display strings (the HTML report's first section): thumbnail
    and poster name (HTML), headline, poster check, its ``top`` genres with probabilities, the table's measures."""
    from postergenre.compare.batch import TABLE_MEASURES, poster_check_words, table_headline
    from postergenre.look.analysis import MEASURES

    rows = []
    for p in batch.posters:
        row = {"": f'<img class="thumb" src="{data_uri(p.image, 96)}" alt="">',
               "poster": _breakable(p.name),
               "headline": table_headline(p.prediction), "poster check": poster_check_words(p.prediction),
               "top genres": ", ".join(f"{s.genre} {s.probability:.0%}" for s in p.prediction.scores[:top])}
        row.update({MEASURES[k].label: MEASURES[k].format(p.analysis.measures.get(k)) for k in TABLE_MEASURES})
        rows.append(row)
    return rows


def to_html_report(comparison: PosterComparison, genre: str | None = None, heatmaps: list[Image.Image] | None = None,
                   heatmap_genre: str | None = None, title: str = "Poster comparison",
                   include_plotlyjs: bool | str = True, batch: PosterBatch | None = None) -> str:
    """A standalone HTML page: with a ``batch``, first the table of every poster read and the files that
    could not be read (with why); then the posters compared side by side with their predicted genres, the
    probability chart (interactive, plotly.js embedded unless ``include_plotlyjs='cdn'``) with how to read
    it, palettes, the measures table against ``genre``'s range, and the heatmaps (for ``heatmap_genre``)
    when given."""
    esc = html.escape
    cards = "".join(
        f'<div class="card"><img src="{data_uri(p.image)}" alt="{esc(p.name)}">'
        f'<h3 style="color:{POSTER_COLOURS[i]}">{esc(p.name)}</h3><p>{esc(p.prediction.summary)}</p></div>'
        for i, p in enumerate(comparison.posters))
    chart = comparison.probability_figure(template="plotly_white").update_traces(
        selector=dict(name="threshold"), marker_color="#333").to_html(
        full_html=False, include_plotlyjs=include_plotlyjs, config={"displayModeBar": False, "responsive": True})
    chart = f'<div class="plot">{chart}</div>' + "".join(
        f"<p><small>{esc(note)}</small></p>" for note in comparison.chart_notes())
    palettes = "".join(
        f"<tr><td>{esc(name)}</td><td>" + " ".join(
            f'<span class="chip" style="background:{c["hex"]}" title="{esc(c["name"])} {c["share"]:.0%}"></span>'
            f' <small>{c["hex"]} {c["share"]:.0%}</small>' for c in colours) + "</td></tr>"
        for name, colours in comparison.palettes().items())
    ranged = comparison.range_genre(genre)
    measures_note = (f"<p><small>Percentiles and the typical range are among {esc(ranged)} posters in the "
                     f"Genre Atlas.</small></p>" if ranged else "")
    heat = ""
    if heatmaps:
        heat = (f"<h2>Where the model sees {esc(heatmap_genre or 'the genre')}</h2><div class='row'>" + "".join(
            f'<div class="card"><img src="{data_uri(h)}" alt="heatmap {esc(n)}"><p>{esc(n)}</p></div>'
            for n, h in zip(comparison.names, heatmaps)) + "</div>")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    overview = ""
    if batch is not None:
        unread = "".join(f"<li><b>{esc(u.name)}</b>: {esc(u.reason)}</li>" for u in batch.unreadable)
        overview = (f"<h2>All {len(batch.posters)} posters read</h2>{_table(overview_rows(batch), raw=('', 'poster'))}"
                    + (f"<h3>Not read ({len(batch.unreadable)})</h3><ul>{unread}</ul>" if unread else "")
                    + "<h2>Side by side</h2>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p><small>postergenre · {stamp}</small></p>{overview}<div class='row'>{cards}</div>"
            f"<h2>Genre probabilities</h2>{chart}<h2>Palettes</h2><table>{palettes}</table>"
            f"<h2>Composition</h2>{measures_note}{_table(measure_rows(comparison, genre))}{heat}</body></html>")


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def to_png_report(comparison: PosterComparison, heatmaps: list[Image.Image] | None = None,
                  heatmap_genre: str | None = None, top: int = 5, column_width: int = 300) -> bytes:
    """A summary sheet (PNG): per poster a column with the poster, its heatmap (if given), its palette
    strip and its ``top`` genres as bars with the threshold marked."""
    n, pad, poster_h = len(comparison.posters), 16, int(column_width * 1.48)
    rows_h = 30 + poster_h + (poster_h + 24 if heatmaps else 0) + 40 + top * 34 + pad
    sheet = Image.new("RGB", (n * (column_width + pad) + pad, rows_h + 40), "white")
    draw, title, body = ImageDraw.Draw(sheet), _font(18), _font(14)
    draw.text((pad, 10), "Poster comparison · postergenre", fill="#222", font=title)
    for i, p in enumerate(comparison.posters):
        x, y = pad + i * (column_width + pad), 40
        draw.text((x, y), p.name[:38], fill=POSTER_COLOURS[i], font=title)
        y += 26
        for im in [p.image] + ([heatmaps[i]] if heatmaps else []):
            scale = min(column_width / im.width, poster_h / im.height)  # fit the slot, up or down
            thumb = im.convert("RGB").resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
            sheet.paste(thumb, (x, y))
            y += poster_h + 8
        if heatmaps:
            draw.text((x, y - 6), f"heatmap: {heatmap_genre or ''}", fill="#666", font=body)
            y += 16
        left = x
        for c in p.analysis.palette:  # palette strip, segments as wide as each colour's share
            w = max(1, round(c.share * column_width))
            draw.rectangle([left, y, min(left + w, x + column_width), y + 24], fill=c.hex)
            left += w
        y += 36
        for s in p.prediction.scores[:top]:  # label on its own line, the bar and its threshold tick below it
            draw.text((x, y), f"{s.genre} {s.probability:.0%}", fill="#111",
                      font=body)
            bar_y = y + 18
            draw.rectangle([x, bar_y, x + column_width, bar_y + 10], fill="#eee")
            draw.rectangle([x, bar_y, x + round(s.probability * column_width), bar_y + 10],
                           fill=POSTER_COLOURS[i] if s.predicted else "#9aa")
            if s.threshold is not None:  # None: ranked below the headline's last place, no probability would do
                tx = x + round(s.threshold * column_width)
                draw.line([tx, bar_y - 2, tx, bar_y + 12], fill="#222", width=2)
            y += 34
    buf = io.BytesIO()
    sheet.save(buf, "PNG", optimize=True)
    return buf.getvalue()
