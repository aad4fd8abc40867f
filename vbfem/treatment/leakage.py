"""Leakage risk of a fill strategy: the probability of a leak over seeded permeability realisations.

One injection into one permeability field either leaks or not; over the scatter of trabecular
permeability (:func:`vbfem.materials.random_field.correlated_field`, covariance exp(-r²/(2ℓ²)), as a log-normal factor on
the density-based permeability) it leaks with a probability. :func:`leakage_risk` runs one strategy
(vertebroplasty needles, or a kyphoplasty fill of a given cavity) on ``n`` realisations, each
reproducible by its seed alone, and :func:`leakage_table` summarises the rows of a study sweep over
seeds the same way, per treated state. Nothing here decides whether cement leaks: it only counts
what the flow model (:mod:`vbfem.treatment.flow`) lets out through the outlets
(:mod:`vbfem.treatment.outlets`).

:func:`patient_leakage_risk` adds the variation between patients: each realisation is a patient of
:func:`vbfem.fracture.cohort.sample_leakage_patients` (an intravertebral cleft, a disrupted cortex and the
number of basivertebral foramina, with their published frequencies), whose fractured body is built from
the intact one with those features, on top of its own permeability field. A patient with a basivertebral
foramen larger than 1 mm has the basivertebral venous network (:mod:`vbfem.treatment.veins`) with its own
trunk radius, half its foramen's measured height times the vein's assumed share of it
(:attr:`vbfem.fracture.cohort.LeakagePatient.vein_radius`: He 2023, an upper bound); a patient without
drains through small foramina only: its foramen outlet gets the Poiseuille resistance of
:func:`small_foramen_resistance` in series, and no network. That rule is an ASSUMPTION, and it sets the
VP leak rate: the network's branches to the front and sides, through which most VP leaks leave, are in
Gray's description of every vertebral body, but nothing measured says how large they are where the
basivertebral foramen is small, so such a patient gets none; with the network for every patient VP
would leak in nearly all of them (the model's clouds reach the branches' course).

The probability comes with the Wilson score interval (Wilson 1927, J Am Stat Assoc 22:209), which
stays inside [0, 1] and is not degenerate at 0 or n leaks.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from .outlets import LEAK_DETECTION, OUTLET_CLASSES

log = logging.getLogger(__name__)

__all__ = ["SMALL_FORAMEN_RADIUS", "LeakageRisk", "leakage_risk", "leakage_table", "patient_leakage_risk",
           "small_foramen_resistance", "wilson_interval"]

#: Radius (mm) of the vein through a small basivertebral foramen: Tzika et al. (Surg Radiol Anat
#: 2021;43:889) class foramina as small below 1 mm; half of that diameter is the largest such vein, so
#: the resistance of :func:`small_foramen_resistance` is a lower bound (the leak through it an upper one).
SMALL_FORAMEN_RADIUS = 0.5

_CLASSES = (*OUTLET_CLASSES, "other")


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

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(0, 50)]
    [0.0, 0.0713]
    """
    from scipy.stats import norm

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r}: must be an integer >= 1")
    if isinstance(successes, bool) or not isinstance(successes, (int, np.integer)) or not 0 <= successes <= n:
        raise ValueError(f"successes = {successes!r}: must be an integer in [0, n = {n}]")
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


@dataclass(frozen=True, eq=False)
class LeakageRisk:
    """Leakage over seeded realisations of one strategy.

    Attributes
    ----------
    seeds : tuple of int
    leak : ndarray of bool (n,)
        Leak of each realisation (leaked volume above :data:`vbfem.treatment.outlets.LEAK_DETECTION`).
    leaked : mapping class -> ndarray (n,)
        Leaked volume per outlet class, mm³.
    first_leak_time : ndarray (n,)
        s after the injection's start (NaN: no leak).
    peak_tip_pressure, peak_syringe_pressure : ndarray (n,)
        MPa.
    params : mapping
    """

    seeds: tuple
    leak: np.ndarray
    leaked: dict
    first_leak_time: np.ndarray
    peak_tip_pressure: np.ndarray
    peak_syringe_pressure: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def probability(self) -> float:
        """Share of the realisations that leak."""
        return float(np.mean(self.leak))

    def summary(self) -> dict:
        """Probability of a leak (and its 95 % Wilson interval), mean leaked mL per class, median first leak (s),
        median peak syringe and tip pressures (kPa) of the realisations that flowed."""
        k = int(np.sum(self.leak))
        lo, hi = wilson_interval(k, self.n)
        out = {"realisations": self.n, "leaks": k, "leak_probability": k / self.n,
               "leak_probability_low": lo, "leak_probability_high": hi}
        for c in _CLASSES:
            out[f"leaked_{c}_ml"] = float(np.mean(self.leaked[c])) / 1000.0
        t = self.first_leak_time[np.isfinite(self.first_leak_time)]
        out["first_leak_median_s"] = float(np.median(t)) if t.size else math.nan
        for key, p in (("peak_syringe_pressure_kPa", self.peak_syringe_pressure),
                       ("peak_tip_pressure_kPa", self.peak_tip_pressure)):
            # NaN: no flow (a kyphoplasty whose cement stays in its cavity); median over those that flowed
            p = np.asarray(p, float)
            out[key] = float(np.median(p[np.isfinite(p)])) * 1e3 if np.isfinite(p).any() else math.nan
        return out


def _one(args):
    """One realisation (a process-pool task): the CementFill metrics of the strategy with ``seed``."""
    kind, mesh, materials, geometry, seed, options = args
    if kind == "vertebroplasty":
        from .vertebroplasty import simulate_vertebroplasty

        fill = simulate_vertebroplasty(mesh, materials, geometry, seed=seed, **options)
    else:
        from .kyphoplasty import simulate_kyphoplasty

        fill = simulate_kyphoplasty(mesh, materials, geometry, seed=seed, **options).fill
    m = fill.metrics
    return {"leak": bool(m["leak"]), **{c: float(m[f"leaked_{c}"]) for c in _CLASSES},
            "first_leak_time": float(m["first_leak_time"]), "peak_tip_pressure": float(m.get("peak_tip_pressure", np.nan)),
            "peak_syringe_pressure": float(m.get("peak_syringe_pressure", np.nan)),
            "mass_error": float(m.get("mass_error", np.nan))}


def leakage_risk(mesh, materials, geometry, *, kind: str = "vertebroplasty", n: int = 50, seed: int = 0,
                 heterogeneity: float, correlation_length: float, workers: int = 1, **options) -> LeakageRisk:
    """Run ``n`` seeded permeability realisations of one strategy and count the leaks.

    Parameters
    ----------
    mesh, materials, geometry
        The body to treat (fractured, with its ``outlet_*`` sets).
    kind : {"vertebroplasty", "kyphoplasty"}, keyword-only
    n : int
        Realisations (>= 1). Realisation ``i`` uses the seed ``seed + i``.
    seed : int
        First seed (>= 0).
    heterogeneity, correlation_length : float
        ``σ`` of the log-permeability factor and its correlation length, mm
        (:func:`vbfem.materials.porous.porous_medium`); both required, so the risk says what it assumed.
    workers : int
        Processes (1: in this process).
    **options
        Passed to :func:`vbfem.treatment.vertebroplasty.simulate_vertebroplasty` (``needles``, ``cement``,
        ``outlets`` ...) or :func:`vbfem.treatment.kyphoplasty.simulate_kyphoplasty` (``balloons``, ``volume``,
        ``intact`` ...; the balloon, compaction and lift are the same in every realisation, only the fill's
        permeability changes).

    Returns
    -------
    LeakageRisk
    """
    _check_run(kind, n, seed, workers, heterogeneity, correlation_length)
    options = dict(options, heterogeneity=heterogeneity, correlation_length=correlation_length)
    seeds = tuple(int(seed) + i for i in range(n))
    tasks = [(kind, mesh, materials, geometry, s, options) for s in seeds]
    return _risk(tasks, seeds, workers, params={"kind": kind, "heterogeneity": heterogeneity,
                                                 "correlation_length_mm": correlation_length,
                                                 "detection_mm3": LEAK_DETECTION, "n": n, "first_seed": seed})


def _check_run(kind, n, seed, workers, heterogeneity, correlation_length):
    """ValueError for a bad strategy, count, seed, worker number or permeability scatter."""
    if kind not in ("vertebroplasty", "kyphoplasty"):
        raise ValueError(f"kind={kind!r}: allowed 'vertebroplasty' or 'kyphoplasty'")
    for name, v in (("n", n), ("seed", seed), ("workers", workers)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if name == "seed" else 1):
            raise ValueError(f"{name}={v!r} must be an integer >= {0 if name == 'seed' else 1}")
    if not (np.isfinite(heterogeneity) and heterogeneity >= 0):
        raise ValueError(f"heterogeneity={heterogeneity!r} must be >= 0")
    if not (np.isfinite(correlation_length) and correlation_length >= 0):
        raise ValueError(f"correlation_length={correlation_length!r} must be >= 0 mm")


def _risk(tasks, seeds, workers, *, params) -> LeakageRisk:
    """Run the realisations ``tasks`` (in this process or a pool) and collect them."""
    n = len(tasks)
    if workers == 1:
        rows = [_one(t) for t in tasks]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            rows = list(pool.map(_one, tasks, chunksize=max(1, n // (4 * workers))))
    return LeakageRisk(seeds=seeds, leak=np.array([r["leak"] for r in rows]),
                       leaked={c: np.array([r[c] for r in rows]) for c in _CLASSES},
                       first_leak_time=np.array([r["first_leak_time"] for r in rows]),
                       peak_tip_pressure=np.array([r["peak_tip_pressure"] for r in rows]),
                       peak_syringe_pressure=np.array([r["peak_syringe_pressure"] for r in rows]),
                       params=dict(params, mass_error=[r["mass_error"] for r in rows]))


def small_foramen_resistance(geometry, *, radius: float = SMALL_FORAMEN_RADIUS) -> float:
    """Geometric resistance ``8 L / (π r⁴)`` (mm⁻³) of the basivertebral vein through a small foramen.

    ``r``: :data:`SMALL_FORAMEN_RADIUS`; ``L``: the basivertebral canal, the middle of the measured mean
    depths, 12-21.8 % of the body's anterior-posterior diameter (:data:`vbfem.treatment.veins.CANAL_DEPTH`,
    Tzika 2021) times ``geometry.depth``. In series with the foramen outlet
    (:func:`vbfem.treatment.network.flow_network`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> round(small_foramen_resistance(SimpleNamespace(depth=30.0)), 1)  # a 30 mm deep body: 5.1 mm canal
    206.6
    """
    from .veins import CANAL_DEPTH

    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius={radius!r} must be a length > 0 mm")
    length = CANAL_DEPTH * float(geometry.depth)
    return 8.0 * length / (math.pi * radius ** 4)


def patient_leakage_risk(intact_mesh, intact_materials, geometry, *, fracture: dict, kind: str = "vertebroplasty",
                         n: int = 50, seed: int = 0, heterogeneity: float, correlation_length: float,
                         workers: int = 1, patient_options=None, own_volume: bool = True,
                         **options) -> LeakageRisk:
    """Leakage risk of one strategy over ``n`` sampled patients, each with its own permeability field.

    Realisation ``i`` is patient ``i`` of :func:`vbfem.fracture.cohort.sample_leakage_patients`
    (``seed``): the intact body is fractured with ``fracture`` plus the patient's cleft and open outlets
    (:func:`vbfem.fracture.deformity.apply_fracture`); when the patient has a foramen larger than 1 mm its
    basivertebral venous network has the patient's trunk radius (``vein_radius``) and the foramen outlet drains
    freely, when not there is no network and the foramen outlet has the resistance
    :func:`small_foramen_resistance`; the permeability field has the seed ``seed + i``. Where a clinical
    series gives the spread of the injected volume for the strategy
    (:data:`vbfem.fracture.cohort.CEMENT_VOLUMES`: kyphoplasty, Jin 2018; vertebroplasty, the sham-controlled
    trials of Buchbinder 2009 and VAPOUR 2016), each patient receives its own
    cement volume (``cement_volume``): a kyphoplasty's ``volume``, or a vertebroplasty's needles' volumes
    scaled to it in their proportions; the balloons and their cavity stay the strategy's.
    Everything else (the strategy's ``options``) is the same for every patient.

    Parameters
    ----------
    intact_mesh, intact_materials
        The intact body (:func:`vbfem.materials.bone.assign_bone`).
    geometry
        Its geometry (needle checks, the foramen).
    fracture : dict, keyword-only
        Keywords of :func:`~vbfem.fracture.deformity.apply_fracture` shared by all patients: ``kind``
        (required), ``grade`` or ``height_loss``, ... ; not ``cleft`` or ``breaches`` (the patients').
    kind, n, seed, heterogeneity, correlation_length, workers
        As :func:`leakage_risk`.
    patient_options : mapping, optional
        Keywords of :func:`~vbfem.fracture.cohort.sample_leakage_patients` (the prevalences); default
        the published ones. ``cement_volume`` (mean, sd) in mL, or (weight, mean, sd) components, replaces the
        strategy's default distribution (:data:`~vbfem.fracture.cohort.CEMENT_VOLUMES`).
    own_volume : bool, keyword-only
        True (default): each patient's own cement volume where a distribution is known (above), the strategy's
        ``volume`` / needles otherwise. False: the strategy's volume for every patient (the study's volume as
        an explicit override).
    **options
        As :func:`leakage_risk` (``intact`` of a kyphoplasty is ``intact_mesh`` unless given). ``vein_radius``:
        not given (or None), each patient's own (above); 0, no venous network for anyone; > 0 mm, that trunk
        radius for every patient (those without a large foramen keep the small foramen's resistance).

    Returns
    -------
    LeakageRisk
        ``params["patients"]``: the patients' features (dicts), in the order of the realisations.
    """
    from ..fracture.cohort import CEMENT_VOLUMES, sample_leakage_patients
    from ..fracture.deformity import apply_fracture

    _check_run(kind, n, seed, workers, heterogeneity, correlation_length)
    fracture = dict(fracture or {})
    if "kind" not in fracture:
        raise ValueError("fracture must give the fracture 'kind' (and its grade or height_loss)")
    clash = {"cleft", "breaches"} & set(fracture)
    if clash:
        raise ValueError(f"fracture must not set {sorted(clash)}: each patient's are drawn")
    resistance = dict(options.pop("outlet_resistance", None) or {})
    if "outlet_basivertebral" in resistance:
        raise ValueError("outlet_resistance['outlet_basivertebral'] is each patient's (its basivertebral foramina)")
    if geometry is None:
        raise ValueError("patient_leakage_risk needs the geometry (needles, the foramen and the body's depth)")
    small = {"outlet_basivertebral": small_foramen_resistance(geometry)}
    fixed_radius = options.pop("vein_radius", None)
    if fixed_radius is not None and (isinstance(fixed_radius, bool) or not isinstance(
            fixed_radius, (int, float, np.integer, np.floating)) or not np.isfinite(fixed_radius)
            or not 0 <= fixed_radius <= 5.0):
        raise ValueError(f"vein_radius={fixed_radius!r} must be None (each patient's), 0 (none) or a length in "
                         "(0, 5] mm (the study's bound)")
    patient_options = dict(patient_options or {})
    if not isinstance(own_volume, (bool, np.bool_)):
        raise ValueError(f"own_volume={own_volume!r} must be True or False")  # noqa: TRY004 (bad input: ValueError)
    if own_volume:
        patient_options.setdefault("cement_volume", CEMENT_VOLUMES.get(kind))
    elif patient_options.get("cement_volume") is not None:
        raise ValueError("own_volume=False contradicts patient_options['cement_volume']: give one or the other")
    patients = sample_leakage_patients(n, seed=seed, kind=fracture["kind"], **patient_options)
    fkind = fracture.pop("kind")
    bodies = {}
    for p in patients:  # the distinct fractured bodies, before any flow
        key = (p.cleft, p.breaches)
        if key not in bodies:
            bodies[key] = apply_fracture(intact_mesh, intact_materials, fkind, cleft=p.cleft, breaches=p.breaches,
                                         **fracture)
    if kind == "kyphoplasty":
        options.setdefault("intact", intact_mesh)
    options = dict(options, heterogeneity=heterogeneity, correlation_length=correlation_length)
    seeds = tuple(int(seed) + i for i in range(n))
    tasks = [(kind, *bodies[(p.cleft, p.breaches)], geometry, s,
              _patient_volume(kind, dict(options, outlet_resistance=resistance if p.foramina > 0 else
                                         {**resistance, **small},
                                         vein_radius=p.vein_radius if fixed_radius is None else float(fixed_radius)),
                              p.cement_volume))
             for p, s in zip(patients, seeds)]
    log.info("patient_leakage_risk: %d patients, %d distinct fractured bodies", n, len(bodies))
    return _risk(tasks, seeds, workers, params={
        "kind": kind, "heterogeneity": heterogeneity, "correlation_length_mm": correlation_length,
        "detection_mm3": LEAK_DETECTION, "n": n, "first_seed": seed, "fracture": dict(fracture, kind=fkind),
        "vein_radius": "each patient's" if fixed_radius is None else float(fixed_radius),
        "cement_volume": _describe_volume(patient_options.get("cement_volume")),
        "patients": [p.as_dict() for p in patients]})


def _describe_volume(cement_volume) -> str:
    """The patients' cement volume distribution in words (``params["cement_volume"]``)."""
    from ..fracture.cohort import _volume_components

    if cement_volume is None:
        return "the strategy's"
    comps = _volume_components(cement_volume)
    total = sum(c[0] for c in comps)
    parts = [f"{m:g} +- {s:g} mL" + (f" ({100 * w / total:.0f} %)" if len(comps) > 1 else "") for w, m, s in comps]
    return "each patient's, log-normal " + " and ".join(parts)


def _patient_volume(kind: str, options: dict, volume) -> dict:
    """``options`` of one patient's treatment with its cement volume ``volume`` (mL; None: unchanged): a
    kyphoplasty's ``volume``; a vertebroplasty's needles' volumes scaled to the total in their proportions."""
    if volume is None:
        return options
    if kind == "kyphoplasty":
        return dict(options, volume=float(volume))
    import dataclasses

    needles = options.get("needles")
    if needles is None:
        raise ValueError("a vertebroplasty with each patient's cement volume needs its needles")
    needles = (needles,) if dataclasses.is_dataclass(needles) else tuple(needles)
    total = sum(float(nd.volume) for nd in needles)
    if not total > 0:
        raise ValueError(f"the needles inject {total} mL: cannot scale them to the patient's {volume} mL")
    return dict(options, needles=tuple(dataclasses.replace(nd, volume=float(nd.volume) * float(volume) / total)
                                       for nd in needles))


def leakage_table(rows) -> list[dict]:
    """Leakage risk per treated state of the results rows of a sweep (e.g. over ``seed``).

    ``rows``: dicts with ``state`` and the leakage columns of a study (``leak``, ``leaked_<class>_ml``,
    ``first_leak_s``); rows without ``leak`` (untreated states, failed cases) are skipped.
    Returns one row per state: ``state``, ``cases``, ``leaks``, ``leak_probability`` and its 95 % Wilson
    interval, mean ``leaked_<class>_ml`` and the median ``first_leak_s`` of the cases that leaked.
    """
    by_state: dict[str, list] = {}
    for r in rows:
        if r.get("leak") is None or (isinstance(r.get("leak"), float) and math.isnan(r["leak"])):
            continue
        by_state.setdefault(str(r["state"]), []).append(r)
    out = []
    for state, rs in by_state.items():
        leaks = [bool(r["leak"]) for r in rs]
        k, n = sum(leaks), len(rs)
        lo, hi = wilson_interval(k, n)
        row = {"state": state, "cases": n, "leaks": k, "leak_probability": k / n,
               "leak_probability_low": lo, "leak_probability_high": hi}
        for c in OUTLET_CLASSES:
            v = [float(r.get(f"leaked_{c}_ml", math.nan)) for r in rs]
            row[f"leaked_{c}_ml"] = float(np.nanmean(v)) if np.any(np.isfinite(v)) else math.nan
        t = [float(r["first_leak_s"]) for r in rs if r.get("first_leak_s") is not None
             and math.isfinite(float(r["first_leak_s"]))]
        row["first_leak_s"] = float(np.median(t)) if t else math.nan
        out.append(row)
    return out
