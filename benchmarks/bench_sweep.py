"""Parallel efficiency of a sweep: the same cases on 1 and on 2 local Dask workers (issue 7: >= 80 %);
with ``--sharing``, what computing the untreated states once per sweep saves (issue 23).

The cases are a volume x BMD grid of a coarse study (L1, size 3 mm, grade-2 wedge, bipedicular
vertebroplasty, linear strength screen, no pictures): the ten volumes of one BMD share their intact and
fractured states. Efficiency = T(1 worker) / (2 * T(2 workers)), both with the states shared. Each run starts
from an empty output folder, so no case is reused; the workers are warmed on one case first so that JIT
compilation is not counted. ``--sharing`` times the sweep on 2 workers with ``share_states=False`` (every
case computes its intact and fractured states, as before) and with the default ``True``, one after the
other, ``--repeat`` times, and prints the median times and the saving.

Usage (from the repository root)::

    python benchmarks/bench_sweep.py              # 100 cases, about 10 min
    python benchmarks/bench_sweep.py --cases 20
    python benchmarks/bench_sweep.py --sharing --cases 40
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from vbfem.study.schema import Study
from vbfem.study.sweep import Sweep, run_sweep

TARGET = 0.80


def cases(n: int) -> tuple:
    volumes = np.linspace(1.0, 6.0, 10)
    bmd = np.linspace(0.07, 0.16, max(1, int(np.ceil(n / volumes.size))))
    grid = [{"treatments[0].volume": round(float(v), 3), "bone.bmd": round(float(b), 4)} for b in bmd for v in volumes]
    return tuple(grid[:n])


def timed(sweep: Sweep, workers: int, *, share_states: bool = True) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(Sweep(sweep.base, cases=sweep.cases[:workers]), tmp + "/warm", workers=workers)  # JIT warm-up
        t = time.perf_counter()
        res = run_sweep(sweep, tmp + "/run", workers=workers, share_states=share_states)
        dt = time.perf_counter() - t
    if res.failed:
        raise SystemExit(f"{len(res.failed)} case(s) failed")
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--sharing", action="store_true",
                    help="time 2 workers without and with the shared untreated states instead of the efficiency")
    ap.add_argument("--repeat", type=int, default=1, help="with --sharing: pairs of runs (the medians are printed)")
    a = ap.parse_args()
    # the linear strength screen: the sweep's machinery is measured, not the strength curves
    # (benchmarks/bench_nonlinear.py), which would make each case about 10 times longer
    base = Study(name="bench", mesh={"size": 3.0}, treatments=[{"name": "VP"}], load={"strength": "linear"},
                 output={"vtu": False, "pictures": False, "report": False})
    sweep = Sweep(base, cases=cases(a.cases))
    if a.sharing:
        alone, shared = [], []
        for _ in range(a.repeat):
            alone.append(timed(sweep, 2, share_states=False))
            shared.append(timed(sweep, 2))
        ta, ts = float(np.median(alone)), float(np.median(shared))
        groups = len({c["bone.bmd"] for c in sweep.cases})
        print(f"{'cases':>6} {'state sets':>10} {'unshared s':>11} {'shared s':>9} {'saving':>7}   (2 workers, "
              f"median of {a.repeat}; all: {', '.join(f'{x:.1f}' for x in alone)} / "
              f"{', '.join(f'{x:.1f}' for x in shared)})")
        print(f"{a.cases:>6} {groups:>10} {ta:>11.1f} {ts:>9.1f} {100 * (1 - ts / ta):>6.0f}%")
        return
    t1 = timed(sweep, 1)
    t2 = timed(sweep, 2)
    eff = t1 / (2 * t2)
    print(f"{'cases':>6} {'1 worker s':>11} {'2 workers s':>12} {'s/case (2w)':>12} {'efficiency':>11}")
    print(f"{a.cases:>6} {t1:>11.1f} {t2:>12.1f} {t2 / a.cases:>12.2f} {100 * eff:>10.0f}%   "
          f"target >= {100 * TARGET:.0f}%: {'PASS' if eff >= TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
