"""Numba kernel of the exact nearest-point search of :mod:`vbfem.fem.nearest`.

Twin in :mod:`vbfem.fem._kernels.nearest_ref` (brute force). The tree is built
by :func:`vbfem.fem.nearest.build_tree`: every node holds an oriented bounding
box (centre, three orthonormal axes as rows, half extents) of its points, which
are contiguous in tree order (``start[k]:stop[k]``); ``child[k] = (-1, -1)``
marks a leaf.

The search is a depth-first branch and bound, nearer child first. A node is
skipped when the squared distance from the query to its box exceeds the best
squared distance found so far times ``1 + PRUNE_MARGIN``. The box distance is a
lower bound of the distance to every point inside (the boxes are widened by a
margin far above the round-off of their projections when they are built), so
the answer is the minimum, over *all* points, of the squared distance computed
as ``(dx*dx + dy*dy) + dz*dz``: bit for bit what brute force computes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Relative margin of the pruning test: a node is skipped only if its lower bound is larger than the best
#: squared distance by this factor; far above the round-off (about 1e-15) of the bound.
PRUNE_MARGIN = 1e-12

#: Depth of the search stack; the tree's median splits give a depth of log2(points / leaf size) + 1, far less.
STACK_DEPTH = 256


@njit(cache=True)
def nearest_sq(queries, points, centre, axes, half, child, start, stop):
    """Squared distance from each query (n, 3) to its nearest point and that point's index (tree order).

    Each query's search starts with the previous query's answer as its bound (queries in a spatially
    coherent order, such as a mesh's cells, then visit few nodes); the answers do not depend on the order.
    One function, serial: helper functions tripled the compile time (12 s against 3.5 s on the loaded
    machine), and two threads were slower on the project's shared 2-core machine at every size (0.3 /
    0.8 / 1.1 µs per query on one thread against 1.6 / 0.8 / 1.3 µs on two at 10 k / 100 k / 1 M cells).
    The squared distance from a query to node ``k``'s box is
    ``sum over its axes a of max(|axes[k, a] . (q - centre[k])| - half[k, a], 0)²``.
    """
    n = queries.shape[0]
    d2 = np.empty(n)
    arg = np.empty(n, np.int64)
    stack = np.empty(STACK_DEPTH, np.int64)
    bound = np.empty(STACK_DEPTH)
    keep = 1.0 + PRUNE_MARGIN
    guess = -1
    for i in range(n):
        q0 = queries[i, 0]
        q1 = queries[i, 1]
        q2 = queries[i, 2]
        best = np.inf
        best_j = -1
        if guess >= 0:  # the previous answer: a point, so its distance bounds this one's
            dx = q0 - points[guess, 0]
            dy = q1 - points[guess, 1]
            dz = q2 - points[guess, 2]
            best = dx * dx + dy * dy + dz * dz
            best_j = guess
        stack[0] = 0
        bound[0] = 0.0
        top = 1
        while top > 0:
            top -= 1
            k = stack[top]
            if bound[top] > best * keep:
                continue
            if child[k, 0] < 0:  # a leaf: every point
                for j in range(start[k], stop[k]):
                    dx = q0 - points[j, 0]
                    dy = q1 - points[j, 1]
                    dz = q2 - points[j, 2]
                    d = dx * dx + dy * dy + dz * dz
                    if d < best:
                        best = d
                        best_j = j
                continue
            g0 = 0.0
            g1 = 0.0
            for c in range(2):
                kk = child[k, c]
                e0 = q0 - centre[kk, 0]
                e1 = q1 - centre[kk, 1]
                e2 = q2 - centre[kk, 2]
                s = 0.0
                for a in range(3):
                    t = abs(e0 * axes[kk, a, 0] + e1 * axes[kk, a, 1] + e2 * axes[kk, a, 2]) - half[kk, a]
                    if t > 0.0:
                        s += t * t
                if c == 0:
                    g0 = s
                else:
                    g1 = s
            # push the farther child first, so that the nearer one is searched first
            near = 0 if g0 <= g1 else 1
            for c in (1 - near, near):
                g = g0 if c == 0 else g1
                if g <= best * keep:
                    stack[top] = child[k, c]
                    bound[top] = g
                    top += 1
        d2[i] = best
        arg[i] = best_j
        guess = best_j
    return d2, arg
