"""Regenerate the reference meshes in this folder.

Intact and grade-2 wedge-fractured vertebral bodies of the seed's cases
(T11, L3, L4) and of L1, the most often fractured level, meshed at the
default size (hex8, 2 mm) with osteoporotic bone (Morgan 2003 law), written as
zlib-compressed VTU with their node and cell sets and material fields.

Usage::

    python meshes/make_meshes.py            # rewrite all files
    python meshes/make_meshes.py --check    # fail if a file differs from what the code makes now

The meshes are deterministic (no random heterogeneity), so ``--check`` tells
whether a change to the geometry, mesher, bone or fracture code changed them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fracture.deformity import apply_fracture
from vbfem.materials.bone import assign_bone
from vbfem.output.vtu import read_vtu, to_vtu

HERE = Path(__file__).parent
LEVELS = ("T11", "L1", "L3", "L4")
SIZE = 2.0


def cases():
    """Yield ``(file name, mesh, materials)`` of every reference mesh."""
    for level in LEVELS:
        mesh = mesh_vertebra(build_vertebra(level), size=SIZE)
        bone = assign_bone(mesh, bmd="osteoporotic")
        yield f"{level}_intact.vtu", mesh, bone
        fmesh, fbone = apply_fracture(mesh, bone, "wedge", grade=2)
        yield f"{level}_wedge_grade2.vtu", fmesh, fbone


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    bad = 0
    for name, mesh, materials in cases():
        path = HERE / name
        if args.check:
            stored, stored_mat = read_vtu(path)
            same = (stored.cells.shape == mesh.cells.shape and np.array_equal(stored.cells, mesh.cells)
                    and np.allclose(stored.points, mesh.points, rtol=0, atol=1e-9)
                    and set(stored.node_sets) == set(mesh.node_sets) and set(stored.cell_sets) == set(mesh.cell_sets)
                    and all(np.array_equal(stored.cell_sets[k], np.sort(v)) for k, v in mesh.cell_sets.items())
                    and stored_mat is not None and np.allclose(stored_mat.E, materials.E, rtol=1e-12, atol=0))
            print(f"{name}: {'ok' if same else 'DIFFERS'}")
            bad += not same
        else:
            to_vtu(path, mesh, materials=materials)
            print(f"{name}: {mesh.n_cells} {mesh.cell_type} cells, {path.stat().st_size / 1024:.0f} KiB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
