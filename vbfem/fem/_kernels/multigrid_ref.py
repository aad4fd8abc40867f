"""Slow, obvious numpy twin of :mod:`vbfem.fem._kernels.multigrid`. Tests only."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def block_gauss_seidel(A: sp.bsr_matrix, x: np.ndarray, b: np.ndarray, *, forward: bool) -> np.ndarray:
    """One block Gauss–Seidel sweep: for each block row ``i`` in turn (increasing if ``forward``),
    solve its diagonal block for ``x_i`` with the other blocks at their current values. Returns a new x."""
    m = A.blocksize[0]
    D = A.toarray()
    x = np.array(x, float)
    n = x.size // m
    for i in range(n) if forward else range(n - 1, -1, -1):
        rows = slice(i * m, (i + 1) * m)
        off = D[rows] @ x - D[rows, rows] @ x[rows]
        x[rows] = np.linalg.solve(D[rows, rows], b[rows] - off)
    return x


def residual(A: sp.spmatrix, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b - A x`` with the dense matrix."""
    return b - A.toarray() @ x
