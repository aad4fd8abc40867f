"""Plain-numpy twins of :mod:`vbfem._kernels.flow` (same arguments, same results).

Used by the tests to check the numba kernels and as a readable statement of the
upwind transport scheme.
"""

from __future__ import annotations

import numpy as np


def fractional_flow(s, mu_c, mu_m, n_c, n_m):
    """Cement fractional flow f = λc / (λc + λm) with Corey relative permeabilities."""
    lc = s ** n_c / mu_c
    lm = (1.0 - s) ** n_m / mu_m
    return lc / (lc + lm)


def total_mobility(s, mu_c, mu_m, n_c, n_m):
    """λc + λm, 1/(MPa s)."""
    return s ** n_c / mu_c + (1.0 - s) ** n_m / mu_m


def transport_rates(fi, fj, flux, dcell, dflux, scell, sq, s, mu_c, mu_m, n_c, n_m):
    """Net cement inflow per cell (mm³/s) and cement outflow per Dirichlet face.

    ``flux[f] > 0`` flows from ``fi[f]`` to ``fj[f]``; ``dflux[d] > 0`` leaves
    cell ``dcell[d]`` through an outlet (inflow from an outlet carries marrow).
    Sources ``sq`` (mm³/s, >= 0) inject pure cement into ``scell``.
    """
    f = fractional_flow(s, mu_c, mu_m, n_c, n_m)
    up = np.where(flux > 0.0, fi, fj)
    cf = flux * f[up]
    rate = np.zeros(s.size)
    np.add.at(rate, fi, -cf)
    np.add.at(rate, fj, cf)
    dout = np.where(dflux > 0.0, dflux * f[dcell], 0.0)
    np.add.at(rate, dcell, -dout)
    np.add.at(rate, scell, sq)
    return rate, dout


def stable_dt(fi, fj, flux, dcell, dflux, scell, sq, s, pv, mu_c, mu_m, n_c, n_m):
    """Largest time step (s) for which the upwind update keeps every saturation
    between the minimum and maximum of its upwind neighbours (so within [0, 1]).

    Written in incremental form, cell i receives
    ``Σ_in |F| (f(S_j) - f(S_i)) / (S_j - S_i) (S_j - S_i)`` from its upwind
    neighbours j (injection counts as a neighbour at S = 1; outflow to outlets
    leaves with f(S_i) and needs no bound because Σ_in = Σ_out); the update is
    a convex combination when ``dt Σ_in |F| c_ji <= φ V_i``, with the secant
    slope ``c_ji`` (``f'(S_i)`` when the saturations are equal).
    """
    f = fractional_flow(s, mu_c, mu_m, n_c, n_m)
    up = np.where(flux > 0.0, fi, fj)
    dn = np.where(flux > 0.0, fj, fi)
    c = _secant(s[up], s[dn], f[up], f[dn], mu_c, mu_m, n_c, n_m)
    load = np.zeros(s.size)
    np.add.at(load, dn, np.abs(flux) * c)
    one = fractional_flow(np.ones(1), mu_c, mu_m, n_c, n_m)[0]
    cs = _secant(np.ones(sq.size), s[scell], np.full(sq.size, one), f[scell], mu_c, mu_m, n_c, n_m)
    np.add.at(load, scell, sq * cs)
    zero = np.zeros(dcell.size)
    cd = _secant(zero, s[dcell], zero, f[dcell], mu_c, mu_m, n_c, n_m)
    np.add.at(load, dcell, np.where(dflux < 0.0, -dflux * cd, 0.0))
    with np.errstate(divide="ignore"):
        dt = np.where(load > 0.0, pv / np.where(load > 0.0, load, 1.0), np.inf)
    return float(dt.min()) if dt.size else np.inf


def _secant(su, sd, fu, fd, mu_c, mu_m, n_c, n_m, h=1e-7):
    ds = su - sd
    big = np.abs(ds) > 1e-9
    sec = np.where(big, (fu - fd) / np.where(big, ds, 1.0), 0.0)
    # derivative by central difference where the saturations coincide
    lo = np.clip(sd - h, 0.0, 1.0)
    hi = np.clip(sd + h, 0.0, 1.0)
    der = (fractional_flow(hi, mu_c, mu_m, n_c, n_m) - fractional_flow(lo, mu_c, mu_m, n_c, n_m)) / (hi - lo)
    return np.where(big, np.maximum(sec, 0.0), np.maximum(der, 0.0))
