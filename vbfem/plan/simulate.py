"""The study route of the planner: full simulations through the sweep machinery.

:class:`SweepSimulator` is the ``evaluate`` callable of :func:`vbfem.plan.search.plan` for a base
study: each batch of points becomes a :class:`~vbfem.study.sweep.Sweep` (the points are its cases'
overrides) run by :func:`~vbfem.study.sweep.run_sweep` into one folder, so the simulations run on
Dask (a local cluster of ``workers`` processes by default, or a scheduler's workers), cases that
share their untreated states compute them once, and a plan that was killed resumes without
computing a finished case again: a seeded plan asks for the same cases in the same order, and the
sweep finds their result folders by the hash of the resolved study.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def _get(study, key):
    from ..study.sweep import get_key

    return get_key(study, key)


class SweepSimulator:
    """``evaluate(points) -> rows`` over the sweep machinery (see the module docstring).

    Parameters
    ----------
    study : Study
        The base study.
    state : str
        The treated state whose results row is returned.
    out : path
        The sweep folder (``out/cases/<hash12>/`` per simulation, shared over all batches).
    scheduler : str, optional, keyword-only
        A running Dask scheduler's address.
    workers : int, optional, keyword-only
        Worker processes of the local Dask cluster (default: one per CPU); ignored with ``scheduler``.

    Attributes
    ----------
    computed, reused : int
        Simulations computed and found done (of this object's calls).
    """

    def __init__(self, study, state: str, out, *, scheduler: str | None = None, workers: int | None = None):
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers = {workers!r}: must be an integer >= 1")
        if state not in [t.name for t in study.treatments]:
            raise ValueError(f"state = {state!r}: must be a treated state of the study "
                             f"({', '.join(t.name for t in study.treatments) or 'none'})")
        self.study, self.state, self.out = study, state, Path(out)
        self.scheduler = scheduler
        self.workers = workers if (workers is not None or scheduler is not None) else (os.cpu_count() or 1)
        self.computed = 0
        self.reused = 0

    def __call__(self, points) -> list[dict]:
        from ..study.schema import StudyError
        from ..study.sweep import Sweep, run_sweep
        from .spec import ERROR_SUFFIX, study_point

        points = [dict(p) for p in points]
        rows: list = [None] * len(points)
        valid, cases = [], []
        for i, p in enumerate(points):
            try:
                s = study_point(self.study, p)
            except StudyError as exc:  # e.g. an injection that would end after the cement sets
                rows[i] = {"error": f"StudyError: {exc}"}
                log.info("plan: point %d is not a valid study (%s); it counts as missing the targets", i, exc)
                continue
            valid.append(i)
            # the sweep's overrides: the keys as simulated (a planned value plus its error, summed)
            keys = dict.fromkeys(k.removesuffix(ERROR_SUFFIX) for k in p)
            cases.append({k: _get(s, k) for k in keys})
        if valid:
            sweep = Sweep(base=self.study, cases=tuple(cases))
            res = run_sweep(sweep, self.out, scheduler=self.scheduler, workers=self.workers)
            self.computed += res.computed
            self.reused += len(valid) - res.computed - len(res.failed)
            by_case = {}
            for r in res.rows:
                if "error" in r or r.get("state") == self.state:
                    by_case[r["case"]] = dict(r)
            for j, i in enumerate(valid):
                rows[i] = by_case.get(j, {"error": f"no row of state {self.state!r}"})
        return rows


def _check_memory(spec, *, processes: int) -> None:
    """ValueError before any simulation when the base study with a design level (one key at a time) is
    estimated to need more memory, ``processes`` at a time, than the budget
    (:func:`vbfem.study.memory.check_study_memory`, ``VBFEM_MAX_MEMORY`` / ``--max-memory``)."""
    from ..study.memory import check_study_memory
    from ..study.sweep import set_key

    studies = [spec.study] + [set_key(spec.study, v.key, value) for v in spec.design.variables for value in v.values]
    check_study_memory(studies, processes=processes)


def plan_treatment(study, targets, design_space, uncertainty=(), *, objective=None, settings=None,
                   state: str | None = None, out=None, scheduler: str | None = None, workers: int | None = None,
                   sensitivity_samples: int = 2048, progress=None):
    """Plan a treatment of ``study``: the strategy of least objective that meets ``targets`` in the
    required share of the uncertain cases, verified by full simulations.

    Parameters
    ----------
    study : Study
        The base study (its ``state`` treatment is the one planned).
    targets : sequence of Target
    design_space : DesignSpace
    uncertainty : sequence of UncertainInput
    objective : Objective, optional, keyword-only
        Default: least mean cement (``cement_ml``).
    settings : PlanSettings, optional, keyword-only
    state : str, optional, keyword-only
        The treated state (default: the study's first treatment).
    out : path, optional, keyword-only
        Plan folder: ``sims/`` (the sweep of all simulations, resumable) and, when given, the
        outputs (:func:`vbfem.plan.report.write_plan`). Default: a temporary folder, no outputs.
    scheduler, workers : keyword-only
        As :class:`SweepSimulator`.
    sensitivity_samples : int, keyword-only
        Base sample size of the Sobol indices (on the surrogate).
    progress : callable, optional, keyword-only
        ``progress(stage, simulations_so_far)``.

    Returns
    -------
    PlanResult
        With ``sensitivity`` filled in.
    """
    import dataclasses
    import tempfile

    from .search import plan
    from .sensitivity import plan_sensitivity
    from .spec import Objective, PlanSettings, PlanSpec, check_columns, check_study_keys, study_columns

    if state is None:
        if not study.treatments:
            raise ValueError("study: it has no treatment; a plan chooses a treatment")
        state = study.treatments[0].name
    spec = PlanSpec(design=design_space, uncertainty=tuple(uncertainty), targets=tuple(targets),
                    objective=objective or Objective(), settings=settings or PlanSettings(), study=study, state=state)
    check_columns(spec, study_columns(study))
    check_study_keys(spec)
    if scheduler is None:  # the simulations running at once on this machine (as run_sweep checks each batch)
        _check_memory(spec, processes=workers or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="vbfem-plan-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        sim = SweepSimulator(study, state, folder / "sims", scheduler=scheduler, workers=workers)
        result = plan(spec, sim, progress=progress)
        result = dataclasses.replace(result, sensitivity=plan_sensitivity(result, n=sensitivity_samples))
        log.info("plan: %d simulations, %d computed, %d reused", result.n_simulations, sim.computed, sim.reused)
        if out is not None:
            from .report import write_plan

            write_plan(result, folder, extra={"computed": sim.computed, "reused": sim.reused})
    return result
