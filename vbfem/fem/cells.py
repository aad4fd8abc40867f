"""Per-cell measures of a mesh: centroids and volumes (mm, mm³)."""

from __future__ import annotations

import numpy as np

from ..records import Mesh
from .elements import element

__all__ = ["cell_centroids", "cell_volumes"]

#: Cells per vectorised block of :func:`cell_volumes` (bounds the memory of the Jacobians).
_CHUNK = 32768


def cell_centroids(mesh: Mesh, cells=slice(None)) -> np.ndarray:
    """Mean of the nodes of each cell (all, or those selected by ``cells``), shape (n, 3), mm."""
    return mesh.points[mesh.cells[cells]].mean(axis=1)


def cell_volumes(mesh: Mesh, cells=slice(None)) -> np.ndarray:
    """Volume of each cell by the element's quadrature rule, mm³.

    Parameters
    ----------
    mesh : Mesh
    cells : index array, bool mask or slice, optional
        Cells to measure (default all).

    Returns
    -------
    ndarray, shape (n_selected,)
    """
    el = element(mesh.cell_type)
    grad = el.grad(el.quad_points)  # (nq, k, 3)
    conn = mesh.cells[cells]
    out = np.empty(len(conn))
    for start in range(0, len(conn), _CHUNK):  # chunks bound memory; no per-cell loop
        xt = mesh.points[conn[start:start + _CHUNK]].transpose(0, 2, 1)  # (c, 3, k)
        jac = np.matmul(xt[:, None], grad[None])  # (c, nq, 3, 3)
        det = np.einsum("...i,...i", jac[..., 0, :], np.cross(jac[..., 1, :], jac[..., 2, :]))
        out[start:start + _CHUNK] = np.abs(det) @ el.quad_weights
    return out
