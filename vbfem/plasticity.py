"""Elastic–plastic material for bone (and cement): asymmetric Drucker–Prager with linear hardening.

Model choice
------------
Small-strain, rate-independent, associative Drucker–Prager plasticity with
linear isotropic hardening::

    f = q + 3 alpha p - (k0 + H kappa),    q = von Mises stress, p = mean stress (tension > 0)

The two constants are fitted to the uniaxial yield stresses in tension and
compression, ``sigma_t = E eps_yt`` and ``sigma_c = E eps_yc``::

    alpha = (sigma_c - sigma_t) / (sigma_c + sigma_t),   k0 = 2 sigma_c sigma_t / (sigma_c + sigma_t)

so a homogeneous uniaxial test yields exactly at the prescribed strain in each
direction (checked in ``tests/test_plasticity.py``). Plasticity (rather than
continuum damage) is chosen because (i) trabecular bone's post-yield response is
dominated by permanent deformation with little modulus loss up to the strains of
a compression test to the first force peak (Keaveny et al. 1994, unverified),
(ii) associative plasticity with positive or mildly negative hardening gives a
symmetric consistent tangent, so the same SPD solvers as the linear code apply,
and (iii) the return mapping is closed-form (one linear equation), so Newton
converges quadratically. The hardening modulus ``H`` is set from a post-yield
uniaxial tangent ratio ``h = E_t / E`` (von Mises limit ``H = h E / (1 - h)``);
default ``h = 0.05`` (the brief's "small" hardening; a modelling choice used in
vertebral FE studies of the Keaveny group, unverified). Negative ``h``
(softening) is accepted down to -0.3 but is mesh-dependent (no regularisation)
and makes the tangent indefinite, so it needs ``solver="direct"``.

Yield strains per tissue
------------------------
trabecular, endplate, compacted, damaged, composite, potting:
    0.84 % compression, 0.78 % tension — Kopperdahl & Keaveny 1998
    (:data:`vbfem.laws.YIELD_STRAIN_COMPRESSION`, ``..._TENSION``; unverified).
cortical:
    same apparent yield strains as trabecular (the thin vertebral shell is
    modelled as a dense trabecular-like continuum; unverified simplification).
cement (PMMA):
    compressive strength 80 MPa (ISO 5833 minimum 70 MPa; 70–90 MPa, REFERENCE.md,
    unverified) and tensile strength 40 MPa (unverified, about half the
    compressive), converted to strains with the cell's modulus.
disc, void:
    never yield (elastic).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .elements import lame
from .laws import YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION
from .records import TISSUES, MaterialMap

#: Default post-yield uniaxial tangent ratio E_t / E (modelling choice, see module docstring).
HARDENING_RATIO = 0.05

#: PMMA compressive strength in MPa: 70–90 MPa, ISO 5833 minimum 70 MPa (REFERENCE.md; unverified).
PMMA_COMPRESSIVE_STRENGTH = 80.0
#: PMMA tensile strength in MPa (unverified; about half the compressive strength).
PMMA_TENSILE_STRENGTH = 40.0

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

#: Yield stress used for cells that never yield (MPa): effectively infinite.
NO_YIELD = 1e30


@dataclass(frozen=True, eq=False)
class PlasticMaterial:
    """Per-cell Drucker–Prager parameters.

    Attributes
    ----------
    G, K : ndarray (m,)
        Shear and bulk modulus, MPa.
    alpha : ndarray (m,)
        Pressure sensitivity (dimensionless, in [0, 1)).
    k0 : ndarray (m,)
        Initial yield-surface constant, MPa.
    H : ndarray (m,)
        Hardening modulus, MPa (per unit equivalent plastic strain).
    sigma_c, sigma_t : ndarray (m,)
        Uniaxial yield stresses in compression and tension (magnitudes), MPa.
    params : mapping
        Provenance (hardening ratio, yield strains used).
    """

    G: np.ndarray
    K: np.ndarray
    alpha: np.ndarray
    k0: np.ndarray
    H: np.ndarray
    sigma_c: np.ndarray
    sigma_t: np.ndarray
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return self.G.shape[0]


def plastic_material(materials: MaterialMap, *, yield_strain_compression=None, yield_strain_tension=None,
                     hardening_ratio: float = HARDENING_RATIO) -> PlasticMaterial:
    """Drucker–Prager parameters per cell from a :class:`~vbfem.records.MaterialMap`.

    Parameters
    ----------
    materials : MaterialMap
        Per-cell E (MPa), nu and tissue labels.
    yield_strain_compression, yield_strain_tension : float or array (m,), optional
        Magnitudes of the uniaxial yield strains (dimensionless, > 0). Default:
        per tissue from :data:`YIELD_STRAINS` / :data:`YIELD_STRESSES`.
    hardening_ratio : float, keyword-only
        Post-yield uniaxial tangent E_t / E, in [-0.3, 1); default 0.05.
    """
    if not isinstance(materials, MaterialMap):
        raise TypeError(f"materials must be a MaterialMap, got {type(materials).__name__}")
    if not materials.isotropic:
        raise ValueError(
            f"the elastic-plastic model is isotropic, but {int(materials.anisotropic_cells().sum())} cells of "
            f"this material map are anisotropic (law {materials.law!r}); use an isotropic law such as "
            "'morgan2003' for load-displacement curves, or the linear response (stiffness, linear strength)"
        )
    h = float(hardening_ratio)
    if not (-0.3 <= h < 1.0):
        raise ValueError(f"hardening_ratio must be in [-0.3, 1), got {hardening_ratio!r}")
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
    for value, name, target in ((yield_strain_compression, "yield_strain_compression", sc),
                                (yield_strain_tension, "yield_strain_tension", st)):
        if value is None:
            continue
        v = np.broadcast_to(np.asarray(value, float), (m,))
        if not np.all(np.isfinite(v) & (v > 0)):
            raise ValueError(f"{name} must be finite and > 0 (a strain magnitude), got {value!r}")
        target[:] = E * v
    lam, G = lame(E, materials.nu)
    K = lam + 2.0 * G / 3.0
    alpha = (sc - st) / (sc + st)
    k0 = 2.0 * sc * st / (sc + st)
    H = E * h / (1.0 - h)
    if np.any(3.0 * G + H <= 0):
        raise ValueError(f"hardening_ratio={h} softens faster than the elastic shear stiffness allows")
    return PlasticMaterial(G, K, alpha, k0, H, sc, st,
                           MappingProxyType({"hardening_ratio": h, "model": "drucker-prager, associative"}))
