"""Plain-numpy twins of :mod:`vbfem.treatment._kernels.flow` (same arguments, same results).

Used by the tests to check the numba kernels and as a readable statement of the
upwind transport scheme. ``mu_c`` is the cement viscosity (MPa s), a scalar or
one value per cell (shear-thinning cement, :func:`shear_thinning`); the
``*_cells`` names are the same functions, matching the numba kernels.
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

    With a viscosity per cell, ``f`` is no longer one curve: the secant is
    taken on the downstream cell's own curve, ``(f(S_j; μ_i) - f(S_i; μ_i)) /
    (S_j - S_i)``, and the remainder ``f(S_j; μ_j) - f(S_j; μ_i)`` (small
    between neighbours, zero at S = 0 and 1) is left to the step-halving
    check of :func:`vbfem.treatment.flow.run_impes`.
    """
    mu = np.broadcast_to(np.asarray(mu_c, float), s.shape)
    f = fractional_flow(s, mu, mu_m, n_c, n_m)
    up = np.where(flux > 0.0, fi, fj)
    dn = np.where(flux > 0.0, fj, fi)
    fu = fractional_flow(s[up], mu[dn], mu_m, n_c, n_m)
    c = _secant(s[up], s[dn], fu, f[dn], mu[dn], mu_m, n_c, n_m)
    load = np.zeros(s.size)
    np.add.at(load, dn, np.abs(flux) * c)
    one = fractional_flow(np.ones(sq.size), mu[scell], mu_m, n_c, n_m)
    cs = _secant(np.ones(sq.size), s[scell], one, f[scell], mu[scell], mu_m, n_c, n_m)
    np.add.at(load, scell, sq * cs)
    zero = np.zeros(dcell.size)
    cd = _secant(zero, s[dcell], zero, f[dcell], mu[dcell], mu_m, n_c, n_m)
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


fractional_flow_cells = fractional_flow
transport_rates_cells = transport_rates
stable_dt_cells = stable_dt


def shear_thinning(fi, fj, flux, fcen, dcell, dflux, dcen, scell, sq, centroid, volume, perm, phi, open_area,
                   alpha, n, gamma_ref, gamma_min):
    """Pore shear rate (1/s) and power-law viscosity factor of every cell from the face fluxes.

    Cell Darcy velocity (mm/s): the mean over the cell, ``u = Σ_f F_f (x_f -
    x_c) / V`` with ``F_f`` the outward face flux (mm³/s) and ``x_f`` the face
    centroid — exact for a uniform flow on any cell shape (divergence theorem).
    A point source at the centroid adds nothing to that mean, so in a cell with
    injection ``q`` the speed is at least the mean outflow speed ``q / A_open``
    through its open faces (exact for a source cell at the end of a 1-D column).
    Shear rate ``γ = α sqrt(u·K⁻¹·u / φ)`` (``α |u| / sqrt(k φ)`` for isotropic
    K); the source term takes K along the direction of the absolute first
    moment ``Σ_f |F_f (x_f - x_c)|`` (where the flow leaves; the geometric mean
    of K if there is no outflow); viscosity factor ``(max(γ, γ_min) / γ_ref)^(n - 1)``.
    """
    n_cells = volume.size
    mom = np.zeros((n_cells, 3))
    amom = np.zeros((n_cells, 3))
    ma = flux[:, None] * (fcen - centroid[fi])
    mb = flux[:, None] * (fcen - centroid[fj])
    md = dflux[:, None] * (dcen - centroid[dcell])
    np.add.at(mom, fi, ma)
    np.add.at(mom, fj, -mb)
    np.add.at(mom, dcell, md)
    np.add.at(amom, fi, np.abs(ma))
    np.add.at(amom, fj, np.abs(mb))
    np.add.at(amom, dcell, np.abs(md))
    src = np.bincount(scell, sq, n_cells)
    u = mom / volume[:, None]
    quad = np.sum(u * u / perm, axis=1)
    w = np.where(src > 0.0, src / np.where(src > 0.0, open_area, 1.0), 0.0)
    den = np.sum(amom * amom, axis=1)
    kinv = np.where(den > 0.0, np.sum(amom * amom / perm, axis=1) / np.where(den > 0.0, den, 1.0),
                    1.0 / np.prod(perm, axis=1) ** (1.0 / 3.0))
    quad = np.where(src > 0.0, np.maximum(quad, w * w * kinv), quad)
    gamma = alpha * np.sqrt(quad / phi)
    return gamma, (np.maximum(gamma, gamma_min) / gamma_ref) ** (n - 1.0)
