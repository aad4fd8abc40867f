"""Derived quantities from strain and stress (Voigt order xx, yy, zz, yz, xz, xy)."""

from __future__ import annotations

import numpy as np


def tensor_from_voigt(v: np.ndarray, *, engineering_shear: bool) -> np.ndarray:
    """(m, 6) Voigt vectors to (m, 3, 3) symmetric tensors."""
    v = np.asarray(v, float)
    s = 0.5 if engineering_shear else 1.0
    t = np.empty(v.shape[:-1] + (3, 3))
    t[..., 0, 0], t[..., 1, 1], t[..., 2, 2] = v[..., 0], v[..., 1], v[..., 2]
    t[..., 1, 2] = t[..., 2, 1] = s * v[..., 3]
    t[..., 0, 2] = t[..., 2, 0] = s * v[..., 4]
    t[..., 0, 1] = t[..., 1, 0] = s * v[..., 5]
    return t


def von_mises(stress: np.ndarray) -> np.ndarray:
    """Von Mises equivalent stress (MPa) of (m, 6) stresses."""
    s = np.asarray(stress, float)
    d = (s[..., 0] - s[..., 1]) ** 2 + (s[..., 1] - s[..., 2]) ** 2 + (s[..., 2] - s[..., 0]) ** 2
    return np.sqrt(0.5 * d + 3.0 * (s[..., 3] ** 2 + s[..., 4] ** 2 + s[..., 5] ** 2))


def principal_strains(strain: np.ndarray) -> np.ndarray:
    """Principal strains (m, 3), ascending (minimum = most compressive first)."""
    return np.linalg.eigvalsh(tensor_from_voigt(strain, engineering_shear=True))


def principal_stresses(stress: np.ndarray) -> np.ndarray:
    """Principal stresses (m, 3) in MPa, ascending."""
    return np.linalg.eigvalsh(tensor_from_voigt(stress, engineering_shear=False))


def effective_strain(strain: np.ndarray) -> np.ndarray:
    """Von Mises equivalent strain ``sqrt(2/3 e':e')`` of (m, 6) strains (e' deviatoric)."""
    e = tensor_from_voigt(strain, engineering_shear=True)
    dev = e - np.trace(e, axis1=-2, axis2=-1)[..., None, None] * np.eye(3) / 3.0
    return np.sqrt(2.0 / 3.0 * np.einsum("...ij,...ij->...", dev, dev))
