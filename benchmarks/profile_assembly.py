"""Where the time of vbfem's assembly goes, and what faster variants would gain.

Not a benchmark of the package alone: besides timing the pieces of
:func:`vbfem.fem.pattern.sparsity_plan` and of the numba kernel
:func:`vbfem.fem._kernels.elasticity.assemble_isotropic`, it contains *prototype*
kernels (defined here, in benchmarks/, not in the package) that the lead can
port if wanted. Every prototype is checked against the package's result.

Sections (all run by default):

``plan``      the steps of ``pattern._build_plan`` timed one by one (copied
              here verbatim), plus a numba fill of the CSR column indices
              that avoids the int64 temporaries.
``kernel``    element matrices alone, scatter alone in colour order and in
              natural (cell) order, and the package kernel with 1 and 2 threads.
``proto``     (a) ``ke_fast``: element stiffness from
              ``M_ab = sum_q w det G_a G_b^T`` then
              ``K_ab = lam M_ab + mu M_ab^T + mu tr(M_ab) I`` (about 3x fewer flops
              than the package's per-(a, b, i, j) loop); (b) block colouring:
              cells cut into contiguous blocks, the *blocks* coloured so that no two
              blocks of one colour share a node, blocks of one colour run in
              parallel and cells inside a block run in natural order (cache
              locality of the scatter instead of one sweep over the whole matrix per
              cell colour); (c) both together; (d) block-coloured scatter of
              cached element matrices ``lam K_lam + mu K_mu`` (valid only for
              congruent cells such as voxel meshes; shows the scatter-bound limit);
              (e), (f): (c) and (d) scattering into a BSR matrix with 3x3
              blocks (one contiguous 72-byte block per node pair instead of three
              rows; the structure is the node graph, no CSR indices at all).

Memory note: on this VM the first touch of memory the guest has not used in
the last minute costs ~2.4 s/GiB (the host backs the pages lazily and takes free
pages back); ``--prefault GIB`` touches and frees that much memory first so
that the timings show the code rather than the VM.

Examples::

    python benchmarks/profile_assembly.py --cell-type tet4 -n 64
    python benchmarks/profile_assembly.py --cell-type hex8 -n 100 --sections plan
    python benchmarks/profile_assembly.py --quick
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import peak_rss_gib, table

from vbfem.fem._kernels import elasticity as kern
from vbfem.fem.assembly import assemble_stiffness, check_mesh
from vbfem.fem.elements import element, lame
from vbfem.fem.pattern import sparsity_plan
from vbfem.fem.primitives import box_mesh
from vbfem.records import MaterialMap


def _t():
    return time.perf_counter()


# ----------------------------------------------------------------------------- serial pieces of the kernel
@njit(cache=True)
def _ke_only(points, cells, dN, w, lam, mu, order):
    k = cells.shape[1]
    Ke = np.empty((3 * k, 3 * k))
    X = np.empty((k, 3))
    J = np.empty((3, 3))
    G = np.empty((k, 3))
    s = 0.0
    for ii in range(order.shape[0]):
        e = order[ii]
        for a in range(k):
            for i in range(3):
                X[a, i] = points[cells[e, a], i]
        s += kern.element_stiffness_isotropic(X, dN, w, lam[e], mu[e], Ke, J, G) + Ke[0, 0]
    return s


@njit(cache=True)
def _scatter_only(cells, order, pos, nptr, data, Ke):
    for ii in range(order.shape[0]):
        e = order[ii]
        kern._scatter(Ke, cells[e], pos[e], nptr, data)


# ----------------------------------------------------------------------------- prototype (a): faster element matrix
@njit(cache=True, inline="always")
def ke_fast(X, dN, w, lam, mu, Ke, J, G, M):
    """Same result as kern.element_stiffness_isotropic; M is a (3k, 3k) work array."""
    k = X.shape[0]
    for a in range(3 * k):
        for b in range(3 * k):
            M[a, b] = 0.0
    vol = 0.0
    for q in range(w.shape[0]):
        det = kern._jacobian(X, dN[q], J)
        kern._physical_gradients(J, det, dN[q], G)
        wd = w[q] * det
        vol += wd
        for a in range(k):
            g0 = wd * G[a, 0]
            g1 = wd * G[a, 1]
            g2 = wd * G[a, 2]
            for b in range(a, k):
                h0 = G[b, 0]
                h1 = G[b, 1]
                h2 = G[b, 2]
                M[3 * a, 3 * b] += g0 * h0
                M[3 * a, 3 * b + 1] += g0 * h1
                M[3 * a, 3 * b + 2] += g0 * h2
                M[3 * a + 1, 3 * b] += g1 * h0
                M[3 * a + 1, 3 * b + 1] += g1 * h1
                M[3 * a + 1, 3 * b + 2] += g1 * h2
                M[3 * a + 2, 3 * b] += g2 * h0
                M[3 * a + 2, 3 * b + 1] += g2 * h1
                M[3 * a + 2, 3 * b + 2] += g2 * h2
    for a in range(k):
        for b in range(a, k):
            tr = mu * (M[3 * a, 3 * b] + M[3 * a + 1, 3 * b + 1] + M[3 * a + 2, 3 * b + 2])
            for i in range(3):
                for j in range(3):
                    v = lam * M[3 * a + i, 3 * b + j] + mu * M[3 * a + j, 3 * b + i]
                    if i == j:
                        v += tr
                    Ke[3 * a + i, 3 * b + j] = v
                    Ke[3 * b + j, 3 * a + i] = v
    return vol


@njit(cache=True)
def _ke_fast_only(points, cells, dN, w, lam, mu, order):
    k = cells.shape[1]
    Ke = np.empty((3 * k, 3 * k))
    M = np.empty((3 * k, 3 * k))
    X = np.empty((k, 3))
    J = np.empty((3, 3))
    G = np.empty((k, 3))
    s = 0.0
    for ii in range(order.shape[0]):
        e = order[ii]
        for a in range(k):
            for i in range(3):
                X[a, i] = points[cells[e, a], i]
        s += ke_fast(X, dN, w, lam[e], mu[e], Ke, J, G, M) + Ke[0, 0]
    return s


@njit(cache=True)
def _ke_compare(points, cells, dN, w, lam, mu, n):
    """Largest |Ke_fast - Ke_package| / max |Ke_package| over the first n cells."""
    k = cells.shape[1]
    K1 = np.empty((3 * k, 3 * k))
    K2 = np.empty((3 * k, 3 * k))
    M = np.empty((3 * k, 3 * k))
    X = np.empty((k, 3))
    J = np.empty((3, 3))
    G = np.empty((k, 3))
    worst = 0.0
    for e in range(min(n, cells.shape[0])):
        for a in range(k):
            for i in range(3):
                X[a, i] = points[cells[e, a], i]
        kern.element_stiffness_isotropic(X, dN, w, lam[e], mu[e], K1, J, G)
        ke_fast(X, dN, w, lam[e], mu[e], K2, J, G, M)
        worst = max(worst, np.abs(K1 - K2).max() / np.abs(K1).max())
    return worst


# ----------------------------------------------------------------------------- prototype (b): block colouring
@njit(cache=True)
def block_colouring(cells, n_points, bsize):
    """Colour blocks of ``bsize`` consecutive cells so that blocks of one colour share no node.

    Returns ``(block_colour, n_colours)``.
    """
    m, k = cells.shape
    nb = (m + bsize - 1) // bsize
    mark = np.full(n_points, -1, np.int64)
    cnt = np.zeros(n_points + 1, np.int64)
    for b in range(nb):
        for e in range(b * bsize, min(m, (b + 1) * bsize)):
            for a in range(k):
                n = cells[e, a]
                if mark[n] != b:
                    mark[n] = b
                    cnt[n + 1] += 1
    for i in range(n_points):
        cnt[i + 1] += cnt[i]
    adj = np.empty(cnt[n_points], np.int64)
    fill = cnt[:-1].copy()
    mark[:] = -1
    for b in range(nb):
        for e in range(b * bsize, min(m, (b + 1) * bsize)):
            for a in range(k):
                n = cells[e, a]
                if mark[n] != b:
                    mark[n] = b
                    adj[fill[n]] = b
                    fill[n] += 1
    colour = np.full(nb, -1, np.int64)
    used = np.full(4096, -1, np.int64)
    n_colours = 0
    for b in range(nb):
        for e in range(b * bsize, min(m, (b + 1) * bsize)):
            for a in range(k):
                n = cells[e, a]
                for t in range(cnt[n], cnt[n + 1]):
                    c = colour[adj[t]]
                    if c >= 0:
                        used[c] = b
        c = 0
        while used[c] == b:
            c += 1
        colour[b] = c
        n_colours = max(n_colours, c + 1)
    return colour, n_colours


@njit(parallel=True, cache=True)
def assemble_blocks(points, cells, dN, w, lam, mu, block_order, bcolour_ptr, bsize, pos, nptr, data, fast):
    """Like kern.assemble_isotropic, but parallel over same-colour blocks of consecutive cells."""
    m, k = cells.shape
    data[:] = 0.0
    for c in range(bcolour_ptr.shape[0] - 1):
        lo = bcolour_ptr[c]
        for ib in prange(bcolour_ptr[c + 1] - lo):
            b = block_order[lo + ib]
            Ke = np.empty((3 * k, 3 * k))
            M = np.empty((3 * k, 3 * k))
            X = np.empty((k, 3))
            J = np.empty((3, 3))
            G = np.empty((k, 3))
            for e in range(b * bsize, min(m, (b + 1) * bsize)):
                for a in range(k):
                    for i in range(3):
                        X[a, i] = points[cells[e, a], i]
                if fast:
                    ke_fast(X, dN, w, lam[e], mu[e], Ke, J, G, M)
                else:
                    kern.element_stiffness_isotropic(X, dN, w, lam[e], mu[e], Ke, J, G)
                kern._scatter(Ke, cells[e], pos[e], nptr, data)


@njit(parallel=True, cache=True)
def assemble_blocks_cached(cells, Ktypes, lam, mu, block_order, bcolour_ptr, bsize, pos, nptr, data):
    """Block-coloured scatter of cached element matrices: Ke = lam Ktypes[t, 0] + mu Ktypes[t, 1], t = e % ntypes.

    Valid only when cells of one type are congruent (voxel / structured meshes); an
    upper bound of what caching element matrices could give.
    """
    m, k = cells.shape
    nt = Ktypes.shape[0]
    data[:] = 0.0
    for c in range(bcolour_ptr.shape[0] - 1):
        lo = bcolour_ptr[c]
        for ib in prange(bcolour_ptr[c + 1] - lo):
            b = block_order[lo + ib]
            Ke = np.empty((3 * k, 3 * k))
            for e in range(b * bsize, min(m, (b + 1) * bsize)):
                t = e % nt
                le = lam[e]
                me = mu[e]
                for i in range(3 * k):
                    for j in range(3 * k):
                        Ke[i, j] = le * Ktypes[t, 0, i, j] + me * Ktypes[t, 1, i, j]
                kern._scatter(Ke, cells[e], pos[e], nptr, data)


@njit(inline="always")
def _scatter_bsr(Ke, cell, pos_e, data):
    """BSR scatter: the 3x3 block (a, b) goes to data[pos_e[a, b]] (block index = index into nidx)."""
    k = cell.shape[0]
    for a in range(k):
        for b in range(k):
            p = pos_e[a, b]
            for d in range(3):
                for f in range(3):
                    data[p, d, f] += Ke[3 * a + d, 3 * b + f]


@njit(parallel=True, cache=True)
def assemble_blocks_bsr(points, cells, dN, w, lam, mu, block_order, bcolour_ptr, bsize, pos, Ktypes, cached, data):
    """Block-coloured assembly into a BSR (3x3 blocks) data array of shape (nnz_node, 3, 3).

    ``cached``: use ``lam Ktypes[t, 0] + mu Ktypes[t, 1]`` (congruent cells) instead of ``ke_fast``.
    """
    m, k = cells.shape
    nt = Ktypes.shape[0]
    data[:] = 0.0
    for c in range(bcolour_ptr.shape[0] - 1):
        lo = bcolour_ptr[c]
        for ib in prange(bcolour_ptr[c + 1] - lo):
            b = block_order[lo + ib]
            Ke = np.empty((3 * k, 3 * k))
            M = np.empty((3 * k, 3 * k))
            X = np.empty((k, 3))
            J = np.empty((3, 3))
            G = np.empty((k, 3))
            for e in range(b * bsize, min(m, (b + 1) * bsize)):
                if cached:
                    t = e % nt
                    for i in range(3 * k):
                        for j in range(3 * k):
                            Ke[i, j] = lam[e] * Ktypes[t, 0, i, j] + mu[e] * Ktypes[t, 1, i, j]
                else:
                    for a in range(k):
                        for i in range(3):
                            X[a, i] = points[cells[e, a], i]
                    ke_fast(X, dN, w, lam[e], mu[e], Ke, J, G, M)
                _scatter_bsr(Ke, cells[e], pos[e], data)


# ----------------------------------------------------------------------------- prototype (c): CSR indices fill
@njit(parallel=True, cache=True)
def fill_indices(nptr, nidx, indices):
    """CSR column indices of the 3n x 3n matrix from the node graph (no int64 temporaries)."""
    n = nptr.shape[0] - 1
    for i in prange(n):
        s = nptr[i]
        deg = nptr[i + 1] - s
        for d in range(3):
            row = 9 * s + 3 * d * deg
            for kk in range(deg):
                j = nidx[s + kk]
                for f in range(3):
                    indices[row + 3 * kk + f] = 3 * j + f


# ----------------------------------------------------------------------------- sections
def section_plan(mesh, rows):
    """pattern._build_plan step by step (copied from vbfem/pattern.py)."""
    cells, n_points = mesh.cells, mesh.n_points
    m, k = cells.shape
    t = _t()
    incidence = sp.csr_matrix(
        (np.ones(m * k, np.int8), cells.ravel(), np.arange(0, m * k + 1, k)), shape=(m, n_points)
    )
    graph = (incidence.T @ incidence).tocsr()
    graph.sort_indices()
    rows.append(["node graph  incidence.T @ incidence, sort", _t() - t])
    t = _t()
    nnz_node = graph.indices.size
    itype = np.int32 if 9 * nnz_node < np.iinfo(np.int32).max else np.int64
    nptr = graph.indptr.astype(itype)
    nidx = graph.indices.astype(itype)
    deg = np.diff(nptr).astype(np.int64)
    row_len = np.repeat(3 * deg, 3)
    indptr = np.zeros(3 * n_points + 1, np.int64)
    np.cumsum(row_len, out=indptr[1:])
    cols3 = (3 * nidx.astype(np.int64)[:, None] + np.arange(3)).ravel()
    seg_start = np.repeat(3 * nptr[:-1].astype(np.int64), 3)
    gather = np.arange(indptr[-1]) - np.repeat(indptr[:-1] - seg_start, row_len)
    indices = cols3[gather].astype(itype)
    rows.append(["CSR indptr / indices (numpy, int64 temporaries)", _t() - t])
    del gather, cols3, seg_start
    t = _t()
    indices2 = np.empty(indices.size, itype)
    fill_indices(nptr, nidx, indices2)
    ok = np.array_equal(indices, indices2)
    rows.append([f"  prototype: numba fill_indices (equal: {ok})", _t() - t])
    del indices2
    t = _t()
    kern.block_positions(cells, nptr, nidx)
    rows.append(["block_positions (numba, parallel)", _t() - t])
    t = _t()
    colour, n_colours = kern.greedy_colouring(cells, n_points)
    rows.append([f"greedy_colouring (numba, serial; {n_colours} colours)", _t() - t])
    t = _t()
    np.argsort(colour, kind="stable")
    np.bincount(colour, minlength=n_colours)
    rows.append(["argsort colours", _t() - t])
    t = _t()
    plan = sparsity_plan(mesh)
    rows.append(["sparsity_plan(mesh) as a whole (first call)", _t() - t])
    return plan


def section_kernel(mesh, plan, lam, mu, rows):
    el = element(mesh.cell_type)
    dN, w = el.quad_gradients(), el.quad_weights
    m, k = mesh.cells.shape
    natural = np.arange(m, dtype=np.int64)
    data = np.zeros(plan.nnz)
    Ke = np.ones((3 * k, 3 * k))
    for name, fn in (("element matrices only (package), serial", lambda: _ke_only(mesh.points, mesh.cells, dN, w,
                                                                                     lam, mu, natural)),
                     ("scatter only, colour order, serial",
                      lambda: _scatter_only(mesh.cells, plan.order, plan.pos, plan.nptr, data, Ke)),
                     ("scatter only, natural order, serial",
                      lambda: _scatter_only(mesh.cells, natural, plan.pos, plan.nptr, data, Ke))):
        fn()
        t = _t()
        fn()
        rows.append([name, _t() - t])
    nthreads = numba.get_num_threads()
    for th in sorted({1, nthreads}):
        numba.set_num_threads(th)
        best = np.inf
        for _ in range(3):
            t = _t()
            kern.assemble_isotropic(mesh.points, mesh.cells, dN, w, lam, mu, plan.order, plan.colour_ptr,
                                    plan.pos, plan.nptr, data, 8 * th)
            best = min(best, _t() - t)
        rows.append([f"package kernel assemble_isotropic, {th} thread(s), data reused", best])
    numba.set_num_threads(nthreads)
    return data


def section_proto(mesh, plan, lam, mu, ref, rows, bsize):
    el = element(mesh.cell_type)
    dN, w = el.quad_gradients(), el.quad_weights
    m = mesh.n_cells
    nthreads = numba.get_num_threads()
    natural = np.arange(m, dtype=np.int64)
    err = _ke_compare(mesh.points, mesh.cells, dN, w, lam, mu, 2000)
    _ke_fast_only(mesh.points, mesh.cells, dN, w, lam, mu, natural)
    t = _t()
    _ke_fast_only(mesh.points, mesh.cells, dN, w, lam, mu, natural)
    rows.append([f"(a) ke_fast element matrices only, serial (max rel diff {err:.1e})", _t() - t])
    t = _t()
    bcol, nbc = block_colouring(mesh.cells, mesh.n_points, bsize)
    border = np.argsort(bcol, kind="stable")
    bptr = np.zeros(nbc + 1, np.int64)
    np.cumsum(np.bincount(bcol, minlength=nbc), out=bptr[1:])
    nblocks = bcol.size
    rows.append([f"(b) block colouring: {nblocks} blocks of {bsize} cells, {nbc} colours", _t() - t])
    data = np.empty(plan.nnz)
    scale = np.abs(ref).max()
    for fast, name in ((False, "(b) block-coloured, package element matrix"),
                       (True, "(c) block-coloured + ke_fast")):
        for th in sorted({1, numba.get_num_threads()}):
            numba.set_num_threads(th)
            best = np.inf
            for _ in range(3):
                t = _t()
                assemble_blocks(mesh.points, mesh.cells, dN, w, lam, mu, border, bptr, bsize, plan.pos,
                                plan.nptr, data, fast)
                best = min(best, _t() - t)
            diff = np.abs(data - ref).max() / scale
            rows.append([f"{name}, {th} thread(s) (max rel diff {diff:.1e})", best])
        numba.set_num_threads(max(th, 1))
    # (d) cached element matrices (box meshes: hex8 cells are all congruent, tets come in 6 shapes)
    ntypes = 1 if mesh.cell_type == "hex8" else 6
    k = mesh.cells.shape[1]
    Kt = np.empty((ntypes, 2, 3 * k, 3 * k))
    J, G = np.empty((3, 3)), np.empty((k, 3))
    for t_ in range(ntypes):
        X = np.ascontiguousarray(mesh.points[mesh.cells[t_]])
        kern.element_stiffness_isotropic(X, dN, w, 1.0, 0.0, Kt[t_, 0], J, G)
        kern.element_stiffness_isotropic(X, dN, w, 0.0, 1.0, Kt[t_, 1], J, G)
    for th in sorted({1, numba.get_num_threads()}):
        numba.set_num_threads(th)
        best = np.inf
        for _ in range(3):
            t = _t()
            assemble_blocks_cached(mesh.cells, Kt, lam, mu, border, bptr, bsize, plan.pos, plan.nptr, data)
            best = min(best, _t() - t)
        diff = np.abs(data - ref).max() / scale
        name = f"(d) block-coloured, cached element matrices (box only), {th} thread(s) (max rel diff {diff:.1e})"
        rows.append([name, best])
    # (e) the same into BSR 3x3 blocks (structure = the node graph nptr / nidx; no CSR indices needed)
    numba.set_num_threads(nthreads)
    Kref = plan.matrix(ref)
    x = np.random.default_rng(1).standard_normal(Kref.shape[0])
    y_ref = Kref @ x
    bdata = np.empty((plan.nidx.size, 3, 3))
    for cached, name in ((False, "(e) block-coloured + ke_fast, BSR 3x3 scatter"),
                         (True, "(f) block-coloured, cached element matrices, BSR 3x3 scatter")):
        for th in sorted({1, nthreads}):
            numba.set_num_threads(th)
            best = np.inf
            for _ in range(3):
                t = _t()
                assemble_blocks_bsr(mesh.points, mesh.cells, dN, w, lam, mu, border, bptr, bsize, plan.pos, Kt,
                                    cached, bdata)
                best = min(best, _t() - t)
            Kb = sp.bsr_matrix((bdata, plan.nidx, plan.nptr), shape=Kref.shape)
            diff = np.linalg.norm(Kb @ x - y_ref) / np.linalg.norm(y_ref)
            rows.append([f"{name}, {th} thread(s) (matvec rel diff {diff:.1e})", best])
    numba.set_num_threads(nthreads)
    for name, A in (("CSR", Kref), ("BSR 3x3", Kb)):
        A @ x
        t = _t()
        for _ in range(5):
            A @ x
        rows.append([f"  one matvec with the {name} matrix (scipy)", (_t() - t) / 5])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--cell-type", default="tet4", choices=("tet4", "hex8", "tet10"))
    p.add_argument("-n", type=int, default=None, help="grid divisions (default: 64 tet4, 100 hex8, 32 tet10)")
    p.add_argument("--sections", nargs="*", default=["plan", "kernel", "proto"])
    p.add_argument("--block", type=int, default=2048, help="cells per block for the block colouring")
    p.add_argument("--prefault", type=float, default=0.0, help="GiB of memory to touch and free first")
    p.add_argument("--quick", action="store_true", help="small mesh (n = 16)")
    args = p.parse_args(argv)
    n = args.n or (16 if args.quick else {"tet4": 64, "hex8": 100, "tet10": 32}[args.cell_type])
    if args.prefault > 0:
        a = np.ones(int(args.prefault * 2**30 / 8))
        del a

    ct = args.cell_type
    tiny = box_mesh((1.0, 1.0, 1.0), (2, 2, 2), cell_type=ct)
    tm = MaterialMap.uniform(tiny.n_cells, 100.0, 0.3)
    assemble_stiffness(tiny, tm)  # JIT warm-up of the package kernels
    tl, tmu = lame(tm.E, tm.nu)
    section_plan(tiny, [])
    ref_tiny = section_kernel(tiny, sparsity_plan(tiny), tl, tmu, [])
    section_proto(tiny, sparsity_plan(tiny), tl, tmu, ref_tiny, [], 4)

    mesh = box_mesh((1.0, 1.0, 1.0), (n, n, n), cell_type=ct)
    rng = np.random.default_rng(0)
    mat = MaterialMap(rng.lognormal(np.log(100.0), 0.5, mesh.n_cells), rng.uniform(0.2, 0.4, mesh.n_cells))
    lam, mu = lame(mat.E, mat.nu)
    check_mesh(mesh)
    print(f"{ct} {n}^3 grid: {mesh.n_cells:,} cells, {mesh.n_points:,} nodes, {mesh.n_dofs:,} dofs; "
          f"{numba.get_num_threads()} numba threads; load average {os.getloadavg()[0]:.2f}")
    rows = []
    plan = section_plan(mesh, rows) if "plan" in args.sections else sparsity_plan(mesh)
    print(f"nnz {plan.nnz:,}, {plan.n_colours} cell colours\n")
    ref = None
    if "kernel" in args.sections or "proto" in args.sections:
        ref = section_kernel(mesh, plan, lam, mu, rows if "kernel" in args.sections else [])
    if "proto" in args.sections:
        section_proto(mesh, plan, lam, mu, ref, rows, args.block)
    out = [[name, f"{s:.3f}", f"{mesh.n_cells / s / 1e6:.2f}"] for name, s in rows]
    print(table(out, ["step", "seconds", "M cells/s"]))
    print(f"\npeak RSS {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
