"""Speed of the fracture stage and its stiffness calibration.

Prints (1) the wall-clock time of ``apply_fracture`` on the default L1 mesh
(``mesh_vertebra(build_vertebra("L1"), size=2.0)``, hex8) for every kind at
grade 2 (target < 1 s), after a warm-up that compiles the numba Jacobian
check, and (2) with ``--calibration`` the compression stiffness of the
intact and fractured osteoporotic L1 (platen on ``superior``, ``inferior``
fixed) for a 25 % wedge and crush and every kind at grade 2, against the
Wegrzyn 2011 target (-53 ± 18 %).

Usage (from the repository root)::

    python benchmarks/bench_fracture.py                  # timings only, a few seconds
    python benchmarks/bench_fracture.py --calibration    # + 10 linear solves, ~30 s
    python benchmarks/bench_fracture.py --cell-type tet4 --size 2.0
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
from vbfem.anatomy.heights import measure_heights
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.loads import platen_compression
from vbfem.fem.static import solve_static
from vbfem.fracture.band import DAMAGE_DEPTH
from vbfem.fracture.deformity import KINDS, apply_fracture
from vbfem.materials.bone import assign_bone


def stiffness(mesh, materials):
    load = platen_compression(mesh, top="superior", bottom="inferior", displacement=0.1)
    return solve_static(mesh, materials, load).stiffness("platen")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="L1")
    parser.add_argument("--size", type=float, default=2.0, help="mesh size, mm (default 2.0, the demo size)")
    parser.add_argument("--cell-type", default="hex8", choices=("hex8", "tet4", "tet10"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calibration", action="store_true", help="also solve for the stiffness table")
    args = parser.parse_args(argv)

    mesh = mesh_vertebra(build_vertebra(args.level), size=args.size, cell_type=args.cell_type)
    bone = assign_bone(mesh, bmd="osteoporotic")
    t = time.perf_counter()
    apply_fracture(mesh, bone, "wedge", grade=1)  # warm-up: numba compile of the Jacobian check
    warm = time.perf_counter() - t
    print(f"{args.level} {args.cell_type} size {args.size:g} mm: {mesh.n_cells} cells, {mesh.n_points} nodes; "
          f"warm-up (incl. JIT) {warm:.3f} s")
    print(f"{'kind (grade 2)':<24} {'median s':>9} {'min s':>7} {'damaged':>8}  target < 1 s")
    for kind in KINDS:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            _, mat = apply_fracture(mesh, bone, kind, grade=2)
            times.append(time.perf_counter() - t)
        ok = "ok" if statistics.median(times) < 1.0 else "SLOW"
        print(f"{kind:<24} {statistics.median(times):9.3f} {min(times):7.3f} "
              f"{mat.params['fracture']['n_damaged']:8d}  {ok}")
    t = time.perf_counter()
    apply_fracture(mesh, bone, "wedge+biconcave+crush", grade=3, cleft=True,
                   breaches=["anterior", "posterior", "lateral_left", "endplate_crack"])
    print(f"{'all three + cleft + 4 outlets (g3)':<24} {time.perf_counter() - t:9.3f}")

    if not args.calibration:
        return
    print()
    print(f"calibration: damage_depth {DAMAGE_DEPTH} mm (the damaged bone from vbfem.materials.damage); "
          "Wegrzyn 2011 25 % deformity: -53 ± 18 % (test range -70 .. -35 %)")
    k0 = stiffness(mesh, bone)
    h0 = measure_heights(mesh)
    print(f"{'case':<30} {'Ha/Hp':>6} {'Hm/Hp':>6} {'Hp/Hp0':>6} {'K N/mm':>9} {'change':>8}")
    print(f"{'intact':<30} {h0.wedge_ratio:6.3f} {h0.biconcavity_ratio:6.3f} {1.0:6.3f} {k0:9.0f}")
    cases = [("wedge", {"height_loss": 0.25}), ("crush", {"height_loss": 0.25})]
    cases += [(k, {"grade": 2}) for k in KINDS]
    for kind, opts in cases:
        fm, fb = apply_fracture(mesh, bone, kind, **opts)
        k = stiffness(fm, fb)
        h = measure_heights(fm)
        label = f"{kind} " + (f"L={opts['height_loss']}" if "height_loss" in opts else f"grade {opts['grade']}")
        print(f"{label:<30} {h.wedge_ratio:6.3f} {h.biconcavity_ratio:6.3f} {h.posterior / h0.posterior:6.3f} "
              f"{k:9.0f} {100 * (k / k0 - 1):7.1f}%", flush=True)


if __name__ == "__main__":
    main()
