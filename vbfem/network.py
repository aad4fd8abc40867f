"""The finite-volume network of the flow model: mesh faces and the two-point-flux graph.

:func:`mesh_faces` finds the internal and boundary faces of a mesh (sorted
node tuples of :data:`vbfem.elements.CORNER_FACES`), :func:`flow_network` turns
them and a :class:`vbfem.porous.PorousMedium` into the two-point flux
approximation (TPFA) graph that :func:`vbfem.flow.run_impes` advances. The
discretisation and its limits are described in :mod:`vbfem.flow`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .bone import cell_centroids
from .elements import CORNER_FACES
from .porous import PorousMedium
from .records import Mesh

__all__ = ["Faces", "FlowNetwork", "flow_network", "half_transmissibility", "mesh_faces"]


@dataclass(frozen=True, eq=False)
class Faces:
    """Face connectivity of a mesh for finite volumes.

    ``inner_i/inner_j`` are the two cells of each internal face, ``inner_area``
    its area vector (mm², pointing from i to j), ``inner_center`` its centroid
    and ``inner_nodes`` its corner nodes (as ``inner_i`` orders them);
    ``bnd_cell/bnd_area/bnd_center`` the same for boundary faces (outward).
    """

    inner_i: np.ndarray
    inner_j: np.ndarray
    inner_area: np.ndarray
    inner_center: np.ndarray
    bnd_cell: np.ndarray
    bnd_area: np.ndarray
    bnd_center: np.ndarray
    inner_nodes: np.ndarray


#: Faces of each live mesh (meshes are frozen; a moved mesh is a new Mesh and gets its own entry).
_FACES: weakref.WeakKeyDictionary[Mesh, Faces] = weakref.WeakKeyDictionary()


def mesh_faces(mesh: Mesh) -> Faces:
    """Internal and boundary faces of ``mesh`` (vectorised node-tuple matching; cached per mesh,
    read-only arrays)."""
    faces = _FACES.get(mesh)
    if faces is None:
        faces = _build_faces(mesh)
        for a in vars(faces).values():
            a.setflags(write=False)
        _FACES[mesh] = faces
    return faces


def _build_faces(mesh: Mesh) -> Faces:
    ct = mesh.cell_type
    local = CORNER_FACES[ct]
    conn = mesh.cells[:, local]  # (n, nf, k)
    n, nf, k = conn.shape
    fn = conn.reshape(-1, k)
    owner = np.repeat(np.arange(n), nf)
    p = mesh.points[fn]  # (m, k, 3)
    if k == 4:
        area = 0.5 * np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1])
    else:
        area = 0.5 * np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    center = p.mean(axis=1)
    cc = cell_centroids(mesh)
    flip = np.einsum("ij,ij->i", area, center - cc[owner]) < 0
    area[flip] *= -1
    key = np.sort(fn, axis=1)
    order = np.lexsort(key.T[::-1])
    ks = key[order]
    same = np.all(ks[1:] == ks[:-1], axis=1)
    first = np.flatnonzero(same)
    a, b = order[first], order[first + 1]
    paired = np.zeros(fn.shape[0], bool)
    paired[a] = True
    paired[b] = True
    bnd = np.flatnonzero(~paired)
    return Faces(inner_i=owner[a], inner_j=owner[b], inner_area=area[a], inner_center=center[a],
                 bnd_cell=owner[bnd], bnd_area=area[bnd], bnd_center=center[bnd], inner_nodes=fn[a])


def half_transmissibility(area, center, cell_center, perm):
    """``|A| n·K·d / |d|²`` (mm³) for faces with area vectors ``area``; K diagonal ``perm`` (mm²)."""
    d = center - cell_center
    kd = perm * d
    t = np.einsum("ij,ij->i", area, kd) / np.einsum("ij,ij->i", d, d)
    return np.abs(t)


@dataclass(frozen=True, eq=False)
class FlowNetwork:
    """Two-point-flux graph on the flow cells: faces between flow cells and Dirichlet (outlet) faces.

    Cell indices are local (0..n_flow-1); ``cells`` maps them to mesh cells.
    ``face_center``/``face_area`` (mm, mm²) of the internal and
    ``dface_center``/``dface_area`` of the Dirichlet faces give the cell
    velocities of a shear-thinning cement (optional for a Newtonian one).
    """

    cells: np.ndarray
    fi: np.ndarray
    fj: np.ndarray
    trans: np.ndarray
    dcell: np.ndarray
    dtrans: np.ndarray
    doutlet: np.ndarray
    outlet_names: tuple
    pv: np.ndarray
    perm: np.ndarray
    volume: np.ndarray
    centroid: np.ndarray
    face_center: np.ndarray | None = None
    face_area: np.ndarray | None = None
    dface_center: np.ndarray | None = None
    dface_area: np.ndarray | None = None


def flow_network(mesh: Mesh, medium: PorousMedium, *, open_boundary: bool = False, faces: Faces | None = None) -> FlowNetwork:
    """Build the TPFA network.

    Parameters
    ----------
    open_boundary : bool
        Also treat the mesh boundary faces of flow cells as an outlet
        ``"outlet_boundary"`` (used for blocks of bone; the vertebra is sealed
        by its cortex).
    """
    faces = mesh_faces(mesh) if faces is None else faces
    n = mesh.n_cells
    flow = medium.flow
    cells = np.flatnonzero(flow)
    if cells.size == 0:
        raise ValueError("the medium has no flow cells")
    loc = np.full(n, -1, np.int64)
    loc[cells] = np.arange(cells.size)
    outlet_of = np.full(n, -1, np.int64)
    names = tuple(sorted(medium.outlets))
    for m, name in enumerate(names):
        outlet_of[medium.outlets[name]] = m
    K, cc = medium.permeability, medium.centroid
    i, j = faces.inner_i, faces.inner_j
    ti = half_transmissibility(faces.inner_area, faces.inner_center, cc[i], K[i])
    tj = half_transmissibility(faces.inner_area, faces.inner_center, cc[j], K[j])
    both = flow[i] & flow[j]
    tr = ti[both] * tj[both] / (ti[both] + tj[both])
    d_c, d_t, d_o, d_x, d_a = [], [], [], [], []
    inner_a = np.linalg.norm(faces.inner_area, axis=1)
    for a_, b_, ta in ((i, j, ti), (j, i, tj)):  # two orientations, not a loop over faces
        sel = flow[a_] & (outlet_of[b_] >= 0)
        d_c.append(a_[sel]); d_t.append(ta[sel]); d_o.append(outlet_of[b_[sel]])
        d_x.append(faces.inner_center[sel]); d_a.append(inner_a[sel])
    if open_boundary:
        names = names + ("outlet_boundary",)
        sel = flow[faces.bnd_cell]
        c = faces.bnd_cell[sel]
        d_c.append(c)
        d_t.append(half_transmissibility(faces.bnd_area[sel], faces.bnd_center[sel], cc[c], K[c]))
        d_o.append(np.full(c.size, len(names) - 1))
        d_x.append(faces.bnd_center[sel]); d_a.append(np.linalg.norm(faces.bnd_area[sel], axis=1))
    dcell = np.concatenate(d_c)
    if dcell.size == 0:
        raise ValueError("no outlet touches the flow cells: incompressible injection needs an outlet "
                         "(add an 'outlet_*' cell set or open_boundary=True)")
    return FlowNetwork(cells=cells, fi=loc[i[both]], fj=loc[j[both]], trans=tr, dcell=loc[dcell],
                       dtrans=np.concatenate(d_t), doutlet=np.concatenate(d_o), outlet_names=names,
                       pv=medium.porosity[cells] * medium.volume[cells], perm=K[cells],
                       volume=medium.volume[cells], centroid=cc[cells], face_center=faces.inner_center[both],
                       face_area=inner_a[both], dface_center=np.concatenate(d_x), dface_area=np.concatenate(d_a))
