"""The memory estimate counts the strength-curve workers and a sweep's studies at once (issue 22)."""

import pytest

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import (
    BASE_MEMORY,
    BYTES_PER_CELL,
    WORKER_BASE_MEMORY,
    WORKER_BYTES_PER_CELL,
    count_cells,
    estimate_memory,
)
from vbfem.study.memory import check_study_memory, curve_workers
from vbfem.study.schema import Study
from vbfem.study.sweep import Sweep, run_sweep


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_each_worker_and_each_process_adds_its_share(cell_type):
    n = 50_000
    study = BASE_MEMORY + n * BYTES_PER_CELL[cell_type] / 2**30
    worker = WORKER_BASE_MEMORY + n * WORKER_BYTES_PER_CELL[cell_type] / 2**30
    assert estimate_memory(n, cell_type) == pytest.approx(study)
    assert estimate_memory(n, cell_type, curve_workers=3) == pytest.approx(study + 3 * worker)
    assert estimate_memory(n, cell_type, processes=2, curve_workers=1) == pytest.approx(2 * (study + worker))


@pytest.mark.parametrize("kw, match", [({"curve_workers": -1}, "curve_workers=-1 must be an integer >= 0"),
                                       ({"processes": 0}, "processes=0 must be an integer >= 1"),
                                       ({"processes": 1.5}, "processes=1.5 must be an integer >= 1")])
def test_bad_counts_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        estimate_memory(1000, **kw)


def test_curve_workers_follow_run_study():
    nonlinear = Study(name="s", load={"strength": "nonlinear"})  # intact, fractured, VP, KP
    assert curve_workers(nonlinear, 8) == 4 and curve_workers(nonlinear, 2) == 2
    assert curve_workers(nonlinear, 1) == 0  # computed in the study's own process
    assert curve_workers(Study(name="s", load={"strength": "linear"}), 8) == 0


def _between(study, **kw):
    """A budget above the estimate of one process alone, below the estimate with ``kw``."""
    cells = count_cells(build_vertebra("L1"), size=study.mesh.size)
    alone, more = estimate_memory(cells), estimate_memory(cells, **kw)
    assert more > alone
    return 0.5 * (alone + more)


def test_a_study_that_fits_alone_is_refused_with_its_curve_workers():
    study = Study(name="s", mesh={"size": 1.0}, load={"strength": "nonlinear"})
    budget = _between(study, curve_workers=4)
    check_study_memory(study, workers=1, max_memory=budget)
    with pytest.raises(ValueError, match=r"for a study with 4 strength-curve worker processes .* or use fewer workers"):
        check_study_memory(study, workers=4, max_memory=budget)


def test_a_sweep_is_refused_before_anything_runs_when_its_studies_at_once_do_not_fit(tmp_path, monkeypatch):
    base = Study(name="s", mesh={"size": 1.0}, load={"strength": "linear"})
    sweep = Sweep(base, cases=({"bone.bmd": 0.1}, {"bone.bmd": 0.12}))
    monkeypatch.setenv("VBFEM_MAX_MEMORY", repr(_between(base, processes=2)))
    with pytest.raises(ValueError, match=r"for 2 studies at once .* or use fewer workers"):
        run_sweep(sweep, tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()


def test_run_study_counts_its_curve_workers_before_anything_runs(tmp_path, monkeypatch):
    """The library's run_study(workers=) is checked with its strength-curve workers, as the CLI is
    (issue 22: check_inputs used to check one process only)."""
    from vbfem.study.pipeline import check_inputs, run_study

    study = Study(name="s", mesh={"size": 1.0}, load={"strength": "nonlinear"})
    monkeypatch.setenv("VBFEM_MAX_MEMORY", repr(_between(study, curve_workers=4)))
    check_inputs(study, workers=1)
    with pytest.raises(ValueError, match=r"4 strength-curve worker processes"):
        run_study(study, out=tmp_path / "out", workers=4)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match=r"workers=0 must be an integer >= 1"):
        check_inputs(study, workers=0)
