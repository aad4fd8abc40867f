"""Speed of the image route: calibrated QCT -> voxel mesh -> per-voxel materials -> linear stiffness.

A synthetic QCT of the L1 body (``examples/ct_vertebra/synthetic_ct.py``:
vbfem's geometry and density model, partial-volume shell and endplates, a
phantom fit, 10 HU noise) is written as NIfTI and run through
``read_volume -> ct_mesh (connectivity, 5 mm PMMA caps) -> ct_materials ->
solve_static(compression_test)``, each case in a fresh interpreter. Target
(issue 24): a 1 mm QCT vertebra with about 70 k bone voxels in < 15 s on 2
cores. The synthetic body has no posterior elements, so the "1 mm-class"
case uses 0.75 mm voxels to reach about 70 k bone voxels; the table also
reports 1 mm, and the 1 mm scan coarsened 2 x 2 x 2 (convergence). A second
1 mm case is made from the real L3 surface of ``../shared/data/lumbar_ssm``
(body anterior to the surface route's pedicle cut, posterior elements behind;
a one-voxel 400 mg/cm³ rim on an 80 mg/cm³ core; about 63 k bone voxels,
resampled into the body's frame).

Also printed: the stiffness of the boundary-fitted parametric model of the
same body, density field and caps (``mesh_vertebra`` 2 mm + ``assign_bone``
+ 5 mm PMMA layers), to state the voxelisation error.

Usage (from the repository root)::

    python benchmarks/bench_image.py
    python benchmarks/bench_image.py --spacings 1.0 0.75 --threads 2
    python benchmarks/bench_image.py --nonlinear     # + the L3 CT's nonlinear strength (target < 3 min)
    python benchmarks/bench_image.py --peer ciclope --ciclope-python /tmp/ciclope_venv/bin/python [--peer-only]

Optional peer (``--peer ciclope``): ciclope (PyPI ``ciclope``; Iori et al.,
"ciclope: micro Computed Tomography to Finite Elements", J. Open Source
Softw., doi:10.21105/joss.04952, as cited by the package's README), run in its
own virtualenv (``--ciclope-python``), builds its voxel FE model
(``vol2ugrid`` + ``mesh2voxelfe``: one C3D8 per voxel, one material per
integer grey value) of the SAME voxels as vbfem's 1 mm synthetic scan model
(``--peer-case L3``: the 1 mm CT of the real L3 surface) with its PMMA caps,
and CalculiX (``--ccx``, ``--ccx-threads`` OpenMP threads, run once) solves
the same compression (inferior cap face fixed, superior cap face ux = uy = 0,
uz = -0.05 mm; vbfem's ``superior`` / ``inferior`` node sets written as
ciclope node numbers). ciclope maps integer grey values to moduli, so vbfem's
per-voxel moduli are binned into ``PEER_LEVELS`` log-spaced levels (nearest
level, i.e. the level is the bin centre on a log scale; an error of at most
half a step, 0.10 % in E for the synthetic scan's 31-2000 MPa) and vbfem also solves that binned model: the two are then the same
model; the unbinned vbfem stiffness is printed to give the binning effect.
Without ciclope or ccx the peer is skipped with a message.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks._common import emit, load_warning, machine_line, run_worker, table


def _example():
    path = os.path.join(ROOT, "examples", "ct_vertebra", "synthetic_ct.py")
    spec = importlib.util.spec_from_file_location("synthetic_ct", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_l3(folder, stl, h=1.0):
    """A labelled 1 mm CT (mg/cm3, RAS-stored NIfTI) made from a real vertebra surface."""
    import nibabel
    import numpy as np
    from scipy import ndimage

    from vbfem.anatomy.surface import fit_surface, read_surface, voxelize_surface

    fit = fit_surface(stl, spacing=h)
    points, tris = read_surface(stl)
    inside, lo = voxelize_surface(points, tris, spacing=h)
    xc = lo[0] + (np.arange(inside.shape[0]) + 0.5) * h
    labels = np.where(inside, np.where(xc[:, None, None] >= fit.cut_x, 1, 2), 0).astype(np.int16)
    shell = inside & ~ndimage.binary_erosion(inside)
    mg = np.where(shell, 400.0, np.where(inside, 80.0, 10.0)).astype(np.float32)
    aff = _example().nifti_affine((h, h, h), tuple(lo))
    os.makedirs(folder, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(mg, aff), os.path.join(folder, "scan.nii.gz"))
    nibabel.save(nibabel.Nifti1Image(labels, aff), os.path.join(folder, "labels.nii.gz"))
    with open(os.path.join(folder, "phantom.txt"), "w") as fh:
        fh.write("unit = mg/cm3\n")


def worker(case: dict) -> None:
    from vbfem.anatomy.calibration import read_calibration
    from vbfem.anatomy.ct import ct_mesh
    from vbfem.anatomy.image import read_volume
    from vbfem.fem.static import solve_static
    from vbfem.materials.image import ct_materials
    from vbfem.mechanics.loadcases import compression_test

    if case["kind"] == "parametric":
        from vbfem.anatomy.geometry import build_vertebra
        from vbfem.anatomy.mesher import mesh_vertebra
        from vbfem.materials.bone import assign_bone
        from vbfem.mechanics.loadcases import PMMA_E, PMMA_NU, add_layer

        t0 = time.perf_counter()
        m = mesh_vertebra(build_vertebra("L1"), size=case["size"], cell_type="hex8")
        b = assign_bone(m, bmd="osteoporotic")
        m, b = add_layer(m, b, surface="superior", side="above", thickness=5.0, E=PMMA_E, nu=PMMA_NU,
                         tissue="potting", name="cs")
        m, b = add_layer(m, b, surface="inferior", side="below", thickness=5.0, E=PMMA_E, nu=PMMA_NU,
                         tissue="potting", name="ci")
        k = solve_static(m, b, compression_test(m, displacement=0.05, superior="cs_top",
                                                inferior="ci_bottom")).stiffness("platen")
        emit({"cells": m.n_cells, "bone": int(m.n_cells), "dofs": 3 * m.n_points, "stiffness": k,
              "total": time.perf_counter() - t0})
        return
    if case["kind"] == "L3-nonlinear":  # the study route, intact only, strength from the elastic-plastic curve
        from vbfem.study.pipeline import run_study
        from vbfem.study.schema import Study

        _write_l3(case["folder"], case["stl"])
        folder = case["folder"]
        study = Study.from_dict({"name": "L3-ct", "geometry": {
            "image": os.path.join(folder, "scan.nii.gz"), "labels": os.path.join(folder, "labels.nii.gz"),
            "tissues": "1:body, 2:posterior", "calibration": os.path.join(folder, "phantom.txt")},
            "fracture": {"kind": "none"}, "treatments": [], "load": {"strength": "nonlinear"},
            "output": {"vtu": False, "pictures": False, "report": False}})
        t0 = time.perf_counter()
        res = run_study(study, workers=1)
        row = res.rows[0]
        emit({"cells": res.states[0].mesh.n_cells, "bone": row.get("bone_voxels", 0),
              "dofs": 3 * res.states[0].mesh.n_points, "stiffness": row["stiffness"], "strength": row["strength"],
              "read": res.timings.get("geometry", 0.0), "mesh": res.timings.get("mesh", 0.0),
              "materials": res.timings.get("bone", 0.0), "solve": res.timings.get("mechanics", 0.0),
              "total": time.perf_counter() - t0})
        return
    if case["kind"] == "L3":
        _write_l3(case["folder"], case["stl"])
    folder = case["folder"]
    t0 = time.perf_counter()
    vol = read_volume(os.path.join(folder, "scan.nii.gz"), labels=os.path.join(folder, "labels.nii.gz"))
    cal = read_calibration(os.path.join(folder, "phantom.txt"))
    t1 = time.perf_counter()
    tissues = {1: "body", 2: "posterior"} if case["kind"] == "L3" else {1: "body", 2: "cortex"}
    mesh, info = ct_mesh(vol, tissues=tissues, calibration=cal, coarsen_by=case["coarsen"])
    t2 = time.perf_counter()
    mat, _ = ct_materials(mesh, calibration=cal)
    t3 = time.perf_counter()
    res = solve_static(mesh, mat, compression_test(mesh, displacement=0.05))
    t4 = time.perf_counter()
    emit({"cells": mesh.n_cells, "bone": info.n_bone, "dofs": 3 * mesh.n_points, "tilt": info.aligned,
          "stiffness": res.stiffness("platen"), "read": t1 - t0, "mesh": t2 - t1, "materials": t3 - t2,
          "solve": t4 - t3, "total": t4 - t0, "solver": res.solver.method})


PEER_LEVELS = 2000  # log-spaced modulus levels (grey values 1..PEER_LEVELS) of the ciclope model
PEER_DISPLACEMENT = 0.05  # mm, as the vbfem cases

# Run in ciclope's own interpreter: grey-value volume (z, y, x) -> meshio voxel mesh -> CalculiX .inp.
_CICLOPE_DRIVER = """
import json, sys, time
import numpy as np
from ciclope.core.voxelFE import vol2ugrid, mesh2voxelfe
a = json.loads(sys.argv[1])
gv = np.load(a["volume"])
t0 = time.perf_counter()
mesh = vol2ugrid(gv, voxelsize=a["voxel"], GVmin=0, locking_strategy="exact", node_level_lock_num=1)
t1 = time.perf_counter()
mesh2voxelfe(mesh, a["template"], a["inp"], matprop={"file": [a["property"]], "range": [[1, a["levels"]]]},
             keywords=["NSET", "ELSET", "PROPERTY"], eltype="C3D8", matpropbits=16)
t2 = time.perf_counter()
print(json.dumps({"ugrid": t1 - t0, "inp": t2 - t1, "cells": int(len(mesh.cells[0].data))}))
"""


def _ccx_total_force(dat_path: str, nset: str) -> float:
    """The z total force of ``*NODE PRINT, TOTALS=ONLY`` for ``nset`` in a CalculiX .dat file (N)."""
    with open(dat_path) as fh:
        lines = fh.read().splitlines()
    for i, line in enumerate(lines):
        if "total force" in line and nset.lower() in line.lower():
            for nxt in lines[i + 1:]:
                if nxt.strip():
                    return float(nxt.split()[2])
    raise ValueError(f"{dat_path}: no total force for set {nset}")


def peer_worker(case: dict) -> None:
    """vbfem's 1 mm synthetic scan model, rebuilt by ciclope and solved by CalculiX; vbfem on the same model."""
    import numpy as np

    from vbfem.anatomy.calibration import read_calibration
    from vbfem.anatomy.ct import ct_mesh
    from vbfem.anatomy.image import read_volume
    from vbfem.fem.static import solve_static
    from vbfem.materials.image import ct_materials
    from vbfem.mechanics.loadcases import compression_test

    folder = case["folder"]
    if case["image"] == "L3":
        _write_l3(folder, case["stl"])
    vol = read_volume(os.path.join(folder, "scan.nii.gz"), labels=os.path.join(folder, "labels.nii.gz"))
    cal = read_calibration(os.path.join(folder, "phantom.txt"))
    tissues = {1: "body", 2: "posterior"} if case["image"] == "L3" else {1: "body", 2: "cortex"}
    mesh, info = ct_mesh(vol, tissues=tissues, calibration=cal)
    mat, _ = ct_materials(mesh, calibration=cal)
    nu = np.unique(mat.nu)
    if nu.size != 1:
        raise ValueError(f"peer: one Poisson ratio is needed for the ciclope template; got {nu}")
    # voxel indices of the cells (the mesh is a regular grid of cubes of edge h)
    pts = mesh.points[mesh.cells]
    h = float(np.ptp(pts[:, :, 0], axis=1).max())
    lo = mesh.points.min(axis=0)
    ijk = np.floor((pts.mean(axis=1) - lo) / h).astype(int)
    if not np.allclose(np.ptp(pts, axis=1), h):
        raise ValueError("peer: the vbfem mesh is not a grid of equal cubes")
    # log-spaced modulus levels, nearest level (bin centre on a log scale)
    e = np.asarray(mat.E, dtype=float)
    emin, emax = float(e.min()), float(e.max())
    dlog = np.log(emax / emin) / (PEER_LEVELS - 1)
    level = np.rint(np.log(e / emin) / dlog).astype(int)
    e_bin = emin * np.exp(level * dlog)
    shape = ijk.max(axis=0) + 1
    gv = np.zeros((shape[2], shape[1], shape[0]), dtype=np.uint16)  # ciclope's order: (z, y, x)
    gv[ijk[:, 2], ijk[:, 1], ijk[:, 0]] = level + 1
    if np.count_nonzero(gv) != mesh.n_cells:
        raise ValueError("peer: two cells fell in one voxel")
    work = case["work"]
    os.makedirs(work, exist_ok=True)
    np.save(os.path.join(work, "gv.npy"), gv)
    with open(os.path.join(work, "property.inp"), "w") as fh:
        fh.write("*SOLID SECTION, ELSET=SetName, MATERIAL=MatName\n*MATERIAL, NAME=MatName\n*ELASTIC\n")
        fh.write(f"{emin!r}*np.exp((GV-1)*{dlog!r}), {float(nu[0])!r}\n")
    # vbfem's cap faces as ciclope node numbers (vol2ugrid: node (i, j, k) is k (nx+1)(ny+1) + j (nx+1) + i), so
    # that the loaded faces are the same nodes even where posterior elements reach the grid's bounding planes
    nx, ny = int(shape[0]), int(shape[1])
    grid = np.rint((mesh.points - lo) / h).astype(np.int64)
    ids = grid[:, 2] * (nx + 1) * (ny + 1) + grid[:, 1] * (nx + 1) + grid[:, 0]
    with open(os.path.join(work, "analysis.inp"), "w") as fh:
        for name, nset in (("VB_SUP", "superior"), ("VB_INF", "inferior")):
            fh.write(f"*NSET, NSET={name}\n")
            sel = ids[mesh.node_set(nset)]
            fh.writelines(", ".join(str(v) for v in sel[i:i + 10]) + "\n" for i in range(0, sel.size, 10))
        fh.write("*BOUNDARY\nVB_INF, 1, 3, 0.\nVB_SUP, 1, 2, 0.\n*STEP\n*STATIC\n*BOUNDARY\n"
                 f"VB_SUP, 3, 3, {-PEER_DISPLACEMENT!r}\n*NODE PRINT, NSET=VB_SUP, TOTALS=ONLY\nRF\n*END STEP\n")
    args = {"volume": os.path.join(work, "gv.npy"), "voxel": h, "template": os.path.join(work, "analysis.inp"),
            "property": os.path.join(work, "property.inp"), "inp": os.path.join(work, "model.inp"),
            "levels": PEER_LEVELS}
    t0 = time.perf_counter()
    proc = subprocess.run([case["python"], "-c", _CICLOPE_DRIVER, json.dumps(args)], capture_output=True, text=True,
                          check=False)
    t_gen = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError("ciclope failed: " + " | ".join(proc.stderr.strip().splitlines()[-3:]))
    gen = json.loads(proc.stdout.strip().splitlines()[-1])
    env = dict(os.environ, OMP_NUM_THREADS=str(case["ccx_threads"]))
    t0 = time.perf_counter()
    proc = subprocess.run([case["ccx"], "-i", "model"], cwd=work, capture_output=True, text=True, env=env,
                          check=False)
    t_ccx = time.perf_counter() - t0
    if proc.returncode != 0 or not os.path.isfile(os.path.join(work, "model.dat")):
        raise RuntimeError("ccx failed: " + " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:]))
    k_ccx = abs(_ccx_total_force(os.path.join(work, "model.dat"), "VB_SUP")) / PEER_DISPLACEMENT
    t0 = time.perf_counter()
    res = solve_static(mesh, mat.replace(E=e_bin), compression_test(mesh, displacement=PEER_DISPLACEMENT))
    t_vb = time.perf_counter() - t0
    k_vb = res.stiffness("platen")
    k_vb_raw = solve_static(mesh, mat, compression_test(mesh, displacement=PEER_DISPLACEMENT)).stiffness("platen")
    emit({"cells": mesh.n_cells, "ccx_cells": gen["cells"], "bone": info.n_bone, "tilt": info.aligned, "dofs": 3 * mesh.n_points,
          "levels": PEER_LEVELS, "ciclope_gen": t_gen, "ciclope_ugrid": gen["ugrid"], "ciclope_inp": gen["inp"],
          "ccx_solve": t_ccx, "k_ccx": k_ccx, "k_vbfem_binned": k_vb, "vbfem_solve": t_vb, "k_vbfem": k_vb_raw,
          "ccx_solver": next((ln.strip() for ln in proc.stdout.splitlines() if "solver" in ln.lower()), "")})


def _l3_stl():
    """Path of the shared real L3 surface, or None."""
    for stl in (os.path.join(os.path.dirname(ROOT), "shared", "data", "lumbar_ssm", "L3.stl"),
                "/work/shared/data/lumbar_ssm/L3.stl"):
        if os.path.isfile(stl):
            return stl
    return None


def _peer_rows(args, tmp: str) -> list:
    """Table rows of the ciclope + CalculiX peer on the 1 mm synthetic scan (empty with a message if unavailable)."""
    ccx = args.ccx or shutil.which("ccx")
    py = args.ciclope_python
    missing = []
    if not py or not os.path.isfile(py):
        missing.append(f"--ciclope-python {py!r} is not an interpreter (make a venv: python3 -m venv V && "
                       "V/bin/pip install ciclope opencv-python-headless 'numpy<2')")
    elif subprocess.run([py, "-c", "import ciclope.core.voxelFE"], capture_output=True, check=False).returncode:
        missing.append(f"{py} cannot import ciclope.core.voxelFE")
    if not ccx or not os.path.isfile(ccx):
        missing.append("CalculiX (ccx) not found; give --ccx PATH")
    if missing:
        print("peer ciclope skipped: " + "; ".join(missing))
        return []
    if args.peer_case == "L3":
        stl = _l3_stl()
        if stl is None:
            print("peer ciclope skipped: the L3 surface ../shared/data/lumbar_ssm/L3.stl is not there")
            return []
        folder, label = os.path.join(tmp, "peerL3"), "real L3 1 mm CT"
    else:
        stl, folder, label = None, os.path.join(tmp, "s1"), "QCT 1 mm"
        if not os.path.isfile(os.path.join(folder, "scan.nii.gz")):
            _example().write_ct(folder, spacing=1.0, noise_hu=10.0)
    case = {"kind": "ciclope", "image": args.peer_case, "folder": folder, "stl": stl,
            "work": os.path.join(tmp, "ciclope"), "python": py, "ccx": ccx, "ccx_threads": args.ccx_threads}
    r = run_worker(__file__, case, env_threads=args.threads, timeout=3600)
    if "error" in r:
        print(f"peer ciclope failed: {r['error']}")
        return []
    print(f"peer ({label}): ciclope voxel model of the same voxels (bone + caps), E binned into {r['levels']} log "
          f"levels; CalculiX ({args.ccx_threads} threads) K = {r['k_ccx']:.2f}, vbfem on the binned model "
          f"K = {r['k_vbfem_binned']:.2f} (rel. diff {r['k_ccx'] / r['k_vbfem_binned'] - 1:+.1e}), vbfem "
          f"unbinned K = {r['k_vbfem']:.2f}; ciclope vol2ugrid {r['ciclope_ugrid']:.1f} s + .inp "
          f"{r['ciclope_inp']:.1f} s; ccx {r['ccx_solver']}")
    tilt = f"{r['tilt']:.1f}"
    return [[f"ciclope + CalculiX, {label} (same voxels, binned E)", r["bone"], r["ccx_cells"], r["dofs"], tilt,
             f"{r['k_ccx']:.0f}", "-", "-", f"{r['ciclope_gen']:.2f}", "-", f"{r['ccx_solve']:.2f}",
             f"{r['ciclope_gen'] + r['ccx_solve']:.2f}"],
            [f"vbfem, {label}, the same binned model", r["bone"], r["cells"], r["dofs"], tilt, f"{r['k_vbfem_binned']:.0f}",
             "-", "-", "-", "-", f"{r['vbfem_solve']:.2f}", "-"]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spacings", type=float, nargs="+", default=[1.0, 0.75])
    ap.add_argument("--threads", type=int, default=2, help="NUMBA_NUM_THREADS of the workers")
    ap.add_argument("--nonlinear", action="store_true",
                    help="also the real L3 CT's nonlinear strength through the study route (target < 3 min)")
    ap.add_argument("--peer", choices=["ciclope"], help="also run a peer on a 1 mm image (--peer-case; optional)")
    ap.add_argument("--ciclope-python", help="python of a virtualenv with ciclope installed (for --peer ciclope)")
    ap.add_argument("--ccx", help="CalculiX executable (default: ccx on PATH)")
    ap.add_argument("--peer-case", choices=["synthetic", "L3"], default="synthetic",
                    help="the peer's image: the 1 mm synthetic QCT or the 1 mm CT of the real L3 surface")
    ap.add_argument("--peer-only", action="store_true", help="run only the peer rows (with --peer)")
    ap.add_argument("--ccx-threads", type=int, default=2, help="OMP_NUM_THREADS of CalculiX")
    ap.add_argument("--worker")
    args = ap.parse_args(argv)
    if args.worker:
        case = json.loads(args.worker)
        if case["kind"] == "ciclope":
            peer_worker(case)
        else:
            worker(case)
        return 0
    print(machine_line())
    warn = load_warning()
    if warn:
        print(warn)
    mod = _example()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for sp in args.spacings:
            folder = os.path.join(tmp, f"s{sp:g}")
            mod.write_ct(folder, spacing=sp, noise_hu=10.0)
            cases.append((f"QCT {sp:g} mm", {"kind": "image", "folder": folder, "coarsen": 1}))
            if sp == 1.0:
                cases.append((f"QCT {sp:g} mm, coarsened x2", {"kind": "image", "folder": folder, "coarsen": 2}))
        stl = _l3_stl()
        if stl is not None:
            cases.append(("real L3 surface as a 1 mm CT", {"kind": "L3", "folder": os.path.join(tmp, "L3"),
                                                            "stl": stl, "coarsen": 1}))
            if args.nonlinear:
                cases.append(("real L3 1 mm CT, nonlinear strength", {"kind": "L3-nonlinear", "stl": stl,
                                                                       "folder": os.path.join(tmp, "L3n")}))
        cases.append(("parametric 2 mm (boundary-fitted)", {"kind": "parametric", "size": 2.0}))
        for name, case in [] if (args.peer and args.peer_only) else cases:
            r = run_worker(__file__, case, env_threads=args.threads, timeout=900)
            if "error" in r:
                rows.append([name, r["error"]] + [""] * 10)
                continue
            rows.append([name, r["bone"], r["cells"], r["dofs"], f"{r.get('tilt', 0.0):.1f}", f"{r['stiffness']:.0f}",
                         f"{r['strength']:.0f}" if "strength" in r else "-",
                         *(f"{r[k]:.2f}" if k in r else "-" for k in ("read", "mesh", "materials", "solve", "total"))])
        if args.peer == "ciclope":
            rows.extend(_peer_rows(args, tmp))
    print(table(rows, ["case", "bone voxels", "cells", "dofs", "aligned deg", "K N/mm", "strength N", "read s",
                       "mesh s", "materials s", "solve s", "total s"]))
    print("target: about 70 k bone voxels, image -> linear stiffness < 15 s on 2 cores; nonlinear strength "
          "(the 'solve s' column: the study's mechanics stage) < 3 min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
