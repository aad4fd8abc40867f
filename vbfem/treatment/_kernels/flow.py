"""Numba kernels of the two-phase (cement/marrow) upwind transport.

Twins in :mod:`vbfem.treatment._kernels.flow_ref`; see there for the scheme. The face
loops scatter into cells, so they run serially (a parallel scatter would need
atomics or colouring, and the loops are memory-bound and short). The
``*_cells`` kernels take the cement viscosity per cell (shear-thinning cement);
the scalar-viscosity kernels call them with a uniform array, which gives the
same numbers bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _ff(s, mu_c, mu_m, n_c, n_m):
    lc = s ** n_c / mu_c
    lm = (1.0 - s) ** n_m / mu_m
    return lc / (lc + lm)


@njit(cache=True)
def fractional_flow_cells(s, mu_c, mu_m, n_c, n_m):
    out = np.empty(s.size)
    for i in range(s.size):
        out[i] = _ff(s[i], mu_c[i], mu_m, n_c, n_m)
    return out


@njit(cache=True)
def fractional_flow(s, mu_c, mu_m, n_c, n_m):
    return fractional_flow_cells(s, np.full(s.size, mu_c), mu_m, n_c, n_m)


@njit(cache=True)
def transport_rates_cells(fi, fj, flux, dcell, dflux, scell, sq, s, mu_c, mu_m, n_c, n_m):
    f = fractional_flow_cells(s, mu_c, mu_m, n_c, n_m)
    rate = np.zeros(s.size)
    for k in range(flux.size):
        q = flux[k]
        if q > 0.0:
            cf = q * f[fi[k]]
        else:
            cf = q * f[fj[k]]
        rate[fi[k]] -= cf
        rate[fj[k]] += cf
    dout = np.zeros(dflux.size)
    for k in range(dflux.size):
        if dflux[k] > 0.0:
            dout[k] = dflux[k] * f[dcell[k]]
            rate[dcell[k]] -= dout[k]
    for k in range(sq.size):
        rate[scell[k]] += sq[k]
    return rate, dout


@njit(cache=True)
def transport_rates(fi, fj, flux, dcell, dflux, scell, sq, s, mu_c, mu_m, n_c, n_m):
    return transport_rates_cells(fi, fj, flux, dcell, dflux, scell, sq, s, np.full(s.size, mu_c), mu_m, n_c, n_m)


@njit(cache=True, inline="always")
def _sec(su, sd, fu, fd, mu_c, mu_m, n_c, n_m):
    ds = su - sd
    if abs(ds) > 1e-9:
        c = (fu - fd) / ds
    else:
        h = 1e-7
        lo = min(max(sd - h, 0.0), 1.0)
        hi = min(max(sd + h, 0.0), 1.0)
        c = (_ff(hi, mu_c, mu_m, n_c, n_m) - _ff(lo, mu_c, mu_m, n_c, n_m)) / (hi - lo)
    return max(c, 0.0)


@njit(cache=True)
def stable_dt_cells(fi, fj, flux, dcell, dflux, scell, sq, s, pv, mu_c, mu_m, n_c, n_m):
    f = fractional_flow_cells(s, mu_c, mu_m, n_c, n_m)
    load = np.zeros(s.size)
    for k in range(flux.size):
        q = flux[k]
        if q > 0.0:
            u, d = fi[k], fj[k]
        else:
            u, d = fj[k], fi[k]
        # secant of the downstream cell's own fractional-flow curve (= f[u] for a uniform viscosity)
        fu = _ff(s[u], mu_c[d], mu_m, n_c, n_m)
        load[d] += abs(q) * _sec(s[u], s[d], fu, f[d], mu_c[d], mu_m, n_c, n_m)
    for k in range(sq.size):
        c = scell[k]
        one = _ff(1.0, mu_c[c], mu_m, n_c, n_m)
        load[c] += sq[k] * _sec(1.0, s[c], one, f[c], mu_c[c], mu_m, n_c, n_m)
    for k in range(dflux.size):
        if dflux[k] < 0.0:
            c = dcell[k]
            load[c] += -dflux[k] * _sec(0.0, s[c], 0.0, f[c], mu_c[c], mu_m, n_c, n_m)
    dt = np.inf
    for i in range(s.size):
        if load[i] > 0.0:
            v = pv[i] / load[i]
            if v < dt:
                dt = v
    return dt


@njit(cache=True)
def stable_dt(fi, fj, flux, dcell, dflux, scell, sq, s, pv, mu_c, mu_m, n_c, n_m):
    return stable_dt_cells(fi, fj, flux, dcell, dflux, scell, sq, s, pv, np.full(s.size, mu_c), mu_m, n_c, n_m)


@njit(parallel=True, cache=True)
def shear_thinning(fi, fj, flux, fcen, dcell, dflux, dcen, scell, sq, centroid, volume, perm, phi, open_area,
                   alpha, n, gamma_ref, gamma_min):
    n_cells = volume.size
    mom = np.zeros((n_cells, 3))  # Σ F (x_f - x_c), outward F
    amom = np.zeros((n_cells, 3))  # Σ |F (x_f - x_c)|: where the flow goes, whatever its sign
    for k in range(flux.size):  # serial scatter (two cells per face)
        q = flux[k]
        a, b = fi[k], fj[k]
        for d in range(3):
            ma = q * (fcen[k, d] - centroid[a, d])
            mb = q * (fcen[k, d] - centroid[b, d])
            mom[a, d] += ma
            mom[b, d] -= mb
            amom[a, d] += abs(ma)
            amom[b, d] += abs(mb)
    for k in range(dflux.size):
        c = dcell[k]
        for d in range(3):
            mc = dflux[k] * (dcen[k, d] - centroid[c, d])
            mom[c, d] += mc
            amom[c, d] += abs(mc)
    src = np.zeros(n_cells)
    for k in range(sq.size):
        src[scell[k]] += sq[k]
    gamma = np.empty(n_cells)
    factor = np.empty(n_cells)
    for i in prange(n_cells):  # each thread writes its own cells
        quad = 0.0
        for d in range(3):
            u = mom[i, d] / volume[i]
            quad += u * u / perm[i, d]
        if src[i] > 0.0:
            w = src[i] / open_area[i]
            num = 0.0
            den = 0.0
            for d in range(3):
                num += amom[i, d] * amom[i, d] / perm[i, d]
                den += amom[i, d] * amom[i, d]
            if den > 0.0:
                kinv = num / den
            else:
                kinv = 1.0 / (perm[i, 0] * perm[i, 1] * perm[i, 2]) ** (1.0 / 3.0)
            quad = max(quad, w * w * kinv)
        g = alpha * np.sqrt(quad / phi[i])
        gamma[i] = g
        factor[i] = (max(g, gamma_min) / gamma_ref) ** (n - 1.0)
    return gamma, factor
