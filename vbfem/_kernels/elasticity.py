"""numba kernels for small-strain linear elasticity.

Only arrays and scalars go in. Every kernel has a slow numpy twin in
:mod:`vbfem._kernels.elasticity_ref` that the tests compare against.

Assembly writes straight into the ``data`` array of a CSR matrix whose
structure comes from :mod:`vbfem.pattern`: the row of dof ``3 i + d`` starts at
``9 * nptr[i] + 3 * d * deg(i)`` and holds, for the ``kk``-th neighbour ``j``
of node ``i`` (sorted), the columns ``3 j, 3 j + 1, 3 j + 2``. ``pos[e, a, b]``
is the index ``nptr[i] + kk`` of node ``cells[e, b]`` in the neighbour list of
node ``cells[e, a]``. Elements are processed colour by colour: no two elements
of one colour share a node, so each thread writes its own entries (no races).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _jacobian(X, dNq, J):
    """J[i, j] = sum_a X[a, i] dN[a, j]; returns det J."""
    k = X.shape[0]
    for i in range(3):
        for j in range(3):
            s = 0.0
            for a in range(k):
                s += X[a, i] * dNq[a, j]
            J[i, j] = s
    return (
        J[0, 0] * (J[1, 1] * J[2, 2] - J[1, 2] * J[2, 1])
        - J[0, 1] * (J[1, 0] * J[2, 2] - J[1, 2] * J[2, 0])
        + J[0, 2] * (J[1, 0] * J[2, 1] - J[1, 1] * J[2, 0])
    )


@njit(cache=True, inline="always")
def _physical_gradients(J, det, dNq, G):
    """G[a, i] = dN_a / dx_i = sum_j dN[a, j] inv(J)[j, i]."""
    inv00 = (J[1, 1] * J[2, 2] - J[1, 2] * J[2, 1]) / det
    inv01 = (J[0, 2] * J[2, 1] - J[0, 1] * J[2, 2]) / det
    inv02 = (J[0, 1] * J[1, 2] - J[0, 2] * J[1, 1]) / det
    inv10 = (J[1, 2] * J[2, 0] - J[1, 0] * J[2, 2]) / det
    inv11 = (J[0, 0] * J[2, 2] - J[0, 2] * J[2, 0]) / det
    inv12 = (J[0, 2] * J[1, 0] - J[0, 0] * J[1, 2]) / det
    inv20 = (J[1, 0] * J[2, 1] - J[1, 1] * J[2, 0]) / det
    inv21 = (J[0, 1] * J[2, 0] - J[0, 0] * J[2, 1]) / det
    inv22 = (J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]) / det
    for a in range(dNq.shape[0]):
        g0, g1, g2 = dNq[a, 0], dNq[a, 1], dNq[a, 2]
        G[a, 0] = g0 * inv00 + g1 * inv10 + g2 * inv20
        G[a, 1] = g0 * inv01 + g1 * inv11 + g2 * inv21
        G[a, 2] = g0 * inv02 + g1 * inv12 + g2 * inv22


@njit(cache=True)
def element_stiffness_isotropic(X, dN, w, lam, mu, Ke, J, G):
    """Stiffness of one element into ``Ke`` (3k, 3k); returns its volume (mm³).

    K_ab,ij = sum_q w_q det J_q [lam G_ai G_bj + mu G_aj G_bi + mu delta_ij G_a . G_b].
    """
    k = X.shape[0]
    Ke[:, :] = 0.0
    vol = 0.0
    for q in range(w.shape[0]):
        det = _jacobian(X, dN[q], J)
        _physical_gradients(J, det, dN[q], G)
        wd = w[q] * det
        vol += wd
        for a in range(k):
            for b in range(a, k):
                gab = G[a, 0] * G[b, 0] + G[a, 1] * G[b, 1] + G[a, 2] * G[b, 2]
                for i in range(3):
                    for j in range(3):
                        v = lam * G[a, i] * G[b, j] + mu * G[a, j] * G[b, i]
                        if i == j:
                            v += mu * gab
                        Ke[3 * a + i, 3 * b + j] += wd * v
    for a in range(k):
        for b in range(a + 1, k):
            for i in range(3):
                for j in range(3):
                    Ke[3 * b + j, 3 * a + i] = Ke[3 * a + i, 3 * b + j]
    return vol


@njit(cache=True, inline="always")
def _scatter(Ke, cell, pos_e, nptr, data):
    k = cell.shape[0]
    for a in range(k):
        i = cell[a]
        start = nptr[i]
        deg = nptr[i + 1] - start
        for b in range(k):
            base = 9 * start + 3 * (pos_e[a, b] - start)
            for d in range(3):
                row = base + 3 * d * deg
                for f in range(3):
                    data[row + f] += Ke[3 * a + d, 3 * b + f]


@njit(parallel=True, cache=True)
def assemble_isotropic(points, cells, dN, w, lam, mu, order, color_ptr, pos, nptr, data, n_chunks):
    """Assemble the global stiffness into ``data`` (zeroed here) colour by colour.

    Each colour is split into at most ``n_chunks`` chunks run in parallel; a
    chunk owns its work arrays.
    """
    k = cells.shape[1]
    data[:] = 0.0
    for c in range(color_ptr.shape[0] - 1):
        lo = color_ptr[c]
        n = color_ptr[c + 1] - lo
        nchunk = min(n, n_chunks)
        for ch in prange(nchunk):
            Ke = np.empty((3 * k, 3 * k))
            X = np.empty((k, 3))
            J = np.empty((3, 3))
            G = np.empty((k, 3))
            for ii in range(lo + (n * ch) // nchunk, lo + (n * (ch + 1)) // nchunk):
                e = order[ii]
                for a in range(k):
                    for i in range(3):
                        X[a, i] = points[cells[e, a], i]
                element_stiffness_isotropic(X, dN, w, lam[e], mu[e], Ke, J, G)
                _scatter(Ke, cells[e], pos[e], nptr, data)


@njit(parallel=True, cache=True)
def jacobian_determinants(points, cells, dN):
    """det J of every cell at every point of ``dN`` (p, k, 3); returns (m, p)."""
    m, k = cells.shape
    p = dN.shape[0]
    out = np.empty((m, p))
    for e in prange(m):
        X = np.empty((k, 3))
        J = np.empty((3, 3))
        for a in range(k):
            for i in range(3):
                X[a, i] = points[cells[e, a], i]
        for q in range(p):
            out[e, q] = _jacobian(X, dN[q], J)
    return out


@njit(parallel=True, cache=True)
def cell_strain_energy(points, cells, dN, w, lam, mu, u):
    """Volume-averaged strain (m, 6), strain energy (m,) in N·mm and volume (m,) of every cell.

    ``u`` is the nodal displacement (n, 3). Voigt order (xx, yy, zz, yz, xz, xy),
    engineering shear.
    """
    m, k = cells.shape
    strain = np.zeros((m, 6))
    energy = np.zeros(m)
    volume = np.zeros(m)
    for e in prange(m):
        X = np.empty((k, 3))
        J = np.empty((3, 3))
        G = np.empty((k, 3))
        eps = np.empty(6)
        for a in range(k):
            for i in range(3):
                X[a, i] = points[cells[e, a], i]
        for q in range(w.shape[0]):
            det = _jacobian(X, dN[q], J)
            _physical_gradients(J, det, dN[q], G)
            wd = w[q] * det
            eps[:] = 0.0
            for a in range(k):
                n = cells[e, a]
                eps[0] += G[a, 0] * u[n, 0]
                eps[1] += G[a, 1] * u[n, 1]
                eps[2] += G[a, 2] * u[n, 2]
                eps[3] += G[a, 2] * u[n, 1] + G[a, 1] * u[n, 2]
                eps[4] += G[a, 2] * u[n, 0] + G[a, 0] * u[n, 2]
                eps[5] += G[a, 1] * u[n, 0] + G[a, 0] * u[n, 1]
            tr = eps[0] + eps[1] + eps[2]
            ee = eps[0] ** 2 + eps[1] ** 2 + eps[2] ** 2 + 0.5 * (eps[3] ** 2 + eps[4] ** 2 + eps[5] ** 2)
            energy[e] += 0.5 * wd * (lam[e] * tr * tr + 2.0 * mu[e] * ee)
            volume[e] += wd
            for c in range(6):
                strain[e, c] += wd * eps[c]
        for c in range(6):
            strain[e, c] /= volume[e]
    return strain, energy, volume


@njit(cache=True)
def greedy_colouring(cells, n_points):
    """Colour cells so that no two cells of one colour share a node.

    Returns ``(colour, n_colours)``; cells are visited in order, each takes the
    smallest colour not used by an already-coloured neighbour.
    """
    m, k = cells.shape
    # node -> cells adjacency (CSR)
    cnt = np.zeros(n_points + 1, np.int64)
    for e in range(m):
        for a in range(k):
            cnt[cells[e, a] + 1] += 1
    for i in range(n_points):
        cnt[i + 1] += cnt[i]
    fill = cnt[:-1].copy()
    adj = np.empty(m * k, np.int64)
    for e in range(m):
        for a in range(k):
            n = cells[e, a]
            adj[fill[n]] = e
            fill[n] += 1
    colour = np.full(m, -1, np.int64)
    mark = np.full(1024, -1, np.int64)  # mark[c] == e: colour c used by a neighbour of e
    n_colours = 0
    for e in range(m):
        for a in range(k):
            n = cells[e, a]
            for t in range(cnt[n], cnt[n + 1]):
                c = colour[adj[t]]
                if c >= 0:
                    mark[c] = e
        c = 0
        while mark[c] == e:
            c += 1
        colour[e] = c
        if c + 1 > n_colours:
            n_colours = c + 1
    return colour, n_colours


@njit(parallel=True, cache=True)
def block_positions(cells, nptr, nidx):
    """pos[e, a, b]: index of cells[e, b] in the sorted neighbour list of cells[e, a]."""
    m, k = cells.shape
    pos = np.empty((m, k, k), nptr.dtype)
    for e in prange(m):
        for a in range(k):
            i = cells[e, a]
            for b in range(k):
                j = cells[e, b]
                lo = nptr[i]
                hi = nptr[i + 1] - 1
                while lo < hi:  # binary search for j
                    mid = (lo + hi) // 2
                    if nidx[mid] < j:
                        lo = mid + 1
                    else:
                        hi = mid
                pos[e, a, b] = lo
    return pos
