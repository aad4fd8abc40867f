"""Building blocks of load cases: fixed and prescribed displacements, nodal
forces and rigid platens, combined into a :class:`~vbfem.records.LoadCase`."""

from __future__ import annotations

import numpy as np

from ..records import LoadCase, Mesh, Platen


def _nodes(mesh: Mesh, nodes) -> np.ndarray:
    if isinstance(nodes, str):
        return mesh.node_set(nodes)
    nodes = np.asarray(nodes, dtype=np.int64).ravel()
    if nodes.size and (nodes.min() < 0 or nodes.max() >= mesh.n_points):
        raise ValueError(f"node indices must lie in [0, {mesh.n_points - 1}]")
    return nodes


def _vector(value, name, *, default=np.nan):
    if value is None:
        return np.full(3, default)
    v = np.asarray([np.nan if c is None else c for c in np.broadcast_to(np.asarray(value, object), 3)], float)
    if np.any(np.isinf(v)):
        raise ValueError(f"{name} must be finite (NaN or None marks a free component), got {v.tolist()}")
    return v


def fixed(mesh: Mesh, nodes, *, components=(0, 1, 2), value=0.0):
    """Prescribed displacement of ``components`` of ``nodes`` (a node set name or indices).

    Returns ``(dofs, values)`` for :func:`load_case`; ``value`` in mm, a scalar
    or one value per component.
    """
    nodes = _nodes(mesh, nodes)
    comps = np.asarray(components, np.int64).ravel()
    if comps.size == 0 or comps.min() < 0 or comps.max() > 2:
        raise ValueError(f"components must be a subset of (0, 1, 2), got {components!r}")
    dofs = (3 * nodes[:, None] + comps).ravel()
    values = np.broadcast_to(np.asarray(value, float), (nodes.size, comps.size)).ravel()
    return dofs, values


def nodal_force(mesh: Mesh, nodes, force):
    """Total force ``force`` (3,) in N spread equally over ``nodes``; ``(dofs, values)``."""
    nodes = _nodes(mesh, nodes)
    force = np.asarray(force, float)
    if force.shape != (3,) or not np.all(np.isfinite(force)):
        raise ValueError(f"force must be three finite components in N, got {force.tolist()}")
    dofs = (3 * nodes[:, None] + np.arange(3)).ravel()
    return dofs, np.tile(force / nodes.size, nodes.size)


def rigid_platen(mesh: Mesh, nodes, *, name="platen", ref_point=None, displacement=None, rotation=(0.0, 0.0, 0.0),
                 force=None, moment=None) -> Platen:
    """A rigid platen tying ``nodes`` to a reference point.

    Parameters
    ----------
    mesh : Mesh
    nodes : str or int array
        Node set name or indices.
    name : str, keyword-only
    ref_point : array_like (3,), optional
        mm; default the centroid of the nodes.
    displacement : array_like (3,), optional
        Prescribed translation in mm; ``None`` entries (or NaN) are free.
        ``None`` as a whole frees all three.
    rotation : array_like (3,), default (0, 0, 0)
        Prescribed rotation in rad; ``None`` frees all three (NaN frees one).
    force : array_like (3,), optional
        Force in N on the free translations.
    moment : array_like (3,), optional
        Moment in N·mm about the reference point on the free rotations.
    """
    nodes = _nodes(mesh, nodes)
    if nodes.size == 0:
        raise ValueError(f"platen {name!r} has no nodes")
    ref = mesh.points[nodes].mean(axis=0) if ref_point is None else np.asarray(ref_point, float)
    prescribed = np.concatenate([_vector(displacement, "displacement"), _vector(rotation, "rotation")])
    load = np.concatenate([_vector(force, "force", default=0.0), _vector(moment, "moment", default=0.0)])
    load = np.nan_to_num(load)
    return Platen(name, nodes, ref, prescribed, load)


def load_case(name: str, *, fixed=(), forces=(), platens=()) -> LoadCase:
    """Combine pieces from :func:`fixed`, :func:`nodal_force` and :func:`rigid_platen`.

    Repeated prescribed dofs keep the last value given.
    """
    fd = [np.asarray(d, np.int64) for d, _ in fixed] or [np.zeros(0, np.int64)]
    fv = [np.asarray(v, float) for _, v in fixed] or [np.zeros(0)]
    fd, fv = np.concatenate(fd), np.concatenate(fv)
    last = np.unique(fd[::-1], return_index=True)[1]
    keep = fd.size - 1 - last
    Fd = [np.asarray(d, np.int64) for d, _ in forces] or [np.zeros(0, np.int64)]
    Fv = [np.asarray(v, float) for _, v in forces] or [np.zeros(0)]
    return LoadCase(name, fd[keep], fv[keep], np.concatenate(Fd), np.concatenate(Fv), tuple(platens))


def platen_compression(mesh: Mesh, *, top="top", bottom="bottom", displacement=None, force=None,
                       name="compression") -> LoadCase:
    """Ex vivo compression test: ``bottom`` nodes fixed (potted), ``top`` tied to a rigid platen.

    Give exactly one of ``displacement`` (mm, > 0, shortening along -z) or
    ``force`` (N, > 0, compressive). The platen cannot tilt or slide.
    """
    if (displacement is None) == (force is None):
        raise ValueError("give exactly one of displacement (mm) or force (N)")
    value = displacement if force is None else force
    what = "displacement" if force is None else "force"
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a magnitude > 0, got {value!r}")
    if force is None:
        platen = rigid_platen(mesh, top, name="platen", displacement=(0.0, 0.0, -displacement))
    else:
        platen = rigid_platen(mesh, top, name="platen", displacement=(0.0, 0.0, None), force=(0.0, 0.0, -force))
    return load_case(name, fixed=[fixed(mesh, bottom)], platens=[platen])


def body_force(mesh: Mesh, func, *, order: int = 4):
    """Consistent nodal forces of a body force density.

    Parameters
    ----------
    func : callable
        ``func(x)`` with ``x`` of shape (p, 3) in mm returns the force per
        volume (p, 3) in N/mm³.
    order : int, keyword-only
        Gauss points per direction (see :func:`vbfem.fem.elements.quadrature`).

    Returns
    -------
    (dofs, values) for ``load_case(forces=[...])``.
    """
    from .elements import element, quadrature

    el = element(mesh.cell_type)
    xi, w = quadrature(mesh.cell_type, order)
    N, dN = el.shape(xi), el.grad(xi)
    X = mesh.points[mesh.cells]  # (m, k, 3)
    det = np.linalg.det(np.einsum("mai,qaj->mqij", X, dN))
    x = np.einsum("qa,mai->mqi", N, X)
    b = np.asarray(func(x.reshape(-1, 3)), float).reshape(x.shape)
    fe = np.einsum("qa,mqi,mq,q->mai", N, b, det, w)
    dofs = (3 * mesh.cells[:, :, None] + np.arange(3)).ravel()
    return dofs, fe.ravel()
