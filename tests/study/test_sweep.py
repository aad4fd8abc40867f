"""Sweeps: case generation, resume by input hash, atomic results, real Dask cluster with a killed worker."""

import csv
import os
import signal
import threading
import time

import numpy as np
import pytest

from vbfem.study.schema import Study, StudyError
from vbfem.study.sweep import DONE, Sweep, load_sweep, run_sweep, set_key, study_hash


def _base():
    """A study that runs in about a second: coarse intact L1, no fracture, no treatment."""
    return Study(
        name="t", mesh={"size": 4.0}, fracture={"kind": "none"}, treatments=[],
        load={"strength": "linear"}, output={"vtu": False, "pictures": False, "report": False},
    )


def test_set_key_validates_and_names_the_path():
    s = set_key(_base(), "bone.bmd", 0.12)
    assert s.bone.bmd == 0.12
    with pytest.raises(StudyError, match=r"^mesh\.size = -1\.0"):
        set_key(_base(), "mesh.size", -1.0)
    with pytest.raises(StudyError, match="only 0 treatment"):
        set_key(_base(), "treatments[0].volume", 2.0)
    with pytest.raises(StudyError, match="not a key path"):
        set_key(_base(), "bone..bmd", 1)


def test_grid_cases_and_monte_carlo_are_reproducible(tmp_path):
    (tmp_path / "study.toml").write_text("version = 1\nname = 'b'\n[mesh]\nsize = 3.0\n")
    (tmp_path / "sweep.toml").write_text(
        "version = 1\nstudy = 'study.toml'\n"
        "[grid]\n'bone.bmd' = ['normal', 'osteoporotic']\n'treatments[0].volume' = [2.0, 4.0, 6.0]\n"
        "[monte_carlo]\nn = 4\nseed = 3\n[monte_carlo.sample]\n"
        "'treatments[0].start_time' = { dist = 'uniform', low = 120.0, high = 480.0 }\n"
    )
    sw = load_sweep(tmp_path / "sweep.toml")
    assert len(sw.cases) == 2 * 3 * 4
    again = load_sweep(tmp_path / "sweep.toml")
    assert sw.cases == again.cases
    starts = [c["treatments[0].start_time"] for c in sw.cases]
    assert all(120.0 <= t <= 480.0 for t in starts)
    studies = sw.studies()
    assert len({study_hash(s) for s in studies}) == len(studies)
    (tmp_path / "bad.toml").write_text("version = 1\nstudy = 'study.toml'\n[grid]\n'mesh.sise' = [1.0]\n")
    with pytest.raises(StudyError, match=r"case 0: mesh\.sise: unknown key"):
        load_sweep(tmp_path / "bad.toml")


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_local_processes_then_resume_reuses_finished_cases(tmp_path):
    sweep = Sweep(_base(), cases=({"bone.bmd": "normal"}, {"bone.bmd": "osteoporotic"}))
    first = run_sweep(sweep, tmp_path)
    assert first.computed == 2 and first.reused == 0 and not first.failed
    rows = _rows(first.csv)
    assert [r["state"] for r in rows] == ["intact", "intact"]
    k = {r["bone.bmd"]: float(r["stiffness"]) for r in rows}
    assert k["normal"] > 1.5 * k["osteoporotic"] > 0
    # a half-written case (a temporary folder left by a crash) does not count as done
    (tmp_path / "cases" / ".deadbeef.tmp-1234").mkdir()
    second = run_sweep(sweep, tmp_path)
    assert second.computed == 0 and second.reused == 2
    assert _rows(second.csv) == rows
    if first.parquet is not None:
        import pyarrow.parquet as pq

        assert pq.read_table(first.parquet).num_rows == 2


def test_cli_sweep_prints_a_readable_table_and_writes_the_units(tmp_path, capsys):
    """``vbfem sweep`` ends with a table of the cases (number, swept keys with units, state, stiffness ...),
    and the results table's units are beside it (issue 23)."""
    import json

    from vbfem.cli import main
    from vbfem.study.schema import dumps_study

    (tmp_path / "base.toml").write_text(dumps_study(_base()))
    (tmp_path / "sweep.toml").write_text("version = 1\nstudy = 'base.toml'\n[grid]\n'bone.bmd' = [0.1, 0.15]\n")
    assert main(["-q", "sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["case", "bone.bmd", "g/cm3", "state", "stiffness", "N/mm"]
    assert "lin. screen N" in lines[0]
    rows = _rows(tmp_path / "out" / "results.csv")
    assert [line.split()[:3] for line in lines[2:4]] == [["0", "0.1", "intact"], ["1", "0.15", "intact"]]
    # the stiffness in N/mm to the unit (the CSV holds 6 significant digits)
    assert [float(line.split()[3]) for line in lines[2:4]] == pytest.approx([float(r["stiffness"]) for r in rows],
                                                                            abs=0.51)
    assert lines[5].startswith("2 case(s): 2 computed") and "results_units.json" in lines[-1]
    units = json.loads((tmp_path / "out" / "results_units.json").read_text())
    assert units["bone.bmd"] == "g/cm3" and units["stiffness"] == "N/mm" and list(units) == list(rows[0])


def test_a_failing_case_is_reported_and_not_marked_done(tmp_path):
    sweep = Sweep(_base(), cases=({}, {"geometry.surface": str(tmp_path / "missing.stl")}))
    res = run_sweep(sweep, tmp_path)
    assert res.failed == (1,) and res.computed == 1
    rows = _rows(res.csv)
    assert rows[1]["case"] == "1" and "FileNotFoundError" in rows[1]["error"] and "missing.stl" in rows[1]["error"]
    assert len([d for d in (tmp_path / "cases").iterdir() if (d / DONE).is_file()]) == 1
    assert not [d for d in (tmp_path / "cases").iterdir() if d.name.startswith(".")]


def test_dask_cluster_survives_a_killed_worker(tmp_path):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        address = cluster.scheduler_address
        sweep = Sweep(_base(), cases=tuple({"bone.bmd": float(b)} for b in np.linspace(0.08, 0.2, 8)))
        killed = []

        def kill_one_worker_mid_sweep():
            # the worker processes are this process's children (the nannies run in it); a second Client
            # in this thread would share the sweep's event loop machinery and, under load, break it
            import multiprocessing

            while not any((d / DONE).is_file() for d in (tmp_path / "cases").glob("*")):
                time.sleep(0.05)
            workers = {w.pid for w in cluster.workers.values()}
            pid = next(p.pid for p in multiprocessing.active_children() if p.pid in workers)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        (tmp_path / "cases").mkdir()
        killer = threading.Thread(target=kill_one_worker_mid_sweep, daemon=True)
        killer.start()
        res = run_sweep(sweep, tmp_path, scheduler=address)
        killer.join(timeout=60)
        assert killed, "no worker was killed"
        assert not res.failed
        rows = _rows(res.csv)
        assert sorted(int(r["case"]) for r in rows) == list(range(8))  # every case exactly once
        done = [d for d in (tmp_path / "cases").iterdir() if (d / DONE).is_file()]
        assert len(done) == 8
        assert not [d for d in (tmp_path / "cases").iterdir() if d.name.startswith(".")]
    finally:
        cluster.close()


def test_scheduler_that_does_not_answer(tmp_path, capsys):
    pytest.importorskip("distributed")
    from vbfem.cli import main

    out = tmp_path / "out"
    with pytest.raises(ValueError, match="no Dask scheduler answers"):
        run_sweep(Sweep(_base()), out, scheduler="tcp://127.0.0.1:9")
    assert not out.exists()
    (tmp_path / "study.toml").write_text("version = 1\n[mesh]\nsize = 4.0\n")
    (tmp_path / "sweep.toml").write_text("version = 1\nstudy = 'study.toml'\n")
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--scheduler", "tcp://127.0.0.1:9", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "scheduler = 'tcp://127.0.0.1:9': no Dask scheduler answers" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_server_that_does_not_speak_dask_is_refused_in_time(tmp_path, monkeypatch):
    import socket

    pytest.importorskip("distributed")
    from vbfem.study import sweep as sw

    monkeypatch.setattr(sw, "SCHEDULER_TIMEOUT", 0.5)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # accepts connections, never answers
    try:
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match="no Dask scheduler answers"):
            sw.check_scheduler(f"tcp://127.0.0.1:{srv.getsockname()[1]}")
        assert time.perf_counter() - t0 < 10.0
    finally:
        srv.close()


# ------------------------------------------------------- shared untreated states (issue 23)


def _treated_base():
    """A coarse wedge fracture treated by vertebroplasty: intact, fractured and VP in a few seconds."""
    return Study(
        name="t", mesh={"size": 4.0}, treatments=[{"name": "VP", "kind": "vertebroplasty"}],
        load={"strength": "linear"}, output={"vtu": False, "pictures": False, "report": False},
    )


#: Three cases that differ only in the cement volume (one set of untreated states) and one of another bone.
_SHARING = ({"treatments[0].volume": 2.0}, {"treatments[0].volume": 4.0}, {"treatments[0].volume": 6.0},
            {"treatments[0].volume": 4.0, "bone.bmd": 0.12})


def _exact(rows):
    """The rows as text with every float to the bit (repr), NaN included."""
    import json

    return json.dumps([dict(r) for r in rows], default=float)


@pytest.mark.parametrize("strength", ["linear", pytest.param("nonlinear", marks=pytest.mark.slow)])
def test_run_study_on_shared_states_gives_the_full_run_bit_for_bit(strength):
    from vbfem.study.pipeline import base_key, build_base, run_study

    treatments = [{"name": "VP", "kind": "vertebroplasty", "volume": 3.0}]
    if strength == "linear":  # the nonlinear one (4 curves more) only with VP
        treatments.append({"name": "KP", "kind": "kyphoplasty"})
    study = _treated_base().replace(load={"strength": strength}, treatments=treatments)
    full = run_study(study)
    base = build_base(study.replace(treatments=[]))  # the treatments do not enter the shared states
    assert base.key == base_key(study) and [s.name for s in base.states] == ["intact", "fractured"]
    part = run_study(study, base=base)
    assert "mesh" not in part.timings and "fracture" not in part.timings  # they were not computed again
    assert [s.name for s in part.states] == [s.name for s in full.states]
    assert _exact(part.rows) == _exact(full.rows)
    for a, b in zip(full.states, part.states):
        assert np.array_equal(a.materials.E, b.materials.E) and np.array_equal(a.mesh.points, b.mesh.points)
    ua, ub = full.rows, part.rows
    assert np.isfinite(ua[2]["stiffness_pct_restored"]) and ub[2]["stiffness_pct_restored"] == ua[2]["stiffness_pct_restored"]
    if strength == "nonlinear":  # the heights of the ex vivo protocol come from the shared crush
        assert ub[1]["elastic_recovery_mm"] > 0 and np.isfinite(ub[2]["height_restored_pct"])
    with pytest.raises(ValueError, match="base: not the untreated states"):
        run_study(study.replace(bone={"bmd": 0.12}), base=base)


def test_cases_that_differ_in_treatments_share_their_untreated_states(tmp_path):
    sweep = Sweep(_treated_base(), cases=_SHARING)
    alone = run_sweep(sweep, tmp_path / "alone", share_states=False)
    shared = run_sweep(sweep, tmp_path / "shared")
    assert not alone.failed and not shared.failed and shared.computed == 4
    assert not (tmp_path / "alone" / "shared").exists()
    files = list((tmp_path / "shared" / "shared").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pkl"  # the three volumes; the fourth case has its own bone
    assert _exact(shared.rows) == _exact(alone.rows)
    assert [r["state"] for r in shared.rows[:3]] == ["intact", "fractured", "VP"]
    assert len({r["stiffness"] for r in shared.rows if r["state"] == "fractured"}) == 2
    # on resume the cases to compute again read the shared states written before
    stamp = files[0].stat().st_mtime_ns
    import shutil

    case_id = {r["case"]: r["case_id"] for r in shared.rows}
    shutil.rmtree(tmp_path / "shared" / "cases" / case_id[1])
    again = run_sweep(sweep, tmp_path / "shared")
    assert again.computed == 1 and again.reused == 3 and files[0].stat().st_mtime_ns == stamp
    assert _exact(again.rows) == _exact(alone.rows)
    # a damaged file is not fatal: the case computes the states itself, with the same result
    files[0].write_bytes(b"not a pickle")
    shutil.rmtree(tmp_path / "shared" / "cases" / case_id[0])
    third = run_sweep(sweep, tmp_path / "shared")
    assert third.computed == 1 and not third.failed and _exact(third.rows) == _exact(alone.rows)
    assert not [p for p in (tmp_path / "shared" / "shared").iterdir() if p.name.startswith(".")]


def test_dask_workers_share_the_untreated_states_too(tmp_path):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        sweep = Sweep(_treated_base(), cases=_SHARING)
        alone = run_sweep(sweep, tmp_path / "alone", scheduler=cluster.scheduler_address, share_states=False)
        shared = run_sweep(sweep, tmp_path / "shared", scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    assert not alone.failed and not shared.failed
    assert len(list((tmp_path / "shared" / "shared").glob("*.pkl"))) == 1
    assert _exact(shared.rows) == _exact(alone.rows)


@pytest.mark.slow  # three cases of intact, fractured and VP at 4 mm: about 30-45 s on 2 shared cores
def test_sweep_over_seeds_writes_the_leakage_risk_per_treatment(tmp_path):
    """A sweep over the study's seed with a seeded permeability field: per-case leak columns and
    ``leakage_risk.csv`` with the leak probability of the treatment over the cases (issue 19)."""
    base = Study(name="leak", mesh={"size": 4.0}, load={"strength": "none"},
                 treatments=[{"name": "VP", "volume": 3.0, "permeability_sd": 1.0, "permeability_correlation": 5.0}],
                 output={"vtu": False, "pictures": False, "report": False})
    res = run_sweep(Sweep(base, cases=({"seed": 1}, {"seed": 2}, {"seed": 3})), tmp_path, workers=None)
    rows = [r for r in _rows(res.csv) if r["state"] == "VP"]
    assert len(rows) == 3 and all(r["leak"] in ("True", "False") for r in rows)
    assert len({r["needle_pressure_kPa"] for r in rows}) == 3  # the seed changes the permeability
    risk = _rows(tmp_path / "leakage_risk.csv")
    assert [r["state"] for r in risk] == ["VP"] and risk[0]["cases"] == "3"
    k = sum(r["leak"] == "True" for r in rows)
    assert float(risk[0]["leak_probability"]) == pytest.approx(k / 3)
    assert float(risk[0]["leak_probability_low"]) <= k / 3 <= float(risk[0]["leak_probability_high"])
