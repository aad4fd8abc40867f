"""The study route: a plan over a coarse (3 mm) L1 through the real sweep machinery on a real Dask
LocalCluster; killed mid-way (SIGTERM) it resumes without recomputing a finished simulation, and the
resumed plan equals a fresh rerun of it bit for bit (every simulation's rows, the ranking, the surrogate's
cross-validation, the sensitivity table and plan.json but its counts and times)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vbfem.plan.spec import STUDY_COLUMNS

ROOT = Path(__file__).resolve().parents[2]

PLAN = """
version = 1
state = "VP"
[base]
version = 1
name = "tiny"
[base.mesh]
size = 3.0
[base.load]
strength = "linear"
[base.output]
vtu = false
pictures = false
report = false
[[base.treatments]]
name = "VP"
kind = "vertebroplasty"
[design]
"treatments[0].volume" = { low = 2.0, high = 4.0, step = 1.0 }
[uncertainty]
"bone.bmd" = { dist = "uniform", loc = 0.08, scale = 0.04 }
[[targets]]
column = "stiffness_pct_intact"
min = 80.0
[settings]
n_initial = 6
rounds = 1
batch = 2
n_mc = 64
n_verify = 3
max_verify = 1
folds = 2
seed = 3
"""


def _cli(plan, out, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "vbfem.cli", "plan", str(plan), "--workers", "2", "--out", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _done(out):
    return {p.parent.name: (p.stat().st_mtime_ns, p.read_text())
            for p in (out / "sims" / "cases").glob("*/result.json")}


@pytest.mark.slow
def test_a_killed_plan_resumes_without_recomputing_finished_simulations(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    proc = _cli(plan, out)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if (out / "sims" / "cases").is_dir() and len(_done(out)) >= 3:
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    before = _done(out)
    assert len(before) >= 3 and not (out / "plan.json").exists()

    proc = _cli(plan, out)
    stdout, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    after = _done(out)
    for case, stamp in before.items():  # finished simulations were read, not computed again
        assert after[case] == stamp
    summary = json.loads((out / "plan.json").read_text())
    unique = len(after)
    assert summary["computed"] == unique - len(before)
    assert summary["computed"] + summary["reused"] >= unique
    assert summary["recommended"] is not None or summary["status"] == "unreachable"
    assert "full simulations" in stdout

    # every column of the real results is one the plan knows (targets are checked against this list)
    rows = [r for case in after.values() for r in json.loads(case[1])["rows"]]
    assert {k for r in rows for k in r} - {"state", "elastic_recovery_mm", "unloaded_anterior_height_mm",
                                           "rested_anterior_height_mm"} <= set(STUDY_COLUMNS)

    # seeded plans are bit-reproducible: a second plan into a fresh folder (other worker processes, nothing
    # shared) asks for the same simulations in the same order, each with the same rows to the last bit
    # (full simulations are bit-reproducible across processes: tests/study/test_reproducible.py), so the
    # surrogate, the ranking and the verification are too; the resumed plan above equals this fresh one.
    out2 = tmp_path / "again"
    proc = _cli(plan, out2)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    fresh = _done(out2)
    assert sorted(fresh) == sorted(after)
    for case in after:  # the rows as JSON text (NaN never equals NaN), full precision
        assert json.dumps(json.loads(fresh[case][1])["rows"]) == json.dumps(json.loads(after[case][1])["rows"]), case
    names = [n for n in ("simulations", "ranking", "surrogate_cv", "sensitivity") if (out / f"{n}.csv").exists()]
    assert {"simulations", "ranking", "surrogate_cv"} <= set(names)
    for name in names:
        assert (out2 / f"{name}.csv").exists(), name
        assert _exact(out / f"{name}.parquet") == _exact(out2 / f"{name}.parquet"), name
        assert (out / f"{name}.csv").read_bytes() == (out2 / f"{name}.csv").read_bytes(), name
    a, b = (json.loads((d / "plan.json").read_text()) for d in (out, out2))
    for k in ("computed", "reused", "seconds", "started_utc"):
        a.pop(k, None), b.pop(k, None)
    assert a == b


def _exact(path):
    """The rows of a Parquet table (full precision), NaN written as the text 'nan' so that rows compare."""
    import math

    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    return [{k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
