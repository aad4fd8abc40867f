"""Mesh a vertebral body and write it as VTU with its node and cell sets; print its quality.

Examples:
    vbfem mesh --level L1 --size 2.0
    vbfem mesh --level T12 --size 1.5 --cell-type tet10 --out meshes/
    vbfem mesh --surface vertebra.stl --size 2.0
    vbfem mesh --image scan.nii.gz --labels seg.nii.gz --tissues "1:body, 2:posterior" --calibration phantom.txt
"""

from __future__ import annotations

from pathlib import Path

HELP = "mesh a vertebral body (parametric level or a surface file) and write a VTU"


def add_args(parser):
    from .common import add_memory_arg

    parser.add_argument("--level", default="L1", help="spinal level T1-L5 (default: %(default)s)")
    parser.add_argument("--surface", help="closed surface of a real vertebra (STL, PLY, OBJ, VTK) instead of --level")
    parser.add_argument("--image", help="calibrated CT scan (NIfTI): voxel mesh with endplate caps (needs --labels, "
                        "--tissues)")
    parser.add_argument("--labels", help="label image (NIfTI) on the scan's grid, with --image")
    parser.add_argument("--tissues", help="label -> tissue table with --image, e.g. '1:body, 2:posterior'")
    parser.add_argument("--calibration", default="mg/cm3",
                        help="'mg/cm3' (already calibrated, default) or a phantom fit file, with --image")
    parser.add_argument("--coarsen", type=int, default=1, help="coarsening factor with --image (default: 1)")
    parser.add_argument("--cut-x", type=float, metavar="MM",
                        help="with --image: x (mm, +x anterior, scan frame) of a frontal cut plane at the pedicles; "
                             "body-label voxels behind it become posterior elements (study key geometry.cut_x)")
    parser.add_argument("--size", type=float, default=2.0, help="element size in mm (default: %(default)s)")
    parser.add_argument("--cell-type", default="hex8", choices=("hex8", "tet4", "tet10"))
    parser.add_argument("--out", default="vbfem-output", help="output folder (default: %(default)s)")
    add_memory_arg(parser)


def run(args) -> int:
    from ..anatomy.mesher import mesh_vertebra
    from ..anatomy.quality import mesh_quality
    from ..output.vtu import to_vtu
    from ..study.pipeline import make_geometry

    if args.image is not None:
        return _run_image(args)
    if args.cut_x is not None:
        raise ValueError(f"--cut-x {args.cut_x:g}: a cut plane applies to an image (--image) only")
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


def _run_image(args) -> int:
    from ..anatomy.calibration import CALIBRATED, read_calibration
    from ..anatomy.ct import ct_mesh
    from ..anatomy.image import read_volume
    from ..output.vtu import to_vtu
    from ..study.schema import GeometrySpec

    if args.surface is not None:
        raise ValueError("--image and --surface exclude each other: give one")
    spec = GeometrySpec(image=args.image, labels=args.labels, tissues=args.tissues, calibration=args.calibration,
                        coarsen=args.coarsen, cut_x=args.cut_x)
    cal = CALIBRATED if spec.calibration == "mg/cm3" else read_calibration(spec.calibration)
    volume = read_volume(spec.image, labels=spec.labels)
    mesh, info = ct_mesh(volume, tissues=spec.tissue_table(), calibration=cal, coarsen_by=spec.coarsen,
                         cut_x=spec.cut_x)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.image).name.split(".")[0]
    path = to_vtu(out / f"{name}_voxels_x{spec.coarsen}.vtu", mesh)
    print(f"{name}: {mesh.n_cells} hex8 cells ({info.n_bone} bone voxels), {mesh.n_points} nodes; "
          f"axes {''.join(info.axcodes)} -> ALS, spacing {info.spacing} mm")
    if info.caps is not None:
        print(f"  caps: body axis {info.caps.axis.round(3).tolist()} ({info.caps.tilt:.1f} deg from +z), "
              f"{info.caps.thickness:g} mm")
    print(f"  node sets: {', '.join(sorted(mesh.node_sets))}")
    print(f"  cell sets: {', '.join(sorted(mesh.cell_sets))}")
    print(f"wrote {path}")
    return 0
