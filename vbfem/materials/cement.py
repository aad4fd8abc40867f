"""Bone cements: presets, curing (viscosity vs time since mixing), shear thinning, and the cement–bone composite.

Viscosity model: ``μ(t) = μ_ref · exp((t - t_ref) / τ)`` for ``t`` s after mixing,
until the setting time, after which injection is refused. Defaults: μ_ref = 100 Pa·s at
t_ref = 5 min and τ = 13.4 min, which give 145 Pa·s at 10 min. The two values are from
Boger et al. 2008 (J Biomed Mater Res B, doi:10.1002/jbm.b.31044, abstract: "Viscosity of the
30% composition (145 Pa s) was higher than the ones received from regular cement and the 45%
composition (100–125 Pa s)"), i.e. cements of different composition, not one cement at two times;
the abstract gives no time of measurement. The time dependence (both anchoring times, hence τ) is
therefore an assumption, not a measurement. Setting time 20 min: "medical-grade cement hardens in
about 20 minutes" (project seed; a parameter); Boger 2008's regular cement set at 1020 s (abstract).

Measured curves (optional): ``Cement(viscosity_curve=ViscosityCurve(times, viscosities))`` replaces
the exponential by a table of a rheometry series, interpolated log-linearly (exponential between
points), so that the start time of an injection matters as the curve says. A curve must be positive
and strictly increasing in time (a curing cement only thickens); an injection outside the measured
times is refused before the flow starts (no extrapolation).

No preset carries a measured curve: no viscosity-time series of a vertebroplasty PMMA could be read
for this project (stored copies; of most papers only the abstract or first page), so the presets keep
the Boger 2008 two-point exponential and a user supplies the curve of their cement. Searched, with
what was readable: Trivedi et al. 2023, arXiv:2312.11426 (a vertebroplasty PMMA by rotational and
oscillatory rheometry; abstract and author list only); Hindawi 2011 article 571728 (a "medium
viscous" vertebroplasty PMMA's rheology at several temperatures; abstract and introduction only) and
ISRN 2011:780510 (Synthes, a medium viscous acrylic cement in a leakage model; abstract only); Habib et al.
2010, Int J Spine Surg 4:26 (Vertebroplastic and Confidence injected 3.5, 6.5 and 9.5 min after mixing;
no viscosities in the abstract); Zderic et al. 2016, J Orthop Translat 8:40 (viscosity at the start and
end of a stepwise injection; values past the readable summary); Lewis & Carroll 2002, J Biomed Mater
Res 63:191 (complex viscosity against time of three PMMAs; abstract only); Lewis 2011, J Biomed Mater
Res B 98:171 (review; first page only); Nicholas et al. 2007, J Mater Sci Mater Med (arthroplasty
cements, not vertebroplasty PMMAs; the abstract gives only their common maximum, 75e3 Pa·s); Landgraf
et al. 2015, ZAMM, arXiv:1307.0880 (injection and curing model of an acrylic cement; first page only).
Searched again on 2026-12-08: Trivedi et al., Biomech Model Mechanobiol 2023;22:1253 (a porous-media
vertebroplasty model with the same group's cement; abstract and introduction only), Völter et al. 2025,
arXiv:2503.16968 (with Trivedi and Boger; abstract only), and the stored copies of Zderic 2016, Habib 2010 and
Trivedi 2023/2024 again open only at their beginnings.
Loeffel et al. 2008 (Spine) and Bohner et al. 2003 (Biomaterials 24:2721) were not among the stored copies.

Shear thinning (optional; Newtonian by default). PMMA cements are
pseudoplastic during the working phase (Ferracane & Greener 1981, Biomater Med
Devices Artif Organs, pp. 213–224: "moderate pseudoplasticity" over two decades
of shear rate; Lewis 2011, J Biomed Mater Res B 98:171, review; Widmer Soyka et al.
2013, J Mech Behav Biomed Mater 27:43). With flow index ``n`` (``flow_index``)
the cement is a power-law (Ostwald–de Waele) fluid whose consistency follows the
curing curve: ``μ(t) = μ_cure(t)`` is read as the viscosity at the reference
shear rate ``γ_ref`` (``shear_rate_reference``), so the apparent viscosity is

    μ_app(t, γ) = μ_cure(t) · (max(γ, γ_min) / γ_ref)^(n - 1),

i.e. consistency ``K(t) = μ_cure(t) γ_ref^(1-n)`` (Pa·s^n). ``n = 1`` is the
Newtonian model exactly. ``γ_ref = 1 s⁻¹`` is an assumption (unverified: the
shear rate of the Boger 2008 viscosities is not known here); it lies inside the
pore shear rates of a typical injection (about 0.1–5 s⁻¹ from the needle to the
front at 3 mL/min, see :func:`vbfem.treatment.flow.pore_shear_rate`), so the working-phase
viscosities keep their meaning. A power law extrapolated to zero shear gives an
infinite viscosity, so the shear rate is clamped below at ``γ_min``
(``shear_rate_min``, default 0.01 s⁻¹, assumption): below it the cement is
Newtonian at ``μ_app(t, γ_min)``, standing in for the zero-shear plateau of a
Cross/Carreau fluid. It is one to two decades below the shear rate at the front
of a typical injection, so it acts only where the cement is (nearly) at rest.
The preset ``"pmma_shear_thinning"`` uses ``n = 0.5``, a mid value for the
moderately shear-thinning PMMA doughs (unverified: fitted indices vary with
brand, time and method; Trivedi et al. 2023/2024, arXiv:2312.11426, show that
rotational tests suffer wall slip and the Cox–Merz rule holds only conditionally).
Widmer Soyka 2013 caution that shear thinning changes the continuum-scale
viscosity of PMMA in bone by only about 10 % in the vertebroplasty flow regime.

Composite rule (:func:`with_cement`): Kinzl et al. 2011 found that the modulus of
cement-augmented trabecular bone is governed by the cement and the bone hardly
adds, so a cell whose pore space is filled (saturation ``c = 1``) has the modulus
of the cement in bone (bone "switched off"): :data:`CEMENT_IN_BONE_FACTOR` times
the cement's own, for the interface's sliding and shrinkage damage and the cloud's
porosity (Kinzl 2011, 2012), calibrated on fills that do not bridge the endplates.
A bolus filling a kyphoplasty cavity has the cement's own modulus. A cell with ``0 < c < 1`` is, in the flow
model's solutions, almost always a cell the cement front runs through (inside
the cloud ``c`` is above 0.99 in 70 % of the cells of the demo's VP): one part
of it is cemented, the rest bone with marrow, in an arrangement the cell does
not resolve. Its modulus is taken as the series (Reuss) mix of the two by
volume, ``1/E = (1 - c)/E_bone + c/E_cement``, the lower bound of every
arrangement (Voigt's ``E_bone + c (E_cement - E_bone)`` is the upper one). The
choice is numerical, both converge to the same resolved answer, and is made by
the smaller discretization error: for a fixed cement inclusion (two 7 mm balls
at the needle tips of an L1, :func:`vbfem.study.verification.inclusion_convergence`)
the series mix changes the stiffness by 0.4 % from 3 mm to 1 mm cells, the
parallel mix by 7 %, converging from above at first order (``vbfem validate``). Either way the
modulus is never below the bone's own: cement put into the marrow space cannot take away the
stiffness of the trabecular skeleton around it (the effective moduli of a composite do not decrease
when a phase's moduli increase, here the marrow's: Hill R, J Mech Phys Solids 1963;11:357, by the
minimum-energy principles), so where the cement in bone is the softer phase the cell keeps its bone's
modulus, as its yield stress keeps the bone's: a dense cell, or a cement below about 370 MPa, whose 0.35
share in bone (130 MPa) is below the L1's median osteoporotic cell (128 MPa), which the rule alone would
soften. ``nu`` is mixed
linearly. Cells with saturation >= 0.5 are labelled "composite", others keep
their tissue.

Strength of cemented cells: it does not follow the mixed modulus. A composite
cell (saturation >= 0.5) yields at the larger of its bone's yield stress and
the cement's share of the cement's strength, ``v_c σ_cement`` with ``v_c`` the
cell's cement volume fraction (``CementFill.fraction``): the cement carries the
load and the bone hardly adds (Kinzl et al. 2011, where the yield stress of
PMMA/bone biopsies followed the cement's porosity, R² 0.83–0.92, and not the
bone's volume fraction; the rule is the parallel bound of the cement network,
unverified against absolute values). A partly filled cell (``0 < s < 0.5``), a
cell the front runs through, keeps its bone's yield stress: in series the
weaker part yields first. Both go into ``MaterialMap.yield_stress``.

A cell that the wall of a kyphoplasty cavity cuts (``CementFill.cavity``
fraction ``0 < f < 1``) is resolved differently, because there the
arrangement is known: a layer of the cavity (volume fraction ``f``, the
share ``q = f / φ_cell`` of the cell's pore space, filled first) beside the
cell's bone part, across the wall's normal. Its saturation ``s`` is split
into the cavity's, ``min(1, s / q)``, and the bone's, ``max(s - q, 0) / (1 -
q)``; each layer takes the series mix of its own (the cavity's with the void
modulus of the cavity's whole cells, :func:`vbfem.materials.bone.void_modulus`, the bone's with the cell's
``E``, which :func:`vbfem.treatment.kyphoplasty.compact` leaves as that of the bone
part), and the cell the axial modulus of their rank-one laminate normal to
the wall (:func:`vbfem.materials.laminate.axial_modulus`; Kabel et al. 2015). ``nu`` is
mixed by volume. With the series mix in these cells instead, the demo's
kyphoplasty stiffness rose by 2.9 % from 3 mm to 1.5 mm cells (13346 / 13682
/ 13731 N/mm at 3 / 2 / 1.5 mm); with the laminate it stays within ±0.2 %
(14153 / 14178 / 14142 N/mm; ``vbfem validate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fem.plasticity import NO_YIELD
from ..records import TISSUES, MaterialMap
from .bone import void_modulus
from .laminate import axial_modulus
from .strength import PMMA_COMPRESSIVE_STRENGTH, PMMA_WET_FACTOR, yield_stresses

#: Cured PMMA's modulus for potting and endplate caps, MPa: 2.0-2.7 GPa across PMMAs (REFERENCE.md: Jasper
#: 2002; Kolb 2013; Kosmopoulos 2004).
PMMA_E = 2000.0
#: Cured PMMA's Poisson's ratio: 0.3-0.4 (REFERENCE.md, unverified).
PMMA_NU = 0.3
#: Shear rate (1/s) at which the curing curve gives the viscosity of a
#: shear-thinning cement (assumption, unverified; see the module docstring).
SHEAR_RATE_REFERENCE = 1.0
#: Floor of the shear rate (1/s) in the power law: below it the cement is
#: Newtonian at the floor's viscosity (assumption; see the module docstring).
SHEAR_RATE_MIN = 0.01
#: Modulus of cement interdigitated with trabecular bone over the cement's own modulus
#: (dimensionless), the one calibrated parameter of the composite rule. A cement cloud is
#: not solid, perfectly bonded PMMA: sliding bone–cement contact is 20 % more compliant
#: than bonding and polymerisation-shrinkage damage costs a further 24 % (Kinzl et al.,
#: J Biomech 2012;45:1478, abstract; together 0.63), and the cloud's modulus follows the
#: cement's own porosity (Kinzl et al., J Biomech 2011;44:2732). The value is calibrated to
#: fills that do not bridge the endplates, which stiffen a vertebral body by less than
#: 16 % (Kinzl et al., Eur Spine J 2012, 39 sections; abstract): the default 4 mL
#: bipedicular PMMA fill of an intact osteoporotic L1 (14 % fill, not bridging; size 2 mm)
#: gives +15 % at 0.35 (+26 % with solid PMMA, +12 % at 0.25, +19 % at 0.5;
#: ``python benchmarks/bench_vertebroplasty.py --calibration``). That comparison is
#: therefore not independent evidence; the volume–response and VP-versus-initial
#: comparisons of ``vbfem validate`` are.
CEMENT_IN_BONE_FACTOR = 0.35

#: Allowed power-law (flow) index range: shear-thinning or Newtonian.
FLOW_INDEX_RANGE = (0.1, 1.0)


def check_power_law(flow_index, shear_rate_reference, shear_rate_min, *, what=""):
    """ValueError naming the parameter unless ``flow_index`` lies in :data:`FLOW_INDEX_RANGE` and
    ``0 < shear_rate_min <= shear_rate_reference < inf`` (1/s)."""
    lo, hi = FLOW_INDEX_RANGE
    ok = isinstance(flow_index, (int, float, np.floating, np.integer)) and not isinstance(flow_index, bool)
    if not (ok and lo <= flow_index <= hi):
        raise ValueError(f"{what}flow_index={flow_index!r} must lie in [{lo}, {hi}] (1: Newtonian, < 1: "
                         "shear-thinning; shear thickening is not modelled)")
    for name, v in (("shear_rate_reference", shear_rate_reference), ("shear_rate_min", shear_rate_min)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{what}{name}={v!r} must be a finite shear rate > 0 1/s")
    if shear_rate_min > shear_rate_reference:
        raise ValueError(f"{what}shear_rate_min={shear_rate_min!r} must not exceed "
                         f"shear_rate_reference={shear_rate_reference!r} 1/s")


@dataclass(frozen=True)
class ViscosityCurve:
    """A cement's measured viscosity against time since mixing, interpolated log-linearly.

    Parameters
    ----------
    times : sequence of float
        Times after mixing, s, strictly increasing (at least two).
    viscosities : sequence of float
        Viscosity at those times, Pa·s, positive and strictly increasing (curing only thickens).
    source : str
        Where the values come from (rheometry series, shear rate, temperature).

    Examples
    --------
    >>> c = ViscosityCurve((240.0, 600.0), (50.0, 800.0))
    >>> round(c(420.0), 6)  # geometric mean halfway: sqrt(50 x 800)
    200.0
    """

    times: tuple
    viscosities: tuple
    source: str = ""

    def __post_init__(self):
        t = np.asarray(self.times, float).ravel()
        mu = np.asarray(self.viscosities, float).ravel()
        if t.size < 2 or t.size != mu.size:
            raise ValueError(f"ViscosityCurve needs at least two (time, viscosity) points of equal count, got "
                             f"{t.size} times and {mu.size} viscosities")
        if not (np.all(np.isfinite(t)) and np.all(t >= 0)):
            raise ValueError(f"ViscosityCurve times={self.times!r} must be finite and >= 0 s after mixing")
        if np.any(np.diff(t) <= 0):
            raise ValueError(f"ViscosityCurve times={self.times!r} must be strictly increasing")
        if not (np.all(np.isfinite(mu)) and np.all(mu > 0)):
            raise ValueError(f"ViscosityCurve viscosities={self.viscosities!r} must be finite and > 0 Pa·s")
        if np.any(np.diff(mu) <= 0):
            k = int(np.argmax(np.diff(mu) <= 0))
            raise ValueError(f"ViscosityCurve viscosities={self.viscosities!r} must increase in time (a curing "
                             f"cement only thickens): {mu[k + 1]:g} Pa·s at {t[k + 1]:g} s after {mu[k]:g} Pa·s at "
                             f"{t[k]:g} s")
        object.__setattr__(self, "times", tuple(float(x) for x in t))
        object.__setattr__(self, "viscosities", tuple(float(x) for x in mu))

    def __call__(self, t):
        """Viscosity (Pa·s) at ``t`` s after mixing; ValueError outside the measured times."""
        t = np.asarray(t, float)
        lo, hi = self.times[0], self.times[-1]
        if np.any(t < lo) or np.any(t > hi) or np.any(~np.isfinite(t)):
            bad = t[(t < lo) | (t > hi) | ~np.isfinite(t)]
            raise ValueError(f"t={float(bad.flat[0]):.0f} s after mixing is outside the measured viscosity curve "
                             f"[{lo:g}, {hi:g}] s (no extrapolation)")
        out = np.exp(np.interp(t, self.times, np.log(self.viscosities)))
        return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Cement:
    """An injectable bone cement.

    Parameters
    ----------
    name : str
    E : float
        Young's modulus when set, MPa.
    nu : float
        Poisson's ratio.
    viscosity_ref : float
        Viscosity at ``t_ref``, Pa·s.
    t_ref : float
        Time after mixing of ``viscosity_ref``, s.
    tau : float
        e-folding time of the viscosity rise, s (``inf``: constant).
    setting_time : float
        Time after mixing after which the cement cannot be injected, s.
    flow_index : float
        Power-law index ``n`` in [0.1, 1] (1: Newtonian, the default; < 1:
        shear-thinning; shear thickening is not modelled). Below 0.1 the lagged
        viscosity update of :func:`vbfem.treatment.flow.run_impes` (a fixed-point
        iteration contracting by ``1 - n``) converges too slowly.
    shear_rate_reference : float
        Shear rate at which the curing curve gives the viscosity, 1/s (default
        :data:`SHEAR_RATE_REFERENCE`).
    shear_rate_min : float
        Floor of the shear rate in the power law, 1/s (default
        :data:`SHEAR_RATE_MIN`); must not exceed ``shear_rate_reference``.
    strength : float
        Compressive yield strength of the set cement in bone (wet, 37 °C), MPa.
    viscosity_curve : ViscosityCurve, optional
        A measured viscosity–time curve; replaces ``viscosity_ref``, ``t_ref`` and ``tau`` when given.

    Examples
    --------
    >>> c = Cement(flow_index=0.5)
    >>> round(c.apparent_viscosity(300.0, 4.0), 6)  # 100 Pa·s at 1/s, halved at 4/s
    50.0
    """

    name: str = "pmma"
    E: float = 2000.0
    nu: float = 0.35
    viscosity_ref: float = 100.0
    t_ref: float = 300.0
    tau: float = 804.0
    setting_time: float = 1200.0
    flow_index: float = 1.0
    shear_rate_reference: float = SHEAR_RATE_REFERENCE
    shear_rate_min: float = SHEAR_RATE_MIN
    strength: float = PMMA_COMPRESSIVE_STRENGTH / PMMA_WET_FACTOR
    viscosity_curve: ViscosityCurve | None = None

    def __post_init__(self):
        if self.viscosity_curve is not None and not isinstance(self.viscosity_curve, ViscosityCurve):
            raise ValueError(f"Cement viscosity_curve={self.viscosity_curve!r} must be a ViscosityCurve")
        for k in ("E", "viscosity_ref", "tau", "setting_time", "strength"):
            v = getattr(self, k)
            if not v > 0:
                raise ValueError(f"Cement {k}={v!r} must be > 0")
        if not -1 < self.nu < 0.5:
            raise ValueError(f"Cement nu={self.nu!r} must lie in (-1, 0.5)")
        check_power_law(self.flow_index, self.shear_rate_reference, self.shear_rate_min, what="Cement ")

    def viscosity(self, t):
        """Viscosity (Pa·s) at ``t`` s after mixing; ValueError after the setting time."""
        t = np.asarray(t, float)
        if np.any(t > self.setting_time):
            raise ValueError(f"t={float(np.max(t)):.0f} s after mixing is after the setting time "
                             f"{self.setting_time:.0f} s of cement {self.name!r}: it has set")
        if self.viscosity_curve is not None:
            return self.viscosity_curve(t)
        out = self.viscosity_ref * np.exp((t - self.t_ref) / self.tau)
        return float(out) if out.ndim == 0 else out

    def apparent_viscosity(self, t, shear_rate):
        """Apparent viscosity (Pa·s) at ``t`` s after mixing and shear rate ``shear_rate`` (1/s).

        ``viscosity(t) · (max(γ, shear_rate_min) / shear_rate_reference)^(flow_index - 1)``;
        equal to :meth:`viscosity` for a Newtonian cement.
        """
        mu = self.viscosity(t)
        g = np.maximum(np.asarray(shear_rate, float), self.shear_rate_min)
        out = mu * (g / self.shear_rate_reference) ** (self.flow_index - 1.0)
        return float(out) if np.ndim(out) == 0 else out


#: Presets. PMMA 2.0 GPa (2.0–2.7 GPa, Jasper 2002; Kolb 2013), ν 0.35 (0.3–0.4,
#: unverified); low-modulus PMMA 1.0 GPa (Kolb et al., Eur Spine J 2013, PMC3698342, abstract: 954 ± 141 MPa
#: by ISO 5833 for PMMA with 8 mL serum added, against 1937 ± 478 MPa without; Boger et al., J Biomed Mater
#: Res B 2008;86:474, abstract, made porous PMMAs of 930 MPa (0 % porosity, their regular cement) down to
#: 50 MPa (56 %) with an aqueous sodium hyaluronate phase: a range, not a source of 1 GPa);
#: calcium phosphate cement 1.0 GPa is an assumption (unverified: reported CPC
#: moduli span ~0.5–5 GPa), with a lower working viscosity (assumption).
#: "pmma_shear_thinning" is PMMA as a power-law fluid with n = 0.5 (unverified;
#: see the module docstring), the same viscosity at 1/s. Strengths: PMMA 80 MPa dry
#: (ISO 5833, :data:`vbfem.materials.strength.PMMA_COMPRESSIVE_STRENGTH`) over the dry/wet
#: ratio 1.16 (Nottrott 2008) = 69 MPa; the low-modulus PMMA's and the calcium phosphate's
#: are taken in proportion to their moduli (assumption, unverified: serum-diluted and
#: linoleic-acid PMMAs lose strength with modulus, Kolb 2013 and the Persson group report
#: large drops; CPCs span about 10–60 MPa).
CEMENTS = {
    "pmma": Cement("pmma"),
    "low_modulus_pmma": Cement("low_modulus_pmma", E=1000.0,
                               strength=0.5 * PMMA_COMPRESSIVE_STRENGTH / PMMA_WET_FACTOR),
    "calcium_phosphate": Cement("calcium_phosphate", E=1000.0, nu=0.3, viscosity_ref=50.0,
                                strength=0.5 * PMMA_COMPRESSIVE_STRENGTH / PMMA_WET_FACTOR),
    "pmma_shear_thinning": Cement("pmma_shear_thinning", flow_index=0.5),
}


def cement_preset(cement) -> Cement:
    """A :class:`Cement` from a preset name or a Cement."""
    if isinstance(cement, Cement):
        return cement
    if isinstance(cement, str) and cement in CEMENTS:
        return CEMENTS[cement]
    raise ValueError(f"cement={cement!r}; allowed: a Cement or one of {', '.join(CEMENTS)}")


def cement_mix(E, nu, s, cement, *, interdigitated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Modulus (MPa) and Poisson's ratio of cells of bone ``E``, ``nu`` holding cement fraction ``s``.

    The series (Reuss) mix ``1/E' = (1 - s)/E + s/E_c`` (a filled cell,
    ``s = 1``, is cement; Kinzl 2011), never below the bone's own ``E``, and
    ``nu`` mixed linearly: the rule of :func:`with_cement` (module docstring). ``E_c`` is the cement's modulus in
    trabecular bone, :data:`CEMENT_IN_BONE_FACTOR` times its own, for cement that
    interdigitated with the bone; the cement's own modulus for a bolus filling an
    open cavity (``interdigitated=False``).
    """
    cement = cement_preset(cement)
    e_c = cement.E * (CEMENT_IN_BONE_FACTOR if interdigitated else 1.0)
    E = np.asarray(E, float)
    # cement put into the pores cannot take away the stiffness of the bone around them: never below ``E``
    return np.maximum(1.0 / ((1.0 - s) / E + s / e_c), E), nu + s * (cement.nu - nu)


def with_cement(materials: MaterialMap, fill, cement="pmma") -> MaterialMap:
    """Material map of the augmented vertebra (rule in the module docstring).

    Parameters
    ----------
    materials : MaterialMap
    fill : CementFill
    cement : Cement or str
    """
    cement = cement_preset(cement)
    s = np.asarray(fill.saturation, float)
    if s.shape != (materials.n_cells,):
        raise ValueError(f"fill has {s.size} cells, materials {materials.n_cells}")
    E, nu = cement_mix(materials.E, materials.nu, s, cement)
    cavity = getattr(fill, "cavity", None)
    if cavity is not None:  # the cavity's own cells hold a bolus of cement, not cement in bone
        bolus = np.asarray(cavity) >= 1
        E[bolus], nu[bolus] = cement_mix(materials.E[bolus], materials.nu[bolus], s[bolus], cement,
                                         interdigitated=False)
    rule = "cement-governed series (Reuss) mix on saturation (Kinzl 2011)"
    if cavity is not None:
        wall = np.flatnonzero((np.asarray(cavity) > 0) & (np.asarray(cavity) < 1))
        if wall.size:
            E[wall], nu[wall] = _cavity_wall(materials, fill, wall, cement)
            rule += "; cells a cavity's wall cuts: laminate of the cavity's cement and the bone (Kabel 2015)"
    tissue = (materials.tissue if materials.tissue is not None else np.zeros(materials.n_cells, np.int8)).copy()
    tissue[s >= 0.5] = TISSUES.index("composite")
    params = dict(materials.params)
    params.update(cement=cement.name, cement_E=cement.E, cement_strength=cement.strength, cement_rule=rule,
                  cement_strength_rule="composite: max(bone, cement volume fraction x cement strength); "
                                       "partly filled: the bone's (Kinzl 2011)")
    return materials.replace(E=E, nu=nu, tissue=tissue, params=params,
                             yield_stress=_composite_strength(materials, fill, s, cement))


def _composite_strength(materials: MaterialMap, fill, s: np.ndarray, cement: Cement) -> np.ndarray | None:
    """Compressive yield stress (MPa) of the cells holding cement (module docstring), NaN elsewhere."""
    held = s > 0
    if not held.any():
        return materials.yield_stress
    out = (np.full(materials.n_cells, np.nan) if materials.yield_stress is None
           else np.array(materials.yield_stress))
    bone, _ = yield_stresses(materials)  # the cells' strength before the cement came
    bone = np.where(bone < NO_YIELD, bone, np.nan)  # void cells: no bone strength of their own
    fraction = np.asarray(getattr(fill, "fraction", s), float)  # cement volume fraction of the cell
    composite = s >= 0.5
    partly = held & ~composite
    out[partly] = np.where(np.isnan(bone[partly]), out[partly], bone[partly])
    out[composite] = np.fmax(bone[composite], fraction[composite] * cement.strength)
    return out


def _cavity_wall(materials: MaterialMap, fill, wall: np.ndarray, cement: Cement):
    """Modulus and Poisson's ratio of the cells ``wall`` a cavity's wall cuts (module docstring)."""
    c = np.asarray(fill.cavity, float)[wall]
    s = np.asarray(fill.saturation, float)[wall]
    held = np.asarray(fill.fraction, float)[wall]  # cement volume fraction of the cell, s times its porosity
    q = np.where(held > 0, c * s / np.maximum(held, 1e-300), 1.0)  # the cavity's share of the pore space
    q = np.clip(q, 1e-12, 1.0)
    s_cav = np.minimum(s / q, 1.0)  # the cavity fills first
    s_bone = np.where(q < 1.0, np.maximum(s - q, 0.0) / np.maximum(1.0 - q, 1e-300), 0.0)
    E_b, nu_b = (np.asarray(v, float)[wall] for v in (materials.E, materials.nu))
    whole = np.asarray(fill.cavity) >= 1  # the cavity's own cells carry the void modulus compaction gave it
    e_void = float(np.median(np.asarray(materials.E)[whole])) if whole.any() else void_modulus(materials)
    E_cav, nu_cav = cement_mix(np.full(wall.size, e_void), nu_b, s_cav, cement, interdigitated=False)
    E_bone, nu_bone = cement_mix(E_b, nu_b, s_bone, cement)
    normal = np.asarray(fill.cavity_normal, float)[wall]
    return axial_modulus(E_cav, nu_cav, E_bone, nu_bone, c, normal), c * nu_cav + (1.0 - c) * nu_bone
