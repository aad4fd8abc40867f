"""Cells cut by a material interface: the rank-one laminate closure.

A cell that an interface cuts holds two phases, a volume fraction ``f`` of
phase 1 and ``1 - f`` of phase 2. Averaging their moduli in parallel (Voigt)
or in series (Reuss) is exact only when the interface is parallel or
perpendicular to the load; across a mesh the cut cells see every
orientation, and a rule that is wrong for some of them makes the stiffness
depend on how the mesh cuts the interface. Here the cut cell is the exact
*laminate* of the two phases whose layers are parallel to the interface:
strains tangential to the layers and tractions across them are continuous,
which fixes the phase strains in closed form. This is the "composite voxel"
of Kabel, Merkert & Schneider (Comput Methods Appl Mech Eng
2015;294:168-188), which they showed far more accurate than Voigt or Reuss
voxels, and of its non-cubic generalisation (Keshav, Fritzen & Kabel, Comput
Mech 2023;71:191-212). For layers normal to z and isotropic phases it
reduces to Backus' (J Geophys Res 1962;67:4427) averages, which the tests
check.

A laminate is transversely isotropic, the project's cells are isotropic:
:func:`axial_modulus` gives the cell the laminate's Young's modulus along
the body's axis (z, the axis of compression), so a cut cell is as stiff as
the laminate under uniaxial stress along z, whatever the layers'
orientation; its shear stiffness and its stiffness along x and y are those
of an isotropic material with that modulus (an approximation). The modulus
includes the layers' lateral constraint on each other: with a shared
Poisson's ratio ``nu`` the phases' lateral strains differ under the same
axial stress, the continuity of the tangential strains restrains them, and
layers normal to z are stiffer than the series mix (by 12-16 % in the median
over the cut cells of the fracture's band, nu 0.3, damage factor 0.12);
layers parallel to z give the parallel mix exactly.

The normal of the interface comes from Gauss points of the sharp condition
that defines it (:func:`vbfem.fem.elements.cell_phase`). The closure is used for
the edge of the fracture's damaged band, a sharp surface the fracture map
defines. Partly cemented cells keep the series rule
(:func:`vbfem.materials.cement.with_cement`): their saturation comes from the flow
solution, with no sub-cell geometry, and on a fixed cement inclusion the
series rule converged faster than the laminate with normals from the
saturation's gradient (3 -> 1.25 mm: 0.33 % against 1.2 % on the intact L1).
"""

from __future__ import annotations

import numpy as np

from ..fem.elements import isotropic_D

__all__ = ["axial_modulus", "from_voigt", "isotropic_tensor", "laminate_tensor", "to_voigt"]

_I = np.eye(3)
#: Voigt pairs in the project's order (xx, yy, zz, yz, xz, xy).
_VOIGT = np.array([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)])
#: Voigt index of each tensor index pair (i, j).
_INDEX = np.empty((3, 3), int)
_INDEX[_VOIGT[:, 0], _VOIGT[:, 1]] = _INDEX[_VOIGT[:, 1], _VOIGT[:, 0]] = np.arange(6)


def isotropic_tensor(E, nu) -> np.ndarray:
    """Isotropic elasticity tensors ``C_ijkl``, shape (m, 3, 3, 3, 3), MPa, from E (MPa) and nu
    (the tensors of :func:`vbfem.fem.elements.isotropic_D`)."""
    return from_voigt(isotropic_D(np.atleast_1d(E), np.atleast_1d(nu)))


def laminate_tensor(C1, C2, f1, normal) -> np.ndarray:
    """Effective elasticity tensor of a laminate of two phases, shape (m, 3, 3, 3, 3).

    Parameters
    ----------
    C1, C2 : ndarray (m, 3, 3, 3, 3)
        Elasticity tensors of the phases, MPa (any anisotropy).
    f1 : array_like (m,)
        Volume fraction of phase 1, in [0, 1].
    normal : ndarray (m, 3)
        Unit normal of the layers.

    Returns
    -------
    ndarray (m, 3, 3, 3, 3)
        Effective elasticity tensors, MPa.

    Notes
    -----
    Each phase's strain is the mean strain plus ``sym(a_i ⊗ n)`` (a jump
    normal to the layers keeps the tangential strains continuous), with
    ``f1 a_1 + f2 a_2 = 0``; the traction ``σ_i n`` is the same in both phases.
    With the acoustic tensors ``K_i = n·C_i·n`` and ``T_i = n·C_i``, the
    common traction per unit mean strain is
    ``t = (Σ f_i K_i⁻¹)⁻¹ Σ f_i K_i⁻¹ T_i``, ``a_i = K_i⁻¹ (t - T_i)``, and the
    effective tensor is ``Σ f_i C_i (I + sym(a_i ⊗ n))``.
    """
    f1 = np.asarray(f1, float)
    f = (f1[:, None, None], 1.0 - f1[:, None, None])
    n = np.asarray(normal, float)
    K = [np.einsum("mi,mijkl,ml->mjk", n, C, n) for C in (C1, C2)]
    T = [np.einsum("mi,mijkl->mjkl", n, C) for C in (C1, C2)]
    Ki = [np.linalg.inv(k) for k in K]
    t = np.einsum("mjk,mkpq->mjpq", np.linalg.inv(f[0] * Ki[0] + f[1] * Ki[1]),
                  sum(fi[..., None] * np.einsum("mjk,mkpq->mjpq", ki, ti) for fi, ki, ti in zip(f, Ki, T)))
    eye4 = 0.5 * (np.einsum("ip,jq->ijpq", _I, _I) + np.einsum("iq,jp->ijpq", _I, _I))
    out = np.zeros_like(C1)
    for fi, C, ki, ti in zip(f, (C1, C2), Ki, T):
        a = np.einsum("mjk,mkpq->mjpq", ki, t - ti)
        jump = np.einsum("mkpq,ml->mklpq", a, n)
        strain = eye4 + 0.5 * (jump + jump.transpose(0, 2, 1, 3, 4))
        out += fi[..., None, None] * np.einsum("mijkl,mklpq->mijpq", C, strain)
    return out


def from_voigt(D) -> np.ndarray:
    """Elasticity tensors (m, 3, 3, 3, 3) of Voigt matrices (m, 6, 6), the inverse of :func:`to_voigt`."""
    return np.asarray(D)[:, _INDEX[:, :, None, None], _INDEX[None, None, :, :]]


def to_voigt(C) -> np.ndarray:
    """Voigt matrices (m, 6, 6) of elasticity tensors (m, 3, 3, 3, 3): order xx, yy, zz, yz, xz, xy, engineering shear."""
    i, j = _VOIGT[:, 0], _VOIGT[:, 1]
    return C[:, i[:, None], j[:, None], i[None, :], j[None, :]]


def axial_modulus(E1, nu1, E2, nu2, f1, normal, *, axis: int = 2) -> np.ndarray:
    """Young's modulus along ``axis`` of the laminate of two isotropic phases.

    Parameters
    ----------
    E1, nu1 : array_like (m,)
        Young's modulus (MPa) and Poisson's ratio of phase 1.
    E2, nu2 : array_like (m,)
        The same for phase 2.
    f1 : array_like (m,)
        Volume fraction of phase 1, in [0, 1].
    normal : array_like (m, 3)
        Unit normal of the layers; a zero row means that no direction is
        known, and that entry gets the series (Reuss) mix
        ``1 / (f1 / E1 + (1 - f1) / E2)``.
    axis : int, keyword-only, default 2 (z)

    Returns
    -------
    ndarray (m,)
        ``1 / S_aa`` (MPa), ``S`` the compliance of :func:`laminate_tensor`.
    """
    E1, nu1, E2, nu2, f1 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (E1, nu1, E2, nu2, f1)))
    normal = np.asarray(normal, float)
    if normal.shape != (E1.size, 3):
        raise ValueError(f"normal must have shape ({E1.size}, 3), one row per modulus; got {normal.shape}")
    out = 1.0 / (f1 / E1 + (1.0 - f1) / E2)
    has = np.linalg.norm(normal, axis=1) > 0
    if has.any():
        C = laminate_tensor(isotropic_tensor(E1[has], nu1[has]), isotropic_tensor(E2[has], nu2[has]), f1[has],
                            normal[has])
        out[has] = 1.0 / np.linalg.inv(to_voigt(C))[:, axis, axis]
    return out
