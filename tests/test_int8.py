"""The int8 backbone (static QDQ quantization): how it is chosen, and that it agrees with fp32."""
import numpy as np
import pytest

import postergenre
from postergenre.cli import main
from postergenre.errors import WeightsError
from postergenre.model import runtime


@pytest.fixture(scope="module")
def predictor(fp32_predictor):
    return fp32_predictor  # the reference


@pytest.fixture(scope="module")
def int8(predictor):
    if predictor.backend != "onnxruntime":
        pytest.skip("int8 runs in ONNX Runtime on CPU")
    return postergenre.load(device="cpu", precision="int8")  # quantized from the fp32 graph on first use


def test_precision_is_chosen_by_argument_or_environment(int8, predictor, monkeypatch):
    assert int8.precision == "int8" and predictor.precision == "fp32"
    assert "int8" in repr(int8)
    monkeypatch.setenv("POSTERGENRE_PRECISION", "fp32")
    assert postergenre.load(device="cpu").precision == "fp32"
    monkeypatch.setenv("POSTERGENRE_PRECISION", "int4")
    with pytest.raises(WeightsError, match="fp32, int8"):
        postergenre.load(device="cpu")


def test_the_cpu_default_is_the_weights_measured_choice(int8, tmp_path, monkeypatch):
    """load() without a precision runs what metadata "int8"."cpu_default" says; weights without that
    record run fp32. The shipped record's choice follows the rule from its own figures."""
    import json
    import shutil

    from postergenre.settings import weights_dir as default_weights_dir

    monkeypatch.delenv("POSTERGENRE_PRECISION", raising=False)
    meta = json.loads((default_weights_dir() / "metadata.json").read_text())
    rec = meta["int8"]
    delta = rec["int8"]["fused"]["macro_ap"] - rec["fp32"]["fused"]["macro_ap"]
    assert abs(delta - rec["delta_macro_ap"]) < 1e-3
    assert rec["tolerance"] == 0.005  # the rule
    assert rec["cpu_default"] == ("int8" if abs(delta) <= rec["tolerance"] else "fp32")
    # ... on a CPU with an int8 dot product; without one (AVX2 only) int8 saturates and fp32 is the default
    fast = runtime.cpu_has_int8_dot()
    assert postergenre.load(device="cpu").precision == (rec["cpu_default"] if fast else "fp32")
    folder = tmp_path / "weights"
    shutil.copytree(default_weights_dir(), folder)
    for default in ("fp32", "int8"):
        meta["int8"]["cpu_default"] = default
        (folder / "metadata.json").write_text(json.dumps(meta))
        assert postergenre.load(folder, device="cpu").precision == (default if fast else "fp32")
    for has_dot in (True, False):  # the rule on the other kind of CPU too
        monkeypatch.setattr(runtime, "cpu_has_int8_dot", lambda: has_dot)
        assert runtime.resolve_precision(None, "cpu", "int8") == ("int8" if has_dot else "fp32")
        assert runtime.resolve_precision("int8", "cpu", "fp32") == "int8"  # asked for: always
    monkeypatch.setattr(runtime, "cpu_has_int8_dot", lambda: fast)
    del meta["int8"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    assert postergenre.load(folder, device="cpu").precision == "fp32"


def test_int8_agrees_with_fp32_on_real_posters(int8, predictor, real_posters):
    """The shipped model's predictions (image + the posters' text, calibrated) on both backbones: the
    text comes from the OCR cache, as in `postergenre evaluate`, so both read the same words."""
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(real_posters)
    test = ds.subset("test").sample(n=200, random_state=0)
    paths = [real_posters / f for f in test["file"]]
    texts = None
    if predictor.text_model is not None:
        from postergenre.model.ocr import cache_text

        cached = cache_text(ds, predictor.ocr_config, files=list(test["file"]), progress=False)  # these 200 only
        texts = [[t] if t.strip() else [] for t in cached]
    runs = [[pred for pred, _ in p.iter_predictions(paths, texts=texts)] for p in (predictor, int8)]
    agree = np.mean([a.scores[0].genre == b.scores[0].genre for a, b in zip(*runs)])
    assert agree >= 0.95, f"top genre agrees on {agree:.1%} of 200 test posters"
    diff = [abs(a.probabilities[g] - b.probabilities[g]) for a, b in zip(*runs) for g in predictor.genres]
    assert np.mean(diff) < 0.02


def test_int8_heatmaps_and_cli(int8, predictor, sample_poster_path, capsys):
    """An int8 predictor's heatmaps carry its own probabilities (predict()'s) and are the fp32 graph's
    Grad-CAM maps (int8 activations would move them: see NumpyExplainer)."""
    pred = int8.predict(sample_poster_path)
    maps = int8.explainer.explain(sample_poster_path, top_k=2, text=pred.text)
    assert [h.genre for h in maps] == [s.genre for s in pred.scores[:2]]
    assert np.allclose([h.probability for h in maps], [s.probability for s in pred.scores[:2]], atol=1e-5)
    assert len(maps) == 2 and all(h.cam.max() > 0.5 for h in maps)
    ref = predictor.explainer.explain(sample_poster_path, [h.genre for h in maps], text=pred.text)
    assert max(float(np.abs(a.cam - b.cam).max()) for a, b in zip(maps, ref)) < 1e-3
    assert main(["predict", str(sample_poster_path), "--precision", "int8"]) == 0
    assert capsys.readouterr().out.strip()
