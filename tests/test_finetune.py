"""The backbone fine-tuning experiment (issue 13 part 2) on a tiny generated dataset, at a small input size."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from postergenre.errors import PosterGenreError
from postergenre.model.backbone import BackboneConfig, build_backbone
from postergenre.training.features import cache_features
from experiments.finetune.finetune import FinetuneConfig, activation_order, cache_activations, prefix_dim, tail_module
from experiments.finetune.run import run_finetune
from postergenre.training.train import TrainConfig
from postergenre.sources.dataset import load_dataset

SMALL = BackboneConfig(input_size=(64, 96))
COLOURS = {"Horror": (150, 10, 10), "Comedy": (240, 210, 40)}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    (root / "img").mkdir()
    rows = []
    for i in range(28):
        rng = np.random.default_rng(i)
        genre = list(COLOURS)[i % 2]
        img = Image.new("RGB", (60, 90), tuple(int(v) for v in rng.integers(90, 140, 3)))
        x0, y0 = rng.integers(0, 20, 2)
        ImageDraw.Draw(img).rectangle([x0, y0, x0 + 35, y0 + 50], fill=COLOURS[genre])
        img.save(root / "img" / f"p{i}.png")
        split = "train" if i < 16 else "val" if i < 24 else "test"
        rows.append({"file": f"img/p{i}.png", "genres": genre, "split": split})
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "genres", "split"])
        w.writeheader()
        w.writerows(rows)
    return root


def test_cache_resumes_and_tail_reproduces_cached_features(tiny, tmp_path):
    ds = load_dataset(tiny)
    rows = activation_order(ds, 0)
    splits = ds.table["split"].to_numpy()
    assert set(splits[rows]) == {"train", "val"} and len(rows) == 24  # test rows are never cached
    acts, done = cache_activations(ds, SMALL, rows, 19, cache_dir=tmp_path, batch_size=4, progress=False,
                                   stop_after_s=0.0)
    assert done.sum() == 4 and done[rows[:4]].all()  # stopped after one batch (val first)
    acts, done = cache_activations(ds, SMALL, rows, 19, cache_dir=tmp_path, batch_size=4, progress=False)
    assert done[rows].all() and not done[splits == "test"].any()
    assert acts.shape[1:3] == (2, 208) and acts.dtype == np.float16
    # the frozen tail on the cached activations gives the cached pooled features (same ONNX trunk)
    import torch

    feats = cache_features(ds, SMALL, tmp_path, progress=False)
    net = build_backbone()
    prefix = prefix_dim(SMALL, 19, {i: b._bn2.num_features for i, b in enumerate(net._blocks)})
    tail = tail_module(SMALL, 19, net)
    assert prefix + tail.dim == feats.shape[-1]
    with torch.inference_mode():
        out = tail(torch.from_numpy(np.asarray(acts[rows[:6]], np.float32).reshape(12, *acts.shape[2:]))).numpy()
    ref = np.asarray(feats[rows[:6]], np.float32).reshape(12, -1)[:, prefix:]
    assert np.abs(out - ref).max() <= 0.01 * np.abs(ref).max() + 0.05
    # the mirror view is a different input, not a copy
    assert not np.array_equal(acts[rows[0], 0], acts[rows[0], 1])


def test_experiment_trains_both_arms_and_reports_val(tiny, tmp_path):
    ft = FinetuneConfig(cache_block=19, from_block=20, max_train=0, epochs=2, batch_size=8, lr=1e-3, threads=1)
    head = TrainConfig(members=1, hidden=16, epochs=3, batch_size=16, threads=1)
    lines = []
    res = run_finetune(tiny, ft, head, backbone=SMALL, cache_dir=tmp_path, progress=False, log=lines.append)
    assert res["n_train"] == 16 and res["n_val"] == 8
    for arm in ("trivial", "frozen", "adapted"):
        assert 0.0 < res["val"][arm]["macro_ap"] <= 1.0
    assert 1 <= len(res["history"]) <= 2
    assert any("frozen backbone + head" in s for s in lines) and any("adapted block 20 + head" in s for s in lines)
    folder = next((tmp_path / "finetune").iterdir())
    assert json.loads((folder / "result.json").read_text())["n_val"] == 8
    saved = np.load(folder / "adapted_tail.npz")
    pretrained = tail_module(SMALL, 19).state_dict()
    # block 19 was frozen (from_block=20); block 20 and the head conv were trained
    assert np.array_equal(saved["blocks.0._expand_conv.weight"], pretrained["blocks.0._expand_conv.weight"].numpy())
    assert not np.allclose(saved["blocks.1._expand_conv.weight"], pretrained["blocks.1._expand_conv.weight"].numpy())
    assert not np.allclose(saved["conv_head.weight"], pretrained["conv_head.weight"].numpy())


def test_bad_block_choice_is_a_clear_error(tiny, tmp_path):
    with pytest.raises(PosterGenreError, match="from_block"):
        run_finetune(tiny, FinetuneConfig(cache_block=20, from_block=19), backbone=SMALL, cache_dir=tmp_path,
                     progress=False, log=lambda s: None)


def test_cli_help_lists_the_command(capsys):
    from experiments.finetune.__main__ import main as experiment_main

    with pytest.raises(SystemExit):
        experiment_main(["--help"])
    out = capsys.readouterr().out
    assert "--max-train" in out and "--from-block" in out and "frozen" in out


def test_model_card_shows_the_experiment_and_its_decision(tiny, tmp_path):
    from postergenre.evaluation.card import record_finetune, render_model_card

    meta = json.loads((Path(__file__).resolve().parent.parent / "weights" / "metadata.json").read_text())
    assert "Backbone fine-tuning" not in render_model_card({**meta, "backbone_finetune": None})
    ft = FinetuneConfig(max_train=0, epochs=1, batch_size=8, threads=1)
    res = run_finetune(tiny, ft, TrainConfig(members=1, hidden=8, epochs=1, batch_size=16, threads=1),
                       backbone=SMALL, cache_dir=tmp_path, progress=False, log=lambda s: None)
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "metadata.json").write_text(json.dumps(meta))
    record_finetune(weights, res)
    card = (weights / "MODEL_CARD.md").read_text()
    assert "## Backbone fine-tuning (experiment)" in card
    assert f"| frozen backbone + head | {res['val']['frozen']['macro_ap']:.3f} |" in card
    assert ("kept" if res["keep"] else "not shipped") in card
