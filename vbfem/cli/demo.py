"""Run the reference job and print its table.

Stage 1 of the demo: a potted cylinder of osteoporotic trabecular bone (the
size of a lumbar vertebral body) compressed by a rigid platen, solved on hex8
and tet10 meshes of increasing resolution, with its stiffness between the two
analytic bounds (free lateral expansion E A / L; fully confined M A / L).
Writes a VTU of the finest hex8 solution into the output folder.

Example:
    vbfem demo
    vbfem demo --out results/ --displacement 0.25
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

HELP = "run the reference job (potted bone cylinder under platen compression)"

#: Cylinder the size of a lumbar body: endplate about 40 mm wide, 25 mm high
#: (Clouthier 2023 lumbar ranges: width 39.4-58.8 mm, height 23.5-32.4 mm).
RADIUS, HEIGHT = 20.0, 25.0
#: Osteoporotic trabecular apparent density, g/cm³ (REFERENCE: 0.07-0.12 osteoporotic).
DENSITY = 0.10
#: Trabecular Poisson's ratio of the typical continuum FE set (0.315, PMC12452785 table 3),
#: rounded as in most vertebral FE studies.
POISSON = 0.3


def add_args(parser):
    parser.add_argument("--out", default="vbfem-output", help="output folder (default: %(default)s)")
    parser.add_argument("--displacement", type=float, default=0.25,
                        help="platen displacement in mm (default: %(default)s, 1 %% strain)")


def run(args) -> int:
    from ..io.vtu import to_vtu
    from ..laws import modulus_from_density
    from ..loads import platen_compression
    from ..primitives import cylinder_mesh
    from ..records import MaterialMap
    from ..static import solve_static

    if not args.displacement > 0:
        raise ValueError(f"--displacement must be > 0 mm, got {args.displacement}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    E = float(modulus_from_density(DENSITY, "morgan2003"))
    area = np.pi * RADIUS**2
    nu = POISSON
    M = E * (1 - nu) / ((1 + nu) * (1 - 2 * nu))
    print("vbfem demo - potted cylinder of osteoporotic trabecular bone under platen compression")
    print(f"  diameter {2 * RADIUS:.0f} mm, height {HEIGHT:.0f} mm, density {DENSITY} g/cm3 -> "
          f"E = {E:.1f} MPa (Morgan 2003), nu = {nu}; platen displacement {args.displacement} mm")
    print()
    print(f"  {'mesh':<16}{'cells':>8}{'dofs':>9}{'stiffness N/mm':>16}{'solver':>9}{'iters':>7}{'time s':>8}")
    cases = [("hex8", 4, 6), ("hex8", 8, 12), ("hex8", 12, 18), ("tet10", 4, 6), ("tet10", 6, 9)]
    last = None
    for cell_type, nr, nz in cases:
        mesh = cylinder_mesh(RADIUS, HEIGHT, n_radial=nr, n_axial=nz, cell_type=cell_type)
        mat = MaterialMap.uniform(mesh.n_cells, E, nu)
        t = time.perf_counter()
        res = solve_static(mesh, mat, platen_compression(mesh, displacement=args.displacement))
        dt = time.perf_counter() - t
        print(f"  {cell_type + f' {nr}x{nz}':<16}{mesh.n_cells:>8}{mesh.n_dofs:>9}{res.stiffness('platen'):>16.1f}"
              f"{res.solver.method:>9}{res.solver.iterations:>7}{dt:>8.2f}")
        if cell_type == "hex8":
            last = (mesh, mat, res)
    print()
    print(f"  bounds: E A / L = {E * area / HEIGHT:.1f} N/mm (free ends), "
          f"M A / L = {M * area / HEIGHT:.1f} N/mm (fully confined)")
    path = to_vtu(out / "cylinder.vtu", last[0], materials=last[1], result=last[2])
    print(f"  wrote {path}")
    return 0
