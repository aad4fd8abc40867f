"""Numba kernels of the two-phase (cement/marrow) upwind transport.

Twins in :mod:`vbfem._kernels.flow_ref`; see there for the scheme. The face
loops scatter into cells, so they run serially (a parallel scatter would need
atomics or colouring, and the loops are memory-bound and short).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _ff(s, mu_c, mu_m, n_c, n_m):
    lc = s ** n_c / mu_c
    lm = (1.0 - s) ** n_m / mu_m
    return lc / (lc + lm)


@njit(cache=True)
def fractional_flow(s, mu_c, mu_m, n_c, n_m):
    out = np.empty(s.size)
    for i in range(s.size):
        out[i] = _ff(s[i], mu_c, mu_m, n_c, n_m)
    return out


@njit(cache=True)
def transport_rates(fi, fj, flux, dcell, dflux, scell, sq, s, mu_c, mu_m, n_c, n_m):
    f = fractional_flow(s, mu_c, mu_m, n_c, n_m)
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
def stable_dt(fi, fj, flux, dcell, dflux, scell, sq, s, pv, mu_c, mu_m, n_c, n_m):
    f = fractional_flow(s, mu_c, mu_m, n_c, n_m)
    load = np.zeros(s.size)
    for k in range(flux.size):
        q = flux[k]
        if q > 0.0:
            u, d = fi[k], fj[k]
        else:
            u, d = fj[k], fi[k]
        load[d] += abs(q) * _sec(s[u], s[d], f[u], f[d], mu_c, mu_m, n_c, n_m)
    one = _ff(1.0, mu_c, mu_m, n_c, n_m)
    for k in range(sq.size):
        c = scell[k]
        load[c] += sq[k] * _sec(1.0, s[c], one, f[c], mu_c, mu_m, n_c, n_m)
    for k in range(dflux.size):
        if dflux[k] < 0.0:
            c = dcell[k]
            load[c] += -dflux[k] * _sec(0.0, s[c], 0.0, f[c], mu_c, mu_m, n_c, n_m)
    dt = np.inf
    for i in range(s.size):
        if load[i] > 0.0:
            v = pv[i] / load[i]
            if v < dt:
                dt = v
    return dt
