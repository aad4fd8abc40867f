"""Meshing speed and mesh convergence of the intact L1 vertebral body.

Prints (1) the wall-clock time of ``mesh_vertebra(build_vertebra("L1"),
size=2.0)`` (the default size; target < 5 s) and (2) a convergence table:
for each element size the number of cells, the compression stiffness of the
intact osteoporotic L1 (``assign_bone(mesh, bmd="osteoporotic")``, no
heterogeneity; ``inferior`` nodes fixed, rigid platen on ``superior``), its
change from the previous size, and a Richardson extrapolation from the three
finest sizes when the sequence is monotone (target: < 2 % change between the
two finest sizes).

Usage (from the repository root)::

    python benchmarks/bench_mesh.py                          # sizes 3 2.5 2 1.5 1.25
    python benchmarks/bench_mesh.py --sizes 3 2 1.5 --cell-type hex8
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.loads import platen_compression
from vbfem.fem.static import solve_static
from vbfem.materials.bone import assign_bone

DEFAULT_SIZES = (3.0, 2.5, 2.0, 1.5, 1.25)


def stiffness(level: str, size: float, *, cell_type: str = "hex8") -> tuple[int, float, float]:
    """(n cells, compression stiffness N/mm, solve seconds) of the intact osteoporotic body."""
    mesh = mesh_vertebra(build_vertebra(level), size=size, cell_type=cell_type)
    mat = assign_bone(mesh, bmd="osteoporotic", heterogeneity=0.0)
    load = platen_compression(mesh, top="superior", bottom="inferior", displacement=0.1)
    t0 = time.perf_counter()
    res = solve_static(mesh, mat, load)
    return mesh.n_cells, res.stiffness("platen"), time.perf_counter() - t0


def richardson(sizes, values):
    """Extrapolated value and observed order from the last three (size, value) pairs, or None.

    Uses ``K(h) = K0 + C h^p``; needs monotone differences of one sign and an
    order ``p`` in (0.001, 10) that reproduces their ratio (found by bisection,
    as the refinement ratios need not be constant).
    """
    (h1, h2, h3), (k1, k2, k3) = sizes[-3:], values[-3:]
    d1, d2 = k2 - k1, k3 - k2
    if d1 == 0 or d1 * d2 <= 0 or abs(d2) >= abs(d1):
        return None

    def f(p):  # ratio of differences predicted by the power law minus observed
        return (h2**p - h3**p) / (h1**p - h2**p) - d2 / d1

    lo, hi = 1e-3, 10.0
    if f(lo) * f(hi) > 0:
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(lo) * f(mid) <= 0:
            hi = mid
        else:
            lo = mid
    p = 0.5 * (lo + hi)
    c = d2 / (h3**p - h2**p)
    return k3 - c * h3**p, p


def convergence(sizes=DEFAULT_SIZES, *, level="L1", cell_type="hex8"):
    """Rows (size, n_cells, stiffness, relative change from previous, solve s)."""
    rows = []
    prev = None
    for h in sorted(sizes, reverse=True):
        n, k, t = stiffness(level, h, cell_type=cell_type)
        rows.append((h, n, k, None if prev is None else (k - prev) / prev, t))
        prev = k
    return rows


def meshing_time(level="L1", size=2.0, repeat=5):
    mesh_vertebra(build_vertebra(level), size=size)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        mesh = mesh_vertebra(build_vertebra(level), size=size)
        times.append(time.perf_counter() - t0)
    return mesh.n_cells, statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", default="L1")
    ap.add_argument("--sizes", type=float, nargs="+", default=list(DEFAULT_SIZES))
    ap.add_argument("--cell-type", default="hex8")
    args = ap.parse_args(argv)

    n, t = meshing_time(args.level)
    print(f"meshing {args.level} at size 2.0 mm (hex8): {n} cells, median {t:.3f} s (target < 5 s)")
    print()
    print(f"mesh convergence, intact osteoporotic {args.level}, {args.cell_type}, platen on superior")
    print(f"{'size mm':>8} {'cells':>8} {'K N/mm':>10} {'change':>8} {'solve s':>8}")
    rows = convergence(args.sizes, level=args.level, cell_type=args.cell_type)
    for h, n, k, ch, ts in rows:
        print(f"{h:8.2f} {n:8d} {k:10.1f} {'' if ch is None else f'{100 * ch:+7.2f}%':>8} {ts:8.2f}")
    if len(rows) >= 3:
        rich = richardson([r[0] for r in rows], [r[2] for r in rows])
        if rich is None:
            print("Richardson extrapolation: skipped (changes not monotone or no consistent order K0 + C h^p "
                  "fits the three finest sizes, i.e. not in the asymptotic range)")
        else:
            k0, p = rich
            print(f"Richardson extrapolation: K0 = {k0:.1f} N/mm (observed order {p:.2f}); "
                  f"finest is {100 * (rows[-1][2] - k0) / k0:+.2f}% from K0")
    last = rows[-1][3]
    if last is not None:
        print(f"change between the two finest sizes: {100 * abs(last):.2f}% (target < 2 %): "
              + ("PASS" if abs(last) < 0.02 else "FAIL"))


if __name__ == "__main__":
    main()
