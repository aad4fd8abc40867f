"""Mesh a vertebral body and write it as VTU with its node and cell sets; print its quality.

Examples:
    vbfem mesh --level L1 --size 2.0
    vbfem mesh --level T12 --size 1.5 --cell-type tet10 --out meshes/
    vbfem mesh --surface vertebra.stl --size 2.0
"""

from __future__ import annotations

from pathlib import Path

HELP = "mesh a vertebral body (parametric level or a surface file) and write a VTU"


def add_args(parser):
    from .common import add_memory_arg

    parser.add_argument("--level", default="L1", help="spinal level T1-L5 (default: %(default)s)")
    parser.add_argument("--surface", help="closed surface of a real vertebra (STL, PLY, OBJ, VTK) instead of --level")
    parser.add_argument("--size", type=float, default=2.0, help="element size in mm (default: %(default)s)")
    parser.add_argument("--cell-type", default="hex8", choices=("hex8", "tet4", "tet10"))
    parser.add_argument("--out", default="vbfem-output", help="output folder (default: %(default)s)")
    add_memory_arg(parser)


def run(args) -> int:
    from ..anatomy.mesher import mesh_vertebra
    from ..anatomy.quality import mesh_quality
    from ..output.vtu import to_vtu
    from ..study.pipeline import make_geometry

    geometry = make_geometry(level=args.level, surface=args.surface)
    mesh = mesh_vertebra(geometry, size=args.size, cell_type=args.cell_type)
    q = mesh_quality(mesh, geometry)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.surface).stem if args.surface else geometry.level
    path = to_vtu(out / f"{name}_{args.cell_type}_{args.size:g}mm.vtu", mesh)
    print(f"{name}: {mesh.n_cells} {mesh.cell_type} cells, {mesh.n_points} nodes")
    for key, value in q.as_dict().items():
        print(f"  {key:24s} {value:.4g}" if isinstance(value, float) else f"  {key:24s} {value}")
    print(f"  node sets: {', '.join(sorted(mesh.node_sets))}")
    print(f"  cell sets: {', '.join(sorted(mesh.cell_sets))}")
    print(f"wrote {path}")
    return 0
