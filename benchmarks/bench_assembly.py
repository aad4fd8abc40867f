"""Stiffness-assembly benchmark: vbfem against scikit-fem (and NGSolve if installed).

Box meshes from :func:`vbfem.fem.primitives.box_mesh` with ``n x n x n`` hexes
(``hex8``), the same grid split into six tets per hex (``tet4``: 6 n³ cells) and
those tets with mid-edge nodes (``tet10``). Every case runs in a fresh
subprocess (clean peak memory) and reports:

* ``warm-up``: first call on a 2x2x2 mesh of the same type (numba loads or
  compiles the kernels); not part of any other column,
* ``check``: the one-off Jacobian check of the mesh (:func:`vbfem.check_mesh`),
* ``plan``: :func:`vbfem.fem.pattern.sparsity_plan` (CSR structure, scatter
  positions, colouring; cached per mesh),
* ``blk colours``: colours of the blocks of consecutive cells that the
  assembly kernel runs in parallel (``vbfem.fem.pattern.BLOCK_SIZE`` cells each),
* ``shape``: :func:`vbfem.fem.assembly.translate_shape`, the one-off test whether
  every cell is a translate of the first (cached per mesh); ``path`` says
  which kernel assembled: ``translates`` (one element matrix shape, as on the
  uniform hex grids here and voxel meshes) or ``general`` (quadrature in every
  cell),
* ``general``: the per-cell quadrature kernel timed on the same mesh, what a
  curved or distorted mesh of the same size costs,
* ``asm 1st`` / ``asm``: :func:`vbfem.assemble_stiffness` with the plan cached,
  first call (fresh output array: page faults included) and best of
  ``--repeat`` calls, and its rate in million elements per second,
* ``asm out=``: one more call writing into the previous matrix (``out=K``),
* ``asm2``: one more assembly with a *different*, heterogeneous material map
  (the plan is reused: ``plan reused`` says the same plan object served it),
* ``cold``: check + plan + asm, what the first solve on a new mesh pays.

scikit-fem assembles the same points and cells (hex nodes permuted to its
local order, tet10 dofs matched by coordinates) with ``linear_elasticity`` and
the same Lamé parameters and the same number of quadrature points (1 for tet4,
8 for hex8, 4 for tet10); it is slow and memory hungry, so it only runs while
cells x (local dofs)² <= ``--skfem-max-entries``. The matrices are compared entry-wise after the dof
permutation: ``rel diff`` is ``||K_vbfem - K_skfem||_F / ||K_skfem||_F`` and
``matvec diff`` the same for ``K x`` with a random ``x``.

Sanity checks on every vbfem matrix: ``|K R| / (|K| |R|)`` for the six rigid
modes ``R`` (should be ~1e-16) and ``|x'Ky - y'Kx| / |x'Ky|`` (symmetry).

Examples::

    python benchmarks/bench_assembly.py --quick
    python benchmarks/bench_assembly.py                      # full run (~10 min)
    python benchmarks/bench_assembly.py --tet4 32 64 --hex8 100 --tet10 --skfem-max-entries 0
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (
    Timer,
    emit,
    fmt_rate,
    fmt_s,
    load_warning,
    machine_line,
    peak_rss_gib,
    run_worker,
    table,
)

#: Targets of issue 2 (million elements per second of the numeric assembly)
TARGETS = {"tet4": (5.0, 1_500_000), "hex8": (1.5, 1_000_000)}

#: scikit-fem local node order of a hex, from VTK / meshio order (skfem.io.meshio.INV_HEX_MAPPING)
_SKFEM_HEX = [0, 4, 3, 1, 7, 5, 2, 6]

#: quadrature orders giving scikit-fem the same rule sizes as vbfem
_SKFEM_INTORDER = {"tet4": 1, "hex8": 3, "tet10": 2}

#: local dofs per cell type (scikit-fem's cost and memory grow like cells x dofs^2)
_LOCAL_DOFS = {"tet4": 12, "hex8": 24, "tet10": 30}

QUICK = dict(tet4=[8, 16, 24], hex8=[8, 16, 24], tet10=[4, 8, 12], repeat=2, skfem_max_entries=15_000_000)
FULL = dict(tet4=[16, 32, 48, 64], hex8=[32, 64, 80, 100], tet10=[8, 16, 24, 32], repeat=3,
            skfem_max_entries=30_000_000)


# --------------------------------------------------------------------------- worker
def _skfem_case(mesh, lam, mu):
    """Assemble with scikit-fem; returns (basis s, asm s, K (vbfem dof order), n quad points)."""
    import numpy as np
    from skfem import Basis, ElementHex1, ElementTetP1, ElementTetP2, ElementVector, MeshHex, MeshTet, asm
    from skfem.models.elasticity import linear_elasticity

    ct = mesh.cell_type
    if ct == "tet4":
        sm, elem = MeshTet(mesh.points.T.copy(), mesh.cells.T.copy()), ElementVector(ElementTetP1())
    elif ct == "hex8":
        sm, elem = MeshHex(mesh.points.T.copy(), mesh.cells[:, _SKFEM_HEX].T.copy()), ElementVector(ElementHex1())
    else:
        corners = mesh.cells[:, :4]
        nv = int(corners.max()) + 1  # tet10 points: the tet4 points first, then mid-edge nodes
        sm, elem = MeshTet(mesh.points[:nv].T.copy(), corners.T.copy()), ElementVector(ElementTetP2())
    with Timer() as tb:
        basis = Basis(sm, elem, intorder=_SKFEM_INTORDER[ct])
    with Timer() as ta:
        Ks = asm(linear_elasticity(lam, mu), basis)
    nq = basis.X.shape[1]

    # vbfem dof 3 i + c  <->  skfem dof: match node locations by coordinates
    if ct == "tet10":
        loc = np.hstack([sm.p, 0.5 * (sm.p[:, sm.edges[0]] + sm.p[:, sm.edges[1]])]).T
        sk_dofs = np.hstack([basis.nodal_dofs, basis.edge_dofs])  # (3, n nodes) in loc order
    else:
        loc = sm.p.T
        sk_dofs = basis.nodal_dofs
    scale = 1e6 / np.ptp(mesh.points, axis=0).max()
    ka = np.lexsort(np.round(mesh.points * scale).T)
    kb = np.lexsort(np.round(loc * scale).T)
    node_sk = np.empty(mesh.n_points, np.int64)
    node_sk[ka] = kb  # vbfem node -> skfem location index
    if not np.allclose(mesh.points, loc[node_sk]):
        raise RuntimeError("could not match scikit-fem dof locations to vbfem nodes")
    perm = sk_dofs[:, node_sk].T.ravel()  # vbfem dof -> skfem dof
    Ks = Ks.tocsr()[perm][:, perm].tocsr()
    return tb.s, ta.s, Ks, nq


def worker(case: dict) -> dict:
    import numba
    import numpy as np

    from vbfem.fem._kernels import elasticity as kern
    from vbfem.fem.assembly import assemble_stiffness, check_mesh, translate_shape
    from vbfem.fem.constraints import rigid_modes
    from vbfem.fem.elements import element, lame
    from vbfem.fem.pattern import sparsity_plan
    from vbfem.fem.primitives import box_mesh
    from vbfem.records import MaterialMap

    ct, n, repeat = case["cell_type"], case["n"], case["repeat"]
    out = dict(case)
    out["threads"] = numba.get_num_threads()
    E, nu = 100.0, 0.3

    with Timer() as t:  # JIT warm-up on a tiny mesh of the same type (loads the numba cache)
        tiny = box_mesh((1.0, 1.0, 1.0), (2, 2, 2), cell_type=ct)
        assemble_stiffness(tiny, MaterialMap.uniform(tiny.n_cells, E, nu))
    out["warmup"] = t.s

    with Timer() as t:
        mesh = box_mesh((1.0, 1.0, 1.0), (n, n, n), cell_type=ct)
    out.update(mesh_s=t.s, cells=mesh.n_cells, nodes=mesh.n_points, dofs=mesh.n_dofs)
    mat = MaterialMap.uniform(mesh.n_cells, E, nu)
    rng = np.random.default_rng(0)
    mat2 = MaterialMap(rng.lognormal(np.log(E), 0.5, mesh.n_cells), rng.uniform(0.2, 0.4, mesh.n_cells))

    with Timer() as t:
        check_mesh(mesh)
    out["check"] = t.s
    with Timer() as t:
        plan = sparsity_plan(mesh)
    out.update(plan=t.s, nnz=int(plan.nnz), colours=int(plan.block_colour_ptr.size - 1), rss_plan=peak_rss_gib())
    with Timer() as t:
        out["path"] = "general" if translate_shape(mesh) is None else "translates"
    out["shape"] = t.s

    times = []
    for _ in range(repeat):
        K = None
        with Timer() as t:
            K = assemble_stiffness(mesh, mat)
        times.append(t.s)
    out.update(asm=min(times), asm_first=times[0], asm_all=times, rss_asm=peak_rss_gib())
    with Timer() as t:
        K = assemble_stiffness(mesh, mat, out=K)  # reuse the matrix's data buffer
    out["asm_out"] = t.s

    el = element(ct)
    lam, mu = lame(mat.E, mat.nu)
    general = []
    for _ in range(repeat):
        with Timer() as t:
            kern.assemble_blocks(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, lam, mu,
                                 np.empty((0, 6, 6)), plan.block_order, plan.block_colour_ptr, plan.block_size,
                                 plan.pos, plan.nptr, K.data)
        general.append(t.s)
    out["asm_general"] = min(general)
    K = assemble_stiffness(mesh, mat, out=K)

    with Timer() as t:
        K2 = assemble_stiffness(mesh, mat2)
    out["asm2"] = t.s
    out["plan_reused"] = bool(sparsity_plan(mesh) is plan and np.shares_memory(K2.indices, plan.indices)
                             and np.shares_memory(K2.indptr, plan.indptr))
    del K2
    out["rss_vbfem"] = peak_rss_gib()  # before the checks and scikit-fem

    # sanity: rigid modes in the kernel, symmetry
    R = rigid_modes(mesh.points)
    KR = K @ R
    knorm = float(np.sqrt(np.dot(K.data, K.data)))
    out["rigid"] = float(np.linalg.norm(KR) / (knorm * np.linalg.norm(R)))
    x, y = rng.standard_normal(mesh.n_dofs), rng.standard_normal(mesh.n_dofs)
    Ky = K @ y
    out["sym"] = float(abs(x @ Ky - y @ (K @ x)) / (np.linalg.norm(x) * np.linalg.norm(Ky)))
    del KR, R

    if case["skfem"]:
        try:
            lam, mu = (float(v) for v in lame(E, nu))
            out["sk_basis"], out["sk_asm"], Ks, out["sk_nq"] = _skfem_case(mesh, lam, mu)
            D = (K - Ks).tocsr()
            out["sk_diff"] = float(np.sqrt(np.dot(D.data, D.data)) / np.sqrt(np.dot(Ks.data, Ks.data)))
            out["sk_matvec"] = float(np.linalg.norm(K @ x - Ks @ x) / np.linalg.norm(Ks @ x))
            out["sk_nnz"] = int(Ks.nnz)
        except Exception as exc:  # report, do not lose the vbfem numbers
            out["sk_error"] = f"{type(exc).__name__}: {exc}"
    out["rss"] = peak_rss_gib()
    return out


# --------------------------------------------------------------------------- driver
def _target(r):
    tgt = TARGETS.get(r["cell_type"])
    if tgt is None:
        return "-"
    rate = r["cells"] / r["asm"] / 1e6
    ok = "ok" if rate >= tgt[0] else "MISS"
    at = "" if r["cells"] >= 0.9 * tgt[1] else f" (size < {tgt[1] / 1e6:.1f}M)"
    return f">= {tgt[0]:g}: {ok}{at}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--tet4", type=int, nargs="*", metavar="N", help="grid divisions n (6 n^3 tets)")
    p.add_argument("--hex8", type=int, nargs="*", metavar="N", help="grid divisions n (n^3 hexes)")
    p.add_argument("--tet10", type=int, nargs="*", metavar="N", help="grid divisions n (6 n^3 tet10)")
    p.add_argument("--repeat", type=int, help="timed numeric assemblies per case (best is reported)")
    p.add_argument("--skfem-max-entries", type=float,
                   help="run scikit-fem only while cells x (local dofs)^2 <= this (default 3e7, quick 1.5e7; "
                        "0: never). 3e7 means up to 208k tet4, 52k hex8, 33k tet10 cells")
    p.add_argument("--threads", type=int, help="NUMBA_NUM_THREADS for the workers (default: all CPUs)")
    p.add_argument("--quick", action="store_true", help="small sizes only (~1 min)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    p.add_argument("--mem-limit", type=float, default=20.0, help="GiB of address space per case (default 20)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        import json

        emit(worker(json.loads(args.worker)))
        return

    preset = QUICK if args.quick else FULL
    sizes = {ct: (getattr(args, ct) if getattr(args, ct) is not None else preset[ct]) for ct in ("tet4", "hex8", "tet10")}
    repeat = args.repeat or preset["repeat"]
    sk_max = preset["skfem_max_entries"] if args.skfem_max_entries is None else args.skfem_max_entries
    try:
        import skfem

        sk_version = skfem.__version__
    except ImportError:
        sk_version, sk_max = None, -1
    try:
        import ngsolve

        ng_version = ngsolve.__version__
    except ImportError:
        ng_version = None

    print("vbfem assembly benchmark")
    print(machine_line())
    warn = load_warning()
    if warn:
        print(warn)
    print(f"scikit-fem: {sk_version or 'not installed'} (run while cells x local dofs^2 <= {max(sk_max, 0):.3g}); "
          f"NGSolve: {ng_version or 'not installed'}")
    print(flush=True)

    script = os.path.abspath(__file__)
    results = []
    for ct in ("tet4", "hex8", "tet10"):
        for n in sizes[ct]:
            cells = n**3 * (1 if ct == "hex8" else 6)
            case = dict(cell_type=ct, n=n, repeat=repeat, skfem=0 < cells * _LOCAL_DOFS[ct] ** 2 <= sk_max)
            r = run_worker(script, case, timeout=args.timeout, env_threads=args.threads, mem_limit_gib=args.mem_limit)
            r.setdefault("cell_type", ct)
            r.setdefault("n", n)
            r.setdefault("cells", cells)
            results.append(r)
            msg = r.get("error") or f"asm {r['asm']:.3f} s, {r['cells'] / r['asm'] / 1e6:.2f} M el/s"
            print(f"  done {ct} n={n} ({cells:,} cells): {msg}", file=sys.stderr, flush=True)

    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["cell_type"], f"{r['n']}^3", f"{r['cells']:,}"] + ["-"] * 18 + [r["error"][:60]])
            continue
        cold = r["check"] + r["plan"] + r["shape"] + r["asm"]
        rows.append([
            r["cell_type"], f"{r['n']}^3", f"{r['cells']:,}", f"{r['dofs']:,}", f"{r['nnz'] / 1e6:.1f}",
            r["colours"], fmt_s(r["warmup"]), fmt_s(r["check"]), fmt_s(r["plan"]), fmt_s(r["shape"]), fmt_s(r["asm_first"]),
            fmt_s(r["asm"]), fmt_rate(r["cells"], r["asm"]), r["path"], fmt_rate(r["cells"], r["asm_general"]),
            fmt_s(r["asm_out"]), fmt_s(r["asm2"]), fmt_rate(r["cells"], r["asm2"]),
            "yes" if r["plan_reused"] else "NO", fmt_s(cold), f"{r['rss_vbfem']:.2f}", _target(r),
        ])
    print("vbfem (seconds; rates in million elements / s; best of "
          f"{repeat} numeric assemblies; threads = {results[0].get('threads', '?') if results else '?'})")
    print(table(rows, ["type", "grid", "cells", "dofs", "nnz [M]", "blk colours", "warm-up", "check", "plan", "shape",
                       "asm 1st", "asm", "M el/s", "path", "general M el/s", "asm out=", "asm2 new E", "M el/s", "plan reused", "cold total", "vbfem peak RSS GiB",
                       "target M el/s"]))
    print()

    rows = []
    for r in results:
        if "error" in r:
            continue
        sk = r.get("sk_asm")
        if sk is None:
            why = r.get("sk_error", "skipped (too large, --skfem-max-entries)" if sk_version else "not installed")
            rows.append([r["cell_type"], f"{r['n']}^3", f"{r['cells']:,}", fmt_s(r["asm"]), why, "", "", "", "", "",
                         f"{r['rigid']:.1e}", f"{r['sym']:.1e}"])
            continue
        tot = r["sk_basis"] + sk
        rows.append([
            r["cell_type"], f"{r['n']}^3", f"{r['cells']:,}", fmt_s(r["asm"]), fmt_s(r["sk_basis"]), fmt_s(sk),
            f"{r['cells'] / tot / 1e6:.3g}", f"{tot / r['asm']:.0f}x", f"{r['sk_diff']:.1e}", f"{r['sk_matvec']:.1e}",
            f"{r['rigid']:.1e}", f"{r['sym']:.1e}",
        ])
    print("scikit-fem on the same points and cells (same Lame parameters and quadrature sizes), and checks")
    print(table(rows, ["type", "grid", "cells", "vbfem asm", "skfem basis", "skfem asm", "skfem M el/s",
                       "vbfem faster", "rel diff", "matvec diff", "|KR|/|K||R|", "symmetry"]))
    if ng_version is None:
        print("\nNGSolve: not installed (no NGSolve rows).")
    else:
        print(f"\nNGSolve {ng_version} is installed but this script has no NGSolve case yet.")


if __name__ == "__main__":
    main()
