"""numba kernels for small-strain linear elasticity.

Only arrays and scalars go in. Every kernel has a slow numpy twin in
:mod:`vbfem.fem._kernels.elasticity_ref` that the tests compare against.

Assembly writes straight into the ``data`` array of a CSR matrix whose
structure comes from :mod:`vbfem.fem.pattern`: the row of dof ``3 i + d`` starts at
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


@njit(cache=True, inline="always")
def _point_strain(G, cell, u, eps):
    """Voigt strain (xx, yy, zz, yz, xz, xy; engineering shear) at a point with gradients G (k, 3)."""
    eps[:] = 0.0
    for a in range(cell.shape[0]):
        n = cell[a]
        eps[0] += G[a, 0] * u[n, 0]
        eps[1] += G[a, 1] * u[n, 1]
        eps[2] += G[a, 2] * u[n, 2]
        eps[3] += G[a, 2] * u[n, 1] + G[a, 1] * u[n, 2]
        eps[4] += G[a, 2] * u[n, 0] + G[a, 0] * u[n, 2]
        eps[5] += G[a, 1] * u[n, 0] + G[a, 0] * u[n, 1]


@njit(parallel=True, cache=True)
def cell_strain_energy(points, cells, dN, w, lam, mu, D, u):
    """Volume-averaged strain (m, 6), strain energy (m,) in N·mm and volume (m,) of every cell.

    ``u`` is the nodal displacement (n, 3). Voigt order (xx, yy, zz, yz, xz, xy),
    engineering shear. The energy uses the Voigt elasticity matrices ``D``
    (m, 6, 6) when given, else (``D`` of shape (0, 6, 6)) the Lamé
    parameters ``lam``, ``mu`` (m,).
    """
    general = D.shape[0] > 0
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
            _point_strain(G, cells[e], u, eps)
            if general:
                ee = 0.0
                for r in range(6):
                    t = 0.0
                    for c in range(6):
                        t += D[e, r, c] * eps[c]
                    ee += eps[r] * t
                energy[e] += 0.5 * wd * ee
            else:
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
    smallest colour not used by an already-coloured neighbour: the block
    colouring of :func:`block_colouring` with blocks of one cell.
    """
    return block_colouring(cells, n_points, 1)


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


# ---------------------------------------------------------------------------
# Block-coloured assembly (the fast path used by vbfem.fem.assembly)
#
# For isotropic elasticity, with G_a the physical gradient of shape function a
# at a quadrature point and M_ab = sum_q w_q det J_q G_a G_b^T (a 3x3 outer
# product sum), the element block is
#     K_ab[i, j] = lam M_ab[i, j] + mu M_ab[j, i] + mu tr(M_ab) delta_ij,
# which is sum_q w det [lam G_ai G_bj + mu G_aj G_bi + mu delta_ij G_a.G_b],
# the same as B^T D B (checked against the numpy twin in the tests).
# ---------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _zero(data):
    """data[:] = 0 in 64 parallel chunks (inlined into the callers' parallel region)."""
    nnz = data.shape[0]
    nz = 64
    for t in prange(nz):
        for p in range((nnz * t) // nz, (nnz * (t + 1)) // nz):
            data[p] = 0.0


@njit(cache=True, inline="always")
def _gradients(points, cell, dN, w, X, G, GW):
    """G[a, q] = dN_a/dx at quadrature point q and GW[a, q] = w_q det J_q G[a, q]."""
    k = cell.shape[0]
    for a in range(k):
        n = cell[a]
        X[a, 0] = points[n, 0]; X[a, 1] = points[n, 1]; X[a, 2] = points[n, 2]
    for q in range(w.shape[0]):
        dq = dN[q]
        j00 = j01 = j02 = j10 = j11 = j12 = j20 = j21 = j22 = 0.0
        for a in range(k):
            x0, x1, x2 = X[a, 0], X[a, 1], X[a, 2]
            d0, d1, d2 = dq[a, 0], dq[a, 1], dq[a, 2]
            j00 += x0 * d0; j01 += x0 * d1; j02 += x0 * d2
            j10 += x1 * d0; j11 += x1 * d1; j12 += x1 * d2
            j20 += x2 * d0; j21 += x2 * d1; j22 += x2 * d2
        c00 = j11 * j22 - j12 * j21; c01 = j02 * j21 - j01 * j22; c02 = j01 * j12 - j02 * j11
        c10 = j12 * j20 - j10 * j22; c11 = j00 * j22 - j02 * j20; c12 = j02 * j10 - j00 * j12
        c20 = j10 * j21 - j11 * j20; c21 = j01 * j20 - j00 * j21; c22 = j00 * j11 - j01 * j10
        det = j00 * c00 + j01 * c10 + j02 * c20
        r = 1.0 / det
        wd = w[q] * det
        for a in range(k):
            d0, d1, d2 = dq[a, 0], dq[a, 1], dq[a, 2]
            g0 = (d0 * c00 + d1 * c10 + d2 * c20) * r
            g1 = (d0 * c01 + d1 * c11 + d2 * c21) * r
            g2 = (d0 * c02 + d1 * c12 + d2 * c22) * r
            G[a, q, 0] = g0; G[a, q, 1] = g1; G[a, q, 2] = g2
            GW[a, q, 0] = wd * g0; GW[a, q, 1] = wd * g1; GW[a, q, 2] = wd * g2

@njit(cache=True, inline="always")
def _element_M_ab(G, GW, nq, a, b):
    """M_ab[i, j] = sum_q GW[a, q, i] G[b, q, j], summed in registers (9 values, row-major)."""
    m00 = m01 = m02 = m10 = m11 = m12 = m20 = m21 = m22 = 0.0
    for q in range(nq):
        a0, a1, a2 = GW[a, q, 0], GW[a, q, 1], GW[a, q, 2]
        b0, b1, b2 = G[b, q, 0], G[b, q, 1], G[b, q, 2]
        m00 += a0 * b0; m01 += a0 * b1; m02 += a0 * b2
        m10 += a1 * b0; m11 += a1 * b1; m12 += a1 * b2
        m20 += a2 * b0; m21 += a2 * b1; m22 += a2 * b2
    return m00, m01, m02, m10, m11, m12, m20, m21, m22


@njit(cache=True, inline="always")
def _add_block(cell, a, b, pos_e, nptr, data, k00, k01, k02, k10, k11, k12, k20, k21, k22):
    """Add the 3x3 block K_ab to the CSR data and, for b != a, K_ba = K_ab^T."""
    i = cell[a]; si = nptr[i]; degi = nptr[i + 1] - si
    p = 9 * si + 3 * (pos_e[a, b] - si)
    data[p] += k00; data[p + 1] += k01; data[p + 2] += k02
    p += 3 * degi
    data[p] += k10; data[p + 1] += k11; data[p + 2] += k12
    p += 3 * degi
    data[p] += k20; data[p + 1] += k21; data[p + 2] += k22
    if b != a:
        j = cell[b]; sj = nptr[j]; degj = nptr[j + 1] - sj
        p = 9 * sj + 3 * (pos_e[b, a] - sj)
        data[p] += k00; data[p + 1] += k10; data[p + 2] += k20
        p += 3 * degj
        data[p] += k01; data[p + 1] += k11; data[p + 2] += k21
        p += 3 * degj
        data[p] += k02; data[p + 1] += k12; data[p + 2] += k22


@njit(cache=True, inline="always")
def _scatter_element(G, GW, nq, lam, mu, cell, pos_e, nptr, data):
    """Add K_ab = lam M_ab + mu M_ab^T + mu tr(M_ab) I (a <= b) and K_ba = K_ab^T to the CSR data."""
    k = cell.shape[0]
    for a in range(k):
        for b in range(a, k):
            m00, m01, m02, m10, m11, m12, m20, m21, m22 = _element_M_ab(G, GW, nq, a, b)
            t = mu * (m00 + m11 + m22)
            _add_block(cell, a, b, pos_e, nptr, data,
                       (lam + mu) * m00 + t, lam * m01 + mu * m10, lam * m02 + mu * m20,
                       lam * m10 + mu * m01, (lam + mu) * m11 + t, lam * m12 + mu * m21,
                       lam * m20 + mu * m02, lam * m21 + mu * m12, (lam + mu) * m22 + t)


#: Voigt index of the tensor index pair (i, j): (xx, yy, zz, yz, xz, xy).
_VOIGT = np.array([[0, 5, 4], [5, 1, 3], [4, 3, 2]], np.int64)


@njit(cache=True, inline="always")
def _tensor_rows(D, voigt, C):
    """C[3 i + k, 3 j + l] = C_ikjl = D[voigt[i, k], voigt[j, l]] (engineering-shear Voigt D)."""
    for i in range(3):
        for k in range(3):
            for j in range(3):
                for l in range(3):
                    C[3 * i + k, 3 * j + l] = D[voigt[i, k], voigt[j, l]]


@njit(cache=True, inline="always")
def _scatter_element_general(G, GW, nq, C, cell, pos_e, nptr, data):
    """Add K_ab[i, j] = sum_kl C_ikjl M_ab[k, l] (a <= b) and K_ba = K_ab^T to the CSR data.

    ``C`` is the (9, 9) arrangement of the elasticity tensor from
    :func:`_tensor_rows`; its major symmetry makes K_ba = K_ab^T.
    """
    k = cell.shape[0]
    Kb = np.empty(9)
    m = np.empty(9)
    for a in range(k):
        for b in range(a, k):
            m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8] = _element_M_ab(G, GW, nq, a, b)
            for r in range(9):  # r = 3 i + j
                i3 = 3 * (r // 3)
                j3 = 3 * (r % 3)
                s = 0.0
                for kk in range(3):
                    for ll in range(3):
                        s += C[i3 + kk, j3 + ll] * m[3 * kk + ll]
                Kb[r] = s
            _add_block(cell, a, b, pos_e, nptr, data,
                       Kb[0], Kb[1], Kb[2], Kb[3], Kb[4], Kb[5], Kb[6], Kb[7], Kb[8])


@njit(cache=True)
def element_M(points, cell, dN, w):
    """M_ab[i, j] = sum_q w_q det J_q G_ai G_bj of one element, shape (k, k, 3, 3); for tests."""
    k = cell.shape[0]
    nq = w.shape[0]
    X = np.empty((k, 3))
    G = np.empty((k, nq, 3))
    GW = np.empty((k, nq, 3))
    _gradients(points, cell, dN, w, X, G, GW)
    M = np.zeros((k, k, 3, 3))
    for a in range(k):
        for b in range(k):
            for q in range(nq):
                for i in range(3):
                    for j in range(3):
                        M[a, b, i, j] += GW[a, q, i] * G[b, q, j]
    return M


@njit(parallel=True, cache=True)
def assemble_blocks(points, cells, dN, w, lam, mu, D, block_order, block_colour_ptr, block_size, pos, nptr, data):
    """Assemble the global stiffness into ``data`` (zeroed here), block colour by block colour.

    Block ``b`` is cells ``[b * block_size, (b + 1) * block_size)``; no two
    blocks of one colour share a node, so the blocks of a colour run in
    parallel without write conflicts while each block walks its cells in mesh
    order (cache locality). Isotropic cells use the Lamé parameters ``lam``,
    ``mu`` (MPa) when ``D`` has shape (0, 6, 6); otherwise ``D`` (m, 6, 6) is
    a Voigt elasticity matrix per cell, order (xx, yy, zz, yz, xz, xy) with
    engineering shear strains, MPa, each symmetric (the caller checks), and
    ``lam``, ``mu`` are unused.
    """
    m, k = cells.shape
    nq = w.shape[0]
    general = D.shape[0] > 0
    _zero(data)
    for c in range(block_colour_ptr.shape[0] - 1):
        lo = block_colour_ptr[c]
        nb = block_colour_ptr[c + 1] - lo
        for ib in prange(nb):
            blk = block_order[lo + ib]
            X = np.empty((k, 3))
            G = np.empty((k, nq, 3))
            GW = np.empty((k, nq, 3))
            C = np.empty((9, 9))
            e0 = blk * block_size
            e1 = min(e0 + block_size, m)
            for e in range(e0, e1):
                _gradients(points, cells[e], dN, w, X, G, GW)
                if general:
                    _tensor_rows(D[e], _VOIGT, C)
                    _scatter_element_general(G, GW, nq, C, cells[e], pos[e], nptr, data)
                else:
                    _scatter_element(G, GW, nq, lam[e], mu[e], cells[e], pos[e], nptr, data)


@njit(parallel=True, cache=True)
def translates_of_first(points, cells, tol):
    """True when every cell is cell 0 moved by a translation (node by node, to ``tol`` mm).

    Such meshes (voxel grids) share one element matrix shape: see
    :func:`assemble_isotropic_translates`.
    """
    m, k = cells.shape
    bad = 0
    for e in prange(m):
        for a in range(1, k):
            for i in range(3):
                d = (points[cells[e, a], i] - points[cells[e, 0], i]) - (points[cells[0, a], i] - points[cells[0, 0], i])
                if abs(d) > tol:
                    bad += 1
    return bad == 0


@njit(parallel=True, cache=True)
def assemble_isotropic_translates(M, cells, lam, mu, block_order, block_colour_ptr, block_size, pos, nptr, data):
    """As :func:`assemble_blocks` (isotropic) for a mesh whose cells are translates of one cell.

    ``M`` (k, k, 3, 3) is that cell's :func:`element_M`; every element matrix
    is then ``lam M_ab + mu M_ab^T + mu tr(M_ab) I`` with its own Lamé
    parameters, so only the scatter remains per cell.
    """
    m, k = cells.shape
    _zero(data)
    for c in range(block_colour_ptr.shape[0] - 1):
        lo = block_colour_ptr[c]
        nb = block_colour_ptr[c + 1] - lo
        for ib in prange(nb):
            blk = block_order[lo + ib]
            e0 = blk * block_size
            e1 = min(e0 + block_size, m)
            for e in range(e0, e1):
                la = lam[e]
                mu_ = mu[e]
                for a in range(k):
                    for b in range(a, k):
                        Mab = M[a, b]
                        t = mu_ * (Mab[0, 0] + Mab[1, 1] + Mab[2, 2])
                        _add_block(cells[e], a, b, pos[e], nptr, data,
                                   (la + mu_) * Mab[0, 0] + t, la * Mab[0, 1] + mu_ * Mab[1, 0],
                                   la * Mab[0, 2] + mu_ * Mab[2, 0],
                                   la * Mab[1, 0] + mu_ * Mab[0, 1], (la + mu_) * Mab[1, 1] + t,
                                   la * Mab[1, 2] + mu_ * Mab[2, 1],
                                   la * Mab[2, 0] + mu_ * Mab[0, 2], la * Mab[2, 1] + mu_ * Mab[1, 2],
                                   (la + mu_) * Mab[2, 2] + t)


@njit(cache=True)
def block_colouring(cells, n_points, block_size):
    """Colour blocks of ``block_size`` consecutive cells so no two blocks of one colour share a node.

    Returns ``(colour, n_colours)`` of the ``ceil(m / block_size)`` blocks
    (greedy, in block order).
    """
    m, k = cells.shape
    nblk = (m + block_size - 1) // block_size
    # node -> blocks touching it (CSR, each block once per node)
    last = np.full(n_points, -1, np.int64)
    cnt = np.zeros(n_points + 1, np.int64)
    for e in range(m):
        b = e // block_size
        for a in range(k):
            n = cells[e, a]
            if last[n] != b:
                last[n] = b
                cnt[n + 1] += 1
    for i in range(n_points):
        cnt[i + 1] += cnt[i]
    fill = cnt[:-1].copy()
    adj = np.empty(cnt[n_points], np.int64)
    last[:] = -1
    for e in range(m):
        b = e // block_size
        for a in range(k):
            n = cells[e, a]
            if last[n] != b:
                last[n] = b
                adj[fill[n]] = b
                fill[n] += 1
    colour = np.full(nblk, -1, np.int64)
    cap = nblk + 1
    mark = np.full(cap, -1, np.int64)
    n_colours = 0
    for b in range(nblk):
        for e in range(b * block_size, min((b + 1) * block_size, m)):
            for a in range(k):
                n = cells[e, a]
                for t in range(cnt[n], cnt[n + 1]):
                    c = colour[adj[t]]
                    if c >= 0:
                        mark[c] = b
        c = 0
        while mark[c] == b:
            c += 1
        colour[b] = c
        n_colours = max(n_colours, c + 1)
    return colour, n_colours


@njit(parallel=True, cache=True)
def csr_indices(nptr, nidx, indptr, indices):
    """Fill the column indices of the 3n x 3n CSR from the node graph (nptr, nidx)."""
    n = nptr.shape[0] - 1
    for i in prange(n):
        s = nptr[i]
        deg = nptr[i + 1] - s
        for d in range(3):
            p = indptr[3 * i + d]
            for t in range(deg):
                j = nidx[s + t]
                indices[p + 3 * t] = 3 * j
                indices[p + 3 * t + 1] = 3 * j + 1
                indices[p + 3 * t + 2] = 3 * j + 2
