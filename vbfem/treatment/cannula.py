"""The injection cannula: the pressure the cement loses between the syringe and the needle tip.

Cement reaches the vertebral body through a long, narrow cannula, and most of the pressure the
surgeon applies at the syringe is spent in it: Baroud & Steffen (Eur Spine J 2005;14:474) state,
from earlier work, that about 95 % of the injection pressure delivers the cement through the
cannula. The cannula is a straight circular pipe of inner radius ``R`` and length ``L`` in series
with the needle tip. The flow is rate-controlled (the surgeon or a pump sets the rate) and both
phases are incompressible, so the cannula does not change the flow in the body: the pressure at
the syringe is the intravertebral (tip) pressure plus the cannula's pressure drop at that rate,
with the cement's viscosity at that time since mixing (:func:`syringe_pressure`).

Pressure drop (laminar, fully developed, no wall slip)
------------------------------------------------------
The cement is the fluid of :class:`vbfem.materials.cement.Cement`: apparent viscosity
``μ(t) (max(γ, γ_min)/γ_ref)^(n-1)``, i.e. a power law ``τ = K γ^n`` with consistency
``K = μ(t) γ_ref^(1-n)`` above the shear-rate floor ``γ_min`` and Newtonian, ``τ = μ0 γ`` with
``μ0 = μ(t) (γ_min/γ_ref)^(n-1)``, below it. The Rabinowitsch–Mooney relation for a pipe
(e.g. Bird, Armstrong & Hassager 1987, Dynamics of Polymeric Liquids vol. 1; Chhabra &
Richardson 2008, Non-Newtonian Flow and Applied Rheology, ch. 3)

    Q = π R³ / τ_w³ ∫_0^τ_w τ² γ(τ) dτ,   Δp = 2 τ_w L / R

is integrated in closed form for this piecewise law and solved for the wall stress ``τ_w``
(:func:`pressure_drop`). Its limits are the textbook formulas the tests check to round-off:
Newtonian (``n = 1``) Hagen–Poiseuille ``Δp = 8 μ L Q / (π R⁴)``, and, when the floor is not
reached at the wall, the power-law pipe formula corrected by the Newtonian core. With the floor
far below the wall shear rate the core's share is negligible and the pure power law

    Δp = (2 K L / R) ((3n + 1)/n · Q/(π R³))^n

holds. Entrance losses, the cannula's side ports and wall slip (Trivedi et al. 2023,
arXiv:2312.11426, see slip in rotational rheometry of PMMA) are not modelled.

Sizes
-----
Inner diameter from the gauge: the nominal inner diameter of regular-wall needle tubing
(:data:`GAUGE_INNER_DIAMETER`; the hypodermic tubing table of the Stubs/Birmingham gauge as given
in the "Needle gauge" table of Wikipedia, which cites ISO 9626; thin-wall tubing has a larger
bore, unverified for vertebroplasty needles). Default 11 G, 120 mm: the vertebroplasty needle of
Moon et al. (J Korean Orthop Assoc 2022;57:178, "11 gauge, 120-mm length"); the issue's clinical
range is 11–13 G and 100–150 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..materials.cement import SHEAR_RATE_MIN, SHEAR_RATE_REFERENCE, check_power_law

__all__ = [
    "CANNULA_GAUGE",
    "CANNULA_LENGTH",
    "GAUGE_INNER_DIAMETER",
    "Cannula",
    "pressure_drop",
    "syringe_pressure",
    "wall_shear_rate",
]

#: Nominal inner diameter (mm) of regular-wall needle tubing by gauge (Stubs / Birmingham needle gauge,
#: "Needle gauge" table, Wikipedia, citing ISO 9626): 8 G 3.429, 9 G 2.997, 10 G 2.692, 11 G 2.388,
#: 12 G 2.159, 13 G 1.803, 14 G 1.600, 15 G 1.372 mm.
GAUGE_INNER_DIAMETER = {8: 3.429, 9: 2.997, 10: 2.692, 11: 2.388, 12: 2.159, 13: 1.803, 14: 1.600, 15: 1.372}
#: Allowed cannula lengths, mm.
LENGTH_RANGE = (50.0, 200.0)
#: Default gauge and length (mm): 11 G, 120 mm (Moon et al., J Korean Orthop Assoc 2022;57:178).
CANNULA_GAUGE = 11
CANNULA_LENGTH = 120.0

_PAS_TO_MPAS = 1e-6


@dataclass(frozen=True)
class Cannula:
    """A straight injection cannula (laminar pipe flow; module docstring).

    Parameters
    ----------
    gauge : int
        Needle gauge, 8–15 G; the inner diameter is :data:`GAUGE_INNER_DIAMETER` of it.
    length : float
        Length from the syringe's connector to the tip, mm, in [50, 200].

    Examples
    --------
    >>> c = Cannula(11, 120.0)
    >>> c.inner_diameter
    2.388
    >>> round(c.pressure_drop(50.0, 100.0), 4)  # 3 mL/min of a 100 Pa·s Newtonian cement, MPa
    0.7518
    """

    gauge: int = CANNULA_GAUGE
    length: float = CANNULA_LENGTH

    def __post_init__(self):
        g = self.gauge
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or int(g) not in GAUGE_INNER_DIAMETER:
            raise ValueError(f"Cannula gauge={g!r} must be an integer gauge in 8..15 G")
        object.__setattr__(self, "gauge", int(g))
        lo, hi = LENGTH_RANGE
        if not (isinstance(self.length, (int, float, np.floating, np.integer)) and not isinstance(self.length, bool)
                and lo <= self.length <= hi):
            raise ValueError(f"Cannula length={self.length!r} must lie in [{lo:g}, {hi:g}] mm")
        object.__setattr__(self, "length", float(self.length))

    @property
    def inner_diameter(self) -> float:
        """Inner diameter, mm."""
        return GAUGE_INNER_DIAMETER[self.gauge]

    @property
    def radius(self) -> float:
        """Inner radius, mm."""
        return 0.5 * self.inner_diameter

    def pressure_drop(self, rate, viscosity, *, flow_index: float = 1.0,
                      shear_rate_reference: float = SHEAR_RATE_REFERENCE,
                      shear_rate_min: float = SHEAR_RATE_MIN):
        """Pressure drop (MPa) along the cannula; see :func:`pressure_drop`."""
        return pressure_drop(rate, viscosity, radius=self.radius, length=self.length, flow_index=flow_index,
                             shear_rate_reference=shear_rate_reference, shear_rate_min=shear_rate_min)


def wall_shear_rate(rate, radius, *, flow_index: float = 1.0):
    """Wall shear rate (1/s) of a power-law fluid in a pipe: ``(3n + 1)/(4n) · 4Q/(π R³)`` (Rabinowitsch–Mooney).

    ``rate`` in mm³/s, ``radius`` in mm.
    """
    n = float(flow_index)
    return (3.0 * n + 1.0) / (4.0 * n) * 4.0 * np.asarray(rate, float) / (np.pi * radius ** 3)


def _flow_integral(tau_w, tau0, mu0, K, n):
    """``∫_0^τ_w τ² γ(τ) dτ`` of the floored power law (module docstring); arrays of τ_w (MPa), K in MPa·s^n."""
    a = 3.0 + 1.0 / n
    core = np.minimum(tau_w, tau0) ** 4 / (4.0 * mu0)
    outer = np.where(tau_w > tau0, (tau_w ** a - tau0 ** a) / (a * K ** (1.0 / n)), 0.0)
    return core + outer


def pressure_drop(rate, viscosity, *, radius: float, length: float, flow_index: float = 1.0,
                  shear_rate_reference: float = SHEAR_RATE_REFERENCE, shear_rate_min: float = SHEAR_RATE_MIN):
    """Laminar pressure drop (MPa) of the cement through a straight pipe.

    Parameters
    ----------
    rate : array_like
        Volume flow rate, mm³/s (>= 0).
    viscosity : array_like
        The cement's viscosity at ``shear_rate_reference`` (its curing viscosity at that time), Pa·s (> 0).
    radius, length : float, keyword-only
        Inner radius and length of the pipe, mm.
    flow_index, shear_rate_reference, shear_rate_min : float
        Power-law index ``n`` and shear rates (1/s) of :class:`vbfem.materials.cement.Cement`.

    Returns
    -------
    float or ndarray
        ``Δp`` in MPa, by the Rabinowitsch–Mooney relation for the floored power law (module docstring):
        ``8 μ L Q/(π R⁴)`` for ``n = 1``.
    """
    check_power_law(flow_index, shear_rate_reference, shear_rate_min)
    if not (np.isfinite(radius) and radius > 0 and np.isfinite(length) and length > 0):
        raise ValueError(f"radius={radius!r} and length={length!r} must be > 0 mm")
    q = np.asarray(rate, float)
    mu = np.asarray(viscosity, float)
    if np.any(~np.isfinite(q) | (q < 0)):
        raise ValueError(f"rate={rate!r} must be finite and >= 0 mm³/s")
    if np.any(~np.isfinite(mu) | (mu <= 0)):
        raise ValueError(f"viscosity={viscosity!r} must be finite and > 0 Pa·s")
    q, mu = np.broadcast_arrays(q, mu)
    n = float(flow_index)
    mu = mu * _PAS_TO_MPAS
    scalar = q.ndim == 0
    q, mu = np.atleast_1d(q).astype(float), np.atleast_1d(mu).astype(float)
    if n == 1.0:
        tau_w = 4.0 * mu * q / (np.pi * radius ** 3)
    else:
        K = mu * shear_rate_reference ** (1.0 - n)  # MPa·s^n
        mu0 = mu * (shear_rate_min / shear_rate_reference) ** (n - 1.0)  # Newtonian below the floor
        tau0 = mu0 * shear_rate_min
        target = q / (np.pi * radius ** 3)  # I(τ_w)/τ_w³
        tau_w = 4.0 * mu0 * target  # all below the floor
        hi_mask = tau_w > tau0
        if np.any(hi_mask):
            tau_w = tau_w.copy()
            tau_w[hi_mask] = _solve_wall_stress(target[hi_mask], tau0[hi_mask], mu0[hi_mask], K[hi_mask], n)
    dp = 2.0 * tau_w * length / radius
    return float(dp[0]) if scalar else dp


def _solve_wall_stress(target, tau0, mu0, K, n):
    """τ_w with ``I(τ_w)/τ_w³ = target`` on [τ0, τ_pure] (vectorised bisection then Newton polish)."""
    # the pure power law passes less flow at every stress, so its wall stress bounds from above
    hi = K * ((3.0 * n + 1.0) / n * target) ** n
    lo = tau0.copy()
    hi = np.maximum(hi, lo)

    def g(tau):
        return _flow_integral(tau, tau0, mu0, K, n) / tau ** 3 - target

    for _ in range(200):  # bisection on log τ: monotone, 200 halvings reach round-off from any bracket
        mid = np.sqrt(lo * hi)
        up = g(mid) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
        if np.all(hi - lo <= 4e-16 * hi):
            break
    return 0.5 * (lo + hi)


def syringe_pressure(tip_pressure, rate, viscosity, cannula: Cannula, *, flow_index: float = 1.0,
                     shear_rate_reference: float = SHEAR_RATE_REFERENCE, shear_rate_min: float = SHEAR_RATE_MIN):
    """Pressure at the syringe (MPa): the tip pressure plus the cannula's drop at ``rate`` (mm³/s) and ``viscosity``.

    NaN tip pressures (no injection through that needle at that time) stay NaN.
    """
    tip = np.asarray(tip_pressure, float)
    dp = pressure_drop(rate, viscosity, radius=cannula.radius, length=cannula.length, flow_index=flow_index,
                       shear_rate_reference=shear_rate_reference, shear_rate_min=shear_rate_min)
    return tip + dp
