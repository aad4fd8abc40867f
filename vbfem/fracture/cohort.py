"""Virtual patient cohorts of osteoporotic vertebral fractures.

:func:`sample_cohort` draws fracture kinds with the frequencies of the
European study quoted in the seed document and Genant grades with an assumed
distribution, reproducibly from a seed; each case can be passed straight to
:func:`vbfem.fracture.deformity.apply_fracture`.

:func:`sample_leakage_patients` draws, for the leakage risk of a treatment
(:func:`vbfem.treatment.leakage.patient_leakage_risk`), the patient features that
post-operative CT series name as the risk factors of cement leakage: an
intravertebral cleft, a disrupted cortex, and the basivertebral foramina (the venous
exit), each with its published frequency (:data:`CLEFT_PREVALENCE`,
:data:`CORTICAL_DISRUPTION_PREVALENCE`, :data:`FORAMINA_FREQUENCIES`), and the size of the
basivertebral foramen measured on CT in the same population (:data:`FORAMEN_HEIGHT`), which gives
the radius of the patient's basivertebral vein (:attr:`LeakagePatient.vein_radius`), and, where a clinical
series gives its spread, the cement volume the patient receives (:data:`CEMENT_VOLUMES`,
:attr:`LeakagePatient.cement_volume`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .deformity import GENANT_GRADES, KINDS, fracture_kind

log = logging.getLogger(__name__)

__all__ = ["CEMENT_VOLUMES", "CLEFT_PREVALENCE", "CORTICAL_DISRUPTION_PREVALENCE", "FORAMEN_HEIGHT",
           "FORAMINA_FREQUENCIES", "GRADE_3_MAX_LOSS", "GRADE_WEIGHTS", "KIND_FREQUENCIES", "VEIN_SHARE_OF_FORAMEN",
           "FractureCase", "LeakagePatient", "sample_cohort", "sample_leakage_patients"]

#: Frequencies of the deformity types in the European study on osteoporotic
#: vertebral fractures quoted by the seed document (shared/seed/, "seed
#: document"): wedge 51 %, biconcave 17 %, crush 13 %, wedge+crush 7 %,
#: biconcave+wedge 6 %, crush+biconcave 2 %, all three 4 % (sum 100 %).
KIND_FREQUENCIES = MappingProxyType({
    "wedge": 0.51,
    "biconcave": 0.17,
    "crush": 0.13,
    "wedge+crush": 0.07,
    "biconcave+wedge": 0.06,
    "crush+biconcave": 0.02,
    "wedge+biconcave+crush": 0.04,
})

#: Probability of Genant grades 1, 2, 3 among the fractures of a cohort.
#: ASSUMPTION (no published distribution verified): moderate deformities are
#: taken as the most common in patients referred for vertebroplasty or
#: kyphoplasty, severe ones as the least common. Pass ``grade_weights`` to
#: use a measured distribution.
GRADE_WEIGHTS = MappingProxyType({1: 0.35, 2: 0.45, 3: 0.20})

#: Upper end of the grade-3 height loss drawn by the sampler (Genant's grade 3
#: is open-ended, > 40 %); an assumption, as in
#: :data:`vbfem.fracture.deformity.GRADE_HEIGHT_LOSS`.
GRADE_3_MAX_LOSS = 0.60


@dataclass(frozen=True)
class FractureCase:
    """One sampled fracture.

    Attributes
    ----------
    kind : str
        One of :data:`vbfem.fracture.deformity.KINDS`.
    grade : int
        Genant grade, 1-3.
    height_loss : float
        Height loss fraction, uniform within the grade's Genant band
        (grade 3: 0.40-:data:`GRADE_3_MAX_LOSS`).
    """

    kind: str
    grade: int
    height_loss: float

    def as_dict(self) -> dict:
        """The case as a plain dict. Use it as
        ``apply_fracture(mesh, bone, case.kind, height_loss=case.height_loss)``."""
        return {"kind": self.kind, "grade": self.grade, "height_loss": self.height_loss}


def _distribution(weights, keys, name):
    weights = dict(weights)
    unknown = set(weights) - set(keys)
    if unknown:
        raise ValueError(f"{name} has unknown keys {sorted(unknown, key=str)}; allowed: {list(keys)}")
    p = np.array([float(weights.get(k, 0.0)) for k in keys])
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"{name} must be non-negative with a positive sum, got {weights}")
    return p / p.sum()


def sample_cohort(n: int, *, seed, kind_frequencies=None, grade_weights=None) -> list[FractureCase]:
    """Draw ``n`` fractures: kind, Genant grade and height loss.

    Parameters
    ----------
    n : int
        Number of cases, >= 0.
    seed : int, numpy SeedSequence or None, keyword-only
        Seed of ``numpy.random.default_rng``; the same seed gives the same
        cohort. None draws fresh entropy (logged, so the run can be redone).
    kind_frequencies : mapping, optional, keyword-only
        Kind -> weight (normalised); default :data:`KIND_FREQUENCIES` (seed
        document). Kind names may list components in any order.
    grade_weights : mapping, optional, keyword-only
        Grade (1, 2, 3) -> weight; default :data:`GRADE_WEIGHTS` (assumption).

    Returns
    -------
    list of FractureCase

    Examples
    --------
    >>> cases = sample_cohort(3, seed=1)
    >>> cases == sample_cohort(3, seed=1)
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n={n!r} must be an integer >= 0")
    freqs = KIND_FREQUENCIES if kind_frequencies is None else {
        fracture_kind(k): v for k, v in dict(kind_frequencies).items()}
    p_kind = _distribution(freqs, KINDS, "kind_frequencies")
    grades = tuple(GENANT_GRADES)
    p_grade = _distribution(GRADE_WEIGHTS if grade_weights is None else grade_weights, grades, "grade_weights")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
        log.info("sample_cohort: no seed given; drew seed %d", seed)
    rng = np.random.default_rng(seed)
    kind_idx = rng.choice(len(KINDS), size=int(n), p=p_kind)
    grade_idx = rng.choice(len(grades), size=int(n), p=p_grade)
    lo = np.array([GENANT_GRADES[g][0] for g in grades])
    hi = np.array([GENANT_GRADES[g][1] for g in grades])
    hi[grades.index(3)] = GRADE_3_MAX_LOSS
    loss = rng.uniform(lo[grade_idx], hi[grade_idx])
    return [FractureCase(KINDS[k], int(grades[g]), float(L)) for k, g, L in zip(kind_idx, grade_idx, loss)]


#: Prevalence of an intravertebral cleft in osteoporotic vertebral compression fractures: 30 of 82
#: fractures (37 %) in 50 consecutive patients referred for vertebroplasty (McKiernan F, Jensen R,
#: Faciszewski T, "Intravertebral clefts in osteoporotic vertebral compression fractures", Arthritis Rheum
#: 2003;48(5):1414-1419). Other series: 18 of 41 acute fractures (44 %; Hutchins TA et al., Emerg Radiol
#: 2016, doi 10.1007/s10140-016-1460-8); 13.8-42.4 % in the recent series quoted by the IVC case-control
#: study PMC8449924 (BMC Musculoskelet Disord 2021, doi 10.1186/s12891-021-04685-9).
CLEFT_PREVALENCE = 30 / 82

#: Prevalence of cortical disruption on the pre-operative CT of osteoporotic compression fractures
#: treated by vertebroplasty: 68 of 101 vertebrae (67 %; Ikeda H, Nishio M, Matsuoka S, et al., "Image
#: findings following vertebroplasty in osteoporotic vertebral compression fractures: bone healing and
#: sagittal alignment", Open J Radiol 2013;3:152-158, doi 10.4236/ojrad.2013.33025). Which wall was
#: disrupted is not given in the abstract read; the sampler opens the outlets of the fracture kind
#: (:data:`vbfem.fracture.defects.TYPICAL_BREACHES`: the anterior cortex and the anterior endplate of a
#: wedge, the endplate of a biconcave fracture, both for a crush; after Denis 1983 and AO Spine A1): a
#: disrupted patient has all of them open at once (an assumption; the abstract counts disrupted vertebrae,
#: not walls).
CORTICAL_DISRUPTION_PREVALENCE = 68 / 101

#: Number of basivertebral foramina larger than 1 mm per vertebra, 1561 dry true vertebrae (Tzika M,
#: Paraskevas GK, Piagkou M, Papatolios AK, Natsis K, "Basivertebral foramina of true vertebrae:
#: morphometry, topography and clinical considerations", Surg Radiol Anat 2021;43:889-907, doi
#: 10.1007/s00276-021-02690-0): one 45.1 %, two 36.9 %, three 3.8 %, four 0.6 %, only multiple small
#: (< 1 mm) foramina 10.1 % (key 0); the remaining 3.4 % are the atlas (C1), which has none, and is left
#: out (the weights are normalised). The percentages pool all levels C2-L5 (the abstract: C3 and T2 vary
#: most, T10-L1 have the typical pattern), so the share with only small foramina is probably too high for
#: a lumbar level; the per-level table was not readable. Only "none larger than 1 mm" changes the flow
#: model (:func:`vbfem.treatment.leakage.patient_leakage_risk`): one to four large foramina drain alike.
FORAMINA_FREQUENCIES = MappingProxyType({0: 0.101, 1: 0.451, 2: 0.369, 3: 0.038, 4: 0.006})

#: Height of the basivertebral foramen, mean and standard deviation (mm), on the CT of 107 elderly patients
#: with lumbar osteoporotic vertebral compression fractures (He A, Wang Q, Li G, "CT imaging anatomical study
#: of lumbar vertebral basivertebral foramen in elderly patients with osteoporotic vertebral compression
#: fractures", Chin J Clin Anat 2023;41(3):283-287, doi 10.13418/j.issn.1001-165x.2023.3.07, abstract:
#: "average height was (5.4±1.1) mm", width (7.8±1.6) mm, depth (12.4±2.1) mm; mostly a single hole,
#: rectangular on coronal images). The height is the smaller of the opening's two dimensions, so it bounds
#: the diameter of a round vessel through it. A patient's height is drawn from the normal distribution with
#: these moments, cut below at the 1 mm that separates the large foramina of :data:`FORAMINA_FREQUENCIES`
#: (Tzika 2021) from the small ones (a cut that moves 3e-5 of the draws).
FORAMEN_HEIGHT = (5.4, 1.1)

#: Share of the basivertebral foramen's height that the basivertebral vein's diameter takes.
#: ASSUMPTION (no measured vein diameter was found): 1, the vein fills the foramen's height. The foramen
#: also carries the basivertebral artery and nerve (Wang Q, Jin B, Zhang J, Front Surg 2023;10:1115654,
#: introduction), but the channels of the basivertebral veins are "large" and the veins "greatly enlarged
#: in advanced age" (Gray's Anatomy, 20th ed. 1918, p. 668), and on MRI "the basivertebral veins are seen as
#: signal voids in the midline of the posterior vertebral bodies" (Elsevier, "Basivertebral veins (lumbar)",
#: anatomy resource, ScienceDirect topic summary). The vein's radius is thus an upper bound, and so is the leak
#: through it.
VEIN_SHARE_OF_FORAMEN = 1.0

#: Injected cement volume per treated level, mean and standard deviation (mL), by strategy, for the
#: sampled patients (:func:`sample_leakage_patients` ``cement_volume``; used by default by
#: :func:`vbfem.treatment.leakage.patient_leakage_risk`). Start times after mixing: no clinical spread found.
#:
#: - ``"kyphoplasty"``: (4.05 +- 1.20) mL over 113 levels treated by balloon kyphoplasty in 46 elderly patients
#:   with osteoporotic multi-level thoracolumbar fractures, Shaanxi Provincial People's Hospital 2011-2016 (Jin Z,
#:   Xu C, Wu X, Dong X, Chang Y, Sun Z, Chen M, Ling M, article no. 1673-7210(2018)07(c)-0055-05, China Medical
#:   Herald 2018;15(7c):55-59; abstract, results: "骨水泥注射量平均为(4.05±1.20)mL", 11 of the 113 levels
#:   leaked). That abstract gives no balloon inflation volume, and no series read gives both: the patient's
#:   cement is an absolute volume, not a share of the cavity, and the cavity stays the strategy's. Other
#:   series read (context, not used): 4.7 +- 1.3 mL bipedicular and 5.6 +- 1.2 mL unipedicular, 25 patients
#:   each (Xu Y, article no. 1674-0742(2014)11(a)-0014-02, abstract, whose text calls the larger volume the
#:   smaller); mean 5.44 mL, 136 patients, no SD (Self M, Mooney J, Amburgy J, et al., "Analysis of injected
#:   cement volume and clinical outcomes following kyphoplasty for vertebral compression fractures", vol. 11,
#:   56, abstract).
#: - ``"vertebroplasty"``: the two sham-controlled multicentre trials that report the volume, as a mixture
#:   weighted by their enrolment: 2.8 +- 1.2 mL (Buchbinder et al., NEJM 2009, 78 enrolled) and 7.5 +- 2.8 mL
#:   (VAPOUR, Clark et al., Lancet 2016, 120 enrolled, fractures < 6 weeks old); table "A comparison of the
#:   published prospective multicenter sham procedure RCTs on vertebroplasty for osteoporotic fractures", AJNR
#:   (row "Mean (SD) PMMA volume (mL)"; INVEST, 131 enrolled: not reported). The mixture's mean is 5.65 mL.
#:   The table says neither per level nor per procedure, nor the approach (the model's needles keep theirs).
#:
#: A component's volume is drawn from a log-normal distribution with its mean and SD (ASSUMPTION on the shape:
#: positive and right-skewed; no per-patient table was read). A value is ``(mean, sd)`` or a tuple of
#: ``(weight, mean, sd)`` components.
CEMENT_VOLUMES = MappingProxyType({"kyphoplasty": (4.05, 1.20),
                                   "vertebroplasty": ((78.0, 2.8, 1.2), (120.0, 7.5, 2.8))})


@dataclass(frozen=True)
class LeakagePatient:
    """The leakage risk factors of one sampled patient (:func:`sample_leakage_patients`).

    Attributes
    ----------
    cleft : bool
        An intravertebral cleft (``apply_fracture(cleft=True)``).
    cortical_disruption : bool
        A disrupted cortex: the fracture kind's outlets are open (:attr:`breaches`).
    foramina : int
        Basivertebral foramina larger than 1 mm (0-4). 0: small foramina only, drained through a small
        vein (:func:`vbfem.treatment.leakage.small_foramen_resistance`).
    breaches : tuple of str
        The outlets to open, ``apply_fracture(breaches=...)`` (empty without a cortical disruption).
    vein_radius : float
        Radius of the basivertebral vein, mm: :data:`VEIN_SHARE_OF_FORAMEN` times half the foramen's
        height (:data:`FORAMEN_HEIGHT`, He 2023); 0 without a foramen larger than 1 mm.
    cement_volume : float or None
        Cement volume the patient receives, mL, in all (:data:`CEMENT_VOLUMES`); None: none drawn, the
        strategy's own.
    """

    cleft: bool
    cortical_disruption: bool
    foramina: int
    breaches: tuple
    vein_radius: float = 0.0
    cement_volume: float | None = None

    def as_dict(self) -> dict:
        return {"cleft": self.cleft, "cortical_disruption": self.cortical_disruption, "foramina": self.foramina,
                "breaches": ",".join(self.breaches), "vein_radius": self.vein_radius,
                "cement_volume": self.cement_volume}


def _probability(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} must be a probability in [0, 1]")
    return float(value)


def sample_leakage_patients(n: int, *, seed, kind: str, cleft_prevalence: float = CLEFT_PREVALENCE,
                            cortical_disruption_prevalence: float = CORTICAL_DISRUPTION_PREVALENCE,
                            foramina_frequencies=None, foramen_height=FORAMEN_HEIGHT,
                            vein_share: float = VEIN_SHARE_OF_FORAMEN,
                            cement_volume=None) -> list[LeakagePatient]:
    """Draw ``n`` patients' leakage risk factors, independently, with their published frequencies.

    Parameters
    ----------
    n : int
        Number of patients, >= 0.
    seed : int, keyword-only
        Seed of ``numpy.random.default_rng``; the same seed gives the same patients.
    kind : str, keyword-only
        Fracture kind (:data:`vbfem.fracture.deformity.KINDS`): a disrupted cortex opens its outlets
        (:func:`vbfem.fracture.defects.typical_breaches`).
    cleft_prevalence : float
        Probability of an intravertebral cleft, [0, 1]; default :data:`CLEFT_PREVALENCE` (McKiernan 2003).
    cortical_disruption_prevalence : float
        Probability of a disrupted cortex, [0, 1]; default :data:`CORTICAL_DISRUPTION_PREVALENCE` (Ikeda 2013).
    foramina_frequencies : mapping, optional
        Number of foramina (0-4) -> probability in [0, 1] (normalised over the keys); default
        :data:`FORAMINA_FREQUENCIES` (Tzika 2021).
    foramen_height : (float, float)
        Mean and standard deviation (mm) of the basivertebral foramen's height (mean > 1, sd >= 0); default
        :data:`FORAMEN_HEIGHT` (He 2023).
    vein_share : float
        The vein's diameter as a share of the foramen's height, (0, 1]; default
        :data:`VEIN_SHARE_OF_FORAMEN` (an assumption, an upper bound).
    cement_volume : (float, float), sequence of (float, float, float), or None
        Mean and standard deviation (mL; mean > 0, sd >= 0) of the cement volume each patient receives, drawn
        log-normal with these moments, or a mixture of such components ``(weight, mean, sd)`` (weights >= 0,
        positive sum); e.g. ``CEMENT_VOLUMES["kyphoplasty"]`` (Jin 2018). Default None: no volume drawn
        (:attr:`LeakagePatient.cement_volume` None).

    Returns
    -------
    list of LeakagePatient

    Notes
    -----
    The features are drawn independently: no joint distribution was found. Clefts and cortical
    defects do go together in the IVC case-control series (cortical leakage 40.3 % with, 16.5 % without a
    cleft, PMC8449924), which independence does not reproduce.

    Examples
    --------
    >>> ps = sample_leakage_patients(4, seed=1, kind="wedge")
    >>> ps == sample_leakage_patients(4, seed=1, kind="wedge")
    True
    >>> ps[:2] == sample_leakage_patients(2, seed=1, kind="wedge")  # patient i does not depend on n
    True
    """
    from .defects import typical_breaches

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n={n!r} must be an integer >= 0")
    p_cleft = _probability(cleft_prevalence, "cleft_prevalence")
    p_cortex = _probability(cortical_disruption_prevalence, "cortical_disruption_prevalence")
    counts = tuple(FORAMINA_FREQUENCIES)
    freqs = FORAMINA_FREQUENCIES if foramina_frequencies is None else foramina_frequencies
    if foramina_frequencies is not None:
        for k, v in dict(freqs).items():
            _probability(v, f"foramina_frequencies[{k!r}]")
    p_foramina = _distribution(freqs, counts, "foramina_frequencies")
    try:
        mean, sd = (float(x) for x in foramen_height)
    except (TypeError, ValueError):
        raise ValueError(f"foramen_height={foramen_height!r} must be (mean, sd) in mm") from None
    if not (np.isfinite(mean) and np.isfinite(sd) and mean > 1.0 and sd >= 0.0):
        raise ValueError(f"foramen_height={foramen_height!r}: need a mean > 1 mm (a large foramen) and an sd >= 0 mm")
    if isinstance(vein_share, bool) or not isinstance(vein_share, (int, float, np.integer, np.floating)) \
            or not (np.isfinite(vein_share) and 0.0 < vein_share <= 1.0):
        raise ValueError(f"vein_share={vein_share!r} must lie in (0, 1] (the vein inside its foramen)")
    share = float(vein_share)
    volume = None if cement_volume is None else _volume_components(cement_volume)
    breaches = tuple(typical_breaches(fracture_kind(kind)))
    if seed is None:
        raise ValueError("seed=None: give a seed, so that the patients can be drawn again")
    # row i is patient i's (a longer run keeps the first ones); the stream is [seed, 1], apart from the
    # permeability fields' default_rng(seed + i) of vbfem.treatment.leakage
    u = np.random.default_rng([int(seed), 1]).random((int(n), 3))
    cleft = u[:, 0] < p_cleft
    cortex = u[:, 1] < p_cortex
    cdf = np.cumsum(p_foramina)
    foramina = np.minimum(np.searchsorted(cdf / cdf[-1], u[:, 2], side="right"), len(counts) - 1)
    # the foramen's height from a stream of its own ([seed, 2]): the features above do not change with it
    height = np.maximum(np.random.default_rng([int(seed), 2]).normal(mean, sd, int(n)), 1.0)
    radius = np.where(np.asarray(counts)[foramina] > 0, 0.5 * share * height, 0.0)
    # the cement volume from a stream of its own ([seed, 3]): the features above do not change with it
    # (and a mixture's component from [seed, 4])
    if volume is None:
        ml = [None] * int(n)
    else:
        w, vm, vs = (np.array(c) for c in zip(*volume))
        g = np.random.default_rng([int(seed), 3]).standard_normal(int(n))
        k = np.zeros(int(n), np.int64)
        if len(w) > 1:
            cdf = np.cumsum(w) / w.sum()
            u = np.random.default_rng([int(seed), 4]).random(int(n))
            k = np.minimum(np.searchsorted(cdf, u, side="right"), len(w) - 1)
        s2 = np.log1p((vs[k] / vm[k]) ** 2)  # log-normal with mean vm and sd vs
        ml = [float(v) for v in np.exp(np.log(vm[k]) - 0.5 * s2 + np.sqrt(s2) * g)]
    return [LeakagePatient(bool(c), bool(d), int(counts[f]), breaches if d else (), float(r), v)
            for c, d, f, r, v in zip(cleft, cortex, foramina, radius, ml)]


def _volume_components(cement_volume) -> tuple:
    """((weight, mean, sd), ...) in mL of a cement volume distribution: (mean, sd) or (weight, mean, sd)
    components, checked."""
    bad = f"cement_volume={cement_volume!r} must be (mean, sd) in mL or a sequence of (weight, mean, sd)"
    try:
        items = list(cement_volume)
        comps = [tuple(float(x) for x in c) for c in items] if all(np.ndim(c) == 1 for c in items) \
            else [(1.0, *(float(x) for x in items))]
    except (TypeError, ValueError):
        raise ValueError(bad) from None
    if not comps or any(len(c) != 3 for c in comps):
        raise ValueError(bad)
    for w, mean, sd in comps:
        if not (np.isfinite([w, mean, sd]).all() and w >= 0.0 and mean > 0.0 and sd >= 0.0):
            raise ValueError(f"cement_volume={cement_volume!r}: need weights >= 0, means > 0 mL and sds >= 0 mL")
    if not sum(c[0] for c in comps) > 0:
        raise ValueError(f"cement_volume={cement_volume!r}: the weights must have a positive sum")
    return tuple(comps)
