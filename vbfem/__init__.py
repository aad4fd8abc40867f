"""vbfem: finite-element models of vertebral compression fractures and their cement treatments.

Units: mm, N, MPa, s, g/cm³. Axes: +x anterior, +y left, +z superior.

A study script needs only this module's names (listed in ``__all__``)::

    import vbfem
    geometry = vbfem.build_vertebra("L1")
    mesh = vbfem.mesh_vertebra(geometry, size=2.0)
    bone = vbfem.assign_bone(mesh, bmd="osteoporotic")
    fmesh, fbone = vbfem.apply_fracture(mesh, bone, "wedge", grade=2)

Layout and layering
-------------------
The subpackages follow the pipeline (``docs/architecture.md``)::

    records    the shared vocabulary (Mesh, MaterialMap, CementFill, LoadCase, Result)
    fem        finite elements: knows nothing about vertebrae
    anatomy    geometry and meshes of the vertebral body
    materials  bone, cement, composites, porous media, tissue strength
    fracture   deformities, the damaged band, defects, cohorts
    treatment  needles, cement flow, vertebroplasty, balloons, kyphoplasty
    mechanics  load cases, responses, failure, comparison of states
    output     file formats, pictures, plots, reports
    study      study files, the pipeline, sweeps, verification and validation
    cli        the command line

The rule, checked by ``tests/test_layering.py``: ``records`` imports nothing from
vbfem; ``fem`` imports only ``records``; each stage from ``anatomy`` to ``mechanics``
imports only ``records``, ``fem`` and the stages listed before it; ``output`` imports
nothing above ``mechanics``; ``study`` may import everything but ``cli``, and ``cli``
sits on top. Within a stage, modules import each other freely (without cycles).
"""

__version__ = "0.1.0"

from .anatomy.geometry import Geometry, build_vertebra
from .anatomy.heights import measure_heights
from .anatomy.mesher import mesh_vertebra
from .anatomy.surface import from_surface
from .fem.loads import fixed, load_case, nodal_force, platen_compression, rigid_platen
from .fem.static import solve_static
from .fracture.deformity import apply_fracture
from .materials.bone import assign_bone
from .materials.cement import with_cement
from .mechanics.compare import compare_states
from .mechanics.failure import load_displacement
from .mechanics.loadcases import compression_test
from .records import TISSUES, CementFill, LoadCase, MaterialMap, Mesh, Platen, Result, SolverInfo
from .study.pipeline import run_study
from .study.schema import Study, StudyError, load_study
from .treatment.kyphoplasty import simulate_kyphoplasty
from .treatment.needles import bipedicular, unipedicular
from .treatment.vertebroplasty import simulate_vertebroplasty

__all__ = [
    # records
    "TISSUES", "CementFill", "LoadCase", "MaterialMap", "Mesh", "Platen", "Result", "SolverInfo",
    # the pipeline's stages, in order
    "Geometry", "build_vertebra", "from_surface", "mesh_vertebra", "measure_heights", "assign_bone",
    "apply_fracture", "bipedicular", "unipedicular", "simulate_vertebroplasty", "simulate_kyphoplasty",
    "with_cement", "compression_test", "fixed", "load_case", "nodal_force", "platen_compression", "rigid_platen",
    "solve_static", "load_displacement", "compare_states",
    # studies
    "Study", "StudyError", "load_study", "run_study",
]
