"""The CLI never loses work and never hangs: --out checked before any work and written row by row
(a rerun resumes), bad arguments reported while the rest is predicted, odd file names and special
files in folders handled, quiet output and a progress bar that reaches 100%."""
from __future__ import annotations

import csv
import os
import sys

import pytest

from fixtures import make_poster
from postergenre.cli import main


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "posters"
    d.mkdir()
    for i in range(5):
        make_poster(seed=i).save(d / f"p{i}.jpg")
    make_poster(seed=9).save(os.fsdecode(bytes(d) + b"/caf\xe9.jpg"))  # a name that is not UTF-8
    os.mkfifo(d / "pipe.jpg")                                        # would block a naive open()
    os.symlink(d / "missing.jpg", d / "dangling.jpg")
    os.symlink(d / "loop.jpg", d / "loop.jpg")
    (tmp_path / "empty.jpg").mkdir()                                 # a folder named like an image
    return d


def read_rows(path):
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return list(csv.DictReader(fh))


def test_mixed_arguments_keep_the_good_results_and_resume(folder, tmp_path, capsys, predictor):
    out = tmp_path / "new" / "results.csv"  # a missing parent folder is created
    argv = ["predict", str(folder), str(tmp_path / "nope.jpg"), str(tmp_path / "empty.jpg"),
            "--out", str(out), "--weights", str(predictor.weights_dir)]
    assert main(argv) == 1  # something failed: non-zero, but only at the end
    err = capsys.readouterr().err
    assert "6 predicted, 2 failed: " in err and "nope.jpg" in err and "empty.jpg" in err
    for name, why in (("pipe.jpg", "FIFO"), ("dangling.jpg", "dangling"), ("loop.jpg", "loop")):
        assert any(name in line and why in line for line in err.splitlines() if line.startswith("skipped")), err
    assert "100%" in err  # the progress bar reaches its total
    rows = read_rows(out)
    good = [r for r in rows if not r["error"]]
    assert len(good) == 6 and len(rows) == 8
    assert any(r["file"].endswith("caf\udce9.jpg") for r in good)  # exact bytes of the odd name kept
    assert main(argv + ["--quiet"]) == 1
    captured = capsys.readouterr()
    assert "6 posters already in it are skipped" in captured.err and "0 predicted, 2 failed" in captured.err
    assert captured.out == ""  # --quiet with --out: totals only
    rows = read_rows(out)
    assert len([r for r in rows if not r["error"]]) == 6  # nothing predicted twice
    assert len(rows) == 8 and len({r["file"] for r in rows}) == 8  # the failed ones retried, not written twice


def test_out_prints_one_line_per_poster(folder, tmp_path, capsys, predictor):
    out = tmp_path / "r.csv"
    assert main(["predict", str(folder / "p0.jpg"), str(folder / "p1.jpg"), "--out", str(out),
                 "--weights", str(predictor.weights_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(": " in line for line in lines)


@pytest.mark.parametrize("target", ["/proc/postergenre/results.csv", "/proc/version", "FOLDER"])
def test_unwritable_out_is_refused_before_any_work(target, folder, capsys, monkeypatch):
    import postergenre

    monkeypatch.setattr(postergenre, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    target = str(folder) if target == "FOLDER" else target
    assert main(["predict", str(folder / "p0.jpg"), "--out", target]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "Traceback" not in err


def test_explain_out_into_proc_is_a_clear_error(folder, capsys, monkeypatch):
    import postergenre

    monkeypatch.setattr(postergenre, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    assert main(["explain", str(folder / "p0.jpg"), "--out", "/proc/postergenre/heat.png"]) == 2
    assert "cannot create the folder" in capsys.readouterr().err


def test_a_fifo_argument_is_an_error_not_a_hang(folder, capsys, predictor):
    assert main(["predict", str(folder / "pipe.jpg"), str(folder / "p0.jpg"),
                 "--weights", str(predictor.weights_dir)]) == 1
    assert "1 predicted, 1 failed" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux")
def test_help_says_explain_creates_folders(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    assert "parent folders are created" in " ".join(capsys.readouterr().out.split())


def test_text_output_words_agree_with_the_percentage_shown():
    """Issue 26: words must not contradict the numbers beside them ("24.9%  unlikely" for a headline genre)."""
    from postergenre.commands.predict import score_line
    from postergenre.model.predictor import GenreScore

    assert score_line(GenreScore("Action", 0.2449, 0.24, True)).split() == ["*", "Action", "24%", "possible"]
    assert score_line(GenreScore("Drama", 0.249, None, False)).split() == ["Drama", "25%", "possible"]
    assert score_line(GenreScore("Horror", 0.8, 0.24, True)).split() == ["*", "Horror", "80%", "very", "likely"]


def test_predict_prints_the_text_as_the_app_shows_it():
    """The CLI's 'text on the poster' line shows confident lines once and counts the rest, as the
    Predict page does (it printed every OCR line, noise and repeats included)."""
    from postergenre.commands.predict import text_line

    lines = ["DON'T SAY A WORD", "DON'T SAY A WORD", "(图)()(()()", "POUY THIVK IT"]
    assert text_line(lines, [0.97, 0.96, 0.9, 0.6]) == "DON'T SAY A WORD; 2 lines hard to read"
    assert text_line([], []) == "no text found"
    assert text_line(["(图)()"], [0.99]) == "1 line hard to read"
