"""Virtual patient cohorts of osteoporotic vertebral fractures.

:func:`sample_cohort` draws fracture kinds with the frequencies of the
European study quoted in the seed document and Genant grades with an assumed
distribution, reproducibly from a seed; each case can be passed straight to
:func:`vbfem.fracture.deformity.apply_fracture`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .deformity import GENANT_GRADES, KINDS, fracture_kind

log = logging.getLogger(__name__)

__all__ = ["GRADE_3_MAX_LOSS", "GRADE_WEIGHTS", "KIND_FREQUENCIES", "FractureCase", "sample_cohort"]

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
