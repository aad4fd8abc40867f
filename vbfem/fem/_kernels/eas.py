"""numba kernels of the enhanced-assumed-strain (incompatible-mode) hex8 with Drucker–Prager plasticity.

Only arrays and scalars go in. The numpy twin is :mod:`vbfem.fem._kernels.eas_ref`; the element and
its sources are described in :mod:`vbfem.fem.eas`.

At Gauss point ``q`` of an element the strain is ``B_q u + Bt_q a``: ``B_q`` the usual hex8
strain–displacement matrix, ``Bt_q`` (6, 9) the same operator built from the three enhanced
gradients ``Gt[q, i, :]`` (one per incompatible mode ``i``, each acting on a displacement-like
parameter ``a[i, :]`` of three components). ``a`` (3, 3) is internal to the element and condensed out
here: for the given ``u`` the local equations ``r(a) = sum_q w_q det J_q Bt_q^T sigma_q = 0`` are
solved by Newton's method from the start-of-step value ``an`` (a return mapping at every point and
every iteration, from the start-of-step plastic state; always with the consistent tangent, also where
``consistent`` is False, which changes only the tangent returned for the global Newton; a step that
does not decrease ``|r|`` is halved), then

    f_e = sum_q w_q det J_q B_q^T sigma_q,      K_e = K_uu - K_ua K_aa^-1 K_au

with ``K_xy = sum_q w_q det J_q X_q^T C_q Y_q`` and ``C_q`` the consistent tangent of
:func:`vbfem.fem._kernels.plasticity.return_map`. The local Newton stops at
``|r| <= LOCAL_TOL * sum_q w_q det J_q |sigma_q| |Gt_q|``; if it does not get there in
``LOCAL_MAX_ITER`` iterations (or ``K_aa`` is singular) the element's force is NaN, which the global
Newton of :func:`vbfem.fem.nonlinear.elastoplastic_curve` treats as a failed iteration (a cut-back).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .elasticity import _jacobian, _physical_gradients, _scatter
from .plasticity import add_element_force, gather_element, return_map

#: Relative residual of the element-local equations at which their Newton iterations stop. Tight, so
#: that the condensed force is a smooth function of ``u`` to round-off (the condensed tangent is then
#: its derivative: ``tests/fem/test_eas.py``); Newton converges quadratically, so this costs about one
#: iteration more than 1e-8 would.
LOCAL_TOL = 1e-13

#: Largest number of evaluations of the element-local equations (Newton iterations and line-search
#: trials).
LOCAL_MAX_ITER = 60

#: Largest number of halvings of one local Newton step: a step that does not decrease ``|r|`` is halved
#: (the points' laws are piecewise; with a softening law plain Newton can cycle between pieces).
LOCAL_MAX_HALVINGS = 8


@njit(cache=True, inline="always")
def _add_strain(Gr, ue, eps):
    """eps (6) += B(Gr) ue with Gr (k, 3) gradients and ue (k, 3); Voigt, engineering shear."""
    for a in range(Gr.shape[0]):
        gx, gy, gz = Gr[a, 0], Gr[a, 1], Gr[a, 2]
        ux, uy, uz = ue[a, 0], ue[a, 1], ue[a, 2]
        eps[0] += gx * ux
        eps[1] += gy * uy
        eps[2] += gz * uz
        eps[3] += gz * uy + gy * uz
        eps[4] += gz * ux + gx * uz
        eps[5] += gy * ux + gx * uy


@njit(cache=True, inline="always")
def _add_bt_sig(Gr, sig, wd, f):
    """f (3k) += wd B(Gr)^T sig."""
    for a in range(Gr.shape[0]):
        gx, gy, gz = Gr[a, 0], Gr[a, 1], Gr[a, 2]
        f[3 * a] += wd * (sig[0] * gx + sig[5] * gy + sig[4] * gz)
        f[3 * a + 1] += wd * (sig[5] * gx + sig[1] * gy + sig[3] * gz)
        f[3 * a + 2] += wd * (sig[4] * gx + sig[3] * gy + sig[2] * gz)


@njit(cache=True)
def _add_btcb(Ga, Gb, C, wd, Kab, CB):
    """Kab (3 ka, 3 kb) += wd B(Ga)^T C B(Gb); ``CB`` (kb, 6, 3) scratch."""
    kb = Gb.shape[0]
    for b in range(kb):
        gx, gy, gz = Gb[b, 0], Gb[b, 1], Gb[b, 2]
        for i in range(6):
            CB[b, i, 0] = C[i, 0] * gx + C[i, 4] * gz + C[i, 5] * gy
            CB[b, i, 1] = C[i, 1] * gy + C[i, 3] * gz + C[i, 5] * gx
            CB[b, i, 2] = C[i, 2] * gz + C[i, 3] * gy + C[i, 4] * gx
    for a in range(Ga.shape[0]):
        gx, gy, gz = Ga[a, 0], Ga[a, 1], Ga[a, 2]
        for b in range(kb):
            for j in range(3):
                Kab[3 * a, 3 * b + j] += wd * (gx * CB[b, 0, j] + gz * CB[b, 4, j] + gy * CB[b, 5, j])
                Kab[3 * a + 1, 3 * b + j] += wd * (gy * CB[b, 1, j] + gz * CB[b, 3, j] + gx * CB[b, 5, j])
                Kab[3 * a + 2, 3 * b + j] += wd * (gz * CB[b, 2, j] + gy * CB[b, 3, j] + gx * CB[b, 4, j])


@njit(cache=True)
def _lu(A, piv):
    """In-place LU factorisation with partial pivoting of the small square ``A``; False if singular
    (a pivot below 1e-14 of the largest diagonal entry)."""
    n = A.shape[0]
    big = 0.0
    for i in range(n):
        big = max(big, abs(A[i, i]))
    if not big > 0.0:
        return False
    for c in range(n):
        p = c
        for r in range(c + 1, n):
            if abs(A[r, c]) > abs(A[p, c]):
                p = r
        piv[c] = p
        if abs(A[p, c]) <= 1e-14 * big:
            return False
        if p != c:
            for j in range(n):
                A[c, j], A[p, j] = A[p, j], A[c, j]
        inv = 1.0 / A[c, c]
        for r in range(c + 1, n):
            A[r, c] *= inv
            m = A[r, c]
            if m != 0.0:
                for j in range(c + 1, n):
                    A[r, j] -= m * A[c, j]
    return True


@njit(cache=True)
def _lu_solve(A, piv, b):
    """Solve in place ``A x = b`` (b (n,) overwritten by x) with the factors of :func:`_lu`."""
    n = A.shape[0]
    for c in range(n):
        p = piv[c]
        if p != c:
            b[c], b[p] = b[p], b[c]
    for r in range(n):
        s = b[r]
        for j in range(r):
            s -= A[r, j] * b[j]
        b[r] = s
    for r in range(n - 1, -1, -1):
        s = b[r]
        for j in range(r + 1, n):
            s -= A[r, j] * b[j]
        b[r] = s / A[r, r]


@njit(cache=True)
def enhanced_gradients(X, dN, dM, dN0, J, Gr, Gt, wd):
    """Per point ``q``: the physical shape-function gradients ``Gr[q]`` (k, 3), the enhanced gradients
    ``Gt[q]`` (3, 3) and ``wd[q] = w_q det J_q`` without the weight (det J only).

    ``Gt[q, i, x] = det J0 / det J_q * sum_j dM[q, i, j] inv(J0)[j, x]``: the reference gradients
    ``dM`` of the incompatible modes mapped with the Jacobian ``J0`` at the element centre (``dN0``
    the shape-function gradients there), scaled so that ``sum_q w_q det J_q Gt[q] = 0`` on any shape
    (the patch test). Returns False if a det J is not positive.
    """
    det0 = _jacobian(X, dN0, J)
    if not det0 > 0.0:
        return False
    inv = np.empty((3, 3))
    inv[0, 0] = (J[1, 1] * J[2, 2] - J[1, 2] * J[2, 1]) / det0
    inv[0, 1] = (J[0, 2] * J[2, 1] - J[0, 1] * J[2, 2]) / det0
    inv[0, 2] = (J[0, 1] * J[1, 2] - J[0, 2] * J[1, 1]) / det0
    inv[1, 0] = (J[1, 2] * J[2, 0] - J[1, 0] * J[2, 2]) / det0
    inv[1, 1] = (J[0, 0] * J[2, 2] - J[0, 2] * J[2, 0]) / det0
    inv[1, 2] = (J[0, 2] * J[1, 0] - J[0, 0] * J[1, 2]) / det0
    inv[2, 0] = (J[1, 0] * J[2, 1] - J[1, 1] * J[2, 0]) / det0
    inv[2, 1] = (J[0, 1] * J[2, 0] - J[0, 0] * J[2, 1]) / det0
    inv[2, 2] = (J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]) / det0
    for q in range(dN.shape[0]):
        det = _jacobian(X, dN[q], J)
        if not det > 0.0:
            return False
        _physical_gradients(J, det, dN[q], Gr[q])
        wd[q] = det
        s = det0 / det
        for i in range(3):
            for x in range(3):
                v = 0.0
                for j in range(3):
                    v += dM[q, i, j] * inv[j, x]
                Gt[q, i, x] = s * v
    return True


@njit(cache=True)
def element_response_eas(X, ue, dN, dM, dN0, w, G, K, alpha, k0, hd, epn, kn, an, epnew, knew, anew, fe, Ke,
                         want_K, consistent):
    """Condensed internal force ``fe`` (3k) and tangent ``Ke`` (3k, 3k) of one EAS hex8.

    ``epn`` (nq, 6), ``kn`` (nq,) and ``an`` (3, 3) are the state at the start of the step; ``epnew``,
    ``knew``, ``anew`` receive the state for this ``ue``. ``dM`` (nq, 3, 3): reference gradients of
    the incompatible modes at the points; ``dN0`` (k, 3) the shape-function gradients at the centre.
    Returns the number of plastic points; ``fe`` is NaN if the local equations did not converge.
    """
    k = X.shape[0]
    nq = w.shape[0]
    J = np.empty((3, 3))
    Gr = np.empty((nq, k, 3))
    Gt = np.empty((nq, 3, 3))
    wd = np.empty(nq)
    epsu = np.zeros((nq, 6))
    eps = np.empty(6)
    sig = np.empty((nq, 6))
    C = np.empty((nq, 6, 6))
    r = np.empty(9)
    Kaa = np.empty((9, 9))
    CB = np.empty((k, 6, 3))
    piv = np.empty(9, np.int64)
    if not enhanced_gradients(X, dN, dM, dN0, J, Gr, Gt, wd):
        fe[:] = np.nan
        return 0
    for q in range(nq):
        wd[q] *= w[q]
        _add_strain(Gr[q], ue, epsu[q])
    for i in range(3):
        for j in range(3):
            anew[i, j] = an[i, j]
    converged = False
    n_plastic = 0
    a_prev = np.empty((3, 3))
    da = np.empty(9)
    rn_prev, step, halvings = np.inf, 1.0, 0
    for it in range(LOCAL_MAX_ITER + 1):
        r[:] = 0.0
        Kaa[:, :] = 0.0
        rref = 0.0
        n_plastic = 0
        for q in range(nq):
            for c in range(6):
                eps[c] = epsu[q, c]
            _add_strain(Gt[q], anew, eps)
            kap, mode = return_map(eps, epn[q], kn[q], G, K, alpha, k0, hd, sig[q], epnew[q], C[q], True, True)
            knew[q] = kap
            if mode > 0:
                n_plastic += 1
            _add_bt_sig(Gt[q], sig[q], wd[q], r)
            _add_btcb(Gt[q], Gt[q], C[q], wd[q], Kaa, CB)
            sn, gn = 0.0, 0.0
            for c in range(6):
                sn += sig[q, c] ** 2
            for i in range(3):
                for x in range(3):
                    gn += Gt[q, i, x] ** 2
            rref += wd[q] * math.sqrt(sn * gn)
        rn = 0.0
        for i in range(9):
            rn += r[i] ** 2
        rn = math.sqrt(rn)
        if rn <= LOCAL_TOL * rref:
            converged = True
            break
        if it == LOCAL_MAX_ITER:
            break
        if rn >= rn_prev and halvings < LOCAL_MAX_HALVINGS:
            # no decrease of |r| (a point changed piece of its law): back along the Newton step
            step *= 0.5
            halvings += 1
            for i in range(3):
                for j in range(3):
                    anew[i, j] = a_prev[i, j] - step * da[3 * i + j]
            continue
        if not _lu(Kaa, piv):
            break
        for i in range(9):
            da[i] = r[i]
        _lu_solve(Kaa, piv, da)
        rn_prev, step, halvings = rn, 1.0, 0
        for i in range(3):
            for j in range(3):
                a_prev[i, j] = anew[i, j]
                anew[i, j] -= da[3 * i + j]
    if not converged:
        fe[:] = np.nan
        return n_plastic
    fe[:] = 0.0
    for q in range(nq):
        _add_bt_sig(Gr[q], sig[q], wd[q], fe)
    if not want_K:
        return n_plastic
    if not consistent:
        # the tangent with softening slopes set to 0 (see return_map) for the global Newton; the local
        # Newton above used the consistent one (the stresses are the same)
        Kaa[:, :] = 0.0
        for q in range(nq):
            for c in range(6):
                eps[c] = epsu[q, c]
            _add_strain(Gt[q], anew, eps)
            return_map(eps, epn[q], kn[q], G, K, alpha, k0, hd, sig[q], epnew[q], C[q], True, False)
            _add_btcb(Gt[q], Gt[q], C[q], wd[q], Kaa, CB)
    Ke[:, :] = 0.0
    Kua = np.zeros((3 * k, 9))
    for q in range(nq):
        _add_btcb(Gr[q], Gr[q], C[q], wd[q], Ke, CB)
        _add_btcb(Gr[q], Gt[q], C[q], wd[q], Kua, CB)
    if not _lu(Kaa, piv):
        fe[:] = np.nan
        return n_plastic
    # Ke -= Kua Kaa^-1 Kau, column by column of Kau = Kua^T (C symmetric, so Kau = Kua^T)
    z = np.empty(9)
    for col in range(3 * k):
        for i in range(9):
            z[i] = Kua[col, i]
        _lu_solve(Kaa, piv, z)
        for row in range(3 * k):
            v = 0.0
            for i in range(9):
                v += Kua[row, i] * z[i]
            Ke[row, col] -= v
    return n_plastic


@njit(parallel=True, cache=True)
def assemble_eas(points, cells, dN, dM, dN0, w, G, K, alpha, k0, hard, u, epn, kn, an, epnew, knew, anew,
                 order, colour_ptr, pos, nptr, fint, data, want_K, n_chunks, consistent):
    """Internal force ``fint`` (3 n) and, if ``want_K``, the condensed tangent into CSR ``data`` of the
    EAS hex8 (the arguments as :func:`vbfem.fem._kernels.plasticity.assemble_plastic`, plus ``dM``,
    ``dN0`` of :func:`element_response_eas` and the enhanced parameters ``an`` in, ``anew`` out,
    (m, 3, 3)). Returns the number of plastic Gauss points.
    """
    k = cells.shape[1]
    fint[:] = 0.0
    if want_K:
        data[:] = 0.0
    total = 0
    for c in range(colour_ptr.shape[0] - 1):
        lo = colour_ptr[c]
        n = colour_ptr[c + 1] - lo
        nchunk = min(n, n_chunks)
        counts = np.zeros(nchunk, np.int64)
        for ch in prange(nchunk):
            Ke = np.empty((3 * k, 3 * k))
            fe = np.empty(3 * k)
            X = np.empty((k, 3))
            ue = np.empty((k, 3))
            for ii in range(lo + (n * ch) // nchunk, lo + (n * (ch + 1)) // nchunk):
                e = order[ii]
                gather_element(points, u, cells[e], X, ue)
                counts[ch] += element_response_eas(X, ue, dN, dM, dN0, w, G[e], K[e], alpha[e], k0[e], hard[e],
                                                   epn[e], kn[e], an[e], epnew[e], knew[e], anew[e], fe, Ke,
                                                   want_K, consistent)
                add_element_force(fint, cells[e], fe)
                if want_K:
                    _scatter(Ke, cells[e], pos[e], nptr, data)
        total += counts.sum()
    return total
