"""Speed of kyphoplasty: balloon inflation, compaction, height restoration and cavity fill.

Default L1 mesh (``mesh_vertebra(build_vertebra("L1"), size=2.0)``, hex8),
osteoporotic bone, grade-2 wedge with an endplate crack, bipedicular 15 mm
balloons inflated to 3 mL each, PMMA. One warm-up run compiles the numba
flow kernels; the table then shows the best of ``--repeat`` runs of each
stage and of the whole ``simulate_kyphoplasty`` (target < 20 s) for cement
volumes inside the cavity (no flow solve) and beyond it (interdigitation
through the IMPES flow model).

Usage (from the repository root)::

    python benchmarks/bench_kyphoplasty.py
    python benchmarks/bench_kyphoplasty.py --size 3.0 --repeat 1 --volumes 4 8
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fracture.deformity import apply_fracture
from vbfem.materials.bone import assign_bone
from vbfem.treatment.balloon import inflate, place_balloons
from vbfem.treatment.kyphoplasty import compact, simulate_kyphoplasty


def _best(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", default="L1")
    ap.add_argument("--size", type=float, default=2.0)
    ap.add_argument("--inflation", type=float, default=3.0, help="mL per balloon")
    ap.add_argument("--volumes", type=float, nargs="+", default=[4.0, 6.0, 8.0], help="cement volumes, mL")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)

    g = build_vertebra(args.level)
    m = mesh_vertebra(g, size=args.size)
    b = assign_bone(m, bmd="osteoporotic", seed=1)
    fm, fb = apply_fracture(m, b, "wedge", grade=2, breaches=("endplate_crack",))
    print(f"{args.level}, size {args.size} mm: {m.n_cells} hex8 cells; grade-2 wedge; "
          f"bipedicular 15 mm balloons at {args.inflation} mL each")
    simulate_kyphoplasty(fm, fb, g, intact=m, inflation_volume=args.inflation, volume=max(args.volumes))  # warm-up
    bal = place_balloons(g)
    rows = []
    t, infl = _best(lambda: inflate(fm, fb, bal, volume=args.inflation), args.repeat)
    rows.append(("inflate (cavity growth)", t, f"{infl.cavity_volume / 1000:.2f} mL at {infl.final_pressure:.2f} MPa"))
    t, comp = _best(lambda: compact(fm, fb, infl.fraction), args.repeat)
    rows.append(("compact (shell)", t, f"{int(comp.compacted.sum())} cells, {comp.layers} layers"))
    for v in args.volumes:
        t, r = _best(lambda v=v: simulate_kyphoplasty(fm, fb, g, intact=m, inflation_volume=args.inflation,
                                                      volume=v), args.repeat)
        info = (f"+{r.height_restored_mm:.2f} mm ({100 * r.height_restored_fraction:.0f} %), "
                f"depth {r.interdigitation_depth:.1f} mm, leaked {r.fill.leaked_total:.3g} mm3")
        rows.append((f"simulate_kyphoplasty {v:g} mL", t, info))
    w = max(len(r[0]) for r in rows)
    print(f"{'stage':<{w}}  {'time s':>8}  result")
    for name, t, info in rows:
        print(f"{name:<{w}}  {t:8.3f}  {info}")
    total = max(r[1] for r in rows[2:])
    print(f"slowest full kyphoplasty: {total:.2f} s (target < 20 s): {'OK' if total < 20 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
