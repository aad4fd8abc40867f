"""Seeded, spatially correlated Gaussian random fields on cell centroids (heterogeneous permeability).

:func:`gaussian_random_field` returns a standard normal field ``g`` (mean 0, variance 1) with the
Gaussian covariance

    C(r) = exp(-(r / ℓ)²)

(``ℓ`` the correlation length, mm) at the given points. It is made by smoothing white noise on a
regular grid with a Gaussian kernel of standard deviation ``ℓ/2`` (the convolution of two Gaussians
of variance ``ℓ²/4`` has variance ``ℓ²/2``, i.e. the covariance above), normalising by the
kernel's discrete norm, and interpolating trilinearly to the points. The grid spacing is ``ℓ/4``
(at most :data:`MAX_GRID` points; coarser if the box needs it) and the grid is padded by ``2ℓ``
so that the smoothing does not see the box's edges. The field depends only on the seed, the
correlation length and the points: the same seed and mesh give the same field.

:func:`vbfem.materials.porous.porous_medium` multiplies the density-based permeability by
``exp(σ g)`` (a log-normal factor of median 1) when given ``heterogeneity=σ`` and
``correlation_length=ℓ``, so that cement fingers along permeable paths and leakage becomes a
probability over seeds rather than a yes/no of one smooth front.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_GRID", "gaussian_random_field"]

#: Most grid points of the smoothing grid (memory: 8 bytes each, twice).
MAX_GRID = 4_000_000


def gaussian_random_field(points, *, correlation_length: float, seed) -> np.ndarray:
    """Standard normal random field with covariance ``exp(-(r/ℓ)²)`` at ``points`` (module docstring).

    Parameters
    ----------
    points : array_like (n, 3)
        Where the field is wanted, mm.
    correlation_length : float, keyword-only
        ``ℓ``, mm (> 0).
    seed : int or None
        Seed of the white noise (``numpy.random.default_rng``).

    Returns
    -------
    ndarray (n,)
    """
    from scipy import ndimage

    x = np.asarray(points, float)
    if x.ndim != 2 or x.shape[1] != 3 or not np.all(np.isfinite(x)):
        raise ValueError(f"points must be a finite (n, 3) array of mm, got shape {x.shape}")
    ell = correlation_length
    if not (isinstance(ell, (int, float, np.floating, np.integer)) and np.isfinite(ell) and ell > 0):
        raise ValueError(f"correlation_length={correlation_length!r} must be a finite length > 0 mm")
    lo = x.min(axis=0) - 2.0 * ell
    hi = x.max(axis=0) + 2.0 * ell
    h = ell / 4.0
    shape = np.ceil((hi - lo) / h).astype(int) + 1
    while np.prod(shape.astype(float)) > MAX_GRID:
        h *= 1.25
        shape = np.ceil((hi - lo) / h).astype(int) + 1
    noise = np.random.default_rng(seed).standard_normal(tuple(shape))
    sigma = 0.5 * ell / h  # kernel standard deviation in grid steps
    field = ndimage.gaussian_filter(noise, sigma, mode="wrap", truncate=4.0)
    # the discrete kernel's norm: variance of smoothed unit white noise = (Σ w²)³ (separable kernel)
    delta = np.zeros(int(2 * np.ceil(4.0 * sigma) + 1))
    delta[delta.size // 2] = 1.0
    w = ndimage.gaussian_filter1d(delta, sigma, mode="constant", truncate=4.0)
    field /= np.sqrt(np.sum(w ** 2)) ** 3
    coords = ((x - lo) / h).T
    return ndimage.map_coordinates(field, coords, order=1, mode="nearest")
