"""The finite-volume network of the flow model: the two-point-flux graph.

:func:`flow_network` turns the faces of :func:`vbfem.fem.faces.mesh_faces` and a
:class:`vbfem.materials.porous.PorousMedium` into the two-point flux approximation
(TPFA) graph that :func:`vbfem.treatment.flow.run_impes` advances. The
discretisation and its limits are described in :mod:`vbfem.treatment.flow`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fem.faces import Faces, mesh_faces
from ..materials.porous import PorousMedium
from ..records import Mesh

__all__ = ["FlowNetwork", "flow_network", "half_transmissibility"]


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
