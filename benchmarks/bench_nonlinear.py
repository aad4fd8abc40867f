"""Speed and result of the elastic–plastic load–displacement curve on the default L1 mesh.

Model: ``mesh_vertebra(build_vertebra("L1"), size=2.0)``, ``assign_bone(mesh, bmd="osteoporotic")``,
inferior endplate fixed, superior endplate tied to a rigid platen moved down (``platen_compression``),
asymmetric Drucker–Prager bone (``vbfem.fem.plasticity``, 0.84 % / 0.78 % yield strains, 5 % hardening).
A short elastic curve on the same mesh warms the JIT first. Target (issue 4): full curve < 60 s.

Reported: peak force (strength; with positive hardening it is the force at the final travel) and the
0.2 % offset yield force. For comparison, ex vivo compressive strengths of osteoporotic/elderly
vertebral bodies are of order 1.5–4 kN (e.g. Mosekilde 1990; Eriksson 1989 — unverified here).

``--states``: the strength test of the demo's four states (intact, fractured, VP, KP; the strength
test of ``vbfem.mechanics.failure.compression_curves``), one after the other and in
worker processes. Target (issue 18): all four < 40 s on 2 cores after the JIT warm-up.

Usage (from the repository root)::

    python benchmarks/bench_nonlinear.py                      # ~1 min on 2 cores
    python benchmarks/bench_nonlinear.py --strain 0.04 --steps 20 --cell-type hex8
    python benchmarks/bench_nonlinear.py --states             # ~2 min on 2 cores
    python benchmarks/bench_nonlinear.py --states --element eas   # the enhanced-strain hex8

``--element``: the hex8 formulation, ``bbar`` (the default of ``elastoplastic_curve``), ``eas`` (the
enhanced-assumed-strain hex8 of ``vbfem.fem.eas``) or ``plain``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.loads import platen_compression
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.failure import load_displacement

TARGET = 60.0

#: keyword options of the curve per hex8 formulation
ELEMENT_OPTIONS = {"bbar": {}, "eas": {"eas": True}, "plain": {"bbar": False}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", default="L1")
    ap.add_argument("--size", type=float, default=2.0)
    ap.add_argument("--cell-type", default="hex8")
    ap.add_argument("--strain", type=float, default=0.03, help="final platen travel / vertebral height")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--element", choices=sorted(ELEMENT_OPTIONS), default="bbar",
                    help="hex8 formulation of the elastic-plastic curve")
    ap.add_argument("-v", action="store_true", help="log every load step")
    ap.add_argument("--states", action="store_true", help="the four demo states, serial and in 2 processes")
    a = ap.parse_args()
    if a.states:
        return bench_states(ELEMENT_OPTIONS[a.element])
    if a.v:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("vbfem.fem.solvers").setLevel(logging.WARNING)

    geo = build_vertebra(a.level)
    t = time.perf_counter()
    mesh = mesh_vertebra(geo, size=a.size, cell_type=a.cell_type)
    t_mesh = time.perf_counter() - t
    mat = assign_bone(mesh, bmd="osteoporotic")
    height = float(np.ptp(mesh.points[:, 2]))
    load = platen_compression(mesh, top="superior", bottom="inferior", displacement=a.strain * height)

    t = time.perf_counter()
    opts = ELEMENT_OPTIONS[a.element] if a.cell_type == "hex8" else {}
    load_displacement(mesh, mat, load, max_displacement=1e-4 * height, n_steps=1, solver=a.solver, **opts)  # JIT
    t_warm = time.perf_counter() - t

    t = time.perf_counter()
    c = load_displacement(mesh, mat, load, n_steps=a.steps, solver=a.solver, **opts)
    t_curve = time.perf_counter() - t

    form = f" ({a.element})" if a.cell_type == "hex8" else ""
    print(f"# {a.level} {a.cell_type}{form} size {a.size} mm: {mesh.n_cells} cells, {mesh.n_dofs} dofs, "
          f"height {height:.1f} mm (mesh {t_mesh:.1f} s, warm-up {t_warm:.1f} s)")
    print(f"{'step':>4} {'travel mm':>10} {'strain %':>9} {'force N':>9} {'Newton':>6} {'plastic %':>9}")
    for i, (d, F, it, pf) in enumerate(zip(c.displacement, c.force, c.iterations, c.plastic_fraction)):
        print(f"{i:4d} {d:10.4f} {100 * d / height:9.3f} {F:9.1f} {it:6d} {100 * pf:9.2f}")
    print()
    print(f"{'quantity':<34} {'value':>10}")
    print(f"{'initial stiffness (N/mm)':<34} {c.stiffness:10.0f}")
    print(f"{'first yield force (N, last elastic)':<34} {c.first_yield_force:10.0f}")
    print(f"{'0.2 % offset yield force (N)':<34} {c.yield_force:10.0f}")
    print(f"{'peak force = strength (N)':<34} {c.peak_force:10.0f}")
    print(f"{'Newton iterations total':<34} {int(c.iterations.sum()):10d}")
    print(f"{'assembly time (s)':<34} {c.timings['assembly']:10.1f}")
    print(f"{'linear solve time (s)':<34} {c.timings['solve']:10.1f}")
    status = "PASS" if t_curve < TARGET else "FAIL"
    print(f"{'full curve time (s)':<34} {t_curve:10.1f}   target < {TARGET:.0f} s: {status}")


def bench_states(opts):
    from vbfem.cli.demo import demo_study
    from vbfem.mechanics.failure import STRENGTH_GROWTH, STRENGTH_STEPS, STRENGTH_TOL, compression_curves
    from vbfem.study.pipeline import build_states

    _, built = build_states(demo_study())
    states = {s.name: (s.mesh, s.materials) for s in built}
    compression_curves(dict([next(iter(states.items()))]), displacement=0.01, n_steps=1, **opts)  # JIT warm-up
    timing, curves = {}, {}
    for workers in (1, 2):
        t = time.perf_counter()
        curves[workers] = compression_curves(states, workers=workers, **opts)
        timing[workers] = time.perf_counter() - t
    print(f"# demo states, size {demo_study().mesh.size} mm, {built[0].mesh.n_cells} cells; {STRENGTH_STEPS} steps "
          f"to yield, growth {STRENGTH_GROWTH:g}, tol {STRENGTH_TOL:g}; options {opts}")
    print(f"{'state':<10} {'peak N':>8} {'yield N':>8} {'stiff N/mm':>10} {'steps':>5} {'Newton':>6} {'curve s':>8}")
    for name, c in curves[1].items():
        print(f"{name:<10} {c.peak_force:8.0f} {c.yield_force:8.0f} {c.stiffness:10.0f} {c.displacement.size - 1:5d} "
              f"{int(c.iterations.sum()):6d} {c.timings['total']:8.1f}")
    same = all(np.array_equal(curves[1][k].force, curves[2][k].force) for k in curves[1])
    print()
    print(f"{'run':<34} {'time s':>8}")
    print(f"{'four states, one after the other':<34} {timing[1]:8.1f}")
    print(f"{'four states, 2 worker processes':<34} {timing[2]:8.1f}   target < 40 s: "
          f"{'PASS' if timing[2] < 40 else 'FAIL'}; curves identical: {same}")


if __name__ == "__main__":
    main()
