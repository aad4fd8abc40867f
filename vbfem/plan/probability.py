"""Probabilities of meeting the targets and of leaking: on the surrogate, and from full simulations
with their Wilson confidence intervals."""

from __future__ import annotations

import math

import numpy as np


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927, J. Am. Stat. Assoc. 22:209-212).

    Parameters
    ----------
    successes : int
    n : int
        Trials (> 0).
    confidence : float, keyword-only
        Two-sided level in (0, 1).

    Returns
    -------
    (low, high) : tuple of float
        Bounds in [0, 1]; unlike the normal-approximation interval it stays inside [0, 1] and is not
        empty at 0 or n successes.
    """
    from scipy.stats import norm

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r}: must be an integer >= 1")
    if not 0 <= successes <= n:
        raise ValueError(f"successes = {successes!r}: must be in [0, n = {n}]")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence = {confidence!r}: must be in (0, 1)")
    z = float(norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    low = 0.0 if successes == 0 else max(0.0, mid - half)  # exact at the ends (no round-off)
    high = 1.0 if successes == n else min(1.0, mid + half)
    return low, high


def probability_met(targets, predictions: dict) -> np.ndarray:
    """Probability, per point, that every target is met according to the surrogate.

    The surrogate's mean and standard deviation at a point give a normal predictive distribution
    of each column; the targets' probabilities are multiplied (the columns' surrogate errors taken
    as independent). Averaged over Monte Carlo samples of the uncertain inputs it is the
    probability that the strategy meets the targets.

    Parameters
    ----------
    targets : sequence of Target
    predictions : dict of str to (mean, sd)

    Returns
    -------
    ndarray
    """
    from scipy.stats import norm

    p = None
    for t in targets:
        mean, sd = predictions[t.column]
        sd = np.maximum(sd, 1e-12 * (1.0 + np.abs(mean)))
        q = np.ones_like(mean)
        if t.min is not None:
            q = q * norm.cdf((mean - t.min) / sd)
        if t.max is not None:
            q = q * norm.cdf((t.max - mean) / sd)
        p = q if p is None else p * q
    return p


def probability_above(prediction, threshold: float) -> np.ndarray:
    """Probability that the column exceeds ``threshold`` under the surrogate's normal prediction."""
    from scipy.stats import norm

    mean, sd = prediction
    sd = np.maximum(sd, 1e-12 * (1.0 + np.abs(mean)))
    return norm.cdf((mean - threshold) / sd)


def closeness(targets, predictions: dict) -> np.ndarray:
    """The U criterion of Echard et al. 2011 (Struct. Saf. 33:145-154, AK-MCS): per point the smallest
    ``|mean - bound| / sd`` over the targets' bounds. Small values are points the surrogate cannot
    yet classify as meeting or missing a target: where new simulations teach it most."""
    u = None
    for t in targets:
        mean, sd = predictions[t.column]
        sd = np.maximum(sd, 1e-12 * (1.0 + np.abs(mean)))
        for b in (t.min, t.max):
            if b is not None:
                v = np.abs(mean - b) / sd
                u = v if u is None else np.minimum(u, v)
    return u
