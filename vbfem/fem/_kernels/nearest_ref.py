"""Plain-numpy twin of :mod:`vbfem.fem._kernels.nearest`: brute force over every point.

The definition the tree search must reproduce bit for bit: the smallest squared distance
``(dx*dx + dy*dy) + dz*dz`` over all points (numpy sums three numbers left to right).
"""

from __future__ import annotations

import numpy as np

#: Queries per block (bounds the (block, m) distance matrix).
_BLOCK = 2048


def nearest_sq(queries, points):
    """Squared distance from each query (n, 3) to its nearest point (m, 3), and that point's index."""
    queries = np.asarray(queries, float)
    points = np.asarray(points, float)
    d2 = np.empty(len(queries))
    arg = np.empty(len(queries), np.int64)
    for lo in range(0, len(queries), _BLOCK):  # blocks bound memory; each is vectorised
        diff = queries[lo:lo + _BLOCK, None, :] - points[None, :, :]
        block = (diff * diff).sum(axis=2)
        arg[lo:lo + _BLOCK] = np.argmin(block, axis=1)
        d2[lo:lo + _BLOCK] = block[np.arange(len(block)), arg[lo:lo + _BLOCK]]
    return d2, arg
