"""Exact distance from many points to the nearest of a set of points (mm), in time linear in the queries.

:func:`nearest_distance` answers the question a k-d tree answers (scipy's
``cKDTree.query``), bit for bit, but its tree bounds each node by an *oriented*
box (the principal axes of the node's points). The point sets it is made for
are surfaces: a body's endplate or wall nodes, queried from every cell inside
the body. Seen from inside, an axis-aligned box of a tilted or curved surface
patch is as thick as it is wide, so its lower bound stops pruning over a patch
whose width grows as the square root of (depth x cell size): the k-d tree's
work per query grows as the mesh is refined (about as n^(1/3) with n cells; 10
/ 28 / 66 µs per cell in ``assign_bone`` at 10 k / 100 k / 1 M cells). An
oriented box of a surface patch is as thin as the patch's sag (its width²
over the curvature radius), which shrinks with the cells, so the number of
leaves a query visits stays bounded; only the descent from the root grows, as
log(points). ``assign_bone`` then takes 2.0 / 2.4 / 3.1 µs per cell at 10 k /
100 k / 1 M cells, scipy's tree 3.2 / 4.8 / 14.8 in the same conditions
(``python benchmarks/bench_scaling.py --last bone --repeat 5``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NearestTree", "build_tree", "nearest_distance"]

#: Points per leaf. Measured on the superior endplate, inferior endplate and posterior wall nodes of the default
#: L1 queried by every trabecular cell's centroid (hex8 at 2 / 0.85 / 0.38 mm, one thread, load 6): leaves of
#: 8 points 0.43 / 0.85 / 1.14 µs per query, 16 points 0.25 / 0.78 / 1.09, 32 points 0.23 / 0.59 / 1.06.
LEAF_SIZE = 32

#: Absolute widening of every box, relative to the point set's extent plus its distance from the origin:
#: 1e-9 of it is 10^6 times the round-off of a projection, and far below any cell size.
WIDEN = 1e-9


@dataclass(frozen=True)
class NearestTree:
    """A binary tree of oriented bounding boxes over a point set (built by :func:`build_tree`).

    Attributes
    ----------
    points : ndarray, shape (m, 3)
        The points in tree order (each node's points are contiguous), mm.
    order : ndarray, shape (m,)
        ``points == original[order]``.
    centre, axes, half : ndarray, shapes (k, 3), (k, 3, 3), (k, 3)
        Each node's box: centre (mm), orthonormal axes as rows, half extents along them (mm).
    child : ndarray, shape (k, 2)
        Children of each node, ``-1`` for a leaf.
    start, stop : ndarray, shape (k,)
        The node's points are ``points[start:stop]``.
    """

    points: np.ndarray
    order: np.ndarray
    centre: np.ndarray
    axes: np.ndarray
    half: np.ndarray
    child: np.ndarray
    start: np.ndarray
    stop: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.start)


def _check_points(name: str, x) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"{name} must have shape (n, 3), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite; {int((~np.isfinite(x)).any(axis=1).sum())} rows are not")
    return x


def build_tree(points, *, leaf_size: int = LEAF_SIZE) -> NearestTree:
    """Oriented-box tree over ``points`` (m, 3), mm.

    Each node's box is aligned with the principal axes of its points (the
    eigenvectors of their covariance) and widened by :data:`WIDEN`; a node of
    more than ``leaf_size`` points is split at the median of its points along
    the box's longest axis, so the tree is balanced (depth about
    log2(m / leaf_size)). Built level by level, each level vectorised over its
    nodes.

    Parameters
    ----------
    points : array_like, shape (m, 3)
        At least one point, finite.
    leaf_size : int, keyword-only, default :data:`LEAF_SIZE`
        Largest number of points in a leaf, >= 1.

    Returns
    -------
    NearestTree
    """
    p = _check_points("points", points)
    if len(p) == 0:
        raise ValueError("points must hold at least one point, got none")
    if not (isinstance(leaf_size, (int, np.integer)) and leaf_size >= 1):
        raise ValueError(f"leaf_size must be an integer >= 1, got {leaf_size!r}")
    widen = WIDEN * (float(np.ptp(p, axis=0).max()) + float(np.abs(p).max()) + 1.0)
    m = len(p)
    # a split node has > leaf_size points and its halves at least (leaf_size + 1) // 2 each: a bound on the leaves
    n_max = 2 * (m // ((leaf_size + 1) // 2)) + 1
    order = np.arange(m)
    centre = np.empty((n_max, 3))
    axes = np.empty((n_max, 3, 3))
    half = np.empty((n_max, 3))
    child = np.full((n_max, 2), -1, np.int64)
    start = np.empty(n_max, np.int64)
    stop = np.empty(n_max, np.int64)
    start[0], stop[0] = 0, m
    level, k = np.array([0]), 1
    while level.size:  # one pass per level of the tree (about log2(m / leaf_size)), vectorised over its nodes
        st, sp = start[level], stop[level]
        counts = sp - st
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        seg = np.repeat(np.arange(level.size), counts)
        pos = np.arange(counts.sum()) - offsets[seg] + st[seg]  # the level's points (disjoint ranges)
        x = p[order[pos]]
        mean = np.add.reduceat(x, offsets) / counts[:, None]
        r = x - mean[seg]
        cov = np.add.reduceat(r[:, :, None] * r[:, None, :], offsets)
        _, vec = np.linalg.eigh(cov)
        ax = np.ascontiguousarray(vec.transpose(0, 2, 1))  # rows: the principal axes, ascending variance
        proj = np.einsum("nij,nj->ni", ax[seg], r)
        pmin, pmax = np.minimum.reduceat(proj, offsets), np.maximum.reduceat(proj, offsets)
        centre[level] = mean + np.einsum("ni,nij->nj", (pmin + pmax) / 2.0, ax)
        axes[level] = ax
        half[level] = (pmax - pmin) / 2.0 + widen
        split = counts > leaf_size
        if not split.any():
            break
        # sort each node's points along its longest axis, then halve it at the median
        key = proj[np.arange(len(seg)), np.argmax(pmax - pmin, axis=1)[seg]]
        order[pos] = order[pos][np.lexsort((key, seg))]
        parents = level[split]
        mid = st[split] + counts[split] // 2
        n_new = 2 * parents.size
        kids = k + np.arange(n_new).reshape(-1, 2)
        child[parents] = kids
        start[kids[:, 0]], stop[kids[:, 0]] = st[split], mid
        start[kids[:, 1]], stop[kids[:, 1]] = mid, sp[split]
        level, k = kids.ravel(), k + n_new
    return NearestTree(points=np.ascontiguousarray(p[order]), order=order, centre=centre[:k], axes=axes[:k],
                       half=half[:k], child=child[:k], start=start[:k], stop=stop[:k])


def nearest_distance(queries, points=None, *, tree: NearestTree | None = None, return_index: bool = False):
    """Distance from each query point to the nearest of ``points`` (mm), exact.

    The squared distances are computed as ``(dx² + dy²) + dz²`` and the
    smallest taken over all points (the tree only skips points that cannot be
    nearer), so the result equals brute force and ``scipy.spatial.cKDTree.query``
    bit for bit (ties give the same distance; the index returned is one of the
    tied points).

    Parameters
    ----------
    queries : array_like, shape (n, 3)
        Finite query points, mm.
    points : array_like, shape (m, 3), optional
        The point set, m >= 1; give either it or ``tree``.
    tree : NearestTree, optional, keyword-only
        A tree of :func:`build_tree` to reuse over several calls (then ``points`` is not given).
    return_index : bool, keyword-only, default False
        Also return the index (into ``points``) of a nearest point.

    Returns
    -------
    ndarray, shape (n,)
        Distances in mm; with ``return_index``, a tuple ``(distance, index)``.
    """
    from ._kernels.nearest import nearest_sq

    q = _check_points("queries", queries)
    if (points is None) == (tree is None):
        raise ValueError("nearest_distance: give the point set either as points or as tree= (a build_tree), "
                         f"not {'both' if tree is not None else 'neither'}")
    if tree is None:
        tree = build_tree(points)
    if len(q) == 0:
        d, i = np.zeros(0), np.zeros(0, np.int64)
    else:
        d2, i = nearest_sq(q, tree.points, tree.centre, tree.axes, tree.half, tree.child, tree.start, tree.stop)
        d, i = np.sqrt(d2), tree.order[i]
    return (d, i) if return_index else d
