"""Density-property laws of vertebral trabecular bone, looked up by name.

A law maps a density (g/cm³) to a Young's modulus or an ultimate strength
(MPa). Each :class:`DensityLaw` carries its formula, its citation, the kind of
density it was fitted to (wet apparent, ash, or QCT equivalent mineral
density) and the approximate density range of the data behind it. Evaluating a law outside
that range is logged at INFO level (extrapolation: osteoporotic bone with
random heterogeneity routinely reaches below the data); outside (0, 2] g/cm³
it raises ``ValueError``. Moduli below a floor are raised to it with a
logged warning.

Densities of different kinds are converted with fixed ratios to wet apparent
density (:data:`DENSITY_RATIOS`):

- ash density ρ_ash = 0.6 ρ_app: Schileo et al., J Biomech 2008;41:356, found
  a constant ash/apparent ratio of 0.598 ± 0.004 (cortical) and
  0.598 ± 0.036 (small trabecular specimens).
- QCT equivalent mineral density ρ_QCT ≈ ρ_ash = 0.6 ρ_app. This is an
  approximation: Schileo 2008 found CT and ash density linearly related but
  not identical, and the offset depends on the calibration phantom. With it,
  the Kopperdahl 2002 QCT law and the Morgan 2003 apparent-density law agree
  within about 25 % over 0.10–0.20 g/cm³ apparent density.

Laws marked ``verified=False`` have coefficients widely quoted in the FE
literature that we have not checked against the primary paper.

Example
-------
>>> from vbfem.materials.laws import modulus_from_density
>>> round(float(modulus_from_density(0.15)), 0)   # Morgan 2003, vertebra
245.0
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

log = logging.getLogger(__name__)

#: Densities accepted at all, g/cm³ (open at 0): fully mineralised cortical
#: bone has an apparent density of about 1.8–2.0 g/cm³.
DENSITY_LIMITS = (0.0, 2.0)

#: Ratio of each density kind to wet apparent density. Ash: Schileo et al.,
#: J Biomech 2008;41:356 (0.598). QCT: approximated by ash density (see module
#: docstring).
DENSITY_RATIOS = MappingProxyType({"apparent": 1.0, "ash": 0.6, "qct": 0.6})

#: Floor in MPa for moduli from linear laws that turn negative or tiny at low
#: density. Not a published value: a numerical floor that keeps the stiffness
#: matrix positive definite, about 1/100 of the osteoporotic mean modulus.
MODULUS_FLOOR = 1.0

#: Apparent compressive yield strain of human vertebral trabecular bone,
#: on-axis (0.84 ± 0.06 %): Kopperdahl & Keaveny, J Biomech 1998;31:601.
#: The same study found it weakly but significantly increasing with density.
YIELD_STRAIN_COMPRESSION = 0.0084

#: Apparent tensile yield strain, on-axis (0.78 ± 0.04 %), independent of
#: density: Kopperdahl & Keaveny, J Biomech 1998;31:601.
YIELD_STRAIN_TENSION = 0.0078


@dataclass(frozen=True)
class PowerLaw:
    """``y = a * rho**b`` (rho in g/cm³, y in MPa)."""

    a: float
    b: float

    def __call__(self, rho: np.ndarray) -> np.ndarray:
        return self.a * np.power(rho, self.b)

    def __str__(self) -> str:
        return f"{self.a:g} ρ^{self.b:g}"


@dataclass(frozen=True)
class LinearLaw:
    """``y = a + b * rho`` (rho in g/cm³, y in MPa); negative below ``-a / b``."""

    a: float
    b: float

    def __call__(self, rho: np.ndarray) -> np.ndarray:
        return self.a + self.b * np.asarray(rho, float)

    def __str__(self) -> str:
        return f"{self.a:g} + {self.b:g} ρ"


@dataclass(frozen=True)
class TransverseRatios:
    """Transverse-isotropic constants as ratios to the axial modulus.

    Attributes
    ----------
    transverse : float
        E_transverse / E_axial.
    shear_axial : float
        G in the planes containing the axis (G_xz = G_yz) / E_axial.
    shear_transverse : float
        G in the transverse plane (G_xy) / E_axial.
    nu_transverse : float
        ν_xy: lateral contraction in the transverse plane under transverse load.
    nu_axial : float
        ν_zx = ν_zy: transverse contraction under axial (z) load.
    citation : str
        Source of the ratios.
    """

    transverse: float
    shear_axial: float
    shear_transverse: float
    nu_transverse: float
    nu_axial: float
    citation: str

    def unit_stiffness(self) -> np.ndarray:
        """Voigt elasticity matrix per unit axial modulus (6, 6), axis z, for ``MaterialMap.anisotropy``."""
        one = np.ones(1)
        return TransverseIsotropic(one, self.transverse * one, self.shear_axial * one,
                                   self.shear_transverse * one, self.nu_transverse, self.nu_axial).stiffness()[0]


@dataclass(frozen=True)
class DensityLaw:
    """A named density → property law.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"morgan2003"``.
    quantity : {"modulus", "strength"}
        What the law gives, in MPa.
    formula : callable
        ``formula(rho)`` with rho in g/cm³ of kind ``density_type``.
    citation : str
        Published source.
    density_type : {"apparent", "ash", "qct"}
        Kind of density the law was fitted to.
    valid_range : (float, float)
        Approximate density range (g/cm³, of kind ``density_type``) of the
        data behind the law; outside it the law extrapolates.
    verified : bool
        Whether the coefficients were checked against the primary paper.
    note : str
        Caveats.
    anisotropy : TransverseRatios or None
        Transverse-isotropic ratios; ``formula`` then gives the axial modulus.
    """

    name: str
    quantity: str
    formula: PowerLaw | LinearLaw
    citation: str
    density_type: str
    valid_range: tuple[float, float]
    verified: bool = False
    note: str = ""
    anisotropy: TransverseRatios | None = None

    def __post_init__(self):
        if self.quantity not in ("modulus", "strength"):
            raise ValueError(f"quantity must be 'modulus' or 'strength', got {self.quantity!r}")
        if self.density_type not in DENSITY_RATIOS:
            raise ValueError(
                f"density_type {self.density_type!r} unknown; allowed: {', '.join(DENSITY_RATIOS)}"
            )

    @property
    def expression(self) -> str:
        """The formula as text, e.g. ``"E = 4730 ρ^1.56"``."""
        symbol = "E" if self.quantity == "modulus" else "σ_ult"
        return f"{symbol} = {self.formula} (ρ {self.density_type}, g/cm³; MPa)"

    def __call__(self, rho) -> np.ndarray:
        """The raw formula at ``rho`` (g/cm³, kind ``density_type``): no checks, no floor."""
        return self.formula(np.asarray(rho, float))


# Approximate density span of vertebral trabecular specimens: wet apparent
# 0.09-0.35 g/cm³ across vertebral studies (Öhman-Mägi et al., JOR Spine
# 2021;4:e1176, review); times 0.6 for ash / QCT density.
_VERTEBRAL_APPARENT = (0.09, 0.35)
_VERTEBRAL_MINERAL = (0.054, 0.21)

_MODULUS_LAWS: dict[str, DensityLaw] = {}
_STRENGTH_LAWS: dict[str, DensityLaw] = {}

#: Read-only view of the modulus laws by name.
MODULUS_LAWS: Mapping[str, DensityLaw] = MappingProxyType(_MODULUS_LAWS)
#: Read-only view of the strength laws by name.
STRENGTH_LAWS: Mapping[str, DensityLaw] = MappingProxyType(_STRENGTH_LAWS)

#: Default modulus law: vertebral trabecular bone, Morgan 2003.
DEFAULT_MODULUS_LAW = "morgan2003"
#: Default strength law: vertebral trabecular bone, Hansson 1987.
DEFAULT_STRENGTH_LAW = "hansson1987"


def register_law(law: DensityLaw, *, replace: bool = False) -> DensityLaw:
    """Add ``law`` to the modulus or strength registry (by ``law.quantity``).

    Parameters
    ----------
    law : DensityLaw
        The law; its ``name`` becomes the key.
    replace : bool, keyword-only, default False
        Allow replacing a law of the same name.

    Returns
    -------
    DensityLaw
        ``law``, so the call can be used as an expression.
    """
    if not isinstance(law, DensityLaw):
        raise TypeError(f"expected a DensityLaw, got {type(law).__name__}")
    registry = _MODULUS_LAWS if law.quantity == "modulus" else _STRENGTH_LAWS
    if law.name in registry and not replace:
        raise ValueError(f"a {law.quantity} law named {law.name!r} exists; pass replace=True")
    registry[law.name] = law
    return law


register_law(DensityLaw(
    "morgan2003", "modulus", PowerLaw(4730.0, 1.56),
    "Morgan, Bayraktar, Keaveny. Trabecular bone modulus-density relationships depend on "
    "anatomic site. J Biomech 2003;36:897-904 (vertebra, n = 61, r² = 0.73)",
    "apparent", _VERTEBRAL_APPARENT, verified=True,
    note="Wet apparent density; end-artefact-corrected tests. Valid range approximate.",
))
register_law(DensityLaw(
    "kopperdahl1998", "modulus", LinearLaw(-80.0, 2100.0),
    "Kopperdahl & Keaveny. Yield strain behavior of trabecular bone. J Biomech 1998;31:601-608 "
    "(human vertebral specimens, apparent density 0.18 ± 0.04 g/cm³)",
    "apparent", (0.10, 0.26), verified=False,
    note="Coefficients as widely quoted, unverified against the paper. Negative below "
    "0.038 g/cm³ (floored). Valid range: the specimens' mean ± 2 SD.",
))
register_law(DensityLaw(
    "keller1994", "modulus", PowerLaw(1890.0, 1.92),
    "Keller. Predicting the compressive mechanical behavior of bone. J Biomech "
    "1994;27:1159-1168 (vertebral trabecular bone)",
    "ash", _VERTEBRAL_MINERAL, verified=False,
    note="Ash density; with ρ_ash = 0.6 ρ_app it gives moduli several times lower than "
    "Morgan 2003 (e.g. 19 vs 245 MPa at 0.15 g/cm³ apparent), consistent with the "
    "end-artefact underestimate of platen tests of that era. Coefficients unverified.",
))
register_law(DensityLaw(
    "qct_crawford2003", "modulus", LinearLaw(-34.7, 3230.0),
    "Kopperdahl, Morgan, Keaveny. Quantitative computed tomography estimates of the mechanical "
    "properties of human vertebral trabecular bone. J Orthop Res 2002;20:801-805; used "
    "transversely isotropic in Crawford, Cann, Keaveny, Bone 2003;33:744-750",
    "qct", _VERTEBRAL_MINERAL, verified=False,
    note="ρ_QCT is K2HPO4-equivalent density from calibrated QCT. The formula gives the axial "
    "(superior-inferior) modulus; assign_bone makes trabecular cells transversely isotropic with "
    "the ratios below (MaterialMap.anisotropy). "
    "Negative below 0.011 g/cm³ (floored). Coefficients and ratios unverified.",
    anisotropy=TransverseRatios(
        transverse=1.0 / 3.0, shear_axial=0.157, shear_transverse=0.121,
        nu_transverse=0.381, nu_axial=0.104,
        citation="Crawford, Cann, Keaveny, Bone 2003;33:744 (after Ulrich et al. 1999), as quoted "
        "by later QCT-FE studies (G = 0.121-0.157 E_axial); unverified",
    ),
))
register_law(DensityLaw(
    "hansson1987", "strength", PowerLaw(50.3, 2.24),
    "Hansson, Keller, Panjabi. A study of the compressive properties of lumbar vertebral "
    "trabeculae: effects of tissue characteristics. Spine 1987;12:56-62; as tabulated in "
    "Keaveny's handbook chapter on trabecular bone strength (table 9.5)",
    "apparent", _VERTEBRAL_APPARENT, verified=False,
    note="Ultimate compressive stress. Gives about 0.7 MPa at 0.15 g/cm³, below "
    "ε_y E of Morgan 2003 (about 2 MPa): older platen tests. Density kind as tabulated; unverified.",
))
register_law(DensityLaw(
    "mosekilde1987", "strength", PowerLaw(24.9, 1.80),
    "Mosekilde, Mosekilde, Danielsen. Biomechanical competence of vertebral trabecular bone in "
    "relation to ash density and age in normal individuals. Bone 1987;8:79-85; as tabulated "
    "in Keaveny's handbook chapter on trabecular bone strength (table 9.5)",
    "apparent", _VERTEBRAL_APPARENT, verified=False,
    note="Ultimate compressive stress. Density kind as tabulated; unverified.",
))


def get_law(law: str | DensityLaw, *, quantity: str = "modulus") -> DensityLaw:
    """Look up a law by name.

    Parameters
    ----------
    law : str or DensityLaw
        Registry name, or a law object (returned as is after a quantity check).
    quantity : {"modulus", "strength"}, keyword-only, default "modulus"
        Which registry to search.

    Returns
    -------
    DensityLaw

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.
    """
    registry = {"modulus": MODULUS_LAWS, "strength": STRENGTH_LAWS}.get(quantity)
    if registry is None:
        raise ValueError(f"quantity must be 'modulus' or 'strength', got {quantity!r}")
    if isinstance(law, DensityLaw):
        if law.quantity != quantity:
            raise ValueError(f"law {law.name!r} gives {law.quantity}, not {quantity}")
        return law
    try:
        return registry[law]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown {quantity} law {law!r}; valid: {', '.join(sorted(registry))}"
        ) from None


def convert_density(rho, *, source: str, target: str) -> np.ndarray:
    """Convert densities between kinds with the ratios of :data:`DENSITY_RATIOS`.

    Parameters
    ----------
    rho : array_like
        Density in g/cm³ of kind ``source``.
    source, target : {"apparent", "ash", "qct"}, keyword-only
        Kinds of density.

    Returns
    -------
    ndarray
        Density in g/cm³ of kind ``target``.
    """
    for kind in (source, target):
        if kind not in DENSITY_RATIOS:
            raise ValueError(f"unknown density kind {kind!r}; allowed: {', '.join(DENSITY_RATIOS)}")
    return np.asarray(rho, float) * (DENSITY_RATIOS[target] / DENSITY_RATIOS[source])


def _checked_density(rho) -> np.ndarray:
    rho = np.asarray(rho, float)
    lo, hi = DENSITY_LIMITS
    bad = ~((rho > lo) & (rho <= hi))  # also catches NaN
    if np.any(bad):
        idx = np.flatnonzero(bad.ravel())
        values = rho.ravel()[idx[:5]].tolist()
        raise ValueError(
            f"density must be in ({lo:g}, {hi:g}] g/cm³; got {values[0]!r}"
            + (f" (and {idx.size - 1} more, e.g. {values[1:]})" if idx.size > 1 else "")
            + f" at index {idx[0]}"
        )
    return rho


def _evaluate(rho, law: DensityLaw, density_type: str | None) -> np.ndarray:
    rho = _checked_density(rho)
    if density_type is not None and density_type != law.density_type:
        rho = convert_density(rho, source=density_type, target=law.density_type)
    lo, hi = law.valid_range
    outside = np.count_nonzero((rho < lo) | (rho > hi))
    if outside:
        log.info(
            "%d of %d densities lie outside the %s data range [%g, %g] g/cm³ (%s): extrapolated",
            outside, rho.size, law.name, lo, hi, law.density_type,
        )
    return law(rho)


def _as_output(values: np.ndarray, rho):
    return float(values) if np.ndim(rho) == 0 else values


def modulus_from_density(rho, law: str | DensityLaw = DEFAULT_MODULUS_LAW, *,
                         density_type: str | None = None, floor: float = MODULUS_FLOOR):
    """Young's modulus of trabecular bone from density by a named law.

    Parameters
    ----------
    rho : float or array_like
        Density in g/cm³, in (0, 2].
    law : str or DensityLaw, default "morgan2003"
        A name in :data:`MODULUS_LAWS`: ``"morgan2003"`` (default),
        ``"kopperdahl1998"``, ``"keller1994"``, ``"qct_crawford2003"``.
    density_type : {"apparent", "ash", "qct"} or None, keyword-only
        Kind of ``rho``; None (default) means the law's own kind. Other kinds
        are converted by :func:`convert_density`.
    floor : float, keyword-only, default :data:`MODULUS_FLOOR` (1 MPa)
        Smallest modulus returned; lower values (negative ones from the
        linear laws at low density) are raised to it with a logged warning.

    Returns
    -------
    float or ndarray
        Young's modulus in MPa (axial modulus for transversely isotropic laws).

    Raises
    ------
    ValueError
        Unknown law (the message lists the valid ones) or a density outside
        (0, 2] g/cm³ (the message names it).

    Examples
    --------
    >>> modulus_from_density([0.10, 0.20]).round()
    array([130., 384.])
    >>> round(modulus_from_density(0.15, "qct_crawford2003", density_type="apparent"))
    256
    """
    law = get_law(law, quantity="modulus")
    E = np.asarray(_evaluate(rho, law, density_type), float)
    low = E < floor
    if np.any(low):
        log.warning(
            "%s gave %d of %d moduli below %g MPa (min %.3g MPa); set to %g MPa",
            law.name, np.count_nonzero(low), E.size, floor, E.min(), floor,
        )
        E = np.where(low, floor, E)
    return _as_output(E, rho)


def strength_from_density(rho, law: str | DensityLaw = DEFAULT_STRENGTH_LAW, *,
                          density_type: str | None = None):
    """Ultimate compressive strength of vertebral trabecular bone from density.

    Parameters
    ----------
    rho : float or array_like
        Density in g/cm³, in (0, 2].
    law : str or DensityLaw, default "hansson1987"
        A name in :data:`STRENGTH_LAWS`: ``"hansson1987"`` (50.3 ρ^2.24) or
        ``"mosekilde1987"`` (24.9 ρ^1.80).
    density_type : {"apparent", "ash", "qct"} or None, keyword-only
        Kind of ``rho``; None means the law's own kind.

    Returns
    -------
    float or ndarray
        Ultimate compressive stress in MPa.

    Notes
    -----
    A yield stress consistent with a modulus law is
    ``YIELD_STRAIN_COMPRESSION * modulus_from_density(rho)``.

    Examples
    --------
    >>> round(strength_from_density(0.2), 3)
    1.367
    """
    law = get_law(law, quantity="strength")
    return _as_output(np.asarray(_evaluate(rho, law, density_type), float), rho)


@dataclass(frozen=True)
class TransverseIsotropic:
    """Per-cell transversely isotropic constants, axis of symmetry z (superior).

    Attributes
    ----------
    E_axial, E_transverse : ndarray
        Young's moduli along z and in the x-y plane, MPa.
    G_axial : ndarray
        Shear modulus G_xz = G_yz, MPa.
    G_transverse : ndarray
        Shear modulus G_xy, MPa.
    nu_transverse : float
        ν_xy.
    nu_axial : float
        ν_zx = ν_zy (transverse contraction under axial load); the reciprocal
        ν_xz = ν_zx E_transverse / E_axial.
    """

    E_axial: np.ndarray
    E_transverse: np.ndarray
    G_axial: np.ndarray
    G_transverse: np.ndarray
    nu_transverse: float
    nu_axial: float

    def stiffness(self) -> np.ndarray:
        """Voigt stiffness matrices, shape (n, 6, 6), order (xx, yy, zz, yz, xz, xy), MPa.

        Engineering shear strains, as in :mod:`vbfem.records`.
        """
        Ea = np.atleast_1d(self.E_axial)
        Et = np.atleast_1d(self.E_transverse)
        nu_xz = self.nu_axial * Et / Ea
        S = np.zeros(Ea.shape + (6, 6))
        S[:, 0, 0] = S[:, 1, 1] = 1.0 / Et
        S[:, 2, 2] = 1.0 / Ea
        S[:, 0, 1] = S[:, 1, 0] = -self.nu_transverse / Et
        S[:, 0, 2] = S[:, 2, 0] = S[:, 1, 2] = S[:, 2, 1] = -nu_xz / Et
        S[:, 3, 3] = S[:, 4, 4] = 1.0 / np.atleast_1d(self.G_axial)
        S[:, 5, 5] = 1.0 / np.atleast_1d(self.G_transverse)
        return np.linalg.inv(S)


def transverse_isotropic_constants(rho, law: str | DensityLaw = "qct_crawford2003", *,
                                   density_type: str | None = None,
                                   floor: float = MODULUS_FLOOR) -> TransverseIsotropic:
    """Transversely isotropic constants of trabecular bone from density.

    ``E_axial`` is what :func:`modulus_from_density` returns for the same
    law; :func:`vbfem.materials.bone.assign_bone` gives such a law's trabecular cells
    the elasticity ``E_axial * law.anisotropy.unit_stiffness()``, which these
    constants describe cell by cell.

    Parameters
    ----------
    rho : float or array_like
        Density in g/cm³, in (0, 2].
    law : str or DensityLaw, default "qct_crawford2003"
        A modulus law with ``anisotropy`` ratios.
    density_type : {"apparent", "ash", "qct"} or None, keyword-only
        Kind of ``rho``; None means the law's own kind (QCT density).
    floor : float, keyword-only, default 1 MPa
        Floor on the axial modulus, as in :func:`modulus_from_density`.

    Returns
    -------
    TransverseIsotropic
        Moduli in MPa (arrays shaped like ``rho``).

    Examples
    --------
    >>> c = transverse_isotropic_constants(0.1)
    >>> round(float(c.E_axial)), round(float(c.E_transverse)), round(float(c.G_transverse))
    (288, 96, 35)
    """
    law = get_law(law, quantity="modulus")
    if law.anisotropy is None:
        with_ratios = [name for name, item in MODULUS_LAWS.items() if item.anisotropy is not None]
        raise ValueError(
            f"law {law.name!r} is isotropic; transversely isotropic laws: {', '.join(with_ratios)}"
        )
    r = law.anisotropy
    Ea = np.asarray(modulus_from_density(rho, law, density_type=density_type, floor=floor), float)
    return TransverseIsotropic(
        E_axial=Ea,
        E_transverse=r.transverse * Ea,
        G_axial=r.shear_axial * Ea,
        G_transverse=r.shear_transverse * Ea,
        nu_transverse=r.nu_transverse,
        nu_axial=r.nu_axial,
    )
