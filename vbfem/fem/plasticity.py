"""Elastic–plastic material: asymmetric Drucker–Prager with linear hardening.

Model choice
------------
Small-strain, rate-independent, associative Drucker–Prager plasticity with
piecewise-linear isotropic hardening and softening::

    f = q + 3 alpha p - k(kappa),    q = von Mises stress, p = mean stress (tension > 0)
    k = k0 + H kappa up to the ultimate point kappa_u, then H_s <= 0 down to a residual k_res

(``kappa_u = inf``: linear hardening, the law of every tissue without an ultimate point).

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
        Hardening modulus, MPa (per unit equivalent plastic strain), up to ``kappa_u``.
    sigma_c, sigma_t : ndarray (m,)
        Uniaxial yield stresses in compression and tension (magnitudes), MPa.
    params : mapping
        Provenance (hardening ratio, yield strains used).
    kappa_u : ndarray (m,), optional
        Equivalent plastic strain at the ultimate point (inf: hardening never ends; the default).
    H_soft : ndarray (m,), optional
        Softening modulus past it, MPa (<= 0; default 0).
    k_res : ndarray (m,), optional
        Residual yield-surface radius the softening stops at, MPa (default 0).
    """

    G: np.ndarray
    K: np.ndarray
    alpha: np.ndarray
    k0: np.ndarray
    H: np.ndarray
    sigma_c: np.ndarray
    sigma_t: np.ndarray
    params: Mapping[str, object] = field(default_factory=dict)
    kappa_u: np.ndarray | None = None
    H_soft: np.ndarray | None = None
    k_res: np.ndarray | None = None

    @property
    def n_cells(self) -> int:
        return self.G.shape[0]

    @property
    def softens(self) -> bool:
        """Whether any cell has an ultimate point past which it softens."""
        return self.kappa_u is not None and bool(np.any(np.isfinite(self.kappa_u) & (self.H_soft < 0)))

    def hardening(self) -> np.ndarray:
        """The per-cell hardening–softening law ``(H, kappa_u, H_s, k_res)`` (m, 4) of the kernels."""
        m = self.n_cells
        ku = np.full(m, np.inf) if self.kappa_u is None else self.kappa_u
        hs = np.zeros(m) if self.H_soft is None else self.H_soft
        kr = np.zeros(m) if self.k_res is None else self.k_res
        return np.ascontiguousarray(np.column_stack([self.H, ku, hs, kr]), dtype=float)


def drucker_prager(E, nu, sigma_c, sigma_t, *, hardening_ratio: float, ultimate_plastic_strain=None,
                   softening_ratio=None, residual_ratio=None, params=None) -> PlasticMaterial:
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
    ultimate_plastic_strain : float or array (m,), optional, keyword-only
        Uniaxial compressive plastic strain (dimensionless, > 0) at the ultimate point, past which the
        cell softens; inf or NaN: never (linear hardening). Default: no cell softens.
    softening_ratio : float or array (m,), optional, keyword-only
        Post-ultimate uniaxial tangent ratio ``E_s / E`` (< 0) in compression. Needed with
        ``ultimate_plastic_strain``.
    residual_ratio : float or array (m,), optional, keyword-only
        Residual over ultimate uniaxial compressive stress (in [0, 1]), where the softening stops.
        Needed with ``ultimate_plastic_strain``.
    params : mapping, optional
        Provenance kept on the record (merged with the model name and the ratio).

    Notes
    -----
    Past yield the law is set in uniaxial compression, where ``sigma = k / (1 - alpha)`` and the
    axial plastic strain is ``(1 - alpha) kappa``: the ultimate point is at
    ``kappa_u = eps_pu / (1 - alpha)`` and the softening modulus is
    ``H_s = (1 - alpha)^2 E s / (1 - s)``, so a uniaxial test follows the tangent ``s E`` exactly.
    (The hardening modulus keeps its von Mises form ``H = E h / (1 - h)``.) Any ``s < 0`` gives
    ``|H_s| < E <= 3 G`` (``nu <= 0.5``), so the return on the cone stays unique (no snap-back of the
    material point).
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
    if ultimate_plastic_strain is None:
        return PlasticMaterial(G, K, alpha, k0, H, sc, st, MappingProxyType(info))
    m = E.shape[0]
    epu = np.broadcast_to(np.asarray(ultimate_plastic_strain, float), (m,)).copy()
    epu[np.isnan(epu)] = np.inf
    if np.any(epu <= 0):
        raise ValueError(f"ultimate_plastic_strain must be > 0 (a strain magnitude) or inf, got {ultimate_plastic_strain!r}")
    if softening_ratio is None or residual_ratio is None:
        raise ValueError("ultimate_plastic_strain needs softening_ratio and residual_ratio")
    s_ = np.broadcast_to(np.asarray(softening_ratio, float), (m,))
    r_ = np.broadcast_to(np.asarray(residual_ratio, float), (m,))
    if not np.all(np.isfinite(s_) & (s_ < 0)):
        raise ValueError(f"softening_ratio must be a post-ultimate tangent ratio E_s / E < 0, got {softening_ratio!r}")
    if not np.all((r_ >= 0) & (r_ <= 1)):
        raise ValueError(f"residual_ratio must be in [0, 1], got {residual_ratio!r}")
    soft = np.isfinite(epu)
    one_a = 1.0 - alpha
    kappa_u = np.where(soft, epu / one_a, np.inf)
    H_soft = np.where(soft, one_a ** 2 * E * s_ / (1.0 - s_), 0.0)
    k_ult = k0 + H * np.where(soft, kappa_u, 0.0)
    k_res = np.where(soft, r_ * k_ult, 0.0)
    info["softening"] = "to a residual stress past the ultimate point"
    return PlasticMaterial(G, K, alpha, k0, H, sc, st, MappingProxyType(info), kappa_u, H_soft, k_res)
