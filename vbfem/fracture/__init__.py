"""Fracture: an osteoporotic compression fracture applied to an intact body.

Takes the intact :class:`~vbfem.records.Mesh` and :class:`~vbfem.records.MaterialMap`,
a kind (the seven Genant morphologies) and a grade; returns the deformed mesh and the
damaged material map (compaction band, optional cleft, cortical breaches and endplate
cracks as leakage outlets).

Modules: ``deformity`` (the kinds, their grading, :func:`apply_fracture`), ``band``
(the compacted, damaged band under the collapsed endplate), ``defects`` (clefts and
outlets), ``cohort`` (a population sampler of kinds and grades).
"""

from .cohort import sample_cohort
from .deformity import GENANT_GRADES, KINDS, apply_fracture, fracture_kind, grade_of

__all__ = ["GENANT_GRADES", "KINDS", "apply_fracture", "fracture_kind", "grade_of", "sample_cohort"]
