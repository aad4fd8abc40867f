"""Speed of the linear mechanical response on the default L1 mesh.

Times, after a JIT warm-up solve on the same mesh, the linear compression
stiffness of an osteoporotic L1 (``mesh_vertebra(build_vertebra("L1"),
size=2.0)``, ``assign_bone``, ex vivo ``compression_test`` at 500 N) with the
stage times of ``solve_static``, then the response measures (load share,
endplate pressure, linear strength) and the physiological cases. Target
(issue 4): linear stiffness in < 5 s.

Usage (from the repository root)::

    python benchmarks/bench_mechanics.py                 # ~1 min on 2 cores
    python benchmarks/bench_mechanics.py --repeat 5 --cell-type tet4 --size 2.0
    python benchmarks/bench_mechanics.py --law qct_crawford2003   # anisotropic kernels
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
from vbfem.fem.static import solve_static
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.loadcases import compression_test, physiological
from vbfem.mechanics.response import endplate_pressure, linear_strength, load_share, platen_force

TARGET = 5.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", default="L1")
    ap.add_argument("--size", type=float, default=2.0)
    ap.add_argument("--cell-type", default="hex8", choices=("hex8", "tet4", "tet10"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--law", default="morgan2003",
                    help="density-modulus law; qct_crawford2003 times the transversely isotropic kernels")
    args = ap.parse_args()
    print("command: python " + " ".join([os.path.relpath(__file__, ROOT)] + sys.argv[1:]))

    t = time.perf_counter()
    mesh = mesh_vertebra(build_vertebra(args.level), size=args.size, cell_type=args.cell_type)
    mat = assign_bone(mesh, seed=0, law=args.law)
    print(f"{args.level} size {args.size} {args.cell_type}: {mesh.n_points} nodes, {mesh.n_cells} cells, "
          f"{mesh.n_dofs} dofs, law {args.law}{'' if mat.isotropic else ' (transversely isotropic)'}; mesh + materials {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    solve_static(mesh, mat, compression_test(mesh, force=500.0), solver=args.solver)
    print(f"warm-up solve (JIT) {time.perf_counter() - t:.2f} s\n")

    print(f"{'run':>4} {'total s':>8} {'constr':>7} {'asm':>7} {'reduce':>7} {'solve':>7} {'post':>7} "
          f"{'method':>8} {'iters':>6} {'K N/mm':>9}")
    totals = []
    for i in range(args.repeat):
        t = time.perf_counter()
        res = solve_static(mesh, mat, compression_test(mesh, force=500.0), solver=args.solver)
        k = res.stiffness("platen")
        dt = time.perf_counter() - t
        totals.append(dt)
        tm = res.timings
        print(f"{i:>4} {dt:8.2f} {tm['constraints']:7.2f} {tm['assembly']:7.2f} {tm['reduction']:7.2f} "
              f"{tm['solve']:7.2f} {tm['post']:7.2f} {res.solver.method:>8} {res.solver.iterations:6d} {k:9.0f}")
    med = statistics.median(totals)
    print(f"median {med:.2f} s (target < {TARGET:.0f} s): {'ok' if med < TARGET else 'SLOW'}\n")

    t = time.perf_counter()
    share = load_share(mesh, mat, res)
    t_share = time.perf_counter() - t
    t = time.perf_counter()
    ep = endplate_pressure(mesh, res)
    t_ep = time.perf_counter() - t
    t = time.perf_counter()
    strength = linear_strength(mesh, mat, res)
    t_str = time.perf_counter() - t
    print(f"{'measure':<22} {'time s':>7}  value")
    print(f"{'load share':<22} {t_share:7.3f}  " + ", ".join(f"{k} {v:.1f} N" for k, v in share.items())
          + f" (platen {platen_force(res):.1f} N)")
    print(f"{'endplate pressure':<22} {t_ep:7.3f}  mean {ep.mean_pressure:.3f} MPa, peak {ep.peak_pressure:.3f} MPa,"
          f" area {ep.total_area:.0f} mm²")
    print(f"{'linear strength':<22} {t_str:7.3f}  {strength:.0f} N (2 % of bone > 0.7 % strain, Pistoia 2002)\n")

    print(f"{'case':<24} {'time s':>7} {'iters':>6} {'rot x':>10} {'rot y':>10} {'rot z':>10} {'Uz mm':>9}")
    for case in ("flexion", "extension", "lateral_bending_left", "axial_rotation_left"):
        t = time.perf_counter()
        r = solve_static(mesh, mat, physiological(mesh, case), solver=args.solver)
        m = r.platen_motion["platen"]
        print(f"{case:<24} {time.perf_counter() - t:7.2f} {r.solver.iterations:6d} {m[3]:10.2e} {m[4]:10.2e} "
              f"{m[5]:10.2e} {m[2]:9.4f}")


if __name__ == "__main__":
    main()
