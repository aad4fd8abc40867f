"""numba kernels for small-strain Drucker–Prager plasticity with piecewise-linear hardening and softening.

Only arrays and scalars go in. The numpy twin is :mod:`vbfem.fem._kernels.plasticity_ref`.

Material point (associative Drucker–Prager, closed-form return mapping)::

    f(sigma, kappa) = q + 3 alpha p - k(kappa),   q = sqrt(3/2 s:s),  p = tr(sigma)/3

    k(kappa) = k0 + H kappa                       kappa < kappa_u     (hardening to the ultimate point)
             = k0 + H kappa_u + H_s (kappa - kappa_u)                 (softening, H_s <= 0)
             >= k_res                                                  (residual plateau)

Per cell ``hard = (H, kappa_u, H_s, k_res)``; ``kappa_u = inf`` is linear hardening. The
consistency condition is piecewise linear in the multiplier, so the return mapping stays
closed-form: one linear equation per piece (:func:`plastic_increment`).

Voigt order (xx, yy, zz, yz, xz, xy) with engineering shear strains. State per
Gauss point: plastic strain ``ep`` (6) and equivalent plastic strain ``kappa``.
The tangent is the consistent (algorithmic) one, symmetric; on a softening piece it is
indefinite, and ``consistent=False`` replaces the softening slope by 0 in it (the modified
Newton that :func:`vbfem.fem.nonlinear.elastoplastic_curve` uses whenever a law softens; the
stresses, hence the curve, are the same).

With ``bbar`` the volumetric strain at every Gauss point is the element's volume average
(the B-bar method: Hughes, Int J Numer Meth Eng 1980;15:1413; de Souza Neto, Peric & Owen,
Computational Methods for Plasticity, Wiley 2008, ch. 15): plastic flow is nearly isochoric
(``alpha`` of bone is 0.04), and a fully integrated hex8 then locks, overestimating the
collapse load where the flow is constrained (bone around a stiff cement inclusion).

Assembly scatters into the CSR data of :mod:`vbfem.fem.pattern` (same layout as
:mod:`vbfem.fem._kernels.elasticity`): the row of dof ``3 i + d`` starts at
``9 nptr[i] + 3 d deg(i)``; elements are processed colour by colour.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .elasticity import _jacobian, _physical_gradients, _scatter

SQRT6 = math.sqrt(6.0)


@njit(cache=True, inline="always")
def _pieces(k0, hd):
    """Kinks of ``k``: ``(kappa_u, k(kappa_u), kappa_r)``, ``kappa_r`` where the softening reaches the
    residual (inf if the law never softens)."""
    H, ku, Hs, kres = hd[0], hd[1], hd[2], hd[3]
    if not ku < np.inf:
        return np.inf, np.inf, np.inf
    k_u = k0 + H * ku
    if Hs < 0.0:
        return ku, k_u, ku + (kres - k_u) / Hs
    return ku, k_u, np.inf


@njit(cache=True, inline="always")
def _radius(kap, k0, hd):
    """Yield-surface radius ``k(kappa)`` and its slope there (the right derivative).

    ``hd = (H, kappa_u, H_s, k_res)``: ``k0 + H kappa`` up to ``kappa_u``, then ``H_s`` (<= 0, softening)
    down to the floor ``k_res``, flat beyond.
    """
    ku, k_u, kr = _pieces(k0, hd)
    if kap < ku:
        return k0 + hd[0] * kap, hd[0]
    if kap < kr:
        return k_u + hd[2] * (kap - ku), hd[2]
    return hd[3], 0.0


@njit(cache=True)
def plastic_increment(c, A0, kn, k0, hd):
    """Root ``d > 0`` of ``c - A0 d - (k(kn + d) - k(kn)) = 0`` for the piecewise-linear ``k``
    (``c > 0``), solved piece by piece from the one holding ``kn``. A piece on which the equation is
    not monotone (``A0 + slope <= 0``: a softening steeper than the return's stiffness, possible only
    at the apex, in hydrostatic tension) is passed through at once: the point snaps to the residual.
    Returns ``(d, slope of k at kn + d)``."""
    ku, k_u, kr = _pieces(k0, hd)
    kkn, _ = _radius(kn, k0, hd)
    d, slope = 0.0, 0.0
    for piece in range(3):
        if piece == 0:
            start, k_start, slope, end = 0.0, k0, hd[0], ku
        elif piece == 1:
            start, k_start, slope, end = ku, k_u, hd[2], kr
        else:
            start, k_start, slope, end = kr, hd[3], 0.0, np.inf
        if kn >= end or A0 + slope <= 0.0:
            continue
        if kn >= start:  # the piece holding kn: k(kn + d) - k(kn) = slope d
            d = c / (A0 + slope)
        else:
            d = (c + kkn - k_start - slope * (kn - start)) / (A0 + slope)
        if kn + d <= end:
            return max(d, start - kn), slope
    return kr - kn, 0.0


@njit(cache=True)
def return_map(eps, epn, kn, G, K, alpha, k0, hd, sig, epnew, C, want_C, consistent):
    """Return mapping at one point; fills ``sig``, ``epnew`` (and ``C`` if ``want_C``).

    ``hd = (H, kappa_u, H_s, k_res)``, the hardening–softening law (:func:`_radius`). With
    ``consistent`` the tangent is the consistent one (indefinite on a softening piece), else
    softening slopes are replaced by 0 in it (a symmetric positive semi-definite tangent for the
    Newton iterations of an SPD solver; the stress is the same).
    Returns ``(kappa_new, mode)`` with mode 0 elastic, 1 smooth cone, 2 apex.
    """
    ee = np.empty(6)
    for c in range(6):
        ee[c] = eps[c] - epn[c]
    tr = ee[0] + ee[1] + ee[2]
    p_tr = K * tr
    # trial deviatoric stress (tensor components)
    s = np.empty(6)
    for c in range(3):
        s[c] = 2.0 * G * (ee[c] - tr / 3.0)
    for c in range(3, 6):
        s[c] = G * ee[c]
    ss = s[0] ** 2 + s[1] ** 2 + s[2] ** 2 + 2.0 * (s[3] ** 2 + s[4] ** 2 + s[5] ** 2)
    q_tr = math.sqrt(1.5 * ss)
    kk, _ = _radius(kn, k0, hd)
    f_tr = q_tr + 3.0 * alpha * p_tr - kk
    mode = 0
    kappa = kn
    if f_tr <= 1e-12 * k0:
        for c in range(6):
            epnew[c] = epn[c]
            sig[c] = s[c]
        for c in range(3):
            sig[c] += p_tr
        if want_C:
            _elastic(G, K, C)
        return kappa, mode
    A0 = 3.0 * G + 9.0 * alpha * alpha * K
    dg, H = plastic_increment(f_tr, A0, kn, k0, hd)
    if q_tr - 3.0 * G * dg > 0.0:
        mode = 1
        if not consistent and H < 0.0:
            H = 0.0
        A = A0 + H
        fac = 1.0 - 3.0 * G * dg / q_tr
        p = p_tr - 3.0 * alpha * K * dg
        kappa = kn + dg
        for c in range(6):
            sig[c] = fac * s[c]
        for c in range(3):
            sig[c] += p
            # d eps_p = dg (3/2 s/q + alpha I)
            epnew[c] = epn[c] + dg * (1.5 * s[c] / q_tr + alpha)
        for c in range(3, 6):
            epnew[c] = epn[c] + dg * 3.0 * s[c] / q_tr  # engineering shear: doubled
        if want_C:
            nrm = math.sqrt(ss)
            n = np.empty(6)
            for c in range(6):
                n[c] = s[c] / nrm
            _elastic(G * fac, 0.0, C)  # 2 G fac I_dev (bulk added below)
            cII = K - 9.0 * alpha * alpha * K * K / A
            cnn = 6.0 * G * G * (dg / q_tr - 1.0 / A)
            cnI = -3.0 * SQRT6 * alpha * G * K / A
            for i in range(6):
                for j in range(6):
                    v = cnn * n[i] * n[j]
                    if i < 3:
                        v += cnI * n[j]
                    if j < 3:
                        v += cnI * n[i]
                    if i < 3 and j < 3:
                        v += cII
                    C[i, j] += v
        return kappa, mode
    # apex: pure hydrostatic stress on the cone tip (alpha > 0 here): 3 alpha p = k(kappa) with
    # p = p_tr - 3 alpha K dk, dk the increment of kappa
    mode = 2
    # (with softening the cone's root can lie past its tip while the apex is not yet reached,
    # c <= 0: the hydrostatic trial pressure is then admissible and kept, kappa unchanged)
    dk, H = plastic_increment(max(3.0 * alpha * p_tr - kk, 0.0), 9.0 * alpha * alpha * K, kn, k0, hd)
    if not consistent and H < 0.0:
        H = 0.0
    p = p_tr - 3.0 * alpha * K * dk
    kappa = kn + dk
    for c in range(6):
        sig[c] = 0.0
        epnew[c] = eps[c]
    for c in range(3):
        sig[c] = p
        epnew[c] = eps[c] - p / (3.0 * K)
    if want_C:
        Kt = K * H / (9.0 * alpha * alpha * K + H)
        for i in range(6):
            for j in range(6):
                C[i, j] = Kt if (i < 3 and j < 3) else 0.0
    return kappa, mode


@njit(cache=True, inline="always")
def _elastic(G, K, C):
    """C = K I(x)I + 2 G I_dev in Voigt (engineering shear)."""
    for i in range(6):
        for j in range(6):
            C[i, j] = 0.0
    for i in range(3):
        for j in range(3):
            C[i, j] = K - 2.0 * G / 3.0
        C[i, i] += 2.0 * G
    for i in range(3, 6):
        C[i, i] = G


@njit(cache=True)
def element_response(X, ue, dN, w, G, K, alpha, k0, hd, epn, kn, epnew, knew, fe, Ke, want_K, consistent, J, Gr, bbar,
                     gbar, BB):
    """Internal force ``fe`` (3k) and tangent ``Ke`` (3k, 3k) of one element; returns the plastic points.

    ``epn`` (nq, 6) and ``kn`` (nq,) are the state at the start of the step,
    ``epnew`` and ``knew`` receive the updated state. With ``bbar`` the volumetric strain
    at every point is the element's mean (B-bar, Hughes 1980); ``gbar`` (k, 3) and ``BB`` (2, 6, 3k)
    are scratch.
    """
    k = X.shape[0]
    theta_bar = 0.0
    if bbar:
        # volume-averaged shape-function gradients: theta_bar = sum_a gbar_a . u_a
        gbar[:, :] = 0.0
        vol = 0.0
        for q in range(w.shape[0]):
            det = _jacobian(X, dN[q], J)
            _physical_gradients(J, det, dN[q], Gr)
            wd = w[q] * det
            vol += wd
            for a in range(k):
                for i in range(3):
                    gbar[a, i] += wd * Gr[a, i]
        for a in range(k):
            for i in range(3):
                gbar[a, i] /= vol
                theta_bar += gbar[a, i] * ue[a, i]
    eps = np.empty(6)
    sig = np.empty(6)
    C = np.empty((6, 6))
    CB = np.empty((k, 6, 3))
    fe[:] = 0.0
    if want_K:
        Ke[:, :] = 0.0
    n_plastic = 0
    for q in range(w.shape[0]):
        det = _jacobian(X, dN[q], J)
        _physical_gradients(J, det, dN[q], Gr)
        wd = w[q] * det
        for c in range(6):
            eps[c] = 0.0
        for a in range(k):
            gx, gy, gz = Gr[a, 0], Gr[a, 1], Gr[a, 2]
            ux, uy, uz = ue[a, 0], ue[a, 1], ue[a, 2]
            eps[0] += gx * ux
            eps[1] += gy * uy
            eps[2] += gz * uz
            eps[3] += gz * uy + gy * uz
            eps[4] += gz * ux + gx * uz
            eps[5] += gy * ux + gx * uy
        if bbar:
            shift = (theta_bar - eps[0] - eps[1] - eps[2]) / 3.0
            for c in range(3):
                eps[c] += shift
        kap, mode = return_map(eps, epn[q], kn[q], G, K, alpha, k0, hd, sig, epnew[q], C, want_K, consistent)
        knew[q] = kap
        if mode > 0:
            n_plastic += 1
        for a in range(k):
            gx, gy, gz = Gr[a, 0], Gr[a, 1], Gr[a, 2]
            fe[3 * a] += wd * (sig[0] * gx + sig[5] * gy + sig[4] * gz)
            fe[3 * a + 1] += wd * (sig[5] * gx + sig[1] * gy + sig[3] * gz)
            fe[3 * a + 2] += wd * (sig[4] * gx + sig[3] * gy + sig[2] * gz)
        if bbar:
            p = (sig[0] + sig[1] + sig[2]) / 3.0
            for a in range(k):
                for i in range(3):
                    fe[3 * a + i] += wd * p * (gbar[a, i] - Gr[a, i])
        if want_K and bbar:
            _bbar_tangent(Gr, gbar, C, wd, Ke, BB[0], BB[1])
        elif want_K:
            for b in range(k):
                gx, gy, gz = Gr[b, 0], Gr[b, 1], Gr[b, 2]
                for i in range(6):
                    CB[b, i, 0] = C[i, 0] * gx + C[i, 4] * gz + C[i, 5] * gy
                    CB[b, i, 1] = C[i, 1] * gy + C[i, 3] * gz + C[i, 5] * gx
                    CB[b, i, 2] = C[i, 2] * gz + C[i, 3] * gy + C[i, 4] * gx
            for a in range(k):
                gx, gy, gz = Gr[a, 0], Gr[a, 1], Gr[a, 2]
                for b in range(k):
                    for j in range(3):
                        Ke[3 * a, 3 * b + j] += wd * (gx * CB[b, 0, j] + gz * CB[b, 4, j] + gy * CB[b, 5, j])
                        Ke[3 * a + 1, 3 * b + j] += wd * (gy * CB[b, 1, j] + gz * CB[b, 3, j] + gx * CB[b, 5, j])
                        Ke[3 * a + 2, 3 * b + j] += wd * (gz * CB[b, 2, j] + gy * CB[b, 3, j] + gx * CB[b, 4, j])
    if want_K and bbar:
        for r in range(3 * k):
            for c in range(r + 1, 3 * k):
                Ke[c, r] = Ke[r, c]
    return n_plastic


@njit(cache=True)
def _bbar_tangent(Gr, gbar, C, wd, Ke, Bb, CBb):
    """``Ke += wd B^T C B`` at one point with the B-bar matrix: the normal-strain rows' volumetric
    part replaced by the element's mean, ``(gbar - Gr) / 3`` added to each of them. Only the upper
    triangle of ``Ke`` is added to (``C`` is symmetric); :func:`element_response` mirrors it.

    ``Bb`` and ``CBb`` (6, 3k) are scratch, overwritten.
    """
    k = Gr.shape[0]
    Bb[:, :] = 0.0
    for a in range(k):
        gx, gy, gz = Gr[a, 0], Gr[a, 1], Gr[a, 2]
        Bb[0, 3 * a], Bb[1, 3 * a + 1], Bb[2, 3 * a + 2] = gx, gy, gz
        Bb[3, 3 * a + 1], Bb[3, 3 * a + 2] = gz, gy
        Bb[4, 3 * a], Bb[4, 3 * a + 2] = gz, gx
        Bb[5, 3 * a], Bb[5, 3 * a + 1] = gy, gx
        for j in range(3):
            d = (gbar[a, j] - Gr[a, j]) / 3.0
            for i in range(3):
                Bb[i, 3 * a + j] += d
    for i in range(6):
        for c in range(3 * k):
            v = 0.0
            for l in range(6):
                v += C[i, l] * Bb[l, c]
            CBb[i, c] = v
    for r in range(3 * k):  # upper triangle only (C is symmetric): element_response mirrors it
        for c in range(r, 3 * k):
            v = 0.0
            for l in range(6):
                v += Bb[l, r] * CBb[l, c]
            Ke[r, c] += wd * v


@njit(cache=True, inline="always")
def gather_element(points, u, cell, X, ue):
    """Coordinates ``X`` (k, 3) and displacements ``ue`` (k, 3) of the nodes ``cell`` of one element."""
    for a in range(cell.shape[0]):
        for i in range(3):
            X[a, i] = points[cell[a], i]
            ue[a, i] = u[cell[a], i]


@njit(cache=True, inline="always")
def add_element_force(fint, cell, fe):
    """Add the element force ``fe`` (3k) into the global ``fint`` (3n) at the nodes ``cell``. Elements of
    one colour share no node, so the colour's threads never add into the same entry."""
    for a in range(cell.shape[0]):
        for i in range(3):
            fint[3 * cell[a] + i] += fe[3 * a + i]


@njit(parallel=True, cache=True)
def assemble_plastic(points, cells, dN, w, G, K, alpha, k0, hard, u, epn, kn, epnew, knew,
                     order, colour_ptr, pos, nptr, fint, data, want_K, n_chunks, bbar, consistent):
    """Internal force ``fint`` (3 n) and, if ``want_K``, the consistent tangent into CSR ``data``.

    Per-cell material arrays ``G, K, alpha, k0`` (MPa, alpha dimensionless) and ``hard`` (m, 4),
    the hardening–softening law ``(H, kappa_u, H_s, k_res)`` (MPa, -, MPa, MPa; :func:`_radius`);
    ``consistent``: the consistent tangent, else softening slopes are 0 in it (:func:`return_map`);
    state ``epn`` (m, nq, 6), ``kn`` (m, nq) in, ``epnew``, ``knew`` out.
    Returns the number of plastic Gauss points.
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
            J = np.empty((3, 3))
            Gr = np.empty((k, 3))
            gbar = np.empty((k, 3))
            BB = np.empty((2, 6, 3 * k))
            for ii in range(lo + (n * ch) // nchunk, lo + (n * (ch + 1)) // nchunk):
                e = order[ii]
                gather_element(points, u, cells[e], X, ue)
                counts[ch] += element_response(X, ue, dN, w, G[e], K[e], alpha[e], k0[e], hard[e], epn[e], kn[e],
                                               epnew[e], knew[e], fe, Ke, want_K, consistent, J, Gr, bbar, gbar,
                                               BB)
                add_element_force(fint, cells[e], fe)
                if want_K:
                    _scatter(Ke, cells[e], pos[e], nptr, data)
        total += counts.sum()
    return total
