"""Slow, obvious numpy twins of the kernels in :mod:`vbfem.fem._kernels.elasticity`.

They use a different formulation on purpose (explicit strain-displacement
matrices B and ``B^T D B``), so agreement checks the kernels' algebra as well
as their code. Tests only: memory grows as (m, 3k, 3k).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def physical_gradients(X, dN):
    """dN/dx (m, nq, k, 3) and det J (m, nq) for cell coordinates X (m, k, 3)."""
    J = np.einsum("mai,qaj->mqij", X, dN)
    det = np.linalg.det(J)
    G = np.einsum("qaj,mqji->mqai", dN, np.linalg.inv(J))
    return G, det


def b_matrices(G):
    """Strain-displacement matrices (m, nq, 6, 3k), Voigt (xx, yy, zz, yz, xz, xy)."""
    m, nq, k, _ = G.shape
    B = np.zeros((m, nq, 6, 3 * k))
    gx, gy, gz = G[..., 0], G[..., 1], G[..., 2]
    B[..., 0, 0::3] = gx
    B[..., 1, 1::3] = gy
    B[..., 2, 2::3] = gz
    B[..., 3, 1::3] = gz
    B[..., 3, 2::3] = gy
    B[..., 4, 0::3] = gz
    B[..., 4, 2::3] = gx
    B[..., 5, 0::3] = gy
    B[..., 5, 1::3] = gx
    return B


def element_matrices(points, cells, dN, w, D):
    """Element stiffness matrices (m, 3k, 3k) for Voigt elasticity matrices D (m, 6, 6), MPa.

    Use :func:`vbfem.fem.elements.isotropic_D` for isotropic cells.
    """
    G, det = physical_gradients(points[cells], dN)
    B = b_matrices(G)
    return np.einsum("mqsi,mst,mqtj,mq,q->mij", B, D, B, det, w)


def assemble(points, cells, dN, w, D):
    """Global stiffness (3n, 3n) CSR by summing element matrices through COO."""
    Ke = element_matrices(points, cells, dN, w, D)
    k = cells.shape[1]
    dofs = (3 * cells[:, :, None] + np.arange(3)).reshape(len(cells), 3 * k)
    rows = np.repeat(dofs, 3 * k, axis=1).ravel()
    cols = np.tile(dofs, (1, 3 * k)).ravel()
    n = 3 * len(points)
    return sp.coo_matrix((Ke.ravel(), (rows, cols)), shape=(n, n)).tocsr()


def jacobian_determinants(points, cells, dN):
    """det J (m, p) at the points of dN (p, k, 3)."""
    return np.linalg.det(np.einsum("mai,qaj->mqij", points[cells], dN))


def cell_strain_energy(points, cells, dN, w, D, u):
    """Volume-averaged strain (m, 6), strain energy (m,) and volume (m,) for Voigt matrices D (m, 6, 6)."""
    G, det = physical_gradients(points[cells], dN)
    B = b_matrices(G)
    ue = u[cells].reshape(len(cells), -1)
    eps = np.einsum("mqsi,mi->mqs", B, ue)
    wd = det * w
    energy = 0.5 * np.einsum("mqs,mst,mqt,mq->m", eps, D, eps, wd)
    volume = wd.sum(axis=1)
    strain = np.einsum("mqs,mq->ms", eps, wd) / volume[:, None]
    return strain, energy, volume
