"""Catalog: explore a tagged catalog (`postergenre tag`): its genre mix, where labels and model disagree,
trends by year, look-alikes, and the filtered rows to download. Only catalogs the server names in
POSTERGENRE_CATALOG can be opened; the views run one at a time (lazy tabs), each a few DuckDB queries."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import streamlit as st

from app_components import catalog as view
from app_components.analysis import swatches_html
from app_components.inputs import call_or_report
from postergenre import settings
from postergenre.catalog.explore import EXPORT_MAX_ROWS, tag_command
from postergenre.errors import PosterGenreError
from postergenre.look.analysis import MEASURES

log = logging.getLogger("postergenre.app")
st.title("Catalog")
found = view.catalogs(tuple(str(r) for r in view.roots()))
if not found:
    st.markdown("Explore a whole catalog of posters here: its genre mix, where its labels and the model "
                "disagree, trends by year and look-alikes. Tag the posters first, then name the output folder "
                f"in `{settings.CATALOG_ENV}` (environment or `.streamlit/secrets.toml`) and restart the app:")
    st.code(f"{tag_command('posters/', 'catalog.parquet')}\n"
            f"{settings.CATALOG_ENV}=$PWD/catalog.parquet streamlit run app.py", language="bash")
    st.caption("POSTERS may be a folder of images, a dataset folder with labels.csv (labels and years are kept) "
               "or a CSV/Parquet manifest with a path or url column. Several catalogs: a folder holding tag "
               "outputs, or folders separated by ':'.")
    if view.roots():
        st.warning(f"{settings.CATALOG_ENV} names no folder with a tag output (*.parquet) in it.")
    st.stop()

names = list(found)
name = st.selectbox("Catalog", names, key="catalog_name") if len(names) > 1 else names[0]
try:
    cat = view.open_catalog(name)
except PosterGenreError as e:
    st.error(f"The catalog could not be opened: {e}")
    st.stop()
except Exception:  # never a traceback in the page
    log.exception("opening catalog %s failed", name)
    st.error("The catalog could not be opened: something unexpected went wrong (the server's log has the "
             "details). Check that it is a complete `postergenre tag` output.")
    st.stop()
key = (str(cat.path), cat.fingerprint)
s = cat.stats
st.caption(f"**{name}** · {s['rows']:,} posters tagged by {cat.info.get('model', 'the model')}"
           + (f" · {s['years'][0]}–{s['years'][1]}" if s["years"] else "")
           + (" · with labels" if cat.has_labels else "") + (" · with embeddings" if cat.has_embeddings else ""))

f = view.filter_bar(cat, name)
count = view.cached(key, "count", f)
tabs = st.tabs(["Overview", "Labels vs model", "Trends", "Look-alikes", "Rows & export"], key="catalog_view",
               on_change="rerun")
PNG = "Every chart saves as PNG from its toolbar (top right, on hover)."

with tabs[0]:
    if tabs[0].open:
        c = st.columns(4)
        c[0].metric("Posters", f"{s['rows']:,}")
        c[1].metric("Match the filters", f"{count['rows']:,}")
        c[2].metric("Failed to read", f"{s['failed']:,}", help="Rows whose file could not be read or decoded")
        c[3].metric("Flagged non-posters", f"{count['flagged']:,}",
                    help="Images (among those matching the filters) the poster check says are not movie posters")
        if s["failed"]:
            with st.expander(f"Why {s['failed']:,} row{'s' if s['failed'] > 1 else ''} failed"):
                st.dataframe([{"error": e["error"], "rows": e["rows"], "example": Path(e["example"]).name}
                              for e in cat.errors()], hide_index=True)
        mix = view.cached(key, "mix", f)
        if mix["rows"] == 0:
            st.info("No poster matches these filters; widen them above.")
        else:
            st.subheader("Genre mix")
            st.plotly_chart(view.mix_figure(mix), config=view.chart_config("genre-mix"))
            st.caption(f"{mix['no_genre']:,} of the {mix['rows']:,} posters have no predicted genre (the model was "
                       "unsure of every genre)." + (f" Labelled counts are over the {mix['labelled_rows']:,} "
                                                    "labelled posters." if mix["labelled_rows"] else ""))
            st.subheader("Genres predicted together")
            top = [j for j in np.argsort(-mix["predicted"]) if mix["predicted"][j] > 0][:12]
            g = [mix["genres"][j] for j in top]
            st.plotly_chart(view.share_heatmap(mix["cooccurrence"][np.ix_(top, top)], g, g, mix["predicted"][top],
                                               row_word="predicted", col_word="also predicted"),
                            config=view.chart_config("co-occurrence"))
            st.caption("Each row: of the posters predicted that genre, the share also predicted each other genre. "
                       + PNG)

with tabs[1]:
    if tabs[1].open:
        if not cat.has_labels:
            st.info("This catalog has no labels. Tag a dataset folder (labels.csv) or a manifest with a "
                    "`genres` column to compare the model with them.")
        else:
            mix = view.cached(key, "mix", f)
            n = mix["labelled_rows"]
            if n == 0:
                st.info("No labelled poster matches these filters.")
            else:
                ap = view.cached(key, "average_precision", f)
                st.caption(f"On the {n:,} labelled posters that match the filters.")
                rows = [{"genre": g, "labelled": int(mix["labelled"][j]), "predicted": int(mix["predicted"][j]),
                         "precision": None if np.isnan(mix["precision"][j]) else float(mix["precision"][j]),
                         "recall": None if np.isnan(mix["recall"][j]) else float(mix["recall"][j]),
                         "AP": ap[g], "AP of a random ranking": mix["labelled"][j] / n}
                        for j, g in enumerate(mix["genres"]) if mix["labelled"][j] or mix["predicted"][j]]
                pct = st.column_config.NumberColumn(format="%.2f")
                st.dataframe(rows, hide_index=True, column_config={c: pct for c in
                             ("precision", "recall", "AP", "AP of a random ranking")})
                shown = [r for r in rows if r["AP"] is not None]
                st.plotly_chart(view.quality_figure([r["genre"] for r in shown], [r["AP"] for r in shown],
                                                    [r["AP of a random ranking"] for r in shown]),
                                config=view.chart_config("average-precision"))
                st.subheader("Labelled as … predicted as")
                top = [j for j in np.argsort(-mix["labelled"]) if mix["labelled"][j] > 0][:8]
                g = [mix["genres"][j] for j in top]
                st.plotly_chart(view.share_heatmap(mix["label_vs_predicted"][np.ix_(top, top)], g, g,
                                                   mix["labelled"][top], row_word="labelled", col_word="predicted"),
                                config=view.chart_config("labels-vs-predictions"))
                st.caption("Each row: of the posters labelled that genre, the share the model predicts as each "
                           "genre (a poster can have several). " + PNG)
                st.subheader("Posters that most contradict their labels")
                show = st.segmented_control("Show", [12, 24, 48], default=12, key="contra_n") or 12
                worst = view.cached(key, "contradictions", f, int(show))
                if not worst:
                    st.caption("None: on every matching poster the most probable genre is one of its labels.")
                else:
                    st.caption("The most probable genre is not a label, by how far it outweighs the most probable "
                               "labelled genre: candidates for re-tagging, or for a closer look at the poster.")
                    view.poster_grid(key, [(w["path"], f"labelled {' · '.join(w['labels'])}; "
                                            f"{w['label_best']} {w['label_p']:.0%}  \nreads as **{w['reads_as']} "
                                            f"{w['reads_p']:.0%}**") for w in worst])

with tabs[2]:
    if tabs[2].open:
        if not cat.has_years:
            st.info("This catalog has no years. Tag a dataset folder or a manifest with a `year` column.")
        else:
            by = st.segmented_control("By", ["decade", "year"], default="decade", key="trend_by") or "decade"
            measures = cat.measures
            measure = None
            if measures:
                measure = st.selectbox("Measure", measures, key="trend_measure", format_func=view.measure_label,
                                       index=measures.index(f.measure) if f.measure in measures else 0)
            trend = view.cached(key, "trend", f, measure, by)
            if not trend["periods"]:
                st.info("No poster with a year matches these filters.")
            else:
                st.subheader("Genre shares")
                st.plotly_chart(view.shares_figure(trend, cat.genres, f.genre), config=view.chart_config("genre-shares"))
                st.caption(f"Share of the matching posters of each {trend['by']} "
                           f"{'labelled' if trend['source'] == 'labels' else 'predicted'} with each genre"
                           + (f"; {f.genre} in colour." if f.genre else "."))
                if measure:
                    st.subheader(MEASURES[measure].label)
                    st.plotly_chart(view.measure_trend_figure(trend, view.measure_label(measure), f.genre),
                                    config=view.chart_config(f"trend-{measure}"))
                    st.caption(f"{MEASURES[measure].help}. Line: median; band: the middle half of the posters."
                               + (f" {f.genre} beside all matching posters." if f.genre else ""))
                if "palette" in cat.columns:
                    st.subheader("Palettes by decade")
                    palettes = view.cached(key, "palettes", f)
                    for decade, c in palettes.items():
                        st.markdown(f"**{decade}s** · {c['posters']:,} posters sampled")
                        st.markdown(swatches_html(c["palette"], lambda x: f"on {x['share']:.0%}"), unsafe_allow_html=True)
                    st.caption("The colours most posters of each decade have (share of posters with at least 5% "
                               "of their area in it; greys aside), from up to 300 posters a decade.")

with tabs[3]:
    if tabs[3].open:
        if not cat.has_embeddings:
            st.info(f"This catalog has no embeddings. Tag it again with them: `{tag_command()}`")
        else:
            st.subheader("Map of the catalog")
            n = st.select_slider("Posters on the map", [250, 500, 1000, 2000], value=1000, key="map_n")
            with st.spinner("Drawing the map (computed once per catalog)…"):
                points = call_or_report(view.cached, key, "map_points", f, int(n), failure="The map could not be drawn")
            if points:
                shown = view.thumbs(key, [p["path"] for p in points[:view.MAP_THUMBS]], 90)
                images = {path: view.data_uri(jpeg) for path, jpeg in shown.items()}
                st.altair_chart(view.map_chart(points, images))
                st.caption(f"{len(points):,} posters of a sample of the catalog, placed by their look (PCA of the "
                           "embeddings); near = alike. Hover a dot for the poster.")
            st.subheader("Nearest posters")
            index = view.index_for(cat)
            if index is None:
                st.caption(f"Build an index to search it: `postergenre index {cat.path.name} --out "
                           f"{cat.path.name}.index` beside the catalog (or set `{settings.INDEX_ENV}`).")
            else:
                from app_components.similar import similar_bytes
                from postergenre.catalog.index import PosterIndex

                how = st.segmented_control("Find look-alikes of", ["a catalog poster", "an upload"],
                                           default="a catalog poster", key="like_how") or "a catalog poster"
                hits = None
                if how == "a catalog poster":
                    text = st.text_input("Poster file name contains", key="like_text", max_chars=80)
                    matches = cat.search_paths(text.strip()) if text.strip() else []
                    pick = st.selectbox("Poster", matches, format_func=lambda p: Path(p).name, key="like_pick",
                                        index=None, placeholder="type part of a file name above")
                    if pick:
                        vector = cat.embedding_of(pick)
                        hits = call_or_report(lambda: [h.to_dict() for h in PosterIndex(index).search(vector, 13)
                                                             if h.path != pick][:12],
                                              failure="The index could not be searched") if vector is not None else None
                else:
                    from app_components.inputs import poster_upload

                    up = poster_upload(key="like_upload")
                    if up is not None:
                        with st.spinner("Reading the poster…"):
                            hits = call_or_report(similar_bytes, index, up.data, 12, failure="The index could not be searched")
                if hits:
                    view.poster_grid(key, [(h["path"], f"{' · '.join(h['predicted']) or 'no genre'}  \n"
                                            f"distance {h['distance']:.3f}") for h in hits])

with tabs[4]:
    if tabs[4].open:
        c1, c2 = st.columns(2)
        order = c1.selectbox("Order", ["probability", "year", "path"], key="rows_order",
                             format_func=lambda o: {"probability": f"{f.genre or 'top genre'} probability, highest first",
                                                    "year": "year, oldest first", "path": "file name"}[o])
        pages = max(1, -(-count["rows"] // 12))
        page = c2.number_input(f"Page (of {pages:,})", 1, pages, 1, key="rows_page")
        rows = view.cached(key, "rows", f, order, 12, (int(page) - 1) * 12)
        if rows:
            view.poster_grid(key, [(r["path"], f"{' · '.join(r['predicted'] or []) or 'no genre'}  \n"
                                   f"{r['probability']:.0%}" + (f" · {r['year']}" if r["year"] else "")
                                   + (" · **not a poster?**" if r["looks_like_poster"] is False else "")) for r in rows])
        st.subheader("Download the matching rows")
        if count["rows"] > EXPORT_MAX_ROWS:
            st.caption(f"{count['rows']:,} rows match: a download holds at most {EXPORT_MAX_ROWS:,}. Narrow the "
                       f"filters, or read the Parquet folder itself with DuckDB or Polars.")
        elif count["rows"]:
            c1, c2 = st.columns(2)
            c1.download_button("CSV", lambda: cat.export(f, "csv"), file_name=f"{Path(name).name}-rows.csv",
                               mime="text/csv", icon=":material/download:", on_click="ignore")
            c2.download_button("Parquet", lambda: cat.export(f, "parquet"), file_name=f"{Path(name).name}-rows.parquet",
                               mime="application/vnd.apache.parquet", icon=":material/download:", on_click="ignore")
            st.caption(f"{count['rows']:,} rows: path, labels, predicted genres, year, split, the poster check, "
                       "each genre's probability and each measure (Parquet adds the palettes). " + PNG)
