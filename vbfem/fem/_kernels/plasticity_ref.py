"""Plain-numpy twins of :mod:`vbfem.fem._kernels.plasticity` (slow, for tests)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_I = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])


def _pieces(k0, hard):
    H, ku, Hs, kres = (hard[..., i] for i in range(4))
    fin = np.isfinite(ku)
    k_u = np.where(fin, k0 + H * np.where(fin, ku, 0.0), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        kr = np.where(fin & (Hs < 0), ku + (kres - k_u) / np.where(Hs < 0, Hs, -1.0), np.inf)
    return ku, k_u, kr


def radius(kap, k0, hard):
    """Yield-surface radius and its right slope, vectorised (``hard[..., :] = H, kappa_u, H_s, k_res``)."""
    H, _, Hs, kres = (hard[..., i] for i in range(4))
    ku, k_u, kr = _pieces(k0, hard)
    with np.errstate(invalid="ignore"):
        k = np.where(kap < ku, k0 + H * kap, np.where(kap < kr, k_u + Hs * (kap - ku), kres))
    slope = np.where(kap < ku, H, np.where(kap < kr, Hs, 0.0))
    return k, slope


def plastic_increment(c, A0, kn, k0, hard):
    """Root ``d`` of ``c - A0 d - (k(kn + d) - k(kn)) = 0``, piece by piece as the kernel does
    (vectorised)."""
    H, _, Hs, kres = (hard[..., i] for i in range(4))
    ku, k_u, kr = _pieces(k0, hard)
    kkn, _ = radius(kn, k0, hard)
    shape = np.broadcast(c, kn).shape
    d, slope, done = np.zeros(shape), np.zeros(shape), np.zeros(shape, bool)
    pieces = ((np.zeros_like(ku), k0, H, ku), (ku, k_u, Hs, kr), (kr, kres, np.zeros_like(ku), np.full_like(ku, np.inf)))
    with np.errstate(invalid="ignore"):
        for start, k_start, s, end in pieces:
            cand = np.where(kn >= start, c / (A0 + s), (c + kkn - k_start - s * (kn - start)) / (A0 + s))
            take = ~done & (kn < end) & (A0 + s > 0) & (kn + cand <= end)
            d = np.where(take, np.maximum(cand, start - kn), d)
            slope = np.where(take, s, slope)
            done |= take
    return np.where(done, d, kr - kn), np.where(done, slope, 0.0)


def return_map(eps, epn, kn, G, K, alpha, k0, hard, consistent=True):
    """Vectorised return mapping; inputs broadcast over leading axes (..., 6) / (...), ``hard``
    (..., 4) the hardening–softening law (see the kernel).

    Returns ``sig, epnew, knew, C, mode``.
    """
    eps, epn = np.asarray(eps, float), np.asarray(epn, float)
    G, K, alpha, k0, kn = (np.broadcast_to(np.asarray(v, float), eps.shape[:-1]) for v in (G, K, alpha, k0, kn))
    hard = np.broadcast_to(np.asarray(hard, float), eps.shape[:-1] + (4,))
    ee = eps - epn
    tr = ee[..., :3].sum(-1)
    p_tr = K * tr
    s = np.concatenate([2 * G[..., None] * (ee[..., :3] - tr[..., None] / 3), G[..., None] * ee[..., 3:]], -1)
    ss = (s[..., :3] ** 2).sum(-1) + 2 * (s[..., 3:] ** 2).sum(-1)
    q_tr = np.sqrt(1.5 * ss)
    kk = radius(kn, k0, hard)[0]
    f_tr = q_tr + 3 * alpha * p_tr - kk
    A0 = 3 * G + 9 * alpha**2 * K
    dg, H = plastic_increment(np.maximum(f_tr, 0.0), A0, kn, k0, hard)
    if not consistent:
        H = np.maximum(H, 0.0)
    A = A0 + H
    elastic = f_tr <= 1e-12 * k0
    cone = ~elastic & (q_tr - 3 * G * dg > 0)
    apex = ~elastic & ~cone

    def elasticC(Gv, Kv):
        C = np.zeros(Gv.shape + (6, 6))
        C[..., :3, :3] = (Kv - 2 * Gv / 3)[..., None, None]
        C[..., [0, 1, 2], [0, 1, 2]] += 2 * Gv[..., None]
        C[..., [3, 4, 5], [3, 4, 5]] = Gv[..., None]
        return C

    sig = s + p_tr[..., None] * _I
    epnew = epn.copy()
    knew = kn.copy()
    C = elasticC(G, K)
    # cone
    with np.errstate(divide="ignore", invalid="ignore"):
        qs = np.where(cone, q_tr, 1.0)
        fac = 1 - 3 * G * dg / qs
        p = p_tr - 3 * alpha * K * dg
        sig_c = fac[..., None] * s + p[..., None] * _I
        dep = dg[..., None] * np.concatenate([1.5 * s[..., :3] / qs[..., None] + alpha[..., None],
                                              3 * s[..., 3:] / qs[..., None]], -1)
        n = s / np.sqrt(np.where(cone, ss, 1.0))[..., None]
        Cc = elasticC(G * fac, np.zeros_like(G))
        Cc += (6 * G**2 * (dg / qs - 1 / A))[..., None, None] * n[..., :, None] * n[..., None, :]
        cnI = -3 * np.sqrt(6) * alpha * G * K / A
        Cc += cnI[..., None, None] * (_I[:, None] * n[..., None, :] + n[..., :, None] * _I[None, :])
        Cc += (K - 9 * alpha**2 * K**2 / A)[..., None, None] * np.outer(_I, _I)
        # apex
        dk, Ha = plastic_increment(np.maximum(3 * alpha * p_tr - kk, 0.0), 9 * alpha**2 * K, kn, k0, hard)
        if not consistent:
            Ha = np.maximum(Ha, 0.0)
        pa = p_tr - 3 * alpha * K * dk
        ka = kn + dk
        Kt = K * Ha / (9 * alpha**2 * K + Ha)
    sig = np.where(cone[..., None], sig_c, sig)
    epnew = np.where(cone[..., None], epn + dep, epnew)
    knew = np.where(cone, kn + dg, knew)
    C = np.where(cone[..., None, None], Cc, C)
    sig = np.where(apex[..., None], pa[..., None] * _I, sig)
    epnew = np.where(apex[..., None], eps - (pa / (3 * K))[..., None] * _I, epnew)
    knew = np.where(apex, ka, knew)
    C = np.where(apex[..., None, None], Kt[..., None, None] * np.outer(_I, _I), C)
    mode = np.where(elastic, 0, np.where(cone, 1, 2))
    return sig, epnew, knew, C, mode


def b_matrices(points, cells, dN, w=None, *, bbar=False):
    """Strain-displacement matrices (m, nq, 6, 3k) and det J (m, nq); with ``bbar`` (needs the
    weights ``w``) the normal-strain rows carry the element's mean volumetric strain (B-bar)."""
    X = points[cells]  # (m, k, 3)
    J = np.einsum("mai,qaj->mqij", X, dN)
    det = np.linalg.det(J)
    Gr = np.einsum("qaj,mqji->mqai", dN, np.linalg.inv(J))
    m, nq, k, _ = Gr.shape
    B = np.zeros((m, nq, 6, k, 3))
    gx, gy, gz = Gr[..., 0], Gr[..., 1], Gr[..., 2]
    B[:, :, 0, :, 0] = gx
    B[:, :, 1, :, 1] = gy
    B[:, :, 2, :, 2] = gz
    B[:, :, 3, :, 1], B[:, :, 3, :, 2] = gz, gy
    B[:, :, 4, :, 0], B[:, :, 4, :, 2] = gz, gx
    B[:, :, 5, :, 0], B[:, :, 5, :, 1] = gy, gx
    if bbar:
        wd = w[None, :] * det
        gbar = np.einsum("mq,mqai->mai", wd, Gr) / wd.sum(1)[:, None, None]
        B[:, :, :3] += ((gbar[:, None] - Gr) / 3.0)[:, :, None, :, :]
    return B.reshape(m, nq, 6, 3 * k), det


def assemble_plastic(points, cells, dN, w, G, K, alpha, k0, hard, u, epn, kn, bbar=False, consistent=True):
    """Returns ``fint`` (3 n), tangent (CSR), ``epnew``, ``knew``, number of plastic points."""
    B, det = b_matrices(points, cells, dN, w, bbar=bbar)
    m, k = cells.shape
    dofs = (3 * cells[:, :, None] + np.arange(3)).reshape(m, 3 * k)
    ue = u.reshape(-1)[dofs]
    eps = np.einsum("mqvd,md->mqv", B, ue)
    per = [np.asarray(v)[:, None] for v in (G, K, alpha, k0)]
    sig, epnew, knew, C, mode = return_map(eps, epn, kn, *per, np.asarray(hard)[:, None, :], consistent)
    wd = w[None, :] * det
    fe = np.einsum("mq,mqvd,mqv->md", wd, B, sig)
    Ke = np.einsum("mq,mqvd,mqvw,mqwe->mde", wd, B, C, B)
    n = points.shape[0] * 3
    fint = np.bincount(dofs.ravel(), fe.ravel(), minlength=n)
    rows = np.repeat(dofs, 3 * k, axis=1).ravel()
    cols = np.tile(dofs, (1, 3 * k)).ravel()
    Kt = sp.csr_matrix((Ke.ravel(), (rows, cols)), shape=(n, n))
    return fint, Kt, epnew, knew, int((mode > 0).sum())
