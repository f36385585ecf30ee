"""Failures are loud: background work logs what failed, and under CI a model that does not load fails the suite."""
from __future__ import annotations

import logging

import pytest

import conftest
from fixtures import ROOT
from postergenre.errors import WeightsError
from postergenre.model.warmup import in_background


def test_background_warm_up_logs_the_exception(caplog):
    def build_engine():
        raise RuntimeError("no OCR model in this install")

    with caplog.at_level(logging.WARNING, logger="postergenre.model.warmup"):
        in_background(build_engine, delay=0.0).join(timeout=10)
    [record] = [r for r in caplog.records if r.name == "postergenre.model.warmup"]
    assert record.levelno == logging.WARNING and "build_engine" in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
    assert "no OCR model in this install" in caplog.text   # the traceback is in the log


def test_background_warm_up_that_works_logs_nothing(caplog):
    done = []
    with caplog.at_level(logging.DEBUG, logger="postergenre.model.warmup"):
        in_background(lambda: done.append(1), delay=0.0, low_priority=False).join(timeout=10)
    assert done == [1] and not [r for r in caplog.records if r.name == "postergenre.model.warmup"]


@pytest.fixture()
def broken_load(monkeypatch):
    import postergenre

    def load(**_):
        raise WeightsError("weights/head.npz not found; run `postergenre train`")

    monkeypatch.setattr(postergenre, "load", load, raising=False)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_model_that_does_not_load_fails(broken_load, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="did not load under CI=true.*head.npz not found"):
        conftest.load_model()


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_outside_ci_it_skips_with_the_reason(broken_load, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="model weights unavailable.*head.npz not found"):
        conftest.load_model()


def test_the_suite_command_runs_under_ci():
    """CI runs .ci/run, which runs scripts/test.sh; that script sets CI=true (unless CI set it already),
    so the whole suite is strict whoever runs it."""
    assert "exec bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert 'export CI="${CI:-true}"' in script
    assert script.index('export CI=') < script.index("pytest")
