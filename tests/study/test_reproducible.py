"""Bit-reproducible runs (issue 22): the same study in fresh processes with other thread settings, and
the same sweep on 1 and 2 Dask workers, give byte-identical tables and identical VTU arrays.

What made them differ: the cement flow chose between SuperLU and AMG-CG, and between reusing a multigrid
hierarchy and building a new one, by timing them (a busy machine or another process chose otherwise), its
pyamg set-up drew unseeded random numbers, and OpenBLAS splits long dot products by its thread count
(Dask's workers run with ``OPENBLAS_NUM_THREADS=1``). The study below is on a 3 mm mesh, whose VP pressure
system (2462 unknowns) is above the flow's direct limit, so the AMG path is exercised.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Settings of the two fresh processes: numba's and the BLAS threads differ, and so does the order of
#: sets of strings (hash seed).
SETTINGS = ({"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "1"},
            {"NUMBA_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "PYTHONHASHSEED": "2"})


def _study_toml(strength="linear", treatments=("VP",), vtu=True):
    kinds = {"VP": "vertebroplasty", "KP": "kyphoplasty"}
    text = (f"version = 1\nname = 'r'\nseed = 7\n[mesh]\nsize = 3.0\n[load]\nstrength = '{strength}'\n"
            f"[output]\nvtu = {str(vtu).lower()}\npictures = false\nreport = false\n")
    for t in treatments:
        text += f"[[treatments]]\nname = '{t}'\nkind = '{kinds[t]}'\n"
    return text


def _run_fresh(tmp, settings, study="study.toml"):
    """Run ``study`` in one fresh process per entry of ``settings`` (environment variables), at the same
    time (the load on the machine then differs from a lone run's, as in a sweep); outputs in out<i>."""
    script = "import sys, vbfem\nvbfem.run_study(vbfem.load_study(sys.argv[1]), out=sys.argv[2])\n"
    procs = [subprocess.Popen([sys.executable, "-c", script, study, f"out{i}"], cwd=tmp, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **s})
             for i, s in enumerate(settings)]
    try:
        for p in procs:
            _, err = p.communicate(timeout=900)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def _vtu_arrays(path):
    import meshio

    m = meshio.read(path)
    arrays = {"points": m.points, **{f"point:{k}": v for k, v in m.point_data.items()}}
    for k, blocks in m.cell_data.items():
        arrays.update({f"cell:{k}:{i}": v for i, v in enumerate(blocks)})
    arrays.update({f"cells:{i}": c.data for i, c in enumerate(m.cells)})
    return arrays


def _assert_same_outputs(a: Path, b: Path, *, vtu=True):
    assert (a / "results.csv").read_bytes() == (b / "results.csv").read_bytes()
    if (a / "results.parquet").exists():
        assert (a / "results.parquet").read_bytes() == (b / "results.parquet").read_bytes()
    names = sorted(p.name for p in a.glob("*.vtu"))
    assert bool(names) == vtu and names == sorted(p.name for p in b.glob("*.vtu"))
    for name in names:
        x, y = _vtu_arrays(a / name), _vtu_arrays(b / name)
        assert x.keys() == y.keys(), name
        for k in x:
            assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k], equal_nan=True), f"{name}: {k}"


def test_a_study_repeats_to_the_bit_in_fresh_processes_with_other_thread_counts(tmp_path):
    (tmp_path / "study.toml").write_text(_study_toml())
    _run_fresh(tmp_path, SETTINGS)
    rows = (tmp_path / "out0" / "results.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["intact", "fractured", "VP"]
    _assert_same_outputs(tmp_path / "out0", tmp_path / "out1")


@pytest.mark.slow
def test_vp_and_kp_with_the_nonlinear_strength_repeat_to_the_bit_in_fresh_processes(tmp_path):
    (tmp_path / "study.toml").write_text(_study_toml("nonlinear", ("VP", "KP"), vtu=False))
    _run_fresh(tmp_path, SETTINGS)
    _assert_same_outputs(tmp_path / "out0", tmp_path / "out1", vtu=False)
    curves = [(tmp_path / f"out{i}" / "load_displacement.csv").read_bytes() for i in (0, 1)]
    assert curves[0] == curves[1] and len(curves[0].splitlines()) > 10


@pytest.mark.slow
def test_a_sweep_gives_the_same_bits_on_one_and_two_dask_workers_and_on_local_processes(tmp_path):
    pytest.importorskip("distributed")
    from vbfem.study.sweep import load_sweep, run_sweep

    (tmp_path / "study.toml").write_text(_study_toml(treatments=("VP", "KP"), vtu=False))
    (tmp_path / "sweep.toml").write_text("version = 1\nstudy = 'study.toml'\n"
                                         "[grid]\n'treatments[0].volume' = [3.0, 5.0]\n")
    sweep = load_sweep(tmp_path / "sweep.toml")
    outs = {"w1": {"workers": 1}, "w2": {"workers": 2}, "local": {}}
    for name, kw in outs.items():
        result = run_sweep(sweep, tmp_path / name, **kw)
        assert result.computed == 2 and not result.failed
    tables = {name: (tmp_path / name / "results.csv").read_bytes() for name in outs}
    assert tables["w1"] == tables["w2"] == tables["local"]
    assert len(tables["w1"].splitlines()) == 1 + 2 * 4  # header, 2 cases x (intact, fractured, VP, KP)
    if (tmp_path / "w1" / "results.parquet").exists():
        assert len({(tmp_path / name / "results.parquet").read_bytes() for name in outs}) == 1
    # every case's rows at full precision (the CSV has 6 significant digits)
    for case in sorted(p.name for p in (tmp_path / "w1" / "cases").iterdir() if not p.name.startswith(".")):
        rows = [json.loads((tmp_path / name / "cases" / case / "result.json").read_text())["rows"] for name in outs]
        assert json.dumps(rows[0]) == json.dumps(rows[1]) == json.dumps(rows[2]), case
