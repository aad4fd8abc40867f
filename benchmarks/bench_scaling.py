"""Stage-scaling benchmark (issue 22): the time of each stage of a study at about 10k, 100k and 1M cells.

The default L1 meshed with hex8 at 2, 0.85 and 0.38 mm (9 600, 97 495 and 999 908 cells; all within
``SIZE_RANGE``), each size in a fresh process (``--mem-limit`` GiB of address space, ``--timeout`` s).
Columns (seconds):

* ``mesh``: :func:`vbfem.anatomy.mesher.mesh_vertebra` (the memory check switched off),
* ``bone``: :func:`vbfem.materials.bone.assign_bone` (osteoporotic, homogeneous),
* ``fracture``: :func:`vbfem.fracture.deformity.apply_fracture` (wedge, grade 2, seed 0),
* ``flow net``: the porous medium and the finite-volume network of the fractured state
  (:func:`vbfem.materials.porous.porous_medium`, :func:`vbfem.treatment.network.flow_network`; once per
  injection),
* ``flow step``: one IMPES step on it: a pressure solve (AMG-CG to 1e-10 with a fresh hierarchy, as the
  first solve of :func:`vbfem.treatment.flow.run_impes` above its direct limit) and one explicit
  transport update (the numba kernels),
* ``assembly``: :func:`vbfem.fem.assembly.assemble_stiffness` of the intact state (kernels warmed up),
* ``solve``: the linear solve of :func:`vbfem.solve_static` (the compression test of the intact state:
  AMG set-up and CG), up to ``--solve-max-cells`` cells.

The per-cell columns divide each time by the cells (microseconds per cell): a stage that scales linearly
keeps its value from size to size.

Usage (from the repository root)::

    python benchmarks/bench_scaling.py                      # 10k, 100k, 1M cells; about 15 min
    python benchmarks/bench_scaling.py --sizes 2 1.2        # quicker
    python benchmarks/bench_scaling.py --last bone --repeat 3   # mesh and assign_bone (fastest of 3) only

``assign_bone`` takes the same seconds in each size's fresh process whether the later stages follow or not
(they run after it), so ``--last bone`` measures its column alone.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Timer, emit, load_warning, machine_line, peak_rss_gib, run_worker, table  # noqa: E402

SIZES = [2.0, 0.85, 0.38]
STAGES = ["mesh", "bone", "fracture", "flow net", "flow step", "assembly", "solve"]


def worker(case: dict) -> dict:
    import math

    import numpy as np
    import pyamg
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    import vbfem
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.fem.assembly import assemble_stiffness
    from vbfem.fracture.deformity import apply_fracture
    from vbfem.materials.bone import assign_bone
    from vbfem.materials.porous import porous_medium
    from vbfem.mechanics.loadcases import compression_test
    from vbfem.treatment import flow as _flow
    from vbfem.treatment._kernels import flow as kf
    from vbfem.treatment.network import flow_network
    from vbfem.treatment.vertebroplasty import foramen_outlet

    out = dict(case)
    g = build_vertebra("L1")
    # warm the numba kernels (assembly, fracture, solve) on a coarse mesh: compile time is not a stage's
    small = mesh_vertebra(g, size=5.0)
    small_bone = assign_bone(small, heterogeneity=0.0)
    apply_fracture(small, small_bone, "wedge", grade=2, seed=0)
    vbfem.solve_static(small, small_bone, compression_test(small, displacement=0.01))

    with Timer() as t:
        mesh = mesh_vertebra(g, size=case["size"], max_memory=math.inf)
    out.update(cells=mesh.n_cells, dofs=mesh.n_dofs, mesh=t.s)
    emit(out)
    times = []
    for _ in range(case.get("repeat", 1)):  # the fastest of --repeat calls: the least disturbed by other jobs
        with Timer() as t:
            bone = assign_bone(mesh, heterogeneity=0.0)
        times.append(t.s)
    out["bone"] = min(times)
    out["rss"] = peak_rss_gib()
    emit(out)
    if case.get("last") == "bone":
        return out
    with Timer() as t:
        fmesh, fbone = apply_fracture(mesh, bone, "wedge", grade=2, seed=0)
    out["fracture"] = t.s
    emit(out)
    with Timer() as t:
        medium = porous_medium(fmesh, fbone, outlets={"basivertebral": foramen_outlet(fmesh, g)})
        net = flow_network(fmesh, medium)
    out.update({"flow net": t.s, "flow cells": int(net.cells.size)})
    emit(out)
    n = net.cells.size
    mu_m = _flow.MARROW_VISCOSITY * 1e-6
    s = np.zeros(n)
    source = np.array([int(np.argmin(np.linalg.norm(net.centroid - net.centroid.mean(axis=0), axis=1)))])
    rate = np.array([50.0])  # 3 mL/min, mm³/s
    kf.stable_dt_cells(net.fi, net.fj, np.zeros(net.fi.size), net.dcell, np.zeros(net.dcell.size), source, rate,
                       s, net.pv, np.full(n, 1e-4), mu_m, 2.0, 2.0)  # compile
    with Timer() as t:
        lam = np.full(n, 1.0 / mu_m)
        w = net.trans * lam[net.fi]
        wd = net.dtrans * lam[net.dcell]
        rows = np.concatenate([net.fi, net.fj, net.fi, net.fj, net.dcell])
        cols = np.concatenate([net.fi, net.fj, net.fj, net.fi, net.dcell])
        A = sp.csr_matrix((np.concatenate([w, w, -w, -w, wd]), (rows, cols)), shape=(n, n))
        b = np.zeros(n)
        b[source] = rate
        np.add.at(b, net.dcell, wd * _flow.VENOUS_PRESSURE)
        ml = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric")
        p, info = spla.cg(A, b, rtol=1e-10, atol=0.0, M=ml.aspreconditioner(cycle="V"), maxiter=200)
        flux = w * (p[net.fi] - p[net.fj])
        dflux = wd * (p[net.dcell] - _flow.VENOUS_PRESSURE)
        mu_cells = np.full(n, 1e-4)  # 100 Pa·s cement, MPa·s
        dt = kf.stable_dt_cells(net.fi, net.fj, flux, net.dcell, dflux, source, rate, s, net.pv, mu_cells, mu_m,
                                2.0, 2.0)
        r, _ = kf.transport_rates_cells(net.fi, net.fj, flux, net.dcell, dflux, source, rate, s, mu_cells, mu_m,
                                        2.0, 2.0)
        s = s + 0.9 * dt * r / net.pv
    out.update({"flow step": t.s, "flow cg": info})
    emit(out)
    del medium, net, A, ml, fmesh, fbone
    with Timer() as t:
        assemble_stiffness(mesh, bone)
    out["assembly"] = t.s
    out["rss"] = peak_rss_gib()
    emit(out)
    if mesh.n_cells <= case["solve_max_cells"]:
        res = vbfem.solve_static(mesh, bone, compression_test(mesh, displacement=0.01))
        out["solve"] = res.solver.setup_time + res.solver.solve_time
        out["solve_method"] = res.solver.method
    out["rss"] = peak_rss_gib()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--sizes", type=float, nargs="*", metavar="MM", help=f"element sizes (default {SIZES})")
    p.add_argument("--solve-max-cells", type=int, default=200_000,
                   help="run the linear solve up to this many cells (default 200k: 1M cells is 3M dofs, "
                        "about 15 GiB and many minutes on 2 cores)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per size (default 1800)")
    p.add_argument("--mem-limit", type=float, default=16.0, help="GiB of address space per size (default 16)")
    p.add_argument("--last", choices=["bone"], help="stop after this stage (mesh and assign_bone only)")
    p.add_argument("--repeat", type=int, default=1,
                   help="time assign_bone this many times and report the fastest (default 1)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error(f"--repeat {args.repeat}: must be >= 1")
    if args.worker:
        import json

        emit(worker(json.loads(args.worker)))
        return
    print("vbfem stage-scaling benchmark: default L1, hex8, seconds (and microseconds per cell)")
    print(machine_line())
    warn = load_warning()
    if warn:
        print(warn)
    rows = []
    for size in args.sizes or SIZES:
        r = run_worker(os.path.abspath(__file__),
                       {"size": size, "solve_max_cells": args.solve_max_cells, "last": args.last,
                        "repeat": args.repeat},
                       timeout=args.timeout, mem_limit_gib=args.mem_limit)
        print(f"  done {size:g} mm: {r.get('error', 'ok')}", file=sys.stderr, flush=True)
        cells = r.get("cells")

        def cell(k):
            if k not in r:
                return "not run" if (k == "solve" or args.last) and "error" not in r else "-"
            return f"{r[k]:.3g} ({1e6 * r[k] / cells:.1f})"

        rows.append([f"{size:g}", f"{cells:,}" if cells else "-"] + [cell(k) for k in STAGES]
                    + [f"{r['rss']:.1f}" if "rss" in r else "-", r.get("error", "")[:60]])
    print(table(rows, ["size mm", "cells"] + STAGES + ["peak GiB", "note"], align="lr" + "r" * len(STAGES) + "rl"))


if __name__ == "__main__":
    main()
