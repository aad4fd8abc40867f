"""The command line's progress bars (issue 23): what just finished, a clock that moves during a long step,
no per-step estimate where the steps are unequal, and the sweep's bar named."""

import io
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("tqdm")

from vbfem.cli import common


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def stderr(monkeypatch):
    """The bars' output, as a terminal (sys.stderr is replaced in the test itself: pytest sets its own in
    each phase)."""
    monkeypatch.setattr(common, "DELAY", 0.0)
    monkeypatch.setattr(common, "HEARTBEAT", 0.05)
    return Terminal()


def test_a_stage_bar_names_what_finished_and_shows_no_estimate(stderr, monkeypatch):
    monkeypatch.setattr(sys, "stderr", stderr)
    with common.progress_bar("stages", estimate=False) as update:
        update(6, 12, "KP")
        text = stderr.getvalue()
    assert "KP done: " in text and "6/12 stages" in text and "elapsed" in text
    assert "<" not in text and "/s" not in text  # no time left, no rate


def test_the_bar_is_redrawn_while_a_long_step_runs(stderr, monkeypatch):
    monkeypatch.setattr(sys, "stderr", stderr)
    with common.progress_bar("stages", estimate=False) as update:
        update(7, 12, "KP")
        before = stderr.getvalue().count("\r")
        time.sleep(0.5)  # a long stage: no update
        after = stderr.getvalue().count("\r")
    assert after >= before + 3, (before, after)
    # stopped with the bar: nothing is written after the with block
    final = stderr.getvalue()
    time.sleep(0.2)
    assert stderr.getvalue() == final


def test_a_log_file_gets_no_line_a_second(stderr, monkeypatch):
    """Not a terminal (a log, a pipe, pytest's capture): drawn at the steps only (and an error message
    stays the only line when a step fails at once)."""
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with common.progress_bar("stages", estimate=False) as update:
        start = log.getvalue()  # tqdm's first drawing (DELAY = 0 here)
        time.sleep(0.3)
        assert log.getvalue() == start
        update(1, 12, "mesh")
        time.sleep(0.3)
    assert log.getvalue().count("mesh done") == 1


def test_quiet_writes_nothing_and_starts_no_thread(stderr, monkeypatch):
    import threading

    monkeypatch.setattr(sys, "stderr", stderr)
    with common.progress_bar("stages", quiet=True) as update:
        update(1, 2, "mesh")
        assert not any(t.name == "vbfem-progress" for t in threading.enumerate())
    assert stderr.getvalue() == ""


def test_the_sweep_bar_is_named_and_estimates(monkeypatch, tmp_path, capsys):
    from vbfem.cli import main
    from vbfem.study import sweep as sweep_module

    seen = {}
    real = common.progress_bar

    def recording(unit, **kw):
        seen.update(kw, unit=unit)
        return real(unit, **kw)

    sweep = SimpleNamespace(cases=[{"bone.bmd": 0.1}], base=SimpleNamespace(load=SimpleNamespace(strength="linear")))
    result = SimpleNamespace(rows=[{"case": 0, "bone.bmd": 0.1, "error": "ValueError: x"}], computed=0, reused=0,
                             failed=[0], csv=Path(tmp_path / "results.csv"), parquet=None)
    monkeypatch.setattr(common, "progress_bar", recording)
    monkeypatch.setattr(sweep_module, "load_sweep", lambda path: sweep)
    monkeypatch.setattr(sweep_module, "run_sweep", lambda *a, **k: result)
    assert main(["-q", "sweep", str(tmp_path / "grid.toml")]) == 1
    assert seen["desc"] == "sweep grid.toml" and seen["unit"] == "cases" and seen.get("estimate", True)
