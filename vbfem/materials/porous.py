"""Trabecular bone as a porous medium: porosity and anisotropic permeability per cell.

Porosity is ``1 - ρ_app / ρ_tissue`` (:data:`TISSUE_DENSITY`); permeability
follows Kozeny–Carman (:func:`kozeny_carman`) anchored at Baroud et al.'s
lumbar values, anisotropic in body axes (x anterior–posterior, y
medial–lateral, z superior–inferior), with an optional seeded random factor.
Voids (cleft, kyphoplasty cavity) flow nearly freely; cortex and endplates are
sealed except for ``"outlet_*"`` cell sets. :func:`porous_medium` builds the
:class:`PorousMedium` that :func:`vbfem.treatment.network.flow_network` discretises.
Units: mm, mm² (the constants are in m² where their names say so).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..fem.cells import cell_centroids, cell_volumes
from ..records import TISSUES, MaterialMap, Mesh
from .bone import BONE_QUALITY
from .random_field import correlated_field

log = logging.getLogger(__name__)

_M2_TO_MM2 = 1e6

#: Mineralised bone tissue density, g/cm³ (1.8–2.05; ~2.0 used in
#: Keaveny et al. 2001, Annu Rev Biomed Eng 3:307; Gong 1964). 1.9 is the
#: middle of the range: porosity = 1 - ρ_app / ρ_tissue.
TISSUE_DENSITY = 1.9

#: Lumbar trabecular permeability, m²: superior–inferior 4.45e-8, anterior–
#: posterior 3.44e-8 (Baroud et al. 2004, J Biomech 37:189). Medial–lateral is
#: taken equal to anterior–posterior (assumption, not measured there).
PERMEABILITY_SI = 4.45e-8
PERMEABILITY_AP = 3.44e-8

#: Porosity at which the Kozeny–Carman curve is anchored to Baroud's values:
#: that of the osteoporotic level's mean trabecular density
#: (:data:`vbfem.materials.bone.BONE_QUALITY`, 0.10 g/cm³: 1 - 0.10/1.9 = 0.947).
#: Baroud's 20 lumbar vertebrae came from the elderly donors of a study of
#: cement augmentation of osteoporotic vertebrae, and the abstract does not
#: give their porosity (assumption, unverified). With this anchor the default
#: osteoporotic body has Baroud's mean permeability, an osteopenic one (0.17
#: g/cm³) 1.4e-8 m² and a normal one (0.22 g/cm³) 7.5e-9 m², inside the
#: 2.7e-11 to 2e-8 m² range of Nauman et al. 1999; the earlier anchor at 0.90
#: gave 1.8e-7 m² for osteoporotic bone, four times Baroud's mean.
REFERENCE_POROSITY = 1.0 - BONE_QUALITY["osteoporotic"].trabecular_density / TISSUE_DENSITY

#: Porosity and permeability (m²) of a void (cleft, cavity): nearly free flow
#: (assumption: 1e-5 m² is ~200x trabecular bone; any much larger value gives
#: the same fill-first behaviour).
VOID_POROSITY = 0.999
VOID_PERMEABILITY = 1e-5

#: Tissues through which cement may flow (others are sealed unless outlets).
FLOW_TISSUES = ("trabecular", "damaged", "compacted", "void", "composite")

def kozeny_carman(porosity, *, reference_permeability=PERMEABILITY_SI, reference_porosity=REFERENCE_POROSITY):
    """Permeability (same unit as ``reference_permeability``) from porosity.

    ``k = k_ref · g(φ)/g(φ_ref)`` with the Kozeny–Carman porosity function
    ``g = φ³/(1-φ)²`` (Carman 1937), which falls nonlinearly with bone volume
    fraction as Nauman et al. 1999 report; porosity alone explains most of the
    variance (R² 0.6–0.9, Widmer & Ferguson 2013). ``φ`` is limited to 0.98.
    """
    phi = np.clip(np.asarray(porosity, dtype=float), 1e-3, 0.98)
    g = phi ** 3 / (1.0 - phi) ** 2
    g0 = reference_porosity ** 3 / (1.0 - reference_porosity) ** 2
    return reference_permeability * g / g0


@dataclass(frozen=True, eq=False)
class PorousMedium:
    """Per-cell porous-medium properties on a mesh.

    Attributes
    ----------
    porosity : ndarray (n_cells,)
        Pore fraction (0 in sealed cells).
    permeability : ndarray (n_cells, 3)
        Diagonal permeability in body axes (x AP, y ML, z SI), mm².
    flow : ndarray of bool (n_cells,)
        Cells through which cement can flow.
    outlets : mapping str -> int arrays
        Outlet cell sets (held at venous pressure).
    volume, centroid : ndarray
        Cell volumes (mm³) and centroids (mm).
    params : mapping
        Provenance.
    """

    porosity: np.ndarray
    permeability: np.ndarray
    flow: np.ndarray
    outlets: Mapping[str, np.ndarray]
    volume: np.ndarray
    centroid: np.ndarray
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("porosity", "permeability", "flow", "volume", "centroid"):
            a = np.array(getattr(self, name), copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        object.__setattr__(self, "outlets", MappingProxyType({k: np.asarray(v, np.int64) for k, v in self.outlets.items()}))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def n_cells(self) -> int:
        return self.porosity.size

    @property
    def pore_volume(self) -> np.ndarray:
        """φ V per cell, mm³ (0 outside flow cells)."""
        return np.where(self.flow, self.porosity * self.volume, 0.0)


def porous_medium(mesh: Mesh, materials: MaterialMap, *, tissue_density: float = TISSUE_DENSITY,
                  permeability_si: float = PERMEABILITY_SI, permeability_ap: float = PERMEABILITY_AP,
                  permeability_ml: float | None = None, reference_porosity: float = REFERENCE_POROSITY,
                  porosity=None, permeability=None, flow_cells=None, outlets: Mapping[str, Sequence[int]] | None = None,
                  void_porosity: float = VOID_POROSITY, void_permeability: float = VOID_PERMEABILITY,
                  heterogeneity: float = 0.0, seed=None, correlation_length: float = 0.0) -> PorousMedium:
    """Porosity and anisotropic permeability of every cell.

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
        ``materials.density`` (apparent, g/cm³) gives the porosity
        ``1 - ρ/tissue_density``; ``materials.tissue`` selects flow cells
        (:data:`FLOW_TISSUES`; "void" cells get ``void_porosity`` /
        ``void_permeability``) and the cells of ``"outlet_*"`` cell sets are outlets.
    tissue_density : float, keyword-only
        g/cm³, default :data:`TISSUE_DENSITY`.
    permeability_si, permeability_ap, permeability_ml : float
        Permeability at ``reference_porosity`` along z, x and y, m² (Baroud 2004;
        ML defaults to AP).
    porosity, permeability : array_like, optional
        Per-cell overrides: ``porosity`` (n,), ``permeability`` (n,) isotropic or
        (n, 3) in m²; NaN entries keep the computed value (kyphoplasty shells).
    flow_cells : array_like of int, optional
        Replace the flow-cell selection.
    outlets : mapping, optional
        Extra outlet cell sets (added to the mesh's ``"outlet_*"`` sets).
    heterogeneity : float
        Standard deviation ``σ`` of the natural log of a seeded log-normal permeability factor
        ``exp(σ g)`` (0: none). For scale: Baroud et al. 2004 (J Biomech 37:189) report the
        superior–inferior permeability of lumbar cores as 4.45 ± 1.72e-8 m², a coefficient of
        variation of 0.39, i.e. ``σ = sqrt(ln(1 + 0.39²)) = 0.37`` between cores.
    seed : int, optional
        Seed of that factor.
    correlation_length : float
        mm. 0 (default): ``g`` is independent from cell to cell (white, its correlation length the
        cell size). > 0: ``g`` is the Gaussian random field of :func:`vbfem.materials.random_field.correlated_field`
        (the bone density's field) with covariance ``exp(-r²/(2ℓ²))``, standardised over the flow cells,
        independent of the mesh size. No published correlation
        length of trabecular permeability in the vertebral body was found for this project: choose
        it and say so.
    """
    n = mesh.n_cells
    if not tissue_density > 0:
        raise ValueError(f"tissue_density={tissue_density!r} must be > 0 g/cm³")
    for name, v in (("permeability_si", permeability_si), ("permeability_ap", permeability_ap),
                    ("void_permeability", void_permeability)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name}={v!r} must be a finite permeability > 0 m²")
    if not 0 < reference_porosity < 1:
        raise ValueError(f"reference_porosity={reference_porosity!r} must lie in (0, 1)")
    if not 0 < void_porosity <= 1:
        raise ValueError(f"void_porosity={void_porosity!r} must lie in (0, 1]")
    if not heterogeneity >= 0:
        raise ValueError(f"heterogeneity={heterogeneity!r} must be >= 0")
    if not (np.isfinite(correlation_length) and correlation_length >= 0):
        raise ValueError(f"correlation_length={correlation_length!r} must be a finite length >= 0 mm")
    if materials.n_cells != n:
        raise ValueError(f"materials has {materials.n_cells} cells, mesh has {n}")
    tissue = materials.tissue if materials.tissue is not None else np.zeros(n, np.int8)
    codes = [TISSUES.index(t) for t in FLOW_TISSUES]
    flow = np.isin(tissue, codes)
    if flow_cells is not None:
        flow = np.zeros(n, bool)
        flow[np.asarray(flow_cells, np.int64)] = True
    void = tissue == TISSUES.index("void")
    overridden = porosity is not None and np.all(np.isfinite(np.asarray(porosity, float)[flow]))
    dens = materials.density if overridden else materials.require_density("porous_medium (porosity, permeability)")
    dens = np.where(np.isfinite(dens), dens, 0.0)
    phi = np.clip(1.0 - dens / tissue_density, 0.0, 1.0)
    ml = permeability_ap if permeability_ml is None else permeability_ml
    kref = np.array([permeability_ap, ml, permeability_si])
    g = kozeny_carman(phi, reference_permeability=1.0, reference_porosity=reference_porosity)
    k = g[:, None] * kref[None, :]
    phi = np.where(void, void_porosity, phi)
    k[void] = void_permeability
    centroid = cell_centroids(mesh)
    if heterogeneity > 0 and correlation_length > 0:
        w = cell_volumes(mesh) * (flow if flow.any() else 1.0)  # standardised over the flow cells
        k *= np.exp(heterogeneity * correlated_field(centroid, correlation_length=correlation_length,
                                                     seed=seed, weights=w))[:, None]
    elif heterogeneity > 0:
        k *= np.exp(heterogeneity * np.random.default_rng(seed).standard_normal(n))[:, None]
    if porosity is not None:
        po = np.asarray(porosity, float)
        if po.shape != (n,):
            raise ValueError(f"porosity override must have shape ({n},), got {po.shape}")
        if np.any(np.isfinite(po) & ((po <= 0) | (po > 1))):
            raise ValueError("porosity override values must lie in (0, 1]")
        phi = np.where(np.isfinite(po), po, phi)
    if permeability is not None:
        ko = np.asarray(permeability, float)
        if ko.shape == (n,):
            ko = np.repeat(ko[:, None], 3, axis=1)
        if ko.shape != (n, 3):
            raise ValueError(f"permeability override must have shape ({n},) or ({n}, 3), got {ko.shape}")
        if np.any(np.isfinite(ko) & (ko <= 0)):
            raise ValueError("permeability override values must be > 0 m²")
        k = np.where(np.isfinite(ko), ko, k)
    out_sets = {name: np.asarray(mesh.cell_sets[name], np.int64) for name in mesh.cell_sets if name.startswith("outlet_")}
    for name, cells in dict(outlets or {}).items():
        out_sets[name if name.startswith("outlet_") else f"outlet_{name}"] = np.asarray(cells, np.int64)
    is_out = np.zeros(n, bool)
    for cells in out_sets.values():
        is_out[cells] = True
    flow &= ~is_out
    solid = flow & (phi <= 0)
    if solid.any():  # at tissue density (dense image voxels, bone crushed to the tissue): no pores, no flow
        log.warning("porous_medium: %d cells at the tissue density (porosity 0) are solid: no cement flows through "
                    "them", int(solid.sum()))
        flow &= ~solid
    return PorousMedium(porosity=np.where(flow, phi, 0.0), permeability=k * _M2_TO_MM2, flow=flow, outlets=out_sets,
                        volume=cell_volumes(mesh), centroid=centroid,
                        params={"tissue_density": tissue_density, "permeability_si_m2": permeability_si,
                                "permeability_ap_m2": permeability_ap, "permeability_ml_m2": ml,
                                "reference_porosity": reference_porosity, "permeability_law": "kozeny_carman",
                                "heterogeneity": heterogeneity, "seed": seed,
                                "correlation_length_mm": correlation_length})
