"""Linear mechanical response of a solved vertebra: stiffness, superior-endplate
pressure, load shared by tissue through a transverse cut, bone volume above a
strain limit and a fast linear strength estimate.

All functions take the :class:`~vbfem.records.Result` of
:func:`vbfem.fem.static.solve_static` (linear, so every field scales with the
load) and never re-solve, except :func:`linear_response` which solves once.

Linear failure criterion (default of :func:`linear_strength`): failure when
2 % of the bone volume exceeds 0.7 % effective strain, Pistoia et al. 2002
(Bone 30:842) — REFERENCE.md marks these numbers **unverified**. Pistoia
calibrated the criterion on micro-FE models of the distal radius with the
effective strain ``sqrt(2 U / E)`` (``U`` the strain-energy density); here it
is applied to a continuum model as a fast proxy for sweeps, not as a
validated strength.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..fem.cells import cell_volumes
from ..fem.elements import CORNER_FACES, TET10_FACE_MID
from ..fem.post import effective_strain as von_mises_strain
from ..fem.static import solve_static
from ..records import TISSUES, LoadCase, MaterialMap, Mesh, Result, tissue_code

log = logging.getLogger(__name__)

#: Effective strain limit of the linear failure criterion (Pistoia 2002; unverified, REFERENCE.md).
STRAIN_LIMIT = 0.007
#: Bone volume fraction above the limit at failure (Pistoia 2002; unverified, REFERENCE.md).
FAILED_FRACTION = 0.02
#: Tissues counted as bone by the strain-volume and strength measures. ``"damaged"`` (the
#: fracture's softened compaction band, vbfem.fracture.deformity) is left out: it has already failed, and its
#: low modulus concentrates strain, so counting it makes the criterion report the old fracture as
#: a new one (L1 size 3, 25 % wedge: strength -84 % of intact with it, -30 % without; pass
#: ``tissues=`` to change).
BONE_TISSUES = ("trabecular", "cortical", "endplate", "composite", "compacted")
#: Strain measures: ``"energy"`` = sqrt(2 U / E) (Pistoia 2002), ``"von_mises"`` = vbfem.fem.post.effective_strain.
STRAIN_MEASURES = ("energy", "von_mises")



def _check_result(result: Result, platen: str) -> None:
    if not isinstance(result, Result):
        raise TypeError(f"result must be a vbfem Result, got {type(result).__name__}")
    if platen not in result.platen_reaction:
        raise ValueError(f"platen={platen!r} not in result; available: {sorted(result.platen_reaction) or 'none'}")


def platen_force(result: Result, *, platen: str = "platen") -> float:
    """Compressive axial force carried by the platen, N (positive in compression: ``-reaction_z``)."""
    _check_result(result, platen)
    return float(-result.platen_reaction[platen][2])


def stiffness(result: Result, *, platen: str = "platen") -> float:
    """Axial stiffness ``|F_z| / |U_z|`` of the platen, N/mm."""
    _check_result(result, platen)
    return result.stiffness(platen, 2)


# ------------------------------------------------------------ endplate pressure
@dataclass(frozen=True, eq=False)
class EndplatePressure:
    """Contact pressure on a loaded surface from the nodal reactions.

    Attributes
    ----------
    nodes : ndarray (n,)
        Surface nodes.
    points : ndarray (n, 3)
        Their coordinates, mm.
    area : ndarray (n,)
        Tributary area of each node, mm² (consistent, ``∫ N_a dA`` of the
        surface faces; for tet10 the face area goes to the mid-edge nodes).
    force : ndarray (n, 3)
        Force exerted on the bone at each node, N.
    pressure : ndarray (n,)
        ``-force_z / area`` in MPa (positive in compression); NaN where area is 0.
    """

    nodes: np.ndarray
    points: np.ndarray
    area: np.ndarray
    force: np.ndarray
    pressure: np.ndarray

    @property
    def total_force(self) -> np.ndarray:
        """Sum of the nodal forces, N, shape (3,)."""
        return self.force.sum(axis=0)

    @property
    def total_area(self) -> float:
        """Surface area, mm²."""
        return float(self.area.sum())

    @property
    def mean_pressure(self) -> float:
        """Compressive force over area, MPa."""
        return float(-self.total_force[2] / self.total_area)

    @property
    def peak_pressure(self) -> float:
        """Largest nodal pressure, MPa."""
        return float(np.nanmax(self.pressure))


def surface_faces(mesh: Mesh, nodes) -> tuple[np.ndarray, np.ndarray]:
    """Cell faces whose corner nodes all belong to ``nodes``.

    Returns
    -------
    faces : ndarray (f, c)
        Corner node indices (hex8: 4, tet: 3).
    mid : ndarray (f, 3) or None
        Mid-edge nodes of tet10 faces.
    """
    mask = np.zeros(mesh.n_points, bool)
    mask[np.asarray(nodes, np.int64)] = True
    local = CORNER_FACES[mesh.cell_type]
    faces = mesh.cells[:, local]  # (m, nf, c)
    on = mask[faces].all(axis=2)
    cell_idx, face_idx = np.nonzero(on)
    out = faces[cell_idx, face_idx]
    mid = mesh.cells[:, TET10_FACE_MID][cell_idx, face_idx] if mesh.cell_type == "tet10" else None
    # a face shared by two cells lying inside the set (e.g. a one-layer set) appears twice: keep one
    _, first = np.unique(np.sort(out, axis=1), axis=0, return_index=True)
    first = np.sort(first)
    return out[first], (None if mid is None else mid[first])


def tributary_areas(mesh: Mesh, nodes) -> np.ndarray:
    """Consistent nodal areas ``∫ N_a dA`` over the surface spanned by ``nodes``, mm², shape (n_points,)."""
    faces, mid = surface_faces(mesh, nodes)
    area = np.zeros(mesh.n_points)
    if faces.shape[0] == 0:
        return area
    p = mesh.points[faces]
    if faces.shape[1] == 4:
        # bilinear quad, 2x2 Gauss: ∫ N_a |x_u × x_v| du dv
        g = np.array([-1.0, 1.0]) / np.sqrt(3.0)
        for u in g:
            for v in g:
                N = 0.25 * np.array([(1 - u) * (1 - v), (1 + u) * (1 - v), (1 + u) * (1 + v), (1 - u) * (1 + v)])
                du = 0.25 * np.array([-(1 - v), (1 - v), (1 + v), -(1 + v)])
                dv = 0.25 * np.array([-(1 - u), -(1 + u), (1 + u), (1 - u)])
                J = np.linalg.norm(np.cross(du @ p, dv @ p), axis=1)
                np.add.at(area, faces, N[None, :] * J[:, None])
    else:
        A = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
        if mid is None:
            np.add.at(area, faces, np.repeat(A[:, None] / 3.0, 3, axis=1))
        else:  # quadratic triangle: ∫ N dA = 0 at corners, A/3 at mid-edge nodes
            np.add.at(area, mid, np.repeat(A[:, None] / 3.0, 3, axis=1))
    return area


def endplate_pressure(mesh: Mesh, result: Result, *, nodes: str = "superior") -> EndplatePressure:
    """Pressure distribution on a loaded endplate from the nodal reactions.

    Parameters
    ----------
    mesh : Mesh
    result : Result
    nodes : str, keyword-only
        Node set of the loaded surface (default ``"superior"``).
    """
    if nodes not in mesh.node_sets:
        raise ValueError(f"nodes={nodes!r}: node set not in mesh; available: {sorted(mesh.node_sets) or 'none'}")
    idx = mesh.node_sets[nodes]
    area_all = tributary_areas(mesh, idx)
    area = area_all[idx]
    force = np.asarray(result.reaction)[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        pressure = np.where(area > 0, -force[:, 2] / np.where(area > 0, area, 1.0), np.nan)
    return EndplatePressure(idx, mesh.points[idx], area, force, pressure)


# ------------------------------------------------------------------ load share
def _cut_slab(mesh: Mesh, z: float | None, thickness: float | None, superior: str, inferior: str):
    for name, par in ((superior, "superior"), (inferior, "inferior")):
        if name not in mesh.node_sets:
            raise ValueError(f"{par}={name!r}: node set not in mesh; available: {sorted(mesh.node_sets) or 'none'}")
    zs = mesh.points[mesh.node_sets[superior], 2]
    zi = mesh.points[mesh.node_sets[inferior], 2]
    lo, hi = float(zi.max()), float(zs.min())  # planes between these cut the whole body
    if not hi > lo:
        raise ValueError(f"no horizontal plane lies between the {inferior!r} and {superior!r} surfaces")
    zc = 0.5 * (zs.mean() + zi.mean()) if z is None else float(z)
    t = 0.25 * (zs.mean() - zi.mean()) if thickness is None else float(thickness)
    if not (t > 0 and np.isfinite(t)):
        raise ValueError(f"thickness must be > 0 mm, got {thickness!r}")
    a, b = zc - 0.5 * t, zc + 0.5 * t
    if a < lo or b > hi:
        raise ValueError(
            f"cut slab [{a:.3f}, {b:.3f}] mm must lie between z = {lo:.3f} (highest {inferior!r} node) and "
            f"z = {hi:.3f} mm (lowest {superior!r} node); give z and thickness accordingly"
        )
    return a, b


def slab_weights(mesh: Mesh, a: float, b: float) -> np.ndarray:
    """Per-cell weights ``w`` with ``Σ w_c σ_zz,c ≈ ∫ σ_zz dA`` averaged over planes z in [a, b].

    ``w_c = V_c · overlap([zmin_c, zmax_c], [a, b]) / ((zmax_c - zmin_c) (b - a))``, mm².
    """
    z = mesh.points[mesh.cells, 2]
    zmin, zmax = z.min(axis=1), z.max(axis=1)
    overlap = np.clip(np.minimum(zmax, b) - np.maximum(zmin, a), 0.0, None)
    sel = np.flatnonzero(overlap > 0)
    w = np.zeros(mesh.n_cells)
    w[sel] = cell_volumes(mesh, sel) * overlap[sel] / ((zmax[sel] - zmin[sel]) * (b - a))
    return w


def load_share(mesh: Mesh, materials: MaterialMap, result: Result, *, z: float | None = None,
               thickness: float | None = None, superior: str = "superior",
               inferior: str = "inferior") -> dict[str, float]:
    """Axial compressive force carried by each tissue through a transverse cut, N.

    With traction-free lateral surfaces and no body forces, the axial force
    through every horizontal plane between the endplates equals the platen
    force. It is evaluated as ``-∫ σ_zz dV / t`` over a slab of thickness
    ``t`` around the cut (the mean over the planes in the slab), cell by cell,
    and split by the tissue label of the material map.

    Parameters
    ----------
    z : float, keyword-only
        Height of the cut, mm; default midway between the mean heights of the
        ``superior`` and ``inferior`` nodes.
    thickness : float, keyword-only
        Slab thickness, mm; default a quarter of that mean height.

    Returns
    -------
    dict
        Tissue name -> force (N, compression positive) for every tissue present
        in the slab, and ``"total"``.
    """
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    a, b = _cut_slab(mesh, z, thickness, superior, inferior)
    w = slab_weights(mesh, a, b)
    f = -w * np.asarray(result.stress)[:, 2]
    per = np.bincount(materials.tissue, weights=f, minlength=len(TISSUES))
    present = np.bincount(materials.tissue, weights=(w > 0).astype(float), minlength=len(TISSUES)) > 0
    out = {TISSUES[i]: float(per[i]) for i in np.flatnonzero(present)}
    out["total"] = float(f.sum())
    return out


# ----------------------------------------------------------- strain and strength
def _check_measure(measure: str) -> None:
    if measure not in STRAIN_MEASURES:
        raise ValueError(f"measure={measure!r} is not available; allowed: {', '.join(STRAIN_MEASURES)}")


def cell_effective_strain(materials: MaterialMap, result: Result, *, measure: str = "energy") -> np.ndarray:
    """Effective strain of every cell (dimensionless).

    ``"energy"``: ``sqrt(2 U / E)`` with the strain-energy density
    ``U = σ:ε / 2`` (Pistoia 2002); ``"von_mises"``: the von Mises equivalent
    strain of :func:`vbfem.fem.post.effective_strain`.
    """
    _check_measure(measure)
    if measure == "von_mises":
        return von_mises_strain(result.strain)
    sed2 = np.einsum("ij,ij->i", np.asarray(result.stress), np.asarray(result.strain))  # 2 U
    return np.sqrt(np.clip(sed2, 0.0, None) / materials.E)


def bone_mask(materials: MaterialMap, tissues=BONE_TISSUES) -> np.ndarray:
    """Cells whose tissue is one of ``tissues`` (default :data:`BONE_TISSUES`)."""
    codes = [tissue_code(t) for t in tissues]
    return np.isin(materials.tissue, codes)


@dataclass(frozen=True)
class StrainVolume:
    """Bone volume above a strain limit at a given load.

    Attributes
    ----------
    load : float
        Platen force at which it is evaluated, N.
    limit : float
        Strain limit.
    volume : float
        Bone volume above the limit, mm³.
    fraction : float
        Same, as a fraction of the bone volume.
    bone_volume : float
        mm³.
    """

    load: float
    limit: float
    volume: float
    fraction: float
    bone_volume: float


def _scaled_strains(mesh, materials, result, platen, measure, tissues):
    _check_result(result, platen)
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    f_ref = platen_force(result, platen=platen)
    if not f_ref > 0:
        raise ValueError(f"platen {platen!r} carries no compressive force ({f_ref!r} N); strength needs compression")
    mask = bone_mask(materials, tissues)
    if not mask.any():
        raise ValueError(f"no cells of tissues {tissues} in the material map")
    eps = cell_effective_strain(materials, result, measure=measure)[mask]
    vol = cell_volumes(mesh, np.flatnonzero(mask))
    return f_ref, eps / f_ref, vol  # strain per newton


def strain_volume(mesh: Mesh, materials: MaterialMap, result: Result, *, load: float | None = None,
                  limit: float = STRAIN_LIMIT, measure: str = "energy", platen: str = "platen",
                  tissues=BONE_TISSUES) -> StrainVolume:
    """Bone volume whose effective strain exceeds ``limit`` at platen force ``load``.

    By linearity the strains of ``result`` are scaled by ``load / F``, ``F``
    the platen force of ``result``.

    Parameters
    ----------
    load : float, keyword-only
        Compressive platen force in N (> 0); default the force of ``result``.
    limit : float, keyword-only
        Strain limit (> 0), default 0.007 (Pistoia 2002, unverified).
    measure : {"energy", "von_mises"}, keyword-only
    """
    lim = float(limit)
    if not (lim > 0 and np.isfinite(lim)):
        raise ValueError(f"limit must be a strain > 0, got {limit!r}")
    f_ref, eps, vol = _scaled_strains(mesh, materials, result, platen, measure, tissues)
    F = f_ref if load is None else float(load)
    if not (F > 0 and np.isfinite(F)):
        raise ValueError(f"load must be a force magnitude > 0 N, got {load!r}")
    above = eps * F > lim
    v = float(vol[above].sum())
    return StrainVolume(F, lim, v, v / float(vol.sum()), float(vol.sum()))


def linear_strength(mesh: Mesh, materials: MaterialMap, result: Result, *, limit: float = STRAIN_LIMIT,
                    fraction: float = FAILED_FRACTION, measure: str = "energy", platen: str = "platen",
                    tissues=BONE_TISSUES) -> float:
    """Fast linear strength estimate: the platen force at which ``fraction`` of the
    bone volume exceeds the effective strain ``limit``, N.

    Defaults: 2 % of the bone above 0.7 % effective strain (Pistoia 2002;
    unverified, REFERENCE.md). By linearity the load is ``F · limit / ε*``,
    ``ε*`` the strain exceeded by exactly ``fraction`` of the bone volume in
    the solution at force ``F``.
    """
    lim, frac = float(limit), float(fraction)
    if not (lim > 0 and np.isfinite(lim)):
        raise ValueError(f"limit must be a strain > 0, got {limit!r}")
    if not (0 < frac < 1):
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    _, eps, vol = _scaled_strains(mesh, materials, result, platen, measure, tissues)
    order = np.argsort(eps)[::-1]
    cum = np.cumsum(vol[order]) / vol.sum()
    k = int(np.searchsorted(cum, frac))  # first cell at which the failed fraction is reached
    e_star = eps[order[min(k, order.size - 1)]]
    if not e_star > 0:
        raise ValueError("the bone is unstrained in this solution; cannot estimate a strength")
    return float(lim / e_star)


# ---------------------------------------------------------------- one-call summary
@dataclass(frozen=True, eq=False)
class LinearResponse:
    """Summary of one linear solve.

    Attributes
    ----------
    stiffness : float
        N/mm.
    force : float
        Compressive platen force, N.
    strength : float
        Linear strength estimate, N (:func:`linear_strength`).
    load_share : mapping
        Tissue -> axial force through the mid cut, N.
    result : Result
    """

    stiffness: float
    force: float
    strength: float
    load_share: Mapping[str, float] = field(default_factory=dict)
    result: Result | None = None

    def __post_init__(self):
        object.__setattr__(self, "load_share", MappingProxyType(dict(self.load_share)))


def linear_response(mesh: Mesh, materials: MaterialMap, load: LoadCase, *, platen: str = "platen",
                    solver: str = "auto", **strength_options) -> LinearResponse:
    """Solve ``load`` once and return stiffness, platen force, linear strength and load share."""
    res = solve_static(mesh, materials, load, solver=solver)
    share = load_share(mesh, materials, res) if {"superior", "inferior"} <= set(mesh.node_sets) else {}
    return LinearResponse(
        stiffness=stiffness(res, platen=platen),
        force=platen_force(res, platen=platen),
        strength=linear_strength(mesh, materials, res, platen=platen, **strength_options),
        load_share=share,
        result=res,
    )


__all__ = [
    "BONE_TISSUES", "FAILED_FRACTION", "STRAIN_LIMIT", "STRAIN_MEASURES", "EndplatePressure", "LinearResponse",
    "StrainVolume", "bone_mask", "cell_effective_strain", "endplate_pressure", "linear_response",
    "linear_strength", "load_share", "platen_force", "slab_weights", "stiffness", "strain_volume",
    "surface_faces", "tributary_areas",
]
