"""Linear-elastic materials of the intervertebral disc: nucleus pulposus and fibre-reinforced annulus.

The nucleus is either a fluid-filled cavity (the default of :mod:`vbfem.mechanics.spinal_unit`: a
hydrostatic fluid of bulk modulus :data:`NUCLEUS_FLUID_BULK` in a soft solid skeleton,
:mod:`vbfem.fem.cavity`) or a nearly incompressible isotropic solid (:data:`NUCLEUS_E`,
:data:`NUCLEUS_NU`). The annulus is its isotropic ground substance
plus two families of collagen fibres at ``±fibre_angle`` from the transverse plane in the local
circumferential-axial plane, smeared over the cell: each family adds ``E_f (phi / 2) v v^T`` with
``v = (a_x², a_y², a_z², a_y a_z, a_x a_z, a_x a_y)`` for its unit direction ``a`` (a uniaxial fibre
stiffness, Voigt order xx, yy, zz, yz, xz, xy with engineering shear). The fibres here carry
compression as well as tension (a linear model; the published models use tension-only fibres), so the
annulus is stiffer in axial compression than theirs at equal values.

Sources of the defaults are beside each constant. Units: MPa, degrees.
"""

from __future__ import annotations

import numpy as np

from ..fem.elements import isotropic_D

__all__ = [
    "ANNULUS_E",
    "ANNULUS_NU",
    "FIBRE_ANGLE",
    "FIBRE_E",
    "FIBRE_FRACTION",
    "NUCLEUS_E",
    "NUCLEUS_FLUID_BULK",
    "NUCLEUS_NU",
    "NUCLEUS_SKELETON_E",
    "NUCLEUS_SKELETON_NU",
    "annulus_stiffness",
    "check_disc_material",
    "fibre_stiffness",
]

#: Annulus ground substance, Young's modulus (MPa) and Poisson's ratio: 4.2 MPa, 0.45 (the linear values
#: of the lumbar models; BioMed Res Int 2013;2013:705185 "Development and kinematic verification of a
#: finite element model for the lumbar spine: application to disc degeneration", Table 1, after
#: Shirazi-Adl et al., Spine 1986;11:914, which vbfem.mechanics.loadcases.DISC_E also uses).
ANNULUS_E = 4.2
ANNULUS_NU = 0.45
#: Nucleus pulposus, Young's modulus (MPa) and Poisson's ratio: the linear-elastic alternative to an
#: incompressible fluid that BioMed Res Int 2013;2013:705185 (Table 1, footnote) reports to give
#: "similar results and a volume change less than 0.6 %": E = 1.0 MPa, nu = 0.49.
NUCLEUS_E = 1.0
NUCLEUS_NU = 0.49
#: Bulk modulus of the nucleus's fluid when the nucleus is a fluid-filled cavity, MPa: that of water,
#: 2.2 GPa. Read from: the Modelica Hydraulic library's constant-property water at 20 °C (record
#: Hydraulic.Media.Water20, bulk modulus 2.2e9 Pa); 2.179 GPa at 20 °C and 1 atm computed from the
#: REFPROP / IAPWS-95 equation of state (Maplesoft application "Calculating the Bulk Modulus of a Fluid";
#: the formulation is Wagner & Pruss, J Phys Chem Ref Data 2002;31:387, not read here); isothermal
#: compressibility 4.59e-10 1/Pa at 25 °C in compressibility tables (1/kappa = 2.18 GPa). The nucleus is
#: mostly water; its own bulk modulus was not found. BioMed Res Int 2013;2013:705185 (the source of
#: :data:`NUCLEUS_E`) models the nucleus as an incompressible fluid, with the solid nucleus as its
#: linear-elastic alternative. The intradiscal pressure hardly depends on the value (a tenth of it lowers
#: the L4-L5 pressure by 2.5 %, benchmarks/bench_spine.py --idp).
NUCLEUS_FLUID_BULK = 2200.0
#: Skeleton of a fluid-filled nucleus: the nucleus cells' own solid, which only keeps their shape modes
#: stiff (the fluid carries the volume change). Shear modulus G = 0.06 MPa (E = 2 G (1 + nu)): the top of
#: the 5-60 kPa instantaneous and dynamic shear moduli of human lumbar nucleus pulposus in torsional shear
#: (Iatridis et al., "Alterations in the mechanical behavior of the human lumbar nucleus pulposus with
#: degeneration and aging", J Orthop Res 1997;15(2):318-322, abstract; the moduli rise with age and
#: degeneration). The intradiscal pressure hardly depends on it (0.362 MPa at 0.005 MPa, 0.364 at 0.06,
#: L4-L5 at 4 mm, benchmarks/bench_spine.py --idp). Poisson's ratio 0: no volumetric stiffness of its
#: own beyond 2 G / 3 = 0.04 MPa, negligible beside the fluid's (the skeleton's drained Poisson's ratio is
#: not a measured value).
NUCLEUS_SKELETON_NU = 0.0
NUCLEUS_SKELETON_E = 2.0 * 0.06 * (1.0 + NUCLEUS_SKELETON_NU)
#: Annulus collagen fibre modulus, MPa: 360-550 MPa from the innermost to the outermost layer
#: (BioMed Res Int 2013;2013:705185, Table 1; 357.5-550 MPa in Clin Biomech 2014;29:155, Table 1).
#: The default is the mean of the five layers of the first, 455 MPa.
FIBRE_E = 455.0
#: Volume fraction of the fibres in the annulus. NOT FOUND in a checked source: the value 0.16 is the
#: one commonly attributed to Shirazi-Adl et al. (Spine 1984;9:120), not verified here; give the value
#: of your own calibration.
FIBRE_FRACTION = 0.16
#: Fibre angle from the transverse plane, degrees: calibrated regional angles 23-43 deg from the
#: circumferential axis, about 30 deg on average (Malandrino, Noailly & Lacroix, Comput Methods Biomech
#: Biomed Engin 2013;16:923).
FIBRE_ANGLE = 30.0


def check_disc_material(name: str, E: float, nu: float) -> None:
    """ValueError naming ``name`` unless ``E > 0`` MPa and ``-1 < nu < 0.5``.

    ``nu >= 0.5`` (exactly incompressible) has no displacement formulation; vbfem's linear solver has
    no mixed or penalty option, so the nucleus is nearly incompressible (``nu <= 0.499``).
    """
    if not (np.isfinite(E) and E > 0):
        raise ValueError(f"{name} E={E!r} MPa must be finite and > 0")
    if not (np.isfinite(nu) and -1.0 < nu < 0.5):
        raise ValueError(f"{name} nu={nu!r} must be in (-1, 0.5): an incompressible material (nu >= 0.5) needs "
                         "a mixed or penalty formulation, which vbfem's linear solver does not have; use "
                         "nu <= 0.499 (nearly incompressible)")


def fibre_stiffness(directions, modulus) -> np.ndarray:
    """Voigt stiffness ``modulus v v^T`` (MPa) of uniaxial fibres along unit ``directions`` (m, 3)."""
    a = np.asarray(directions, float)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    v = np.column_stack([a[:, 0] ** 2, a[:, 1] ** 2, a[:, 2] ** 2,
                         a[:, 1] * a[:, 2], a[:, 0] * a[:, 2], a[:, 0] * a[:, 1]])
    return np.asarray(modulus, float).reshape(-1, 1, 1) * v[:, :, None] * v[:, None, :]


def annulus_stiffness(circumferential, *, E: float = ANNULUS_E, nu: float = ANNULUS_NU,
                      fibre_E: float = FIBRE_E, fibre_fraction: float = FIBRE_FRACTION,
                      fibre_angle: float = FIBRE_ANGLE, axis=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Voigt elasticity matrices (m, 6, 6), MPa, of annulus cells with fibres at ±``fibre_angle``.

    Parameters
    ----------
    circumferential : array_like, shape (m, 3)
        Local circumferential direction of each cell (normalised here; its component along ``axis``
        is removed).
    E, nu : float, keyword-only
        Ground substance (MPa, -), defaults :data:`ANNULUS_E`, :data:`ANNULUS_NU`.
    fibre_E : float, keyword-only
        Fibre modulus, MPa (:data:`FIBRE_E`).
    fibre_fraction : float, keyword-only
        Fibre volume fraction in [0, 1) (:data:`FIBRE_FRACTION`), split equally between the families.
    fibre_angle : float, keyword-only
        Degrees from the transverse plane, in [0, 90] (:data:`FIBRE_ANGLE`).
    axis : array_like (3,), keyword-only
        The spine's axis (default +z).

    Examples
    --------
    >>> D = annulus_stiffness([[0.0, 1.0, 0.0]])
    >>> D.shape
    (1, 6, 6)
    """
    check_disc_material("annulus", E, nu)
    if not (np.isfinite(fibre_E) and fibre_E >= 0):
        raise ValueError(f"fibre_E={fibre_E!r} MPa must be >= 0")
    if not (0.0 <= fibre_fraction < 1.0):
        raise ValueError(f"fibre_fraction={fibre_fraction!r} must be in [0, 1)")
    if not (0.0 <= fibre_angle <= 90.0):
        raise ValueError(f"fibre_angle={fibre_angle!r} degrees must be in [0, 90]")
    ez = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.atleast_2d(np.asarray(circumferential, float))
    t = t - (t @ ez)[:, None] * ez
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("a circumferential direction is parallel to the axis")
    t = t / norm
    c, s = np.cos(np.radians(fibre_angle)), np.sin(np.radians(fibre_angle))
    m = t.shape[0]
    D = np.broadcast_to(isotropic_D(np.array([E]), np.array([nu]))[0], (m, 6, 6)).copy()
    half = 0.5 * fibre_fraction * fibre_E
    for sign in (1.0, -1.0):
        D += fibre_stiffness(c * t + sign * s * ez, np.full(m, half))
    return D
