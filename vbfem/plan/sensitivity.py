"""Sobol sensitivity indices of the outputs to the uncertain inputs.

First-order indices by the estimator of Saltelli et al. 2010 (Comput. Phys. Commun. 181:259-270,
Table 2 (b)), total indices by Jansen's (Jansen 1999, Comput. Phys. Commun. 117:35-43; Table 2 (f) of
Saltelli 2010), on the radial A, B, AB_i matrices built from a scrambled Sobol sequence in the unit
cube of the inputs' probabilities (the inputs are independent; the inverse CDFs map them), with
seeded bootstrap intervals. :func:`brute_force_first_order` is the double-loop definition
Var(E[Y | X_i]) / Var(Y), the reference the estimators are tested against.

For a plan, :func:`plan_sensitivity` takes the indices of each target column at the recommended (or
best verified) strategy on the surrogate's mean: cheap, and as good as the surrogate's
cross-validated error says.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, qmc


def sobol_indices(f, dim: int, *, n: int = 4096, seed: int = 0, bootstrap: int = 200, confidence: float = 0.95) -> dict:
    """First-order and total Sobol indices of ``f`` over the unit cube.

    Parameters
    ----------
    f : callable
        ``f(u) -> y``: ``u`` an (N, dim) array of probabilities in (0, 1), ``y`` (N,).
    dim : int
        Number of inputs (>= 1).
    n : int, keyword-only
        Base sample size (a power of two keeps Sobol balance); ``n * (dim + 2)`` evaluations of ``f``.
    seed : int, keyword-only
    bootstrap : int, keyword-only
        Resamples of the confidence intervals.
    confidence : float, keyword-only

    Returns
    -------
    dict
        ``S1``, ``ST`` (arrays (dim,)), ``S1_conf``, ``ST_conf`` (half-widths), ``variance``, and
        ``consistent``: per input, whether S1 <= ST within their intervals (the theory's order).
    """
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim = {dim!r}: must be an integer >= 1")
    if not isinstance(n, int) or n < 16:
        raise ValueError(f"n = {n!r}: must be an integer >= 16")
    rng = np.random.default_rng(seed)
    ab = qmc.Sobol(d=2 * dim, scramble=True, seed=rng).random(n)
    ab = np.clip(ab, 1e-12, 1 - 1e-12)
    a, b = ab[:, :dim], ab[:, dim:]
    fa, fb = np.asarray(f(a), float), np.asarray(f(b), float)
    fab = np.empty((dim, n))
    for i in range(dim):
        abi = a.copy()
        abi[:, i] = b[:, i]
        fab[i] = np.asarray(f(abi), float)

    def estimate(idx):
        ya, yb, yab = fa[idx], fb[idx], fab[:, idx]
        # centred: the estimators are unchanged in expectation by a shift of y, but the first-order
        # one's variance grows with the mean squared (an output of about 90 % around a spread of 3 %)
        mu = np.mean(np.concatenate([ya, yb]))
        ya, yb, yab = ya - mu, yb - mu, yab - mu
        var = np.var(np.concatenate([ya, yb]))
        if var <= 0:
            return np.zeros(dim), np.zeros(dim), 0.0
        s1 = np.mean(yb * (yab - ya), axis=1) / var
        st = 0.5 * np.mean((ya - yab) ** 2, axis=1) / var
        return s1, st, var

    s1, st, var = estimate(np.arange(n))
    boot = np.random.default_rng([seed, 1]).integers(0, n, (bootstrap, n))
    res = [estimate(k) for k in boot]
    z = float(norm.ppf(0.5 + confidence / 2))
    s1c = z * np.std([r[0] for r in res], axis=0, ddof=1)
    stc = z * np.std([r[1] for r in res], axis=0, ddof=1)
    return {"S1": s1, "ST": st, "S1_conf": s1c, "ST_conf": stc, "variance": var,
            "consistent": s1 <= st + np.hypot(s1c, stc)}


def brute_force_first_order(f, dim: int, *, outer: int = 256, inner: int = 256, seed: int = 0) -> np.ndarray:
    """First-order indices by the definition: Var over X_i of the mean over the other inputs, over Var(Y).

    ``outer`` values of X_i on a midpoint grid, ``inner`` Monte Carlo samples of the others each.
    """
    rng = np.random.default_rng(seed)
    grid = (np.arange(outer) + 0.5) / outer
    y_all = np.asarray(f(rng.random((outer * inner, dim))), float)
    var = np.var(y_all)
    out = np.empty(dim)
    for i in range(dim):
        u = rng.random((outer * inner, dim))
        u[:, i] = np.repeat(grid, inner)
        cond = np.asarray(f(u), float).reshape(outer, inner).mean(axis=1)
        out[i] = np.var(cond) / var
    return out


def plan_sensitivity(result, *, n: int = 2048, seed: int | None = None) -> tuple:
    """Sobol indices of every target column to the plan's uncertain inputs, at the recommended strategy
    (or the best verified one), on the surrogate's mean.

    Returns
    -------
    tuple of dict
        One row per (column, input): ``column``, ``input``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``,
        ``consistent``; empty without uncertain inputs or verified strategies.
    """
    spec = result.spec
    best = result.recommended or (max(result.verified, key=lambda v: v.p_met) if result.verified else None)
    if best is None or not spec.uncertainty or result.surrogate is None:
        return ()
    e = spec.design.encode(best.design)
    m = len(spec.uncertainty)
    rows = []
    for t in dict.fromkeys(t.column for t in spec.targets):
        def f(u, col=t):
            return result.surrogate.predict(np.hstack([np.tile(e, (len(u), 1)), u]))[col][0]

        ind = sobol_indices(f, m, n=n, seed=spec.settings.seed if seed is None else seed)
        for j, u in enumerate(spec.uncertainty):
            rows.append({"column": t, "input": u.point_key, "S1": float(ind["S1"][j]), "S1_conf": float(ind["S1_conf"][j]),
                         "ST": float(ind["ST"][j]), "ST_conf": float(ind["ST_conf"][j]),
                         "consistent": bool(ind["consistent"][j])})
    return tuple(rows)
