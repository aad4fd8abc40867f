"""The finite-element core: it knows meshes, materials and loads, nothing about vertebrae.

Takes a :class:`~vbfem.records.Mesh`, a :class:`~vbfem.records.MaterialMap` (or the
:class:`~vbfem.fem.plasticity.PlasticMaterial` of an elastic–plastic analysis) and a
:class:`~vbfem.records.LoadCase`; returns a :class:`~vbfem.records.Result` (linear
statics) or a :class:`~vbfem.fem.nonlinear.LoadDisplacementCurve`.

Modules: ``elements`` (shape functions, quadrature), ``cells`` and ``faces`` (per-cell
measures, face topology), ``primitives`` (box and cylinder meshes), ``pattern`` (sparsity
plans), ``assembly``, ``loads`` (fixed dofs, forces, rigid platens), ``constraints``,
``solvers`` (direct, AMG-CG), ``static``, ``plasticity`` and ``nonlinear``, ``post``
(invariants of strain and stress). Numba kernels live in ``_kernels``, each beside a
numpy twin (``*_ref``) that the tests compare against.
"""

from .assembly import assemble_stiffness, cell_fields, check_mesh
from .cells import cell_centroids, cell_volumes
from .constraints import RigidBodyError, constraint_map
from .loads import fixed, load_case, nodal_force, platen_compression, rigid_platen
from .nonlinear import LoadDisplacementCurve, NonlinearSolveError, elastoplastic_curve
from .plasticity import PlasticMaterial, drucker_prager
from .post import effective_strain, principal_strains, principal_stresses, von_mises
from .primitives import box_mesh, cylinder_mesh
from .solvers import SolverError
from .static import solve_static

__all__ = [
    "LoadDisplacementCurve", "NonlinearSolveError", "PlasticMaterial", "RigidBodyError", "SolverError",
    "assemble_stiffness", "box_mesh", "cell_centroids", "cell_fields", "cell_volumes", "check_mesh",
    "constraint_map", "cylinder_mesh", "drucker_prager", "effective_strain", "elastoplastic_curve", "fixed",
    "load_case", "nodal_force", "platen_compression", "principal_strains", "principal_stresses", "rigid_platen",
    "solve_static", "von_mises",
]
