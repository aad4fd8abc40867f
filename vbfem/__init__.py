"""vbfem: finite-element models of vertebral compression fractures and their cement treatments.

Units: mm, N, MPa, s, g/cm³. Axes: +x anterior, +y left, +z superior.
"""

from .assembly import assemble_stiffness, cell_fields, check_mesh
from .constraints import RigidBodyError, constraint_map
from .loads import fixed, load_case, nodal_force, platen_compression, rigid_platen
from .pipeline import run_study
from .post import effective_strain, principal_strains, principal_stresses, von_mises
from .records import TISSUES, LoadCase, MaterialMap, Mesh, Platen, Result, SolverInfo
from .solvers import SolverError
from .static import solve_static
from .study import Study, StudyError, load_study

__version__ = "0.1.0"

__all__ = [
    "TISSUES", "LoadCase", "MaterialMap", "Mesh", "Platen", "Result", "RigidBodyError", "SolverError",
    "SolverInfo", "Study", "StudyError", "load_study", "run_study", "assemble_stiffness", "cell_fields", "check_mesh", "constraint_map", "effective_strain",
    "fixed", "load_case", "nodal_force", "platen_compression", "principal_strains", "principal_stresses",
    "rigid_platen", "solve_static", "von_mises",
]
