"""Elastic–plastic material: asymmetric Drucker–Prager with linear hardening.

Model choice
------------
Small-strain, rate-independent, associative Drucker–Prager plasticity with
linear isotropic hardening::

    f = q + 3 alpha p - (k0 + H kappa),    q = von Mises stress, p = mean stress (tension > 0)

The two constants are fitted to the uniaxial yield stresses in tension and
compression, ``sigma_t = E eps_yt`` and ``sigma_c = E eps_yc``::

    alpha = (sigma_c - sigma_t) / (sigma_c + sigma_t),   k0 = 2 sigma_c sigma_t / (sigma_c + sigma_t)

so a homogeneous uniaxial test yields exactly at the prescribed strain in each
direction (checked in ``tests/fem/test_plasticity.py``). Plasticity (rather than
continuum damage) is chosen because (i) trabecular bone's post-yield response is
dominated by permanent deformation with little modulus loss up to the strains of
a compression test to the first force peak (Keaveny et al. 1994, unverified),
(ii) associative plasticity with positive or mildly negative hardening gives a
symmetric consistent tangent, so the same SPD solvers as the linear code apply,
and (iii) the return mapping is closed-form (one linear equation), so Newton
converges quadratically. The hardening modulus ``H`` is set from a post-yield
uniaxial tangent ratio ``h = E_t / E`` (von Mises limit ``H = h E / (1 - h)``). Negative ``h``
(softening) is accepted down to -0.3 but is mesh-dependent (no regularisation)
and makes the tangent indefinite, so it needs ``solver="direct"``.

The parameters of bone, cement and the other tissues (yield strains and strengths per
tissue, the default hardening) are in :mod:`vbfem.materials.strength`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .elements import lame

__all__ = ["NO_YIELD", "PlasticMaterial", "drucker_prager"]

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


def drucker_prager(E, nu, sigma_c, sigma_t, *, hardening_ratio: float, params=None) -> PlasticMaterial:
    """Drucker–Prager parameters fitted to uniaxial yield stresses (see the module docstring).

    Parameters
    ----------
    E, nu : array (m,)
        Young's modulus (MPa) and Poisson's ratio per cell.
    sigma_c, sigma_t : array (m,)
        Uniaxial yield stresses in compression and tension (magnitudes, > 0), MPa;
        :data:`NO_YIELD` for cells that never yield.
    hardening_ratio : float, keyword-only
        Post-yield uniaxial tangent ratio ``E_t / E``, in [-0.3, 1).
    params : mapping, optional
        Provenance kept on the record (merged with the model name and the ratio).
    """
    h = float(hardening_ratio)
    if not (-0.3 <= h < 1.0):
        raise ValueError(f"hardening_ratio must be in [-0.3, 1), got {hardening_ratio!r}")
    E, nu = np.asarray(E, float), np.asarray(nu, float)
    sc, st = np.asarray(sigma_c, float), np.asarray(sigma_t, float)
    lam, G = lame(E, nu)
    K = lam + 2.0 * G / 3.0
    alpha = (sc - st) / (sc + st)
    k0 = 2.0 * sc * st / (sc + st)
    H = E * h / (1.0 - h)
    if np.any(3.0 * G + H <= 0):
        raise ValueError(f"hardening_ratio={h} softens faster than the elastic shear stiffness allows")
    info = {"hardening_ratio": h, "model": "drucker-prager, associative", **dict(params or {})}
    return PlasticMaterial(G, K, alpha, k0, H, sc, st, MappingProxyType(info))
