"""Where the validation study's cement-modulus effect comes from (issue 18): a table of linear stiffness.

Run (from the repository root): python benchmarks/bench_cement_modulus.py [--size 1.5]

The validation study (L1, osteoporotic, grade-2 wedge) and the fill of the validation row after
Kosmopoulos & Keller 2004: bipedicular VP replacing 39 % of the fractured body's marrow
(:data:`vbfem.study.validation.KOSMOPOULOS_PARTIAL_FILL`). Each line gives the stiffness (% of the
intact body) at cement moduli of 1 / 2 / 9 GPa and the change from 1 to 9 GPa, for the row's fill and
for variants that switch one suspect off at a time: the band's damage (the same geometry with the
damage factor 1), the cement in the damaged band, the cement within one or two cells of either
endplate, the in-bone factor (:data:`vbfem.materials.cement.CEMENT_IN_BONE_FACTOR` at 1, solid bonded
PMMA), a fill that touches neither endplate (4 mL, tips 6 mm lower), the calibration's 4 mL in the
intact body, and the whole marrow replaced (:func:`vbfem.study.validation.core_fill`). Also the fill's
distance to the endplates. About 15 s at 3 mm; 5 minutes at 1.5 mm on the 2-core machine shared with other jobs.
"""

import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from scipy.spatial import cKDTree

from vbfem.fem.cells import cell_centroids
from vbfem.fracture.deformity import apply_fracture
from vbfem.materials import cement as cement_module
from vbfem.materials.cement import CEMENTS, with_cement
from vbfem.materials.porous import porous_medium
from vbfem.records import TISSUES
from vbfem.study.pipeline import build_states
from vbfem.study.schema import Study
from vbfem.study.validation import KOSMOPOULOS_PARTIAL_FILL, KOSMOPOULOS_PMMA, _stiffness, core_fill
from vbfem.treatment.needles import bipedicular, offset_tip
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty

MODULI = (1000.0, 2000.0, 9000.0)


def _without(fill, cells):
    """``fill`` with no cement in ``cells`` (a boolean mask)."""
    return dataclasses.replace(fill, saturation=np.where(cells, 0.0, fill.saturation),
                               fraction=np.where(cells, 0.0, fill.fraction))


def _reach(mesh, fill):
    """Distance (mm) from the nearest cement cell's centroid (s >= 0.5) to the superior / inferior endplate cells."""
    cc = cell_centroids(mesh)
    filled = np.asarray(fill.saturation) >= 0.5
    return tuple(float(cKDTree(cc[mesh.cell_sets[f"{side}_endplate"]]).query(cc[filled])[0].min())
                 for side in ("superior", "inferior"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=1.5, help="mesh size, mm (default 1.5, the comparisons')")
    args = parser.parse_args()
    t0 = time.perf_counter()
    study = Study(name="validation")
    study = study.replace(mesh=dict(study.mesh.to_dict(), size=args.size), treatments=[])
    geometry, (intact, fractured) = build_states(study)
    k0 = _stiffness(intact.mesh, intact.materials)
    mesh, mat = fractured.mesh, fractured.materials
    pmma = CEMENTS["pmma"]
    marrow = float(porous_medium(mesh, mat).pore_volume.sum())
    volume = KOSMOPOULOS_PARTIAL_FILL * marrow / 1000.0
    fill = simulate_vertebroplasty(mesh, mat, geometry, needles=bipedicular(geometry, volume=volume), seed=study.seed)
    sup, inf = _reach(mesh, fill)
    print(f"size {args.size:g} mm; intact {k0:.0f} N/mm, fractured {100 * _stiffness(mesh, mat) / k0:.1f} % of intact; "
          f"39 % of the marrow = {volume:.2f} mL, nearest cement cell {sup:.1f} / {inf:.1f} mm from the superior / "
          f"inferior endplate cells (touching: {fill.metrics['bridging_superior']} / {fill.metrics['bridging_inferior']})")
    damaged = np.asarray(mat.tissue) == TISSUES.index("damaged")
    cc = cell_centroids(mesh)
    d_ep = np.minimum(*(cKDTree(cc[mesh.cell_sets[f"{side}_endplate"]]).query(cc)[0]
                        for side in ("superior", "inferior")))
    fm1, fb1 = apply_fracture(intact.mesh, intact.materials, study.fracture.kind, grade=study.fracture.grade,
                              height_loss=study.fracture.height_loss, seed=study.seed, damage_factor=1.0)
    low = tuple(offset_tip(n, (0.0, 0.0, -6.0)) for n in bipedicular(geometry, volume=4.0))
    fill_low = simulate_vertebroplasty(mesh, mat, geometry, needles=low, seed=study.seed)
    fill_intact = simulate_vertebroplasty(intact.mesh, intact.materials, geometry,
                                          needles=bipedicular(geometry, volume=4.0), seed=study.seed)
    cases = [
        ("39 % of the marrow, fractured (the validation row)", mesh, mat, fill, None),
        ("  the band's damage off (damage factor 1)", fm1, fb1, fill, None),
        ("  no cement in the damaged band", mesh, mat, _without(fill, damaged), None),
        ("  no cement within one cell of an endplate", mesh, mat, _without(fill, d_ep <= args.size), None),
        ("  no cement within two cells of an endplate", mesh, mat, _without(fill, d_ep <= 2 * args.size), None),
        ("  solid bonded PMMA in bone (in-bone factor 1)", mesh, mat, fill, 1.0),
        ("4 mL, tips 6 mm lower, fractured", mesh, mat, fill_low, None),
        ("4 mL, intact body (the calibration's setup)", intact.mesh, intact.materials, fill_intact, None),
        ("whole marrow replaced, fractured", mesh, mat, core_fill(mesh, mat), None),
    ]
    print(f"\n| case | {' | '.join(f'{e / 1000:g} GPa' for e in MODULI)} | 1 -> 9 GPa |\n|---|---|---|---|---|")
    factor = cement_module.CEMENT_IN_BONE_FACTOR
    try:
        for label, m, materials, f, in_bone in cases:
            cement_module.CEMENT_IN_BONE_FACTOR = factor if in_bone is None else in_bone
            k = [_stiffness(m, with_cement(materials, f, dataclasses.replace(pmma, E=e))) for e in MODULI]
            print(f"| {label} | {' | '.join(f'{100 * x / k0:.1f} %' for x in k)} | {100 * (k[-1] / k[0] - 1):+.1f} % |",
                  flush=True)
    finally:
        cement_module.CEMENT_IN_BONE_FACTOR = factor
    core = core_fill(mesh, mat)
    kp, k9 = (_stiffness(mesh, with_cement(mat, core, dataclasses.replace(pmma, E=e))) for e in (KOSMOPOULOS_PMMA, 9000.0))
    print(f"\nwhole marrow replaced: {100 * kp / k0:.1f} % of intact with {KOSMOPOULOS_PMMA / 1000:g} GPa, "
          f"{100 * (k9 / kp - 1):+.1f} % from {KOSMOPOULOS_PMMA / 1000:g} to 9 GPa; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
