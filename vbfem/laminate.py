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
the body's axis (z, the axis of compression). It is exact for axial load on
layers of any orientation when the phases share one Poisson's ratio up to
the lateral constraint the layers exert on each other (which the laminate
includes); it is an approximation for the cut cells' shear stiffness.

The normal of the interface comes from Gauss points of the sharp condition
that defines it (:func:`vbfem.elements.cell_phase`). The closure is used for
the edge of the fracture's damaged band, a sharp surface the fracture map
defines. Partly cemented cells keep the series rule
(:func:`vbfem.cement.with_cement`): their saturation comes from the flow
solution, with no sub-cell geometry, and on a fixed cement inclusion the
series rule converged faster than the laminate with normals from the
saturation's gradient (3 -> 1.25 mm: 0.33 % against 1.2 % on the intact L1).
"""

from __future__ import annotations

import numpy as np

from .elements import lame

__all__ = ["axial_modulus", "isotropic_tensor", "laminate_tensor", "to_voigt"]

_I = np.eye(3)
#: Voigt pairs in the project's order (xx, yy, zz, yz, xz, xy).
_VOIGT = np.array([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)])


def isotropic_tensor(E, nu) -> np.ndarray:
    """Isotropic elasticity tensors ``C_ijkl``, shape (m, 3, 3, 3, 3), MPa, from E (MPa) and nu."""
    lam, mu = (np.atleast_1d(a)[:, None, None, None, None] for a in lame(E, nu))
    dd = np.einsum("ij,kl->ijkl", _I, _I)
    sym = np.einsum("ik,jl->ijkl", _I, _I) + np.einsum("il,jk->ijkl", _I, _I)
    return lam * dd + mu * sym


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


def to_voigt(C) -> np.ndarray:
    """Voigt matrices (m, 6, 6) of elasticity tensors (m, 3, 3, 3, 3): order xx, yy, zz, yz, xz, xy, engineering shear."""
    i, j = _VOIGT[:, 0], _VOIGT[:, 1]
    return C[:, i[:, None], j[:, None], i[None, :], j[None, :]]


def axial_modulus(E1, nu1, E2, nu2, f1, normal, *, axis: int = 2) -> np.ndarray:
    """Young's modulus (MPa) along ``axis`` of the laminate of two isotropic phases.

    ``1 / S_aa`` of the compliance of :func:`laminate_tensor` of phase 1
    (``E1`` MPa, ``nu1``, volume fraction ``f1``) and phase 2 (``E2``, ``nu2``)
    with layers normal to ``normal`` (m, 3). All arrays of length m. A zero
    normal (no direction known) gives the series (Reuss) mix
    ``1 / (f1 / E1 + (1 - f1) / E2)``.
    """
    E1, nu1, E2, nu2, f1 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (E1, nu1, E2, nu2, f1)))
    normal = np.asarray(normal, float).reshape(-1, 3)
    out = 1.0 / (f1 / E1 + (1.0 - f1) / E2)
    has = np.linalg.norm(normal, axis=1) > 0
    if has.any():
        C = laminate_tensor(isotropic_tensor(E1[has], nu1[has]), isotropic_tensor(E2[has], nu2[has]), f1[has],
                            normal[has])
        out[has] = 1.0 / np.linalg.inv(to_voigt(C))[:, axis, axis]
    return out

