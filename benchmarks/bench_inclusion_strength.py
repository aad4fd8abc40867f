"""Mesh dependence of the strength of a body with a fixed cement inclusion (issue 18): a table.

Run (from the repository root): python benchmarks/bench_inclusion_strength.py [--cell-type hex8|tet10]
[--sizes 3 2.5 2]

The intact osteoporotic L1 with two 7 mm balls of PMMA-in-bone centred on the default bipedicular needle
tips (no flow: the same inclusion at every size). Each cell's cement volume fraction ``c`` is integrated
(:func:`vbfem.study.verification.cell_fraction_inside`); modulus by the series mix
(:func:`vbfem.materials.cement.cement_mix`); strength per rule for the cells holding cement: ``step``
(the composite's yield stress from c >= 0.5: today's rule of :func:`vbfem.materials.cement.with_cement`),
``series`` (only from c >= 0.99) and ``linear`` (in every cell with cement). The force at the end of the
3 % travel of the nonlinear compression test (:func:`vbfem.mechanics.failure.compression_curves`) and the
0.2 %-offset yield force, per size. It separates the element's share of the mesh dependence (compare
hex8 with tet10) from the flow's (the study's VP fill moves with the mesh; this inclusion does not).
Measured 2026-12-07 on the loaded 2-core machine: hex8 4287 / 4266 / 4219 / 4179 N at 3 / 2.5 / 2 /
1.5 mm (``step``), tet10 4189 / 4177 / 4147 N at 3 / 2.5 / 2 mm (208 / 514 / 680 s per size).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.materials.bone import assign_bone
from vbfem.materials.cement import cement_mix, cement_preset
from vbfem.materials.porous import TISSUE_DENSITY
from vbfem.materials.strength import yield_stresses
from vbfem.mechanics.failure import STRENGTH_STRAIN, compression_curves, endplate_height
from vbfem.records import TISSUES
from vbfem.study.pipeline import make_geometry
from vbfem.study.verification import cell_fraction_inside
from vbfem.treatment.needles import bipedicular

#: Radius (mm) of each ball of the inclusion.
BALL_RADIUS = 7.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-type", default="hex8", choices=("hex8", "tet10", "tet4"))
    ap.add_argument("--sizes", type=float, nargs="+", default=[3.0, 2.5, 2.0])
    args = ap.parse_args()
    if any(not (0.5 <= s <= 10.0) for s in args.sizes):
        ap.error(f"--sizes {args.sizes}: each must lie in [0.5, 10] mm")
    geometry = make_geometry(level="L1")
    tips = np.array([nd.tip for nd in bipedicular(geometry, volume=4.0)])
    cement = cement_preset("pmma")

    def inside(p):
        return (np.linalg.norm(p[:, None, :] - tips[None], axis=2) < BALL_RADIUS).any(axis=1)

    print(f"{'size mm':>8} {'cells':>7} {'rule':>7} {'end force N':>12} {'yield N':>9} {'s':>6}")
    for size in args.sizes:
        mesh = mesh_vertebra(geometry, size=size, cell_type=args.cell_type)
        bone = assign_bone(mesh, bmd="osteoporotic")
        c = np.where(bone.mask("trabecular"), cell_fraction_inside(mesh, inside), 0.0)
        E, nu = cement_mix(bone.E, bone.nu, c, cement)
        bone_yield, _ = yield_stresses(bone)
        porosity = 1.0 - np.asarray(bone.density) / TISSUE_DENSITY
        composite = np.fmax(bone_yield, c * porosity * cement.strength)
        tissue = bone.tissue.copy()
        tissue[c >= 0.5] = TISSUES.index("composite")
        rules = {"step": np.where(c >= 0.5, composite, np.nan), "series": np.where(c >= 0.99, composite, np.nan),
                 "linear": np.where(c > 0, composite, np.nan)}
        states = {k: (mesh, bone.replace(E=E, nu=nu, tissue=tissue, yield_stress=ys)) for k, ys in rules.items()}
        t0 = time.perf_counter()
        curves = compression_curves(states, displacement=STRENGTH_STRAIN * endplate_height(mesh))
        dt = (time.perf_counter() - t0) / len(curves)
        for k, cv in curves.items():
            print(f"{size:8.2f} {mesh.n_cells:7d} {k:>7} {cv.peak_force:12.1f} {cv.yield_force:9.1f} {dt:6.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
