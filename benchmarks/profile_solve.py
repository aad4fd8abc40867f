"""Where the time of a large static solve goes, and what other pyamg settings would give.

Same problem as ``bench_solve.py`` (platen compression of a unit box, hex8 by
default). Each variant runs in a fresh subprocess (clean peak memory, a
timeout and an address-space limit). All variants build the reduced system
through the package (``constraint_map``, ``assemble_stiffness``,
``ConstraintMap.reduce``); they differ only in the linear solve:

``vbfem``      :func:`vbfem.fem.solvers.solve_spd` itself (the package's settings:
               ``max_coarse=3000``, pseudo-inverse coarse solver, ...);
``pkg-settings`` the package's pyamg settings, called here so that the levels and
               the cost of the first V-cycle show (a partial result with the
               levels is kept when the variant times out);
``mc500``      the same pyamg call with ``max_coarse=500`` and
               ``coarse_solver="cholesky"``;
``mc500-noic`` + ``improve_candidates=None`` (the rigid modes are exact; pyamg
               otherwise smooths all six of them with 4 block-GS sweeps per level);
``bsr3``       + the reduced matrix as BSR with 3x3 blocks (node-wise aggregation
               and block smoothing; needs a free-dof count divisible by 3);
``bsr3-fb``    + forward pre-smoothing and backward post-smoothing (one sweep each,
               still a symmetric V-cycle) instead of symmetric sweeps (two each);
``direct``     :func:`vbfem.fem.solvers.solve_spd` with ``method="direct"`` (SuperLU,
               ``MMD_AT_PLUS_A`` ordering);
``direct-colamd`` SuperLU with the ``COLAMD`` column ordering instead
               (run by default only up to 60k dofs).

pyamg builds the coarse solver lazily, on the first V-cycle: ``1st cycle``
shows that cost separately (the package counts it in its ``solve`` time).

The ``vbfem`` variant also times alternatives to the reduction ``T' K T``:
``(T' K) T`` in the other multiplication order and the plain submatrix
``K[free][:, free]`` (exact here because the platen is displacement-controlled,
so its nodes carry no free unknowns; a lower bound for a general reduction).

Examples::

    python benchmarks/profile_solve.py -n 69                 # ~1M dofs, all variants
    python benchmarks/profile_solve.py -n 40 --variants vbfem mc500
    python benchmarks/profile_solve.py --quick
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Timer, emit, fmt_s, machine_line, peak_rss_gib, run_worker, table

VARIANTS = {
    "vbfem": None,
    "pkg-settings": {},
    "mc500": dict(max_coarse=500, coarse_solver="cholesky"),
    "mc500-noic": dict(max_coarse=500, coarse_solver="cholesky", improve_candidates=None),
    "bsr3": dict(max_coarse=500, coarse_solver="cholesky", improve_candidates=None, bsr=3),
    "bsr3-fb": dict(max_coarse=500, coarse_solver="cholesky", improve_candidates=None, bsr=3,
                    presmoother=("block_gauss_seidel", {"sweep": "forward"}),
                    postsmoother=("block_gauss_seidel", {"sweep": "backward"})),
    "direct": "package",
    "direct-colamd": "COLAMD",
}
AMG_VARIANTS = [v for v, c in VARIANTS.items() if not v.startswith("direct")]

#: direct variants run by default up to this many mesh dofs
DIRECT_DEFAULT_MAX = 60_000


def worker(case: dict) -> dict:
    import numpy as np
    import scipy.sparse.linalg as spla

    import vbfem
    from vbfem.fem.assembly import assemble_stiffness, check_mesh
    from vbfem.fem.constraints import constraint_map
    from vbfem.fem.pattern import sparsity_plan
    from vbfem.fem.primitives import box_mesh
    from vbfem.fem.solvers import SolverError, solve_spd

    n, ct, variant, rtol = case["n"], case["cell_type"], case["variant"], case["rtol"]
    out = dict(case)
    tiny = box_mesh((1.0, 1.0, 1.0), (3, 3, 3), cell_type=ct)  # JIT warm-up
    vbfem.solve_static(tiny, vbfem.MaterialMap.uniform(tiny.n_cells, 100.0, 0.3),
                       vbfem.platen_compression(tiny, displacement=0.01))
    st = {}
    with Timer() as t:
        mesh = box_mesh((1.0, 1.0, 1.0), (n, n, n), cell_type=ct)
    st["mesh"] = t.s
    mat = vbfem.MaterialMap.uniform(mesh.n_cells, 100.0, 0.3)
    load = vbfem.platen_compression(mesh, displacement=0.01)
    with Timer() as t:
        check_mesh(mesh)
    st["check"] = t.s
    with Timer() as t:
        sparsity_plan(mesh)
    st["plan"] = t.s
    with Timer() as t:
        cmap = constraint_map(mesh, load)
    st["constraints"] = t.s
    with Timer() as t:
        K = assemble_stiffness(mesh, mat)
    st["assembly"] = t.s
    with Timer() as t:
        Kr, rhs = cmap.reduce(K)
    st["reduce"] = t.s
    out["rss_before_solve"] = peak_rss_gib()
    out["dofs"], out["free"], out["nnz"] = mesh.n_dofs, Kr.shape[0], int(Kr.nnz)

    if case.get("reduce_alternatives"):
        nm = cmap.n_mesh_dofs
        Tm = cmap.T[:nm]
        with Timer() as t:
            K2 = ((Tm.T @ K) @ Tm).tocsr()
            K2.sort_indices()
        st["reduce (T'K)T"] = t.s
        del K2
        free = np.flatnonzero(np.diff(Tm.indptr) > 0)  # mesh dofs that carry a free unknown
        if Tm.nnz == free.size:  # pure selection: exact
            with Timer() as t:
                K3 = K[free][:, free].tocsr()
            st["reduce K[free][:,free]"] = t.s
            col = Tm.indices[Tm.indptr[free]]
            d = abs(K3 - Kr[col][:, col])
            out["reduce_check"] = float(d.max() / abs(Kr).max()) if d.nnz else 0.0
            del K3
    del K

    if variant.startswith("direct"):
        if variant == "direct":
            q, info = solve_spd(Kr, rhs, method="direct")
            out.update(setup=info.setup_time, cg=info.solve_time, iters=0, residual=info.residual)
        else:
            with Timer() as t:
                lu = spla.splu(Kr.tocsc(), permc_spec=VARIANTS[variant])
            out["setup"] = t.s
            with Timer() as t:
                q = lu.solve(rhs)
            out.update(cg=t.s, iters=0, residual=float(np.linalg.norm(rhs - Kr @ q) / np.linalg.norm(rhs)))
            out["fill"] = int(lu.L.nnz + lu.U.nnz)
    elif variant == "vbfem":
        try:
            q, info = solve_spd(Kr, rhs, method="amg-cg", near_null=cmap.near_null, rtol=rtol, maxiter=1000)
            out.update(setup=info.setup_time, cg=info.solve_time, iters=info.iterations, residual=info.residual)
        except SolverError as exc:
            out["error"] = str(exc)
    else:
        import pyamg

        cfg = dict(VARIANTS[variant])
        bs = cfg.pop("bsr", None)
        A = Kr
        if bs:
            if Kr.shape[0] % bs:
                out["error"] = f"{Kr.shape[0]} free dofs not divisible by {bs}"
                out["rss"] = peak_rss_gib()
                out["stages"] = st
                return out
            A = Kr.tobsr(blocksize=(bs, bs))
        kw = dict(B=cmap.near_null, symmetry="symmetric", strength=("symmetric", {"theta": 0.0}),
                  smooth=("jacobi", {"omega": 4.0 / 3.0, "degree": 1}),
                  presmoother=("block_gauss_seidel", {"sweep": "symmetric"}),
                  postsmoother=("block_gauss_seidel", {"sweep": "symmetric"}), max_coarse=3000)
        kw.update(cfg)
        with Timer() as t:
            ml = pyamg.smoothed_aggregation_solver(A, **kw)
        out["setup"] = t.s
        out["levels"] = [int(lv.A.shape[0]) for lv in ml.levels]
        M = ml.aspreconditioner(cycle="V")
        out["stages"] = st
        emit(out)  # partial result, kept by the driver if the first cycle times out
        with Timer() as t:
            M @ np.zeros(A.shape[0])  # first cycle builds the coarse solver
        out["first_cycle"] = t.s
        count = [0]

        def cb(_):
            count[0] += 1

        with Timer() as t:
            q, _flag = spla.cg(A, rhs, rtol=rtol, maxiter=1000, M=M, callback=cb)
        out.update(cg=t.s, iters=count[0],
                   residual=float(np.linalg.norm(rhs - A @ q) / np.linalg.norm(rhs)))
    out["stages"] = st
    out["rss"] = peak_rss_gib()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("-n", type=int, default=69, help="grid divisions (default 69: ~1M dofs for hex8)")
    p.add_argument("--cell-type", default="hex8", choices=("hex8", "tet4", "tet10"))
    p.add_argument("--variants", nargs="*", choices=list(VARIANTS),
                   help="default: all AMG variants, plus the direct ones up to 60k dofs")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per variant (default 600)")
    p.add_argument("--mem-limit", type=float, default=16.0, help="GiB of address space per variant (default 16)")
    p.add_argument("--quick", action="store_true", help="n = 20 (~28k dofs)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        import json

        emit(worker(json.loads(args.worker)))
        return
    n = 20 if args.quick else args.n
    if args.variants is None:
        small = 3 * ((2 * n + 1) if args.cell_type == "tet10" else (n + 1)) ** 3 <= DIRECT_DEFAULT_MAX
        args.variants = AMG_VARIANTS + (["direct", "direct-colamd"] if small else [])
    print(f"vbfem solve profile: platen compression, {args.cell_type} {n}^3 grid, rtol {args.rtol:g}")
    print(machine_line())
    print(flush=True)
    script = os.path.abspath(__file__)
    results = []
    for v in args.variants:
        case = dict(n=n, cell_type=args.cell_type, variant=v, rtol=args.rtol, reduce_alternatives=(v == "vbfem"))
        r = run_worker(script, case, timeout=args.timeout, mem_limit_gib=args.mem_limit)
        r.setdefault("variant", v)
        results.append(r)
        print(f"  done {v}: {r.get('error') or 'ok'}", file=sys.stderr, flush=True)

    stages = next((r["stages"] for r in results if "stages" in r), None)
    if stages:
        r0 = next(r for r in results if "stages" in r)
        print(f"{r0['dofs']:,} mesh dofs, {r0['free']:,} free, reduced nnz {r0['nnz']:,}; "
              f"peak RSS before the solve {r0['rss_before_solve']:.2f} GiB")
        rows = [[k, fmt_s(v)] for k, v in stages.items()]
        if "reduce_check" in r0:
            rows.append(["(K[free][:,free] vs T'KT max rel diff)", f"{r0['reduce_check']:.1e}"])
        print(table(rows, ["stage (before the linear solve)", "seconds"]))
        print()
        pre = sum(v for k, v in stages.items() if k in ("check", "plan", "constraints", "assembly", "reduce"))
    else:
        pre = 0.0
    rows = []
    for r in results:
        lv = r.get("levels")
        rows.append([
            r["variant"], fmt_s(r.get("setup")), fmt_s(r.get("first_cycle")), r.get("iters", "-"), fmt_s(r.get("cg")),
            "-" if "residual" not in r else f"{r['residual']:.1e}",
            "-" if "cg" not in r else fmt_s(pre + r["setup"] + r["cg"] + r.get("first_cycle", 0.0)),
            "-" if "rss" not in r else f"{r['rss']:.2f}",
            "/".join(str(x) for x in lv) if lv else "-", (r.get("error") or "")[:60],
        ])
    print("linear solve variants (seconds; 'total' = check + plan + constraints + assembly + reduce + setup + "
          "1st cycle + cg; for direct: setup = factorisation, cg = triangular solves)")
    print(table(rows, ["variant", "setup", "1st cycle", "iters", "cg", "residual", "total", "peak GiB",
                       "levels (unknowns)", "error"], align="lrrrrrrrll"))


if __name__ == "__main__":
    main()
