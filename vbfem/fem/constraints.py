"""Reduction of the linear system by constraints.

The generalised unknowns ``z`` are the 3 n mesh displacements followed by six
unknowns ``(Ux, Uy, Uz, theta_x, theta_y, theta_z)`` per rigid platen. Every
constraint of a :class:`~vbfem.records.LoadCase` is written as one affine map

    z = T q + g,

where ``q`` are the free unknowns: prescribed components have an empty row of
``T`` and their value in ``g``; a node tied to a platen follows its reference
point, ``u = U + theta x (x - x_ref)``; free unknowns are copied. The reduced
system is ``T^T K T q = T^T (f - K g)``, symmetric positive definite when
every rigid-body mode is held (checked by :func:`constraint_map`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..records import RIGID_MODE_NAMES, LoadCase, Mesh
from .pattern import sparsity_plan

log = logging.getLogger(__name__)


class RigidBodyError(ValueError):
    """The model is not held against one or more rigid-body motions."""


@dataclass(frozen=True, eq=False)
class ConstraintMap:
    """The affine map ``z = T q + g`` of a load case on a mesh.

    Attributes
    ----------
    T : scipy.sparse.csr_matrix, shape (n_gen, n_free)
    g : ndarray, shape (n_gen,)
    f : ndarray, shape (n_gen,)
        Applied generalised forces: nodal forces (N), platen forces (N) and moments (N·mm).
    n_mesh_dofs : int
        3 n; platen unknowns follow.
    platen_slices : dict
        Slice of ``z`` holding each platen's six unknowns.
    near_null : ndarray, shape (n_free, 6)
        The six rigid-body modes in the free unknowns (for algebraic multigrid).
    free_mesh : ndarray of int
        The mesh dofs that are free unknowns; they come first in ``q``, in this order,
        followed by the free platen unknowns.
    """

    T: sp.csr_matrix
    g: np.ndarray
    f: np.ndarray
    n_mesh_dofs: int
    platen_slices: dict
    near_null: np.ndarray
    free_mesh: np.ndarray

    @property
    def n_free(self) -> int:
        return self.T.shape[1]

    def reduce(self, K: sp.spmatrix):
        """Reduced matrix and right-hand side ``(T^T K T, T^T (f - K g))`` for mesh stiffness K.

        ``T`` copies the free mesh dofs and ties platen nodes to a few platen
        unknowns, so ``T^T K T`` is formed blockwise: the free-free block is a
        submatrix of ``K`` and only the narrow platen columns need products.
        """
        n = self.n_mesh_dofs
        K = sp.csr_matrix(K)
        free = self.free_mesh
        Kff = K[free][:, free]
        Pc = self.T[:n, free.size:]  # (n, n_platen_free): motion of tied nodes per platen unknown
        if Pc.shape[1]:
            KP = (K @ Pc).tocsr()
            Kfp = KP[free]
            Kpp = (Pc.T @ KP).toarray()
            Kpp = 0.5 * (Kpp + Kpp.T)
            Kr = sp.bmat([[Kff, Kfp], [Kfp.T, sp.csr_matrix(Kpp)]], format="csr")
        else:
            Kr = Kff.tocsr()
        Kr.sort_indices()
        return Kr, self.reduce_rhs(K)

    def reduce_rhs(self, K: sp.spmatrix) -> np.ndarray:
        """The reduced right-hand side ``T^T (f - K g)`` alone (for a reduced matrix already formed)."""
        n = self.n_mesh_dofs
        return self.T.T @ self.f - self.T[:n].T @ (K @ self.g[:n])

    def expand(self, q: np.ndarray) -> np.ndarray:
        """Generalised unknowns ``z = T q + g`` from the free unknowns ``q``."""
        return self.T @ q + self.g


def rigid_modes(points: np.ndarray, origin=None) -> np.ndarray:
    """The six rigid-body modes of a point cloud, shape (3 n, 6).

    Translations along x, y, z, then rotations about x, y, z through ``origin``
    (default: the centroid), in the order of :data:`~vbfem.records.RIGID_MODE_NAMES`.
    """
    x = points - (points.mean(axis=0) if origin is None else np.asarray(origin))
    n = len(points)
    R = np.zeros((n, 3, 6))
    R[:, [0, 1, 2], [0, 1, 2]] = 1.0
    # omega x r for unit omega about each axis
    R[:, 1, 3], R[:, 2, 3] = -x[:, 2], x[:, 1]
    R[:, 0, 4], R[:, 2, 4] = x[:, 2], -x[:, 0]
    R[:, 0, 5], R[:, 1, 5] = -x[:, 1], x[:, 0]
    return R.reshape(3 * n, 6)


def _generalised_rigid_modes(mesh: Mesh, load: LoadCase, origin) -> np.ndarray:
    R = [rigid_modes(mesh.points, origin)]
    for p in load.platens:
        Rp = np.zeros((6, 6))
        Rp[:3] = rigid_modes(p.ref_point[None], origin)
        Rp[3:, 3:] = np.eye(3)
        R.append(Rp)
    return np.vstack(R)


def constraint_map(mesh: Mesh, load: LoadCase) -> ConstraintMap:
    """Build the :class:`ConstraintMap` of ``load`` on ``mesh``.

    Raises
    ------
    ValueError
        On degrees of freedom out of range, a node tied to two platens or
        both tied and prescribed.
    RigidBodyError
        If some part of the model can move as a rigid body; the message names
        the free modes.
    """
    n = mesh.n_dofs
    n_gen = n + 6 * len(load.platens)
    for name, dofs in (("fixed_dofs", load.fixed_dofs), ("force_dofs", load.force_dofs)):
        if dofs.size and (dofs.min() < 0 or dofs.max() >= n):
            raise ValueError(f"{name} must lie in [0, {n - 1}] (3 x node + component)")
    status = np.zeros(n_gen, np.int8)  # 0 free, 1 prescribed, 2 tied to a platen
    g = np.zeros(n_gen)
    f = np.zeros(n_gen)
    np.add.at(f, load.force_dofs, load.force_values)
    status[load.fixed_dofs] = 1
    g[load.fixed_dofs] = load.fixed_values

    plan = sparsity_plan(mesh)
    orphans = plan.orphan_nodes()
    if orphans.size:
        log.warning("%d node(s) belong to no cell; their displacement is set to 0", orphans.size)
        od = (3 * orphans[:, None] + np.arange(3)).ravel()
        status[od], g[od] = 1, 0.0

    slices = {}
    for k, p in enumerate(load.platens):
        if p.nodes.max() >= mesh.n_points:
            raise ValueError(f"platen {p.name!r} references nodes beyond {mesh.n_points - 1}")
        dofs = (3 * p.nodes[:, None] + np.arange(3)).ravel()
        if np.any(status[dofs] == 2):
            raise ValueError(f"platen {p.name!r} shares nodes with another platen")
        if np.any(status[dofs] == 1):
            raise ValueError(f"platen {p.name!r} has nodes that also carry prescribed displacements")
        status[dofs] = 2
        s = slice(n + 6 * k, n + 6 * k + 6)
        slices[p.name] = s
        pres = ~np.isnan(p.prescribed)
        status[s][pres] = 1
        g[s][pres] = p.prescribed[pres]
        f[s] = p.load

    free = np.flatnonzero(status == 0)
    col = np.full(n_gen, -1, np.int64)
    col[free] = np.arange(free.size)
    rows, cols, vals = [free], [col[free]], [np.ones(free.size)]
    for p in load.platens:
        s = slices[p.name]
        C = rigid_modes(mesh.points[p.nodes], origin=p.ref_point)  # (3 n_p, 6): d u / d (U, theta)
        prow = (3 * p.nodes[:, None] + np.arange(3)).ravel()
        ref = np.arange(s.start, s.stop)
        pres = status[ref] == 1
        g[prow] += C[:, pres] @ g[ref][pres]
        for j in np.flatnonzero(~pres):
            nz = C[:, j] != 0
            rows.append(prow[nz])
            cols.append(np.full(nz.sum(), col[ref[j]]))
            vals.append(C[nz, j])
    T = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_gen, free.size)
    )
    _check_rigid_body_modes(mesh, load, status, plan)
    near_null = _generalised_rigid_modes(mesh, load, None)[free]
    return ConstraintMap(T, g, f, n, slices, near_null, free[free < n])


def _check_rigid_body_modes(mesh: Mesh, load: LoadCase, status, plan) -> None:
    """Raise RigidBodyError naming the free rigid modes of any connected part."""
    n_points = mesh.n_points
    adjacency = sp.csr_matrix(
        (np.ones(plan.nidx.size, np.int8), plan.nidx, plan.nptr), shape=(n_points, n_points)
    )
    for p in load.platens:  # a platen ties its nodes together
        a = p.nodes
        adjacency = adjacency + sp.csr_matrix(
            (np.ones(a.size - 1, np.int8), (a[:-1], a[1:])), shape=adjacency.shape
        )
    n_comp, label = connected_components(adjacency, directed=False)
    # mode rank does not depend on the origin of the rotations: build them once
    R = _generalised_rigid_modes(mesh, load, None)
    R[:, 3:] /= max(np.abs(R[:, 3:]).max(), 1.0)
    comp_of = np.concatenate([np.repeat(label, 3), [label[p.nodes[0]] for p in load.platens for _ in range(6)]])
    prescribed = status == 1
    for comp in np.unique(comp_of[~prescribed]):
        rows = comp_of == comp
        Rp = R[rows & prescribed]
        s = np.linalg.svd(Rp, compute_uv=False) if Rp.size else np.zeros(0)
        rank = int(np.sum(s > 1e-10 * s.max())) if s.size else 0
        if rank < 6:
            nodes = np.flatnonzero(label == comp)
            origin = mesh.points[nodes].mean(axis=0)
            Rc = _generalised_rigid_modes(mesh, load, origin)[rows & prescribed]
            raise RigidBodyError(_describe_free_modes(Rc, rank, nodes.size, comp, n_comp, origin))


def _describe_free_modes(Rp, rank, n_nodes, comp, n_comp, origin) -> str:
    if Rp.size:
        scale = np.maximum(np.abs(Rp).max(axis=0), 1.0)
        _, _, vt = np.linalg.svd(Rp / scale)
        null = vt[rank:].T
        true_null = null / scale[:, None]  # the modes in unscaled (mm, rad) coordinates
        true_null /= np.linalg.norm(true_null, axis=0)
    else:
        null = true_null = np.eye(6)
    named = [RIGID_MODE_NAMES[k] for k in range(6) if np.linalg.norm(null.T @ np.eye(6)[k]) > 0.999]
    part = "the model" if n_comp == 1 else f"part {comp + 1} of {n_comp} ({n_nodes} nodes)"
    msg = f"{part} is not held against rigid-body motion: {6 - rank} of 6 modes are free"
    if named:
        msg += f" ({', '.join(named)}; rotations about axes through {np.round(origin, 3).tolist()} mm)"
    if len(named) < 6 - rank:
        pivot = _common_pivot(true_null)
        if pivot is not None and not named:
            point, axes = pivot
            what = ("rotation about any axis" if len(axes) == 3 else
                    " and ".join(f"rotation about axis {(np.round(a, 3) + 0.0).tolist()}" for a in axes))
            msg += f" ({what} through the held point {(np.round(origin + point, 3) + 0.0).tolist()} mm)"
        else:
            msg += f"; {6 - rank - len(named)} further free mode(s) combine translation and rotation"
    return msg + ". Add fixed displacements or a platen that holds them."


def _common_pivot(null):
    """If every free mode is a rotation about an axis through one point, that point and the axes.

    A rigid motion ``u(x) = t + w x (x - o)`` is a rotation about an axis
    through ``o + d`` when ``t = d x w``; solve for one ``d`` shared by all modes.
    """
    t, w = null[:3].T, null[3:].T  # (k, 3) each
    if np.linalg.matrix_rank(w, tol=1e-8) < w.shape[0]:
        return None  # some free mode is a pure translation
    # d x w = -[w]x d : stack the 3x3 skew blocks of every mode
    A = np.concatenate([-np.array([[0, -wi[2], wi[1]], [wi[2], 0, -wi[0]], [-wi[1], wi[0], 0]]) for wi in w])
    d, *_ = np.linalg.lstsq(A, t.ravel(), rcond=None)
    if np.linalg.norm(A @ d - t.ravel()) > 1e-6 * max(np.linalg.norm(t), 1.0):
        return None
    axes = np.linalg.svd(w, full_matrices=False)[2]
    return d, axes
