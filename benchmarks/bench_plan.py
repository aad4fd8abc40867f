"""Treatment planning cost (issue 21): full simulations a plan needs against a plain grid of the same
resolution, and its wall-clock time on 2 local Dask workers (target: >= 5x fewer simulations, < 20 min).

The plan is ``examples/plan/plan.toml``: 3 design variables (cement volume 2-6 mL by 1, unipedicular or
bipedicular, start of injection 180-420 s by 120: 30 strategies) x 3 uncertain inputs (bone density,
height loss, cement viscosity) on the default L1 at 3 mm, linear strength screen, no per-case pictures.
The plain grid estimates every strategy's probability with the same number of Monte Carlo simulations the
plan spends verifying one (``n_verify``): strategies x n_verify simulations; the full-factorial grid with
3 levels per uncertain input (strategies x 27) is printed too.

Usage (from the repository root)::

    python benchmarks/bench_plan.py                     # the example plan, 2 workers
    python benchmarks/bench_plan.py --n-initial 16 --rounds 1 --n-verify 8    # a smaller run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the checkout on sys.path)

from vbfem.plan.simulate import plan_treatment
from vbfem.plan.spec import load_plan

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 5.0
TARGET_SECONDS = 20 * 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default=str(ROOT / "examples" / "plan" / "plan.toml"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n-initial", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--n-verify", type=int)
    ap.add_argument("--out", help="plan folder (default: a temporary one)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("vbfem.plan").setLevel(logging.INFO)
    spec = load_plan(args.plan)
    changes = {k: v for k, v in (("n_initial", args.n_initial), ("rounds", args.rounds),
                                 ("n_verify", args.n_verify)) if v is not None}
    settings = dataclasses.replace(spec.settings, **changes)
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        out = Path(args.out or tmp)
        t0 = time.perf_counter()
        res = plan_treatment(spec.study, spec.targets, spec.design, spec.uncertainty, objective=spec.objective,
                             settings=settings, state=spec.state, out=out, workers=args.workers)
        seconds = time.perf_counter() - t0
        summary = json.loads((out / "plan.json").read_text())
    n_candidates = spec.design.size
    grid = n_candidates * settings.n_verify
    factorial = n_candidates * 3 ** len(spec.uncertainty)
    rec = res.recommended
    rows = [
        ("strategies (design grid)", f"{n_candidates}"),
        ("uncertain inputs", f"{len(spec.uncertainty)}"),
        ("plan: full simulations", f"{res.n_simulations} ({summary['computed']} computed)"),
        (f"plain grid: strategies x {settings.n_verify} MC", f"{grid}"),
        ("plain grid: strategies x 3^inputs", f"{factorial}"),
        ("fewer simulations than the MC grid", f"{grid / res.n_simulations:.1f}x (target >= {TARGET_RATIO:g}x)"),
        ("wall-clock, 2 workers", f"{seconds / 60:.1f} min (target < {TARGET_SECONDS / 60:.0f} min)"),
        ("status", res.status),
        ("recommended", "none" if rec is None else ", ".join(f"{k}={v}" for k, v in rec.design.items())),
        ("verified P(meet)", "-" if rec is None else
         f"{rec.met}/{rec.n} = {rec.p_met:.2f} [{rec.p_met_ci[0]:.2f}, {rec.p_met_ci[1]:.2f}]"),
        ("verified P(leak)", "-" if rec is None else
         f"{rec.p_leak:.2f} [{rec.p_leak_ci[0]:.2f}, {rec.p_leak_ci[1]:.2f}]"),
    ] + [(f"surrogate CV rmse {c}", f"{v['rmse']:.3g} ({100 * v['relative']:.0f} % of sd)") for c, v in res.cv.items()]
    width = max(len(k) for k, _ in rows)
    print(f"{'quantity':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
