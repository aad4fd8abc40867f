"""Strength of the tissues: yield strains and stresses per tissue for the elastic–plastic analysis.

:func:`plastic_material` turns a :class:`~vbfem.records.MaterialMap` into the per-cell
Drucker–Prager parameters of :mod:`vbfem.fem.plasticity`.

Yield strains per tissue
------------------------
trabecular, endplate, compacted, damaged, composite, potting:
    0.84 % compression, 0.78 % tension — Kopperdahl & Keaveny 1998
    (:data:`vbfem.materials.laws.YIELD_STRAIN_COMPRESSION`, ``..._TENSION``; unverified).
cortical:
    same apparent yield strains as trabecular (the thin vertebral shell is
    modelled as a dense trabecular-like continuum; unverified simplification).
cement (PMMA):
    compressive strength 80 MPa (ISO 5833 minimum 70 MPa; 70–90 MPa, REFERENCE.md,
    unverified) and tensile strength 40 MPa (unverified, about half the
    compressive), converted to strains with the cell's modulus.
disc, void:
    never yield (elastic).

Strength that does not follow the modulus
-----------------------------------------
A yield strain times the modulus is the measured behaviour of intact bone
(Kopperdahl & Keaveny 1998: the yield strain hardly depends on density). It is
wrong for damaged bone, which keeps most of its strength while losing most of
its modulus (:mod:`vbfem.materials.damage`), and for cement-filled bone, whose
strength is the cement's (Kinzl et al. 2011). Those cells carry their own
compressive yield stress in ``MaterialMap.yield_stress`` (set by
:func:`vbfem.fracture.deformity.apply_fracture` and
:func:`vbfem.materials.cement.with_cement`); :func:`yield_stresses` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..fem.plasticity import NO_YIELD, PlasticMaterial, drucker_prager
from ..records import TISSUES, MaterialMap
from .laws import YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION

__all__ = ["HARDENING_RATIO", "Softening", "PMMA_COMPRESSIVE_STRENGTH", "PMMA_TENSILE_STRENGTH", "PMMA_WET_FACTOR",
           "TENSION_RATIO", "YIELD_STRAINS", "YIELD_STRESSES", "plastic_material", "yield_stresses"]

#: Default post-yield uniaxial tangent ratio E_t / E: "small" hardening, a modelling choice used in
#: vertebral FE studies of the Keaveny group (unverified); see :mod:`vbfem.fem.plasticity`.
HARDENING_RATIO = 0.05

#: PMMA compressive strength in MPa, dry as ISO 5833 tests it: 70–90 MPa, ISO 5833 minimum 70 MPa
#: (REFERENCE.md; unverified).
PMMA_COMPRESSIVE_STRENGTH = 80.0
#: PMMA tensile strength in MPa (unverified; about half the compressive strength).
PMMA_TENSILE_STRENGTH = 40.0
#: Dry (ISO 5833) over wet (37 °C) ultimate compressive strength of PMMA after 24 h: 1.16
#: (Nottrott et al., Acta Orthop 2008;79:826, abstract; 1.34 after a month). Cement in bone
#: is wet and ex vivo tests run within a day, so the cements' strengths are the ISO
#: values divided by it (:mod:`vbfem.materials.cement`).
PMMA_WET_FACTOR = 1.16

#: Yield strains (compression, tension) by tissue; NaN strength = never yields. See module docstring.
YIELD_STRAINS: Mapping[str, tuple] = MappingProxyType({
    "trabecular": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
    "cortical": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
    "endplate": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
    "composite": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
    "compacted": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
    "damaged": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
    "potting": (YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION),
})

#: Tissues whose yield is given as a strength (MPa): (compression, tension).
YIELD_STRESSES: Mapping[str, tuple] = MappingProxyType({
    "cement": (PMMA_COMPRESSIVE_STRENGTH, PMMA_TENSILE_STRENGTH),
})

#: Tension over compression yield stress of the cells whose compressive yield stress is given
#: per cell (``MaterialMap.yield_stress``): bone's yield-strain ratio (0.78 / 0.84 %), the
#: cement's strength ratio for cement and cement–bone composite (its strength is the cement's).
TENSION_RATIO: Mapping[str, float] = MappingProxyType({
    **{t: YIELD_STRAIN_TENSION / YIELD_STRAIN_COMPRESSION for t in YIELD_STRAINS},
    "composite": PMMA_TENSILE_STRENGTH / PMMA_COMPRESSIVE_STRENGTH,
    "cement": PMMA_TENSILE_STRENGTH / PMMA_COMPRESSIVE_STRENGTH,
})


@dataclass(frozen=True)
class Softening:
    """A post-ultimate softening law of bone in uniaxial compression, for :func:`plastic_material`.

    Past yield the stress rises with the hardening ratio to the ultimate point at the plastic strain
    ``ultimate_plastic_strain``, then falls with the tangent ``softening_ratio * E`` to
    ``residual_ratio`` times the ultimate stress, and stays there
    (:func:`vbfem.fem.plasticity.drucker_prager`).

    vbfem has **no default law**: no published post-ultimate slope or residual stress of vertebral
    trabecular bone at the apparent level was found (searched for this model: Kopperdahl & Keaveny
    1998, Morgan & Keaveny 2001 and the Keaveny group's vertebral models, which use hardening only;
    the Bern group's homogenised models moved from softening to linear hardening). The law is local:
    past the peak the softening localises in one layer of cells, so a curve's descending branch (not
    its peak, while the peak comes before the softening spreads) depends on the mesh.

    Attributes
    ----------
    ultimate_plastic_strain : float
        Plastic strain at the ultimate (peak) stress (dimensionless, > 0).
    softening_ratio : float
        Post-ultimate tangent over the elastic modulus (< 0).
    residual_ratio : float
        Residual over ultimate stress, in [0, 1].
    tissues : tuple of str
        Tissues that soften (default trabecular bone, the endplate and the cortical shell, which
        :data:`YIELD_STRAINS` models as the same material).
    """

    ultimate_plastic_strain: float
    softening_ratio: float
    residual_ratio: float
    tissues: tuple = ("trabecular", "cortical", "endplate")

    def __post_init__(self):
        if not (np.isfinite(self.ultimate_plastic_strain) and self.ultimate_plastic_strain > 0):
            raise ValueError(f"ultimate_plastic_strain = {self.ultimate_plastic_strain!r}: must be a strain > 0")
        if not (np.isfinite(self.softening_ratio) and self.softening_ratio < 0):
            raise ValueError(f"softening_ratio = {self.softening_ratio!r}: must be a post-ultimate tangent ratio < 0")
        if not 0 <= self.residual_ratio <= 1:
            raise ValueError(f"residual_ratio = {self.residual_ratio!r}: must be in [0, 1]")
        unknown = [t for t in self.tissues if t not in YIELD_STRAINS]
        if unknown or not self.tissues:
            raise ValueError(f"tissues = {self.tissues!r}: must be a non-empty subset of {sorted(YIELD_STRAINS)}")


def yield_stresses(materials: MaterialMap) -> tuple[np.ndarray, np.ndarray]:
    """Uniaxial yield stresses (compression, tension magnitudes), MPa, of every cell.

    A cell's own ``MaterialMap.yield_stress`` where it is given (tension by
    :data:`TENSION_RATIO`), else its tissue's rule: :data:`YIELD_STRAINS` times ``E``,
    or :data:`YIELD_STRESSES`; :data:`~vbfem.fem.plasticity.NO_YIELD` for tissues that
    never yield (disc, void).
    """
    E = materials.E
    m = E.size
    sc = np.full(m, NO_YIELD)
    st = np.full(m, NO_YIELD)
    for name, (ec, et) in YIELD_STRAINS.items():
        mask = materials.tissue == TISSUES.index(name)
        sc[mask], st[mask] = E[mask] * ec, E[mask] * et
    for name, (c, t) in YIELD_STRESSES.items():
        mask = materials.tissue == TISSUES.index(name)
        sc[mask], st[mask] = c, t
    if materials.yield_stress is not None:
        given = np.isfinite(materials.yield_stress)
        ratio = np.full(m, YIELD_STRAIN_TENSION / YIELD_STRAIN_COMPRESSION)
        for name, r in TENSION_RATIO.items():
            ratio[materials.tissue == TISSUES.index(name)] = r
        sc[given] = materials.yield_stress[given]
        st[given] = ratio[given] * sc[given]
    return sc, st


def plastic_material(materials: MaterialMap, *, yield_strain_compression=None, yield_strain_tension=None,
                     hardening_ratio: float = HARDENING_RATIO, softening: Softening | None = None) -> PlasticMaterial:
    """Drucker–Prager parameters per cell from a :class:`~vbfem.records.MaterialMap`.

    Parameters
    ----------
    materials : MaterialMap
        Per-cell E (MPa), nu and tissue labels.
    yield_strain_compression, yield_strain_tension : float or array (m,), optional
        Magnitudes of the uniaxial yield strains (dimensionless, > 0), overriding every
        cell's. Default: :func:`yield_stresses` (each cell's own yield stress where the
        map gives one, else its tissue's rule).
    hardening_ratio : float, keyword-only
        Post-yield uniaxial tangent E_t / E, in [-0.3, 1); default 0.05.
    softening : Softening, optional, keyword-only
        A post-ultimate softening law for the cells of its tissues (default none: hardening without
        end, the curve's largest force is then the force at the end of its travel).
    """
    if not isinstance(materials, MaterialMap):
        raise TypeError(f"materials must be a MaterialMap, got {type(materials).__name__}")
    if not materials.isotropic:
        raise ValueError(
            f"the elastic-plastic model is isotropic, but {int(materials.anisotropic_cells().sum())} cells of "
            f"this material map are anisotropic (law {materials.law!r}); use an isotropic law such as "
            "'morgan2003' for load-displacement curves, or the linear response (stiffness, linear strength)"
        )
    E = materials.E
    m = E.size
    sc, st = yield_stresses(materials)
    for value, name, target in ((yield_strain_compression, "yield_strain_compression", sc),
                                (yield_strain_tension, "yield_strain_tension", st)):
        if value is None:
            continue
        v = np.broadcast_to(np.asarray(value, float), (m,))
        if not np.all(np.isfinite(v) & (v > 0)):
            raise ValueError(f"{name} must be finite and > 0 (a strain magnitude), got {value!r}")
        target[:] = E * v
    if softening is None:
        return drucker_prager(E, materials.nu, sc, st, hardening_ratio=hardening_ratio)
    if not isinstance(softening, Softening):
        raise TypeError(f"softening must be a Softening, got {type(softening).__name__}")
    soft = np.isin(materials.tissue, [TISSUES.index(t) for t in softening.tissues]) & (sc < NO_YIELD)
    return drucker_prager(E, materials.nu, sc, st, hardening_ratio=hardening_ratio,
                          ultimate_plastic_strain=np.where(soft, softening.ultimate_plastic_strain, np.inf),
                          softening_ratio=softening.softening_ratio, residual_ratio=softening.residual_ratio,
                          params={"softening_law": softening})
