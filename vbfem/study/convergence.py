"""Discretization uncertainty from solutions on systematically refined meshes.

Two estimators of the uncertainty of a quantity computed on a sequence of meshes:

* :func:`richardson` - three meshes: observed order, Richardson extrapolation and the
  grid convergence index (GCI) by the procedure of Celik, Ghia, Roache, Freitas,
  Coleman & Raad, J Fluids Eng 2008;130:078001, safety factor 1.25 (Roache 1994).
* :func:`least_squares_uncertainty` - four or more meshes: the least-squares
  procedure of Eça & Hoekstra, J Comput Phys 2014;262:104-130. Power series in the
  cell size are fitted to the data; the fit with the smallest standard deviation
  gives the error estimate, and the safety factor (1.25 or 3) depends on the
  observed order and on the scatter of the data. For data without scatter that
  converge at an order in [0.5, 2.1) it reduces to the GCI.

Roache (J Fluids Eng 2011;133:115501) recommends, where three grids give an
unreasonable observed order, adding grids rather than trusting the three-grid GCI:
the second estimator is that remedy.

Cell sizes are representative sizes ``h`` of each mesh (Celik et al. 2008, eq. 1:
``(V / N)^(1/3)``), any units; values are the quantity on each mesh.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

#: Safety factor of the grid convergence index for a three-grid study (Roache 1994).
GCI_SAFETY = 1.25
#: Safety factor of the least-squares procedure when the fit is unreliable: observed order outside
#: [0.5, 2.1), or a standard deviation of the fit larger than the data range (Eça & Hoekstra 2014).
SAFETY_UNRELIABLE = 3.0
#: Observed orders (Eça & Hoekstra 2014, for a nominally second-order method) within which the
#: free-order fit is used with the safety factor 1.25.
ORDER_RANGE = (0.5, 2.1)


def richardson(sizes, values) -> dict:
    """Observed order, extrapolated value and GCI of three solutions (Celik et al. 2008).

    ``sizes`` coarse to fine (h1 > h2 > h3) and their ``values``. Returns the
    fine-grid GCI (``gci_fine_pct``, at h3) and the medium-grid GCI
    (``gci_medium_pct``, at h2: Roache's coarse-grid form
    ``Fs |e21 / f2| r^p / (r^p - 1)``). Where the changes alternate in sign
    (oscillatory convergence) order, extrapolation and GCI are NaN and
    ``uncertainty_pct`` is half the range of the three solutions over the
    finest, the estimate of Stern, Wilson, Coleman & Paterson, J Fluids Eng
    2001;123:793-802, for oscillatory convergence. Where the finer change is
    not smaller than the coarser one (``"diverging"``: not yet in the
    asymptotic range) all of them are NaN. Otherwise it is the fine-grid GCI.
    ``convergence`` names the case.
    """
    h1, h2, h3 = (float(v) for v in sizes)
    f1, f2, f3 = (float(v) for v in values)
    r21, r32 = h2 / h3, h1 / h2  # fine / medium, medium / coarse (Celik's 21 = fine pair)
    e21, e32 = f3 - f2, f2 - f1
    out = {"order": math.nan, "extrapolated": math.nan, "gci_fine_pct": math.nan, "gci_medium_pct": math.nan,
           "change_fine_pct": 100.0 * abs(e21 / f3) if f3 else math.nan}
    if e21 == 0 or e32 == 0 or e32 / e21 < 0:
        oscillatory = e21 != 0 and e32 != 0
        out.update(convergence="oscillatory" if oscillatory else "exact in a pair",
                   uncertainty_pct=50.0 * (max(f1, f2, f3) - min(f1, f2, f3)) / abs(f3) if f3 else math.nan)
        return out
    if abs(e21) >= abs(e32):  # the changes grow under refinement: no asymptotic range, no order or GCI
        out.update(convergence="diverging", uncertainty_pct=math.nan)
        return out
    s = math.copysign(1.0, e32 / e21)
    p = abs(math.log(abs(e32 / e21))) / math.log(r21)
    for _ in range(100):  # fixed point for unequal ratios
        q = math.log((r21**p - s) / (r32**p - s))
        p_new = abs(math.log(abs(e32 / e21)) + q) / math.log(r21)
        if abs(p_new - p) < 1e-10:
            break
        p = p_new
    ext = (r21**p * f3 - f2) / (r21**p - 1.0)
    gci = GCI_SAFETY * abs(e21 / f3) / (r21**p - 1.0)
    gci_medium = GCI_SAFETY * abs(e21 / f2) * r21**p / (r21**p - 1.0)
    out.update(order=p, extrapolated=ext, gci_fine_pct=100.0 * gci, gci_medium_pct=100.0 * gci_medium,
               convergence="monotone", uncertainty_pct=100.0 * gci)
    return out


def _fit(h, phi, w, exponents):
    """Weighted least-squares fit of ``phi0 + sum_k a_k h^exponents[k]``.

    Returns ``(phi0, fitted values, error estimate |fit - phi0| per mesh, standard deviation)``,
    the standard deviation as Eça & Hoekstra 2014 define it:
    ``sqrt(sum w (phi - fit)^2 / ((n - 1) / n * sum w))``.
    """
    a = np.column_stack([np.ones_like(h)] + [h**e for e in exponents])
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(a * sw[:, None], phi * sw, rcond=None)[0]
    fit = a @ coef
    n = h.size
    sigma = math.sqrt(float(np.sum(w * (phi - fit) ** 2)) / ((n - 1) / n * float(np.sum(w))))
    return float(coef[0]), fit, np.abs(fit - coef[0]), sigma


def _free_order_fit(h, phi, w):
    """``phi0 + alpha h^p`` with ``p`` free: the least-squares order on (0.01, 12]."""
    def residual(p):
        return _fit(h, phi, w, (p,))[3]

    # the residual is not unimodal in p for every data set: a coarse scan, then a bounded refinement
    grid = np.geomspace(0.01, 12.0, 121)
    k = int(np.argmin([residual(p) for p in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best = minimize_scalar(residual, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    p = float(best.x) if best.fun <= residual(grid[k]) else float(grid[k])
    return p, _fit(h, phi, w, (p,))


def least_squares_uncertainty(sizes, values) -> dict:
    """Numerical uncertainty of each solution by the least-squares procedure of Eça & Hoekstra (2014).

    Parameters
    ----------
    sizes : sequence of float
        Representative cell sizes of four or more meshes (any order, all different, > 0).
    values : sequence of float
        The quantity on each mesh.

    Returns
    -------
    dict
        ``order`` (observed order of the fit used; 1, 2 or 1.5 for the fixed-order fits), ``fit``
        (``"free order"``, ``"first order"``, ``"second order"`` or ``"first and second order"``),
        ``weighted`` (whether the fit weighted the finer meshes, weights ``1/h``), ``extrapolated``
        (the fit's value at ``h = 0``), ``sigma`` (standard deviation of the fit), ``data_range``
        (``(max - min) / (n - 1)``), ``safety_factor``, and ``uncertainty`` / ``uncertainty_pct``:
        one per mesh, in the order given (absolute, and % of that mesh's value).

    Notes
    -----
    Four fits, each unweighted and weighted, the one with the smaller standard deviation kept:
    ``phi0 + a h^p`` (``p`` free). Where its ``p`` is outside :data:`ORDER_RANGE`, the fixed-order
    fits ``phi0 + a h``, ``phi0 + a h^2`` and ``phi0 + a h + b h^2`` are tried and the one with the
    smallest standard deviation gives the error estimate ``eps_i = |fit_i - phi0|``. With
    ``Fs = 1.25`` where the order is in range and the standard deviation below the data range
    (3 otherwise), the uncertainty of mesh ``i`` is ``Fs eps_i + sigma + |phi_i - fit_i|`` if
    ``sigma`` is below the data range and ``3 sigma / range (eps_i + sigma + |phi_i - fit_i|)``
    otherwise.
    """
    h = np.asarray(sizes, dtype=float)
    phi = np.asarray(values, dtype=float)
    if h.ndim != 1 or h.shape != phi.shape or h.size < 4:
        raise ValueError(f"sizes and values: need four or more meshes of matching length; got {h.size} sizes "
                         f"and {phi.size} values")
    if not (np.all(np.isfinite(h)) and np.all(h > 0) and np.unique(h).size == h.size):
        raise ValueError(f"sizes = {h.tolist()}: must be finite, > 0 and all different")
    if not np.all(np.isfinite(phi)):
        raise ValueError(f"values = {phi.tolist()}: must be finite")
    n = h.size
    weightings = {False: np.ones(n), True: (1.0 / h) / np.sum(1.0 / h)}
    # free order, unweighted and weighted: the one with the smaller standard deviation
    free = {wt: _free_order_fit(h, phi, w) for wt, w in weightings.items()}
    weighted = free[True][1][3] < free[False][1][3]
    p, (phi0, fit, eps, sigma) = free[weighted]
    name = "free order"
    if not ORDER_RANGE[0] <= p < ORDER_RANGE[1]:
        candidates = []
        for label, order, exps in (("first order", 1.0, (1.0,)), ("second order", 2.0, (2.0,)),
                                   ("first and second order", 1.5, (1.0, 2.0))):
            for wt, w in weightings.items():
                candidates.append((_fit(h, phi, w, exps), label, order, wt))
        (phi0, fit, eps, sigma), name, p_used, weighted = min(candidates, key=lambda c: c[0][3])
    else:
        p_used = p
    data_range = float(phi.max() - phi.min()) / (n - 1)
    scatter = abs(phi - fit)
    reliable = ORDER_RANGE[0] <= p < ORDER_RANGE[1] and sigma < data_range
    fs = GCI_SAFETY if reliable else SAFETY_UNRELIABLE
    if sigma < data_range:
        u = fs * eps + sigma + scatter
    else:  # the data scatter more than they range: the fit's error estimate is not to be trusted
        u = 3.0 * sigma / data_range * (eps + sigma + scatter) if data_range > 0 else np.full(n, math.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * u / np.abs(phi)
    return {"order": float(p_used), "observed_order": float(p), "fit": name, "weighted": bool(weighted),
            "extrapolated": float(phi0), "sigma": float(sigma), "data_range": data_range,
            "safety_factor": float(fs), "uncertainty": u.tolist(), "uncertainty_pct": pct.tolist()}
