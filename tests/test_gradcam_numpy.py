"""NumPy Grad-CAM (ONNX activations + a hand-written backward) against pytorch-grad-cam on the twin."""
import copy

import numpy as np
import pytest

from postergenre.model.backbone import to_nchw
from postergenre.model.explain import NumpyExplainer, TorchExplainer
from postergenre.model.explain import gradcam_maps, scale_cams

GENRES = ["Horror", "Comedy", "Drama", "Action", "Documentary", "Romance"]


@pytest.fixture(scope="module")
def predictor(fp32_predictor):
    return fp32_predictor  # the PyTorch twin computes in fp32: compare like with like


@pytest.fixture(scope="module")
def explainers(predictor):
    if predictor.backend != "onnxruntime":
        pytest.skip("NumPy Grad-CAM needs the ONNX Runtime backbone (CPU)")
    pytest.importorskip("pytorch_grad_cam", reason="pytorch-grad-cam is the oracle (full install)")
    return NumpyExplainer(predictor), TorchExplainer(predictor)


@pytest.fixture(scope="module")
def posters(real_posters):
    return sorted((real_posters / "images").glob("*.jpg"))[::4000][:5]   # 5 posters spread over the set


def test_cpu_predictor_explains_with_numpy(predictor):
    """On ONNX Runtime (the CPU default) Grad-CAM is NumPy's; on PyTorch (POSTERGENRE_BACKEND=torch)
    pytorch-grad-cam's."""
    expected = NumpyExplainer if predictor.backend == "onnxruntime" else TorchExplainer
    assert predictor.backend in ("onnxruntime", "torch")
    assert type(predictor.explainer) is expected


def test_backward_equals_pytorch_grad_cam(explainers, predictor, posters):
    """Given the same activations, the NumPy backward + Grad-CAM is pytorch-grad-cam's result. The
    oracle runs on the twin's own path from the last convolution to the logits (its ReLU6, pooling
    and head modules) in float64, so nothing but the method is compared."""
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    twin = explainers[1].model()

    class Tail(torch.nn.Module):  # last convolution's output -> genre logits, as in the twin
        def __init__(self, prefix):
            super().__init__()
            self.at, self.act = torch.nn.Identity(), twin.features.net._swish
            self.head, self.prefix = copy.deepcopy(twin.head).double(), prefix

        def forward(self, a):
            s = self.act(self.at(a))
            pooled = [s.mean(dim=(2, 3)) if p == "mean" else s.amax(dim=(2, 3)) for p in predictor.preprocessing.pooling]
            return self.head(torch.cat([self.prefix.expand(len(a), -1), *pooled], dim=1))

    cols = [predictor.genre_index(g) for g in GENRES]
    seen = {}
    hook = twin.target_layer.register_forward_hook(lambda m, i, out: seen.__setitem__("acts", out.detach()))
    for f in posters:
        with torch.no_grad():
            feats = twin.features(torch.from_numpy(to_nchw([predictor.preprocess(f)]))).double()
        acts = seen["acts"].double()
        tail = Tail(feats[:, : feats.shape[1] - acts.shape[1] * len(predictor.preprocessing.pooling)])
        h, w = acts.shape[2:]
        mine = scale_cams(gradcam_maps(acts.numpy()[0], predictor.head.feature_gradients(feats.numpy()[0], cols)),
                          (w, h))
        with GradCAM(model=tail, target_layers=[tail.at]) as cam:
            ref = cam(input_tensor=acts.repeat(len(cols), 1, 1, 1).requires_grad_(True),
                      targets=[ClassifierOutputTarget(c) for c in cols])
        assert mine.shape == ref.shape == (len(cols), h, w)
        assert np.abs(mine - ref).max() < 1e-4, f.name
        assert (mine.reshape(len(cols), -1).max(axis=1) > 0.9).all()  # real maps, not all-zero ones
    hook.remove()


def test_onnx_path_matches_the_torch_path(explainers, predictor, posters):
    """The deployed variants: ONNX Runtime fp32 activations + NumPy vs pytorch-grad-cam on the fp32
    twin. The two runtimes' activations differ by up to ~6e-5, which moves a faint map (raw maximum
    ~0.003, a sum of ~1000 mostly cancelling terms) by up to a few 1e-3 once scaled to [0, 1]."""
    numpy_cam, torch_cam = explainers
    cols = [predictor.genre_index(g) for g in GENRES]
    worst = []
    for f in posters:
        arr = predictor.preprocess(f)
        probs_np, cols_np, maps_np = numpy_cam._cams(arr, None, cols, 3)   # image alone (no text lines)
        probs_t, cols_t, maps_t = torch_cam._cams(arr, None, cols, 3)
        assert cols_np == cols_t == cols
        assert np.allclose(probs_np, probs_t, atol=1e-5)
        diff = np.abs(maps_np - maps_t)
        assert diff.mean() < 1e-3 and diff.max() < 2e-2, f.name
        worst.append(diff.max())
    assert np.median(worst) < 1e-3
    a, b = numpy_cam.explain(posters[0], top_k=3), torch_cam.explain(posters[0], top_k=3)
    assert [h.genre for h in a] == [h.genre for h in b]   # the top-k choice agrees too


def test_heatmap_probabilities_are_the_predictions(explainers, predictor, posters):
    """With the text channel on, a heatmap's probability and the top-k choice are predict()'s (image
    fused with the poster's text); text already read is passed in and not read again."""
    numpy_cam, _ = explainers
    pred = predictor.predict(posters[1])
    maps = numpy_cam.explain(posters[1], top_k=3)
    assert [h.genre for h in maps] == [s.genre for s in pred.scores[:3]]
    assert np.allclose([h.probability for h in maps], [s.probability for s in pred.scores[:3]], atol=1e-5)
    if predictor.text_model is not None:
        assert pred.text is not None
        no_ocr = numpy_cam.explain(posters[1], top_k=3, text=pred.text)
        assert [h.probability for h in no_ocr] == [h.probability for h in maps]
        assert np.array_equal(no_ocr[0].cam, maps[0].cam)


def test_one_forward_for_all_genres(explainers, predictor, sample_poster_path, monkeypatch):
    numpy_cam, _ = explainers
    calls = []
    run = predictor.encode
    monkeypatch.setattr(predictor, "encode", lambda *a, **k: calls.append(1) or run(*a, **k))
    maps = numpy_cam.explain(sample_poster_path, GENRES)
    assert len(calls) == 1 and [h.genre for h in maps] == GENRES
