"""Seeded, spatially correlated Gaussian random fields: the one implementation of the project.

:func:`correlated_field` is used for the bone's density heterogeneity
(:mod:`vbfem.materials.bone`, :mod:`vbfem.fracture.deformity`) and for the permeability's
(:func:`vbfem.materials.porous.porous_medium`). Its convention, stated once here:

    C(r) = exp(-r² / (2 ℓ²))

is the covariance of the field before standardisation, ``r`` the distance between two points and
``ℓ`` (mm) the **correlation length**: the standard deviation of the Gaussian covariance. Two points
``ℓ`` apart correlate at ``exp(-1/2) = 0.61``, ``2ℓ`` apart at 0.14; the integral scale
``∫₀^∞ C dr`` is ``ℓ √(π/2) = 1.25 ℓ``.

The field is a sum of ``n_modes`` random Fourier modes ``cos(k·x + φ)`` with wave vectors
``k ~ N(0, I/ℓ²)`` and phases ``φ ~ U(0, 2π)`` (Rahimi & Recht 2007, "Random features for
large-scale kernel machines", NIPS 20; the spectral method of Shinozuka & Deodatis 1991, Appl Mech
Rev 44:191), then standardised over the points (weighted mean 0, variance 1). It is a function of
position, so the same seed gives the same field on a coarse and a fine mesh of the same body
(up to the centring on the points' mean and the standardisation).
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["N_MODES", "correlated_field"]

log = logging.getLogger(__name__)

#: Random Fourier modes of the correlated field.
N_MODES = 256
_CHUNK = 32768  # points per vectorised block: bounds memory to _CHUNK x n_modes doubles


def correlated_field(x: np.ndarray, *, correlation_length: float, seed=None, weights=None,
                     n_modes: int = N_MODES) -> np.ndarray:
    """Spatially correlated Gaussian noise at points ``x``, standardised (module docstring).

    A sum of ``n_modes`` random Fourier modes with wave vectors drawn from
    N(0, I / ℓ²) approximates a stationary Gaussian field with covariance
    ``exp(-r² / (2 ℓ²))``. The sample is then standardised over the points
    (weighted mean 0, weighted variance 1), so its spread does not depend on
    how large the domain is compared with ℓ.

    Parameters
    ----------
    x : ndarray, shape (n, 3)
        Points in mm.
    correlation_length : float, keyword-only
        ℓ in mm (> 0): the standard deviation of the Gaussian covariance.
    seed : int, numpy Generator or None, keyword-only
        Seed of the modes.
    weights : ndarray, shape (n,), optional, keyword-only
        Weights (e.g. cell volumes, mm³) for the standardisation.
    n_modes : int, keyword-only, default 256

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> g = correlated_field(np.random.default_rng(0).uniform(0, 50, (1000, 3)), correlation_length=5.0, seed=1)
    >>> round(float(g.std()), 6)
    1.0
    """
    ell = correlation_length
    if not (isinstance(ell, (int, float, np.integer, np.floating)) and np.isfinite(ell) and ell > 0):
        raise ValueError(f"correlation_length={correlation_length!r} must be a finite length > 0 mm")
    x = np.asarray(x, float)
    if x.ndim != 2 or x.shape[1] != 3 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a finite (n, 3) array of mm, got shape {x.shape}")
    if not (int(n_modes) == n_modes and n_modes >= 1):
        raise ValueError(f"n_modes={n_modes!r} must be a positive integer")
    rng = np.random.default_rng(seed)
    k = rng.normal(scale=1.0 / ell, size=(int(n_modes), 3))
    phase = rng.uniform(0.0, 2.0 * np.pi, int(n_modes))
    x = x - np.mean(x, axis=0)
    g = np.empty(len(x))
    for start in range(0, len(x), _CHUNK):  # chunks bound memory to _CHUNK x n_modes
        g[start:start + _CHUNK] = np.cos(x[start:start + _CHUNK] @ k.T + phase).sum(axis=1)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    g -= np.average(g, weights=w)
    sd = np.sqrt(np.average(g * g, weights=w))
    if not sd > 1e-12:
        log.warning("correlated field is constant over these %d points; returning zeros", len(x))
        return np.zeros(len(x))
    return g / sd
