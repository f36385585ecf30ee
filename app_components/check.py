"""The brief check in the app: the "Intended genre" selector, the Predict page's "Brief check" section and
the Compare page's ranking of drafts. The work is one cached call into ``postergenre.compare.check``.

    intended = intended_genre_selector(predictor.genres, key="intended_genres")
    if intended:
        draw_brief_check(data, intended, name, pkey)        # Predict: the section at the top
    draw_variant_ranking(batch.posters, intended)         # Compare: which draft says it best (all of them)
"""
from __future__ import annotations

import html

import streamlit as st

from app_components.analysis import is_dark
from app_components.inputs import call_or_report
from app_components.model_cache import analyze_bytes, get_atlas, get_predictor, predict_bytes
from postergenre.compare.check import LIMITS, MAX_INTENDED, VERDICTS, BriefCheck, GenreCheck, check_poster
from postergenre.compare.report import ordinal

__all__ = ["intended_genre_selector", "check_bytes", "draw_brief_check", "draw_variant_ranking"]

MAP_WIDTH = 150   # px: four maps in a row on a laptop, two on a phone
THUMB_WIDTH = 96


def intended_genre_selector(genres: list[str], key: str, help_extra: str = "") -> list[str]:
    """One or two genres the poster is meant to sell; empty by default (then nothing changes)."""
    return st.multiselect(
        "Intended genre (optional)", genres, default=[], key=key, max_selections=MAX_INTENDED,
        placeholder="Check the poster against the genre it should sell",
        help="Pick the genre the poster is meant to sell (one, or two such as Horror + Comedy): the brief check "
             "says whether the poster says it, what competes with it, and how it sits among the genre's real "
             "posters." + help_extra)


@st.cache_data(ttl=3600, max_entries=32, show_spinner=False)
def check_bytes(data: bytes, genres: tuple[str, ...], anyway: bool = False, heatmaps: bool = True) -> BriefCheck:
    """The check of one poster (its cached prediction and analysis are reused, not computed again)."""
    from app_components.similar import catalog_index

    prediction = predict_bytes(data)
    flagged = prediction.warning is not None
    analysis = analyze_bytes(data) if (not flagged or anyway) and get_atlas() is not None else None
    return check_poster(get_predictor(), data, list(genres), atlas=get_atlas(), index=catalog_index(),
                        prediction=prediction, analysis=analysis, heatmaps=heatmaps, anyway=anyway)


def _metrics(g: GenreCheck, n: int) -> None:
    f = g.fit
    with st.container(horizontal=True, gap="medium"):
        st.metric(f"{f.genre} probability", f"{f.probability:.0%}", border=True, width="content")
        st.metric("Rank", f"{f.rank} of {n}", border=True, width="content")
        if f.percentile is not None:
            st.metric(f"Among {f.genre} posters", f"{ordinal(round(f.percentile))} pct", border=True, width="content",
                      help="Where this probability falls among the genre's own posters (training split of the "
                           "Genre Atlas): 72 = reads as the genre more strongly than 72% of them.")


def _maps(result: BriefCheck, g: GenreCheck, alpha: float) -> None:
    maps = result.heatmaps(alpha)
    tiles = [(g.genre, f"where it says {g.genre}")] + [
        (f"{c.genre} vs {g.genre}", f"{c.genre} rather than {g.genre}") for c in g.competitors]
    tiles = [(maps[k], caption) for k, caption in tiles if k in maps]
    if not tiles:
        return
    with st.container(horizontal=True, gap="small"):
        for image, caption in tiles:
            st.image(image, caption=caption, width=MAP_WIDTH)
    st.caption("Warm areas push towards the genre named first: the left map is where the poster says "
               f"{g.genre}; each other map is where it says a competing genre *rather than* {g.genre} "
               "(Grad-CAM of the difference of the two genres' scores).")


def _genre_section(result: BriefCheck, g: GenreCheck, alpha: float) -> None:
    f = g.fit
    if len(result.genres) > 1:
        st.markdown(f"**{html.escape(f.genre)}** · {html.escape(f.words or 'no verdict')}")
    _metrics(g, len(result.prediction.scores))
    if f.sentence:
        st.caption(f.sentence[:1].upper() + f.sentence[1:] + ".")
    if g.competitors:
        st.markdown("**What competes:** " + " · ".join(
            f"{html.escape(c.genre)} {c.probability:.0%} ({'ranks above' if c.outranks else 'close behind'})"
            for c in g.competitors))
    _maps(result, g, alpha)
    if g.words_for or g.words_against:
        towards = ", ".join(f"`{w}` +{v:.2f}" for w, v in g.words_for) or "none"
        away = ", ".join(f"`{w}` {v:.2f}" for w, v in g.words_against) or "none"
        st.markdown(f"**Words read on it** · towards {f.genre}: {towards} · away from it: {away}")
    if g.look:
        st.markdown(f"**Look against {f.genre} posters** (outside their usual 10th–90th percentile range)")
        st.markdown("\n".join(f"- **{n.label}** {n.value_text}: {n.phrase}. {n.typical_text}." for n in g.look))
    elif result.genres and not result.flagged and get_atlas() is not None:
        st.caption(f"Every measure sits within the usual range of {f.genre} posters.")
    if g.colours:
        st.markdown(f"**Colours against {f.genre} posters**")
        st.markdown("".join(
            f"<div style='margin:3px 0'><span style='display:inline-block;width:14px;height:14px;border-radius:3px;"
            f"vertical-align:-2px;margin-right:6px;background:{c.hex};border:1px solid "
            f"{'#ecebf2aa' if is_dark(c.hex) else '#8884'}'></span><b>{html.escape(c.name)}</b> "
            f"<code>{c.hex}</code>: {html.escape(c.phrase)}</div>" for c in g.colours), unsafe_allow_html=True)
    if g.examples:
        _examples(g)


def _examples(g: GenreCheck) -> None:
    from app_components.similar import thumbnail

    st.markdown(f"**{g.genre} posters of your catalog that look like it**")
    with st.container(horizontal=True, gap="small"):
        for e in g.examples:
            with st.container(width=THUMB_WIDTH + 20, gap=None):
                thumb = thumbnail(e.path)
                if thumb:
                    st.image(thumb, width=THUMB_WIDTH)
                st.caption(f"{html.escape(e.path.rsplit('/', 1)[-1])}  \ndistance {e.distance:.3f}")


def draw_brief_check(data: bytes, intended: list[str], pkey: str, alpha: float = 0.55) -> None:
    """The Predict page's "Brief check" section for the poster ``data`` (``pkey``: its widget-key suffix)."""
    st.subheader("Brief check", anchor="brief-check")
    prediction = predict_bytes(data)
    anyway = False
    if prediction.warning is not None:
        st.warning(f"{prediction.warning}. No verdict: the check only judges posters.", icon=":material/warning:")
        anyway = st.toggle("Show the check anyway", value=False, key=f"check_anyway_{pkey}",
                           help="Competitors, words and look for this image; the verdict stays withheld.")
        if not anyway:
            return
    with st.spinner("Checking the poster against the genre…"):
        result = call_or_report(check_bytes, data, tuple(intended), anyway,
                                failure="The brief check could not be made")
    if result is None:
        return
    if not result.flagged:
        st.markdown(f"### {html.escape(result.headline)}")
    for g in result.genres:
        _genre_section(result, g, alpha)
    for note in result.notes:
        st.caption(note[:1].upper() + note[1:] + ".")
    with st.expander("How to read the verdict, and what it cannot know", icon=":material/info:"):
        st.markdown("\n".join(f"- **{v.words.format(genre='X', first='Y')}**: {v.when}" for v in VERDICTS.values()))
        st.caption(LIMITS)


def draw_variant_ranking(posters, intended: list[str]) -> list[BriefCheck] | None:
    """The Compare page's ranking of every draft read (not only the ticked ones) by how well each says
    the intended genre(s), from the predictions and looks already computed (nothing is read again)."""
    from postergenre.compare.check import rank_variants

    genre_text = " + ".join(intended)
    st.subheader(f"Which draft says {genre_text} best?")
    predictor, atlas = get_predictor(), get_atlas()
    checks = call_or_report(lambda: [check_poster(predictor, p.image, intended, atlas=atlas, heatmaps=False,
                                                  prediction=p.prediction, analysis=p.analysis) for p in posters],
                            failure="The drafts could not be checked")
    if not checks:
        return None
    order = rank_variants(checks)
    rows = []
    for place, i in enumerate(order, 1):
        c = checks[i]
        row = {"rank": place, "poster": posters[i].name,
               "verdict": "not a poster: no verdict" if c.flagged else c.headline}
        for g in c.genres:
            row[f"{g.genre} probability"] = g.fit.probability
            row[f"{g.genre} percentile"] = g.fit.percentile
        rows.append(row)
    columns = {}
    for g in intended:
        columns[f"{g} probability"] = st.column_config.NumberColumn(format="percent")
        columns[f"{g} percentile"] = st.column_config.NumberColumn(format="%.0f", help=(
            f"Among {g} posters of the Genre Atlas: 72 = reads as {g} more strongly than 72% of them"))
    st.dataframe(rows, hide_index=True, column_config=columns)
    st.caption(f"All {len(posters)} drafts, ranked by the mean percentile of {genre_text} among the genre's own "
               "posters (probability when the atlas has none); an image that does not look like a poster is ranked "
               "last, without a verdict. "
               + LIMITS)
    return checks
