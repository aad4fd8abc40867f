"""Export a state (a VTU written by vbfem run/demo) with a load case for another solver.

The VTU carries the mesh, its node and cell sets and the materials; the load
case is built on it by name. The output format follows the extension:
.inp (Abaqus / CalculiX), .feb (FEBio 4), .vtu or .xdmf (+ .h5; needs h5py).

Examples:
    vbfem export vbfem-demo/VP.vtu VP.inp
    vbfem export vbfem-demo/KP.vtu KP.feb --load flexion
    vbfem export vbfem-demo/intact.vtu intact.inp --displacement 0.2 && ccx intact
"""

from __future__ import annotations

from pathlib import Path

HELP = "export a state (VTU) with a load case as .inp (CalculiX/Abaqus), .feb (FEBio), .vtu or .xdmf"

FORMATS = (".inp", ".feb", ".vtu", ".xdmf")


def add_args(parser):
    parser.add_argument("state", help="VTU of a state, as written by 'vbfem run' or 'vbfem demo'")
    parser.add_argument("output", help="file to write: .inp, .feb, .vtu or .xdmf")
    parser.add_argument("--load", default="compression_test",
                        help="load case name (vbfem.mechanics.loadcases.load_case_names; default: %(default)s)")
    parser.add_argument("--displacement", type=float, default=0.1,
                        help="platen displacement of compression_test, mm (default: %(default)s)")
    parser.add_argument("--force", type=float, default=500.0, help="axial force of physiological cases, N")
    parser.add_argument("--moment", type=float, default=7500.0, help="moment of bending cases, N mm")


def run(args) -> int:
    from ..mechanics.loadcases import load_case_names, make_load_case
    from ..output.vtu import read_vtu, to_vtu

    out = Path(args.output)
    if out.suffix not in FORMATS:
        raise ValueError(f"output {str(out)!r}: extension must be one of {', '.join(FORMATS)}")
    if args.load not in load_case_names():
        raise ValueError(f"--load {args.load!r}: unknown; valid: {', '.join(load_case_names())}")
    if out.suffix == ".xdmf":  # before the state is read: a missing package is said first
        from ..output.vtu import require_h5py

        require_h5py()
    mesh, materials = read_vtu(args.state)
    if materials is None:
        raise ValueError(f"{args.state}: holds no materials (E, nu cell arrays); export a VTU written by vbfem run")
    opts = ({"displacement": args.displacement} if args.load == "compression_test"
            else {"force": args.force, "moment": args.moment})
    load = make_load_case(mesh, args.load, **opts)
    if out.suffix == ".inp":
        from ..output.inp import to_inp

        path = to_inp(out, mesh, materials, load)
    elif out.suffix == ".feb":
        from ..output.feb import to_feb

        path = to_feb(out, mesh, materials, load)
    elif out.suffix == ".xdmf":
        from ..output.vtu import to_xdmf

        path = to_xdmf(out, mesh, materials=materials)
    else:
        path = to_vtu(out, mesh, materials=materials)
    print(f"wrote {path}: {mesh.n_cells} {mesh.cell_type} cells, load {args.load}")
    return 0
