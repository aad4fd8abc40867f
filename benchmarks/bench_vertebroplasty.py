"""6 mL bipedicular vertebroplasty on the default L1 mesh (target < 20 s after JIT warm-up).

Run (from the repository root): python benchmarks/bench_vertebroplasty.py
"""

import time

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.materials.bone import assign_bone
from vbfem.treatment.needles import bipedicular
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty


def main():
    g = build_vertebra("L1")
    m = mesh_vertebra(g, size=2.0)
    mat = assign_bone(m)
    nd = bipedicular(g, volume=6.0)
    simulate_vertebroplasty(m, mat, g, needles=bipedicular(g, volume=0.2))  # JIT warm-up
    t = time.perf_counter()
    f = simulate_vertebroplasty(m, mat, g, needles=nd)
    dt = time.perf_counter() - t
    print(f"{'cells':>8} {'pressure solves':>16} {'transport steps':>16} {'time s':>8} {'fill %':>7} {'balance':>9}")
    print(f"{m.n_cells:>8} {f.params['n_pressure_solves']:>16} {f.params['n_transport_steps']:>16} {dt:>8.2f} "
          f"{100 * f.metrics['fill_fraction']:>7.2f} {f.metrics['left_right_balance']:>9.2e}")


if __name__ == "__main__":
    main()
