"""Damaged trabecular bone: what is left of its modulus and strength after an overload.

Trabecular bone compressed beyond yield and unloaded re-loads with a much lower
modulus, but its stress–strain curve climbs back towards the intact envelope:
the strength falls far less than the modulus. The material tests:

- Keaveny, Wachtel & Kopperdahl, J Orthop Res 1999;17:346 (human vertebral
  cores overloaded to strains up to about 3 %, unloaded and reloaded): the
  reloading modulus fell by up to about 85 %, growing with the applied strain
  and independent of density; the reloading strength fell much less.
  *Recalled, unverified* (the full text was not available): the shape of the
  modulus loss between onset and saturation and the residual strength below
  are to be replaced by the paper's fit.
- Wolfram, Wilke & Zysset, J Biomech 2011;44:1164 (251 vertebral cores, five
  load steps in compression, tension or torsion): modulus loss (damage) rose
  from 0 to **86 %** in compression, residual strain to 0.8 % (abstract).
- Morgan, Yeh & Keaveny, Eur J Morphol 2005;42:13 (vertebral cores): modulus
  loss begins at **0.24 %** strain, well below yield (abstract).
- Fyhrie & Schaffler, Bone 1994;15:105 (vertebral cancellous bone compressed to
  large strains): the modulus is lost, most of the ultimate strength is kept on
  reloading. *Recalled, unverified.*

The model (:func:`residual_modulus_fraction`, :func:`residual_strength_fraction`):
after an overload to the compressive strain ``ε``, the bone reloads with
``E' = (1 - D(ε)) E`` and yields at ``σ' = (1 - S(ε)) σ_y``, where the damage
``D`` rises linearly from 0 at :data:`DAMAGE_ONSET_STRAIN` to
:data:`MODULUS_LOSS_MAX` at :data:`DAMAGE_SATURATION_STRAIN` and stays there,
and the strength loss ``S`` follows the same ramp to :data:`STRENGTH_LOSS_MAX`.
Nothing here is fitted to the vertebral-level data (Wegrzyn et al., JBMR
2011;26:739: -53 % stiffness, -11 % strength after a 25 % deformity): the
fracture model calibrates only the band's extent to the stiffness loss, and the
strength loss it then gives is a prediction (``vbfem validate``).
"""

from __future__ import annotations

import numpy as np

from ..records import MaterialMap
from .strength import yield_stresses

__all__ = ["DAMAGE_ONSET_STRAIN", "DAMAGE_SATURATION_STRAIN", "MODULUS_LOSS_MAX", "STRENGTH_LOSS_MAX",
           "damaged_bone", "residual_modulus_fraction", "residual_strength_fraction"]

#: Compressive strain (dimensionless) at which trabecular bone starts to lose modulus:
#: 0.24 % (Morgan, Yeh & Keaveny, Eur J Morphol 2005;42:13, abstract).
DAMAGE_ONSET_STRAIN = 0.0024

#: Applied compressive strain beyond which the modulus loss no longer grows: 3 %, the
#: largest overloads of Keaveny, Wachtel & Kopperdahl 1999, where the loss reached about
#: 85 % (unverified; see the module docstring).
DAMAGE_SATURATION_STRAIN = 0.03

#: Largest loss of reloading modulus of vertebral trabecular bone in compression: 86 %
#: (Wolfram, Wilke & Zysset, J Biomech 2011;44:1164, abstract; Keaveny 1999: up to about 85 %).
MODULUS_LOSS_MAX = 0.86

#: Largest loss of reloading (yield) strength after a large compressive overload: 15 %.
#: Fyhrie & Schaffler 1994 and Keaveny et al. 1999 report strength kept far better than
#: modulus (most of it retained after large strains); the value is recalled and
#: unverified, to be replaced by the papers' numbers.
STRENGTH_LOSS_MAX = 0.15


def _ramp(strain) -> np.ndarray:
    """0 below the onset strain, 1 beyond saturation, linear in between."""
    e = np.asarray(strain, float)
    if np.any(np.isnan(e)):
        raise ValueError("overload strain must not be NaN")
    return np.clip((e - DAMAGE_ONSET_STRAIN) / (DAMAGE_SATURATION_STRAIN - DAMAGE_ONSET_STRAIN), 0.0, 1.0)


def residual_modulus_fraction(strain) -> np.ndarray:
    """Reloading modulus over the intact modulus after a compressive overload to ``strain``.

    Parameters
    ----------
    strain : float or array
        Largest compressive strain the bone was taken to (dimensionless, magnitude; ``inf``
        for bone crushed without limit).

    Returns
    -------
    ndarray
        ``1 - D`` in [1 - :data:`MODULUS_LOSS_MAX`, 1] (module docstring).
    """
    return 1.0 - MODULUS_LOSS_MAX * _ramp(strain)


def residual_strength_fraction(strain) -> np.ndarray:
    """Reloading yield stress over the intact yield stress after a compressive overload to ``strain``.

    Same ramp as :func:`residual_modulus_fraction`, to ``1 -`` :data:`STRENGTH_LOSS_MAX`.
    """
    return 1.0 - STRENGTH_LOSS_MAX * _ramp(strain)


def damaged_bone(materials: MaterialMap, strain, *, cells=slice(None)) -> MaterialMap:
    """The material map after ``cells`` were overloaded in compression to ``strain`` and unloaded.

    Their modulus becomes :func:`residual_modulus_fraction` of it and their compressive yield
    stress :func:`residual_strength_fraction` of the one they had (``MaterialMap.yield_stress``
    or their tissue's rule, :func:`vbfem.materials.strength.yield_stresses`); tissue labels are
    kept. The whole-cell rule of the fracture's damaged band (:mod:`vbfem.fracture.band`).

    Parameters
    ----------
    materials : MaterialMap
    strain : float or array
        Overload strain (dimensionless compressive magnitude, >= 0) of the selected cells.
    cells : index array, bool mask or slice, keyword-only
        The overloaded cells (default all).
    """
    e = np.asarray(strain, float)
    if np.any(e < 0):
        raise ValueError(f"strain must be a compressive strain magnitude >= 0, got {strain!r}")
    idx = np.arange(materials.n_cells)[cells]
    E = np.array(materials.E)
    E[idx] *= residual_modulus_fraction(e)
    sigma_c, _ = yield_stresses(materials)
    ys = np.full(materials.n_cells, np.nan) if materials.yield_stress is None else np.array(materials.yield_stress)
    ys[idx] = sigma_c[idx] * residual_strength_fraction(e)
    return materials.replace(E=E, yield_stress=ys)
