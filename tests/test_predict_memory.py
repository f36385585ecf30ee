"""predict_proba batches internally: any list of images is decoded and run batch_size at a time."""
from __future__ import annotations

import numpy as np

from fixtures import make_poster


def test_predict_proba_runs_in_batches(predictor, monkeypatch) -> None:
    seen: list[int] = []
    real = predictor.encode

    def spy(arrays, *a, **k):
        seen.append(len(arrays))
        return real(arrays, *a, **k)

    monkeypatch.setattr(predictor, "encode", spy)
    images = [make_poster(seed=i) for i in range(2 * predictor.batch_size + 1)]
    probs = predictor.predict_proba(images)
    assert probs.shape == (len(images), len(predictor.genres))
    assert max(seen) <= predictor.batch_size and sum(seen) == len(images)
    one = predictor.predict_proba([images[-1]])[0]
    np.testing.assert_allclose(probs[-1], one, atol=1e-5)
    assert predictor.predict_proba([]).shape == (0, len(predictor.genres))
