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


def flow_network(mesh: Mesh, medium: PorousMedium, *, open_boundary: bool = False, faces: Faces | None = None,
                 outlet_resistance=None) -> FlowNetwork:
    """Build the TPFA network.

    Parameters
    ----------
    open_boundary : bool
        Also treat the mesh boundary faces of flow cells as an outlet
        ``"outlet_boundary"`` (used for blocks of bone; the vertebra is sealed
        by its cortex).
    outlet_resistance : mapping str -> float, optional
        Geometric resistance (mm⁻³) of the vessels or channel that drain an outlet, in series with the
        outlet's faces: a pipe of radius ``r`` and length ``L`` has ``8 L / (π r⁴)`` (Hagen–Poiseuille;
        the flux is ``Δp / (μ R)`` for a fluid of viscosity ``μ``, the mobility of the cell that drains
        into it). The resistance is shared by the outlet's faces in parallel, each face taking the
        share ``T_f / ΣT`` of the conductance ``1/R`` (``T_f`` its half transmissibility), so the
        outlet's total conductance is the series sum ``1/(1/ΣT + R)`` when its faces drain at one
        pressure. 0 or absent: the outlet is held at the venous pressure directly (the old model).
        Keys are outlet names (``"outlet_basivertebral"`` ...); a negative, NaN or infinite value, or
        an unknown outlet, is a ValueError.
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
    dtrans = np.concatenate(d_t)
    doutlet = np.concatenate(d_o)
    dtrans = _series_resistance(dtrans, doutlet, names, outlet_resistance)
    return FlowNetwork(cells=cells, fi=loc[i[both]], fj=loc[j[both]], trans=tr, dcell=loc[dcell],
                       dtrans=dtrans, doutlet=doutlet, outlet_names=names,
                       pv=medium.porosity[cells] * medium.volume[cells], perm=K[cells],
                       volume=medium.volume[cells], centroid=cc[cells], face_center=faces.inner_center[both],
                       face_area=inner_a[both], dface_center=np.concatenate(d_x), dface_area=np.concatenate(d_a))


def _series_resistance(dtrans, doutlet, names, resistance):
    """Dirichlet transmissibilities with each outlet's vessel resistance in series (see :func:`flow_network`)."""
    if not resistance:
        return dtrans
    out = dtrans.copy()
    for name, R in dict(resistance).items():
        if name not in names:
            raise ValueError(f"outlet_resistance: {name!r} is not an outlet of this network; outlets: "
                             f"{', '.join(names)}")
        if isinstance(R, bool) or not isinstance(R, (int, float, np.floating, np.integer)) or not (
                np.isfinite(R) and R >= 0):
            raise ValueError(f"outlet_resistance[{name!r}]={R!r} must be a finite resistance >= 0 mm^-3")
        if R == 0:
            continue
        sel = doutlet == names.index(name)
        t = dtrans[sel]
        g = t / t.sum() / R  # the face's share of the vessel conductance 1/R, mm³
        out[sel] = t * g / (t + g)
    return out
