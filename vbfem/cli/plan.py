"""Plan a treatment: the strategy that meets targets with the least cement and leakage risk, under uncertainty.

A plan file names a base study, the treatment keys to choose (design space), the uncertain inputs
(scipy.stats distributions), targets on results columns and an objective (see vbfem.plan.spec).
Simulations run through the sweep machinery: a local Dask cluster (--workers, default one per CPU) or
a running scheduler (--scheduler); a killed plan resumes without recomputing finished simulations.
--max-memory caps the GiB the simulations running at once may take (as vbfem sweep), checked before the
first simulation.
Writes ranking.csv, simulations.csv, sensitivity.csv, surrogate_cv.csv, pareto.png, plan.json,
provenance.json and report.html. Needs scikit-learn: pip install 'vbfem[plan]'.

Examples:
    vbfem plan examples/plan/plan.toml --workers 2
    vbfem plan examples/plan/placement.toml --workers 2 --max-memory 4
    vbfem plan plan.toml --scheduler tcp://10.0.0.5:8786 --out plan-out/
"""

from __future__ import annotations

import logging
from pathlib import Path

HELP = "plan a treatment under uncertainty (surrogate + sequential design, verified by full simulations)"


def add_args(parser):
    from .common import add_memory_arg

    parser.add_argument("plan", help="plan file (TOML, schema version 1)")
    parser.add_argument("--out", help="output folder (default: <plan file stem>-out beside the plan file)")
    parser.add_argument("--workers", type=int, help="worker processes of the local Dask cluster (default: CPUs)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    add_memory_arg(parser)


def run(args) -> int:
    from ..plan.simulate import plan_treatment
    from ..plan.spec import load_plan
    from ..study.sweep import check_scheduler

    try:
        import distributed  # noqa: F401
    except ImportError:
        pass
    else:
        logging.getLogger("distributed").setLevel(logging.INFO if args.verbose else logging.WARNING)
    path = Path(args.plan)
    spec = load_plan(path)  # every check before any simulation
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers = {args.workers}: must be >= 1")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    out = Path(args.out) if args.out else path.with_name(path.stem + "-out")

    def progress(stage, n):
        if not args.quiet:
            print(f"  {stage}: {n} simulations so far", flush=True)

    res = plan_treatment(spec.study, spec.targets, spec.design, spec.uncertainty, objective=spec.objective,
                         settings=spec.settings, state=spec.state, out=out, scheduler=args.scheduler,
                         workers=args.workers, progress=progress)
    rec = res.recommended
    if rec is not None:
        design = ", ".join(f"{k} = {v}" for k, v in rec.design.items())
        print(f"recommended: {design}")
        print(f"  meets the targets in {rec.met}/{rec.n} full simulations ({100 * rec.p_met:.0f} %, "
              f"{100 * spec.settings.confidence:.0f} % interval "
              f"{100 * rec.p_met_ci[0]:.0f}-{100 * rec.p_met_ci[1]:.0f} %); "
              f"leaks in {rec.leaked}/{rec.n} ({100 * rec.p_leak:.0f} %)")
    else:
        print("no strategy meets the targets")
        for s in res.shortfall:
            if "shortfall" in s:
                print(f"  {s['target']}: best reached in {100 * spec.settings.probability:.0f} % of the cases "
                      f"{s['reached_in_share']:.4g} ({s['strategy']}), short by {s['shortfall']:.4g}")
    cv = ", ".join(f"{c} {100 * v['relative']:.0f} %" for c, v in res.cv.items())
    print(f"{res.n_simulations} full simulations for {spec.design.size} candidate strategies; "
          f"surrogate cross-validated error (of the sd): {cv}")
    print(f"wrote {out / 'report.html'}, ranking.csv, pareto.png, sensitivity.csv")
    return 0
