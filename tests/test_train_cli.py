"""End to end on a small generated dataset: train -> weights -> load -> predict/evaluate, via the CLI."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import postergenre
from fixtures import bold_font
from postergenre.cli import main
from postergenre.errors import DatasetError
from postergenre.sources.dataset import load_dataset

ROOT = Path(__file__).resolve().parent.parent
# three colour-coded "genres": the model must learn the colour -> genre rule from the train split
COLOURS = {"Horror": (150, 10, 10), "Science Fiction": (20, 40, 170), "Comedy": (240, 210, 40)}


def _poster(genres: list[str], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (120, 180), tuple(int(v) for v in rng.integers(90, 140, 3)))
    d = ImageDraw.Draw(img)
    for k, g in enumerate(genres):
        x0, y0 = rng.integers(0, 50), rng.integers(0, 100)
        d.rectangle([x0, y0, x0 + 70, y0 + 80], fill=COLOURS[g])
    return img


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    (root / "img").mkdir()
    rng = np.random.default_rng(0)
    names = list(COLOURS)
    rows = []
    for i in range(72):
        genres = [names[i % 3]] + ([names[(i + 1) % 3]] if rng.random() < 0.3 else [])
        _poster(genres, i).save(root / "img" / f"p{i}.png")
        split = "train" if i < 48 else "val" if i < 60 else "test"
        rows.append({"file": f"img/p{i}.png", "genres": "|".join(genres), "split": split, "title": f"Toy {i}"})
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "genres", "split", "title"])
        w.writeheader()
        w.writerows(rows)
    return root


@pytest.fixture(scope="module")
def toy_weights(toy_dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("weights")
    cache = tmp_path_factory.mktemp("cache")
    rc = main(["train", "--data", str(toy_dataset), "--out", str(out), "--cache-dir", str(cache),
               "--members", "2", "--hidden", "32", "--epochs", "40", "--batch-size", "32",
               "--input-dropout", "0.0", "--dropout", "0.0", "--lr", "0.003"])
    assert rc == 0
    return out


def test_train_writes_weights_and_card(toy_weights):
    meta = json.loads((toy_weights / "metadata.json").read_text())
    assert meta["genres"] == ["Comedy", "Horror", "Science Fiction"]  # TMDB order, only genres the data has
    assert set(meta["thresholds"]) == set(meta["genres"])
    assert meta["training_data"]["n_train"] == 48 and meta["training_data"]["n_val"] == 12
    assert meta["metrics"]["val"]["macro_ap"] > 0.9   # colour -> genre is learnable
    # the fit step ran: calibration per genre, the headline rule and the poster check, recorded
    assert set(meta["calibration"]["methods"]) == set(meta["genres"])
    assert meta["decision_rule"]["max_genres"] == 3 and (toy_weights / "poster_check.npz").is_file()
    card = (toy_weights / "MODEL_CARD.md").read_text()
    assert "## Limitations and biases" in card and "Label noise" in card
    assert (toy_weights / "head.npz").stat().st_size < 5_000_000


def test_evaluate_json_and_record(toy_weights, toy_dataset, tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["evaluate", "--data", str(toy_dataset), "--weights", str(toy_weights), "--json", str(out), "--record"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "training prior" in text and "no genre" in text and "macro_ap" in text
    r = json.loads(out.read_text())
    assert r["n_posters"] == 12 and r["split"] == "test"
    assert r["macro_ap"] > r["baselines"]["training_prior"]["macro_ap"] + 0.3
    meta = json.loads((toy_weights / "metadata.json").read_text())
    assert meta["metrics"]["test"]["macro_ap"] == pytest.approx(r["macro_ap"])
    assert "### test split: 12 posters" in (toy_weights / "MODEL_CARD.md").read_text()


def test_predict_cli_text_json_and_csv(toy_weights, toy_dataset, tmp_path, capsys):
    red = tmp_path / "red.png"
    _poster(["Horror"], 999).save(red)
    assert main(["predict", str(red), "--weights", str(toy_weights), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["genres"][0]["genre"] == "Horror" and obj["predicted"][0] == "Horror"
    assert isinstance(obj["looks_like_poster"], bool) and 0 <= obj["poster_score"] <= 1
    assert obj["genres"][0]["confidence"] in ("very likely", "likely", "possible", "unlikely")
    csv_path = tmp_path / "out.csv"
    assert main(["predict", str(toy_dataset / "img"), "--weights", str(toy_weights), "--out", str(csv_path)]) == 0
    rows = list(csv.DictReader(open(csv_path)))
    assert len(rows) == 72 and {"file", "predicted", "looks_like_poster", "poster_score", "Horror", "Comedy"} <= set(rows[0])
    assert rows[0]["looks_like_poster"] in ("true", "false") and 0 <= float(rows[0]["poster_score"]) <= 1
    assert "Horror" in capsys.readouterr().out


def test_predict_cli_bad_inputs_exit_cleanly(toy_weights, tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"GIF89a not really")
    assert main(["predict", str(bad), "--weights", str(toy_weights)]) == 1
    assert "ERROR" in capsys.readouterr().err
    # a missing path is reported like any failed poster (issue 11: the others are still predicted)
    assert main(["predict", str(tmp_path / "missing.jpg"), "--weights", str(toy_weights)]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "0 predicted, 1 failed" in err


def test_dataset_format_errors(tmp_path):
    with pytest.raises(DatasetError, match="labels.csv"):
        load_dataset(tmp_path)
    (tmp_path / "labels.csv").write_text("path,genre\nx.jpg,Drama\n")
    with pytest.raises(DatasetError, match="lacks column"):
        load_dataset(tmp_path)
    (tmp_path / "labels.csv").write_text("file,genres\nx.jpg,Drama|Film-Noir\n")
    with pytest.raises(DatasetError, match="missing"):
        load_dataset(tmp_path)
    ds = load_dataset(tmp_path, check_files=False)
    assert set(ds.table["split"]) == {"test"} and ds.unknown_genres == ["Film-Noir"]


def test_console_script_help_is_fast_and_lists_commands():
    out = subprocess.run([sys.executable, "-m", "postergenre", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    for cmd in ("predict", "train", "evaluate"):
        assert cmd in out.stdout


def test_feature_cache_resumes_after_an_interruption(toy_dataset, tmp_path):
    from postergenre.model.backbone import BackboneConfig
    from postergenre.training.features import cache_features

    ds = load_dataset(toy_dataset)
    cfg = BackboneConfig()
    full = np.array(cache_features(ds, cfg, tmp_path, progress=False), dtype=np.float32)
    assert full.shape[:2] == (72, 2) and np.abs(full).sum() > 0
    # simulate a run killed halfway: the second half is neither computed nor marked done
    folder = next((tmp_path / "features").iterdir())
    done = np.load(folder / "done.npy")
    done[36:] = False
    np.save(folder / "done.npy", done)
    feats = np.load(folder / "features.npy", mmap_mode="r+")
    feats[36:] = 0
    feats.flush()
    del feats
    resumed = np.array(cache_features(ds, cfg, tmp_path, progress=False), dtype=np.float32)
    assert np.allclose(resumed, full, atol=1e-3)
    # the mirror view differs from the poster (flip augmentation really happened)
    assert not np.allclose(full[:, 0], full[:, 1])


WORDS = {"Horror": "GHOST", "Science Fiction": "GALAXY", "Comedy": "LAUGHS"}


def test_train_text_reads_with_the_default_ocr_and_records_it(toy_dataset, toy_weights, tmp_path, monkeypatch):
    """`postergenre train-text` end to end on the toy posters with each genre's word printed on them:
    the text is read with the default OCR settings (cached), the dataset's own reading (ocr_text.jsonl)
    augments the train posters, the text model learns word -> genre, and the weights record the settings
    the predictor then reads with."""
    import shutil

    from postergenre.model.ocr import SEED_CONFIG, OCRConfig
    from postergenre.model.text_model import TextModel

    pytest.importorskip("rapidocr")
    pytest.importorskip("sklearn")
    font = bold_font(22)
    data = tmp_path / "toy-text"
    shutil.copytree(toy_dataset, data)
    for row in csv.DictReader(open(data / "labels.csv")):
        img = Image.open(data / row["file"]).convert("RGB")
        ImageDraw.Draw(img).text((8, 140), WORDS[row["genres"].split("|")[0]], font=font,
                                 fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
        img.save(data / row["file"])
    with open(data / "ocr_text.jsonl", "w") as fh:  # the dataset's own reading: the train posters' second reading
        for row in csv.DictReader(open(data / "labels.csv")):
            fh.write(json.dumps({"file": row["file"], "text": WORDS[row["genres"].split("|")[0]].lower()}) + "\n")
    weights = tmp_path / "weights"
    shutil.copytree(toy_weights, weights)
    monkeypatch.setenv("POSTERGENRE_CACHE", str(tmp_path / "cache"))
    assert main(["train-text", "--data", str(data), "--weights", str(weights)]) == 0
    meta = json.loads((weights / "metadata.json").read_text())
    assert meta["text"]["ocr"] == OCRConfig().to_dict()
    assert meta["text"]["train_readings"] == [OCRConfig().to_dict(), SEED_CONFIG.to_dict()]  # augmented
    assert list((tmp_path / "cache" / "ocr").glob(f"*-{OCRConfig().key()}/text.jsonl"))
    model = TextModel.load(weights / "text.npz", meta["genres"])
    for genre, word in WORDS.items():
        assert meta["genres"][int(np.argmax(model.logits([word])[0]))] == genre, word
    p = postergenre.load(weights, device="cpu")
    assert p.has_text and p.ocr_config == OCRConfig()
