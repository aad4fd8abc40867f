"""Study: the pipeline run from a study file, sweeps over it, and the credibility evidence.

Takes a :class:`~vbfem.study.schema.Study` (a TOML file or a Python object); runs the
stages in order (geometry, mesh, bone, fracture, treatments, load, solve) and returns a
:class:`~vbfem.study.pipeline.StudyResult` with its outputs written. ``sweep`` runs grids,
case lists and seeded Monte Carlo studies on Dask; ``verification`` and ``validation``
produce the credibility report of ``vbfem validate``.
"""

from .pipeline import StudyResult, run_study
from .schema import Study, StudyError, dumps_study, load_study
from .sweep import Sweep, load_sweep, run_sweep

__all__ = ["Study", "StudyError", "StudyResult", "Sweep", "dumps_study", "load_study", "load_sweep", "run_study",
           "run_sweep"]
