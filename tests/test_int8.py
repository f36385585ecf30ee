"""The int8 backbone (static QDQ quantization): how it is chosen, and that it agrees with fp32."""
import numpy as np
import pytest

import postergenre
from postergenre.cli import main
from postergenre.errors import WeightsError


@pytest.fixture(scope="module")
def int8(predictor):
    if predictor.backend != "onnxruntime":
        pytest.skip("int8 runs in ONNX Runtime on CPU")
    return postergenre.load(device="cpu", precision="int8")  # quantized from the fp32 graph on first use


def test_precision_is_chosen_by_argument_or_environment(int8, predictor, monkeypatch):
    assert int8.precision == "int8" and predictor.precision == "fp32"
    assert "int8" in repr(int8)
    monkeypatch.setenv("POSTERGENRE_PRECISION", "int8")
    assert postergenre.load(device="cpu").precision == "int8"
    monkeypatch.setenv("POSTERGENRE_PRECISION", "int4")
    with pytest.raises(WeightsError, match="fp32, int8"):
        postergenre.load(device="cpu")


def test_int8_agrees_with_fp32_on_real_posters(int8, predictor, real_posters, monkeypatch):
    """The backbones agree: both predictors read the image alone (the text channel is the same code
    on both; benchmarks/int8_accuracy.py measures the fused model on the whole test split)."""
    from postergenre.dataset import load_dataset

    monkeypatch.setattr(predictor, "use_text", False)
    monkeypatch.setattr(int8, "use_text", False)

    test = load_dataset(real_posters).subset("test").sample(n=200, random_state=0)
    paths = [real_posters / f for f in test["file"]]
    p32 = np.concatenate([predictor.predict_proba(paths[i:i + 8]) for i in range(0, 200, 8)])
    p8 = np.concatenate([int8.predict_proba(paths[i:i + 8]) for i in range(0, 200, 8)])
    agree = (p8.argmax(1) == p32.argmax(1)).mean()
    assert agree >= 0.95, f"top genre agrees on {agree:.1%} of 200 test posters"
    assert np.abs(p8 - p32).mean() < 0.02


def test_int8_heatmaps_and_cli(int8, sample_poster_path, capsys):
    maps = int8.explainer.explain(sample_poster_path, top_k=2)
    assert len(maps) == 2 and all(h.cam.max() > 0.5 for h in maps)
    assert main(["predict", str(sample_poster_path), "--precision", "int8"]) == 0
    assert capsys.readouterr().out.strip()
