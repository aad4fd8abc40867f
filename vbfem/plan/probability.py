"""Probabilities of meeting the targets and of leaking on the surrogate (the Wilson intervals of the full
simulations' counts are :func:`vbfem.treatment.leakage.wilson_interval`)."""

from __future__ import annotations

import numpy as np


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
