"""Plain-numpy twin of :mod:`vbfem.fem._kernels.eas` (slow, for tests): all elements at once."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .eas import LOCAL_MAX_HALVINGS, LOCAL_MAX_ITER, LOCAL_TOL
from .plasticity_ref import return_map


def _b_from_gradients(Gr):
    """Strain operators (..., 6, 3 p) of gradients Gr (..., p, 3) acting on p three-component vectors."""
    shape = Gr.shape[:-2]
    p = Gr.shape[-2]
    B = np.zeros(shape + (6, p, 3))
    gx, gy, gz = Gr[..., 0], Gr[..., 1], Gr[..., 2]
    B[..., 0, :, 0] = gx
    B[..., 1, :, 1] = gy
    B[..., 2, :, 2] = gz
    B[..., 3, :, 1], B[..., 3, :, 2] = gz, gy
    B[..., 4, :, 0], B[..., 4, :, 2] = gz, gx
    B[..., 5, :, 0], B[..., 5, :, 1] = gy, gx
    return B.reshape(shape + (6, 3 * p))


def eas_operators(points, cells, dN, dM, dN0):
    """``B`` (m, nq, 6, 3k), ``Bt`` (m, nq, 6, 9) and det J (m, nq) of the EAS hex8."""
    X = points[cells]
    J = np.einsum("mai,qaj->mqij", X, dN)
    det = np.linalg.det(J)
    Gr = np.einsum("qaj,mqji->mqai", dN, np.linalg.inv(J))
    J0 = np.einsum("mai,aj->mij", X, dN0)
    det0 = np.linalg.det(J0)
    Gt = np.einsum("qij,mjx->mqix", dM, np.linalg.inv(J0)) * (det0[:, None] / det)[..., None, None]
    return _b_from_gradients(Gr), _b_from_gradients(Gt), det


def assemble_eas(points, cells, dN, dM, dN0, w, G, K, alpha, k0, hard, u, epn, kn, an, consistent=True):
    """Returns ``fint`` (3 n), condensed tangent (CSR), ``epnew``, ``knew``, ``anew`` (m, 3, 3) and the
    number of plastic points, by the kernel's element-local Newton iterations (vectorised over the
    elements; an element stops iterating once its residual is below the kernel's tolerance)."""
    B, Bt, det = eas_operators(points, cells, dN, dM, dN0)
    m, k = cells.shape
    dofs = (3 * cells[:, :, None] + np.arange(3)).reshape(m, 3 * k)
    ue = u.reshape(-1)[dofs]
    epsu = np.einsum("mqvd,md->mqv", B, ue)
    per = [np.asarray(v)[:, None] for v in (G, K, alpha, k0)]
    hd = np.asarray(hard)[:, None, :]
    wd = w[None, :] * det
    gnorm = np.sqrt((Bt ** 2).sum((-2, -1)) / 3.0)  # Frobenius norm of the (3, 3) gradients (each is 3 times in Bt)
    a = np.array(an, float).reshape(m, 9)
    a_prev, da = a.copy(), np.zeros((m, 9))
    rn_prev, step, halvings = np.full(m, np.inf), np.ones(m), np.zeros(m, int)
    active = np.ones(m, bool)
    out = None
    for it in range(LOCAL_MAX_ITER + 1):
        eps = epsu + np.einsum("mqva,ma->mqv", Bt, a)
        sig, epnew, knew, C, mode = return_map(eps, epn, kn, *per, hd, True)
        r = np.einsum("mq,mqva,mqv->ma", wd, Bt, sig)
        Kaa = np.einsum("mq,mqva,mqvw,mqwb->mab", wd, Bt, C, Bt)
        rref = np.einsum("mq,mq,mq->m", wd, np.linalg.norm(sig, axis=-1), gnorm)
        rn = np.linalg.norm(r, axis=1)
        conv = rn <= LOCAL_TOL * rref
        if out is None:
            out = [sig, epnew, knew, C, mode, Kaa]
        else:  # keep the evaluation at which each element stopped
            for o, v in zip(out, (sig, epnew, knew, C, mode, Kaa)):
                o[active] = v[active]
        stop = active & conv
        active &= ~stop
        if not active.any() or it == LOCAL_MAX_ITER:
            break
        back = active & (rn >= rn_prev) & (halvings < LOCAL_MAX_HALVINGS)
        step[back] *= 0.5
        halvings[back] += 1
        a[back] = a_prev[back] - step[back, None] * da[back]
        new = active & ~back
        da[new] = np.linalg.solve(Kaa[new], r[new][..., None])[..., 0]
        rn_prev[new], step[new], halvings[new] = rn[new], 1.0, 0
        a_prev[new] = a[new]
        a[new] -= da[new]
    sig, epnew, knew, C, mode, Kaa = out
    if not consistent:  # the global tangent with softening slopes 0, as the kernel
        eps = epsu + np.einsum("mqva,ma->mqv", Bt, a)
        C = return_map(eps, epn, kn, *per, hd, False)[3]
        Kaa = np.einsum("mq,mqva,mqvw,mqwb->mab", wd, Bt, C, Bt)
    fe = np.einsum("mq,mqvd,mqv->md", wd, B, sig)
    fe[active] = np.nan
    Kuu = np.einsum("mq,mqvd,mqvw,mqwe->mde", wd, B, C, B)
    Kua = np.einsum("mq,mqvd,mqvw,mqwa->mda", wd, B, C, Bt)
    Ke = Kuu - Kua @ np.linalg.solve(Kaa, np.swapaxes(Kua, 1, 2))
    n = points.shape[0] * 3
    fint = np.bincount(dofs.ravel(), fe.ravel(), minlength=n)
    rows = np.repeat(dofs, 3 * k, axis=1).ravel()
    cols = np.tile(dofs, (1, 3 * k)).ravel()
    Kt = sp.csr_matrix((Ke.ravel(), (rows, cols)), shape=(n, n))
    return fint, Kt, epnew, knew, a.reshape(m, 3, 3), int((mode > 0).sum())
