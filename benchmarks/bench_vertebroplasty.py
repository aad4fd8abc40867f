"""6 mL bipedicular vertebroplasty on the default L1 mesh (target < 20 s after JIT warm-up).

Run (from the repository root): python benchmarks/bench_vertebroplasty.py

``--calibration`` also prints the calibration of
:data:`vbfem.materials.cement.CEMENT_IN_BONE_FACTOR`: the stiffness gain of an intact
osteoporotic L1 by 2 / 4 / 8 mL bipedicular PMMA fills that do not bridge the endplates,
against the bound of Kinzl et al. 2012 (< +16 %), and the same fills in the grade-2 wedge.
"""

import argparse
import time

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.loads import platen_compression
from vbfem.fem.static import solve_static
from vbfem.fracture.deformity import apply_fracture
from vbfem.materials import cement as cement_module
from vbfem.materials.bone import assign_bone
from vbfem.materials.cement import with_cement
from vbfem.treatment.needles import bipedicular
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty


def _stiffness(mesh, materials):
    load = platen_compression(mesh, top="superior", bottom="inferior", displacement=0.1)
    return solve_static(mesh, materials, load).stiffness("platen")


def calibration(g, m, mat, factors=(1.0, 0.5, 0.35, 0.25)):
    """Stiffness gain of intact and fractured bodies by non-bridging fills, for several in-bone factors."""
    k0 = _stiffness(m, mat)
    fm, fb = apply_fracture(m, mat, "wedge", grade=2)
    kf = _stiffness(fm, fb)
    print(f"\nintact {k0:.0f} N/mm, grade-2 wedge {kf:.0f} N/mm ({100 * kf / k0:.0f} % of intact); "
          "Kinzl 2012: fills not bridging the endplates stiffen by < +16 %")
    fills = {v: (simulate_vertebroplasty(m, mat, g, needles=bipedicular(g, volume=v)),
                 simulate_vertebroplasty(fm, fb, g, needles=bipedicular(g, volume=v))) for v in (2.0, 4.0, 8.0)}
    print(f"{'factor':>6} " + " ".join(f"{f'{v:g} mL intact+VP':>16} {f'{v:g} mL VP % int.':>16}" for v in fills))
    default = cement_module.CEMENT_IN_BONE_FACTOR
    try:
        for factor in factors:
            cement_module.CEMENT_IN_BONE_FACTOR = factor
            cols = []
            for fi, ff in fills.values():
                assert not fi.metrics["bridging"]
                cols.append(f"{100 * (_stiffness(m, with_cement(mat, fi)) / k0 - 1):>+15.1f}%")
                cols.append(f"{100 * _stiffness(fm, with_cement(fb, ff)) / k0:>15.1f}%")
            mark = "  (default)" if factor == default else ""
            print(f"{factor:>6.2f} " + " ".join(cols) + mark, flush=True)
    finally:
        cement_module.CEMENT_IN_BONE_FACTOR = default
    print("fill % of body (intact): " + ", ".join(f"{v:g} mL {100 * fi.metrics['fill_fraction']:.1f}"
                                               for v, (fi, _) in fills.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", action="store_true", help="also print the in-bone cement factor's calibration")
    parser.add_argument("--size", type=float, default=2.0, help="mesh size, mm (default 2)")
    parser.add_argument("--cell-type", default="hex8", choices=("hex8", "tet4", "tet10"), help="cells (default hex8)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs (the best is printed)")
    args = parser.parse_args()
    g = build_vertebra("L1")
    m = mesh_vertebra(g, size=args.size, cell_type=args.cell_type)
    mat = assign_bone(m)
    nd = bipedicular(g, volume=6.0)
    simulate_vertebroplasty(m, mat, g, needles=bipedicular(g, volume=0.2))  # JIT warm-up
    dt = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        f = simulate_vertebroplasty(m, mat, g, needles=nd)
        dt = min(dt, time.perf_counter() - t)
    p = f.params
    print(f"{'cells':>8} {'pressure solves':>16} {'AMG set-ups':>12} {'AMG reused':>11} {'direct':>7} "
          f"{'transport steps':>16} {'time s':>8} {'fill %':>7} {'balance':>9}")
    print(f"{m.n_cells:>8} {p['n_pressure_solves']:>16} {p.get('n_amg_setup', -1):>12} {p.get('n_amg_reused', -1):>11} "
          f"{p.get('n_direct_solves', -1):>7} {p['n_transport_steps']:>16} {dt:>8.2f} "
          f"{100 * f.metrics['fill_fraction']:>7.2f} {f.metrics['left_right_balance']:>9.2e}")
    if args.calibration:
        calibration(g, m, mat)


if __name__ == "__main__":
    main()
