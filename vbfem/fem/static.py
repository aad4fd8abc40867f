"""Linear static analysis: ``solve_static``."""

from __future__ import annotations

import logging
import time

import numpy as np

from ..records import LoadCase, MaterialMap, Mesh, Result
from .assembly import assemble_stiffness, cell_fields, check_mesh
from .constraints import constraint_map
from .solvers import check_solver, resolve_method, solve_spd, solve_spd_many

log = logging.getLogger(__name__)


def solve_static(mesh: Mesh, materials: MaterialMap, load: LoadCase, *, solver: str = "auto",
                 rtol: float = 1e-8, maxiter: int = 1000) -> Result:
    """Solve a small-strain linear-elastic static problem.

    Parameters
    ----------
    mesh : Mesh
    materials : MaterialMap
        Per-cell Young's modulus (MPa) and Poisson's ratio.
    load : LoadCase
        Constraints, nodal forces and rigid platens.
    solver : {"auto", "direct", "amg-cg"}, keyword-only
        ``"auto"`` solves directly up to :data:`vbfem.fem.solvers.DIRECT_MAX_DOFS` free unknowns.
    rtol : float, keyword-only
        Relative residual for AMG-CG.
    maxiter : int, keyword-only
        AMG-CG iteration limit.

    Returns
    -------
    Result
        Displacements (mm), cell strains and stresses (MPa), reactions (N),
        platen motions and reactions, strain energy (N·mm), solver statistics.

    Examples
    --------
    >>> from vbfem.fem.primitives import box_mesh
    >>> from vbfem.records import MaterialMap
    >>> from vbfem.fem.loads import platen_compression
    >>> mesh = box_mesh((10.0, 10.0, 20.0), (2, 2, 4))
    >>> res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, 100.0, 0.0),
    ...                    platen_compression(mesh, displacement=0.1))
    >>> round(res.stiffness("platen"), 6)   # E A / L = 100 * 100 / 20
    500.0
    """
    check_solver(solver)
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    if materials.params.get("fluid_cavities"):  # vbfem.fem.cavity.CAVITIES_PARAM (a spinal unit's nuclei)
        log.warning("solve_static: the material map declares fluid-filled cavities, which this solve leaves out "
                    "(the skeleton alone); vbfem.fem.cavity.solve_static_cavities (or "
                    "vbfem.mechanics.spine.solve_unit) includes them, as the CalculiX export does")
    timings = {}
    t = time.perf_counter()
    check_mesh(mesh)
    cmap = constraint_map(mesh, load)  # raises on rigid-body modes before any long work
    timings["constraints"] = time.perf_counter() - t

    t = time.perf_counter()
    K = assemble_stiffness(mesh, materials)
    timings["assembly"] = time.perf_counter() - t

    t = time.perf_counter()
    Kr, rhs = cmap.reduce(K)
    timings["reduction"] = time.perf_counter() - t

    q, info = solve_spd(Kr, rhs, method=solver, near_null=cmap.near_null, rtol=rtol, maxiter=maxiter)
    timings["solve"] = info.setup_time + info.solve_time

    return _result(mesh, materials, load, cmap, K, q, info, timings)


def _result(mesh, materials, load, cmap, K, q, info, timings) -> Result:
    """The :class:`Result` of the reduced solution ``q`` of ``load`` (displacements, fields, reactions)."""
    t = time.perf_counter()
    z = cmap.expand(q)
    n = cmap.n_mesh_dofs
    u = z[:n].reshape(-1, 3)
    reaction = (K @ z[:n] - cmap.f[:n]).reshape(-1, 3)
    motion, platen_reaction = {}, {}
    for p in load.platens:
        motion[p.name] = z[cmap.platen_slices[p.name]]
        r = reaction[p.nodes]
        arm = mesh.points[p.nodes] - p.ref_point
        platen_reaction[p.name] = np.concatenate([r.sum(axis=0), np.cross(arm, r).sum(axis=0)])
    strain, stress, energy, _ = cell_fields(mesh, materials, u)
    timings["post"] = time.perf_counter() - t
    return Result(
        displacement=u,
        strain=strain,
        stress=stress,
        reaction=reaction,
        platen_motion=motion,
        platen_reaction=platen_reaction,
        strain_energy=float(energy.sum()),
        solver=info,
        timings=timings,
    )


def solve_static_cases(mesh: Mesh, materials: MaterialMap, loads, *, solver: str = "auto", rtol: float = 1e-8,
                       maxiter: int = 1000) -> list[Result]:
    """Solve several load cases of one mesh and material map; each result equals :func:`solve_static`'s.

    The stiffness matrix is assembled once. Load cases with the same constraints (the same map
    ``z = T q + g`` up to ``g``: the same fixed components and platens, e.g. the load directions of a
    spinal unit through one platen) share one reduced matrix; for ``"amg-cg"`` they also share one
    multigrid hierarchy, and the first case's Krylov space deflates the others
    (:func:`vbfem.fem.solvers.solve_spd_many`): each meets ``rtol`` as a single solve does, in fewer
    iterations (a three-level spinal unit at 3 mm: 185, then 92-109 instead of 185).

    Parameters
    ----------
    mesh : Mesh
    materials : MaterialMap
    loads : sequence of LoadCase
    solver, rtol, maxiter
        As :func:`solve_static`.

    Returns
    -------
    list of Result
        One per load case, in order; equal to :func:`solve_static`'s within the solver tolerance.
        ``timings["assembly"]`` (and the reduction and multigrid set-up of a shared matrix) are counted in
        the first result of their group only.
    """
    check_solver(solver)
    loads = list(loads)
    if not loads:
        raise ValueError("loads must hold at least one LoadCase")
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    t = time.perf_counter()
    check_mesh(mesh)
    cmaps = [constraint_map(mesh, load) for load in loads]  # raises on rigid-body modes before any long work
    t_constraints = (time.perf_counter() - t) / len(loads)
    t = time.perf_counter()
    K = assemble_stiffness(mesh, materials)
    t_assembly = time.perf_counter() - t
    groups = {}  # first case of each constraint map -> the cases sharing its reduced matrix
    for i, cmap in enumerate(cmaps):
        groups.setdefault(next((j for j in groups if _same_map(cmaps[j], cmap)), i), []).append(i)
    results = [None] * len(loads)
    for first, members in groups.items():
        t = time.perf_counter()
        Kr, rhs0 = cmaps[first].reduce(K)
        rhs = [rhs0] + [cmaps[i].reduce_rhs(K) for i in members[1:]]
        t_reduction = time.perf_counter() - t
        if resolve_method(solver, Kr.shape[0]) == "amg-cg" and len(members) > 1:
            Q, infos = solve_spd_many(Kr, np.column_stack(rhs), near_null=cmaps[first].near_null, rtol=rtol,
                                      maxiter=maxiter)
            solutions = list(zip(Q.T, infos))
        else:
            solutions = [solve_spd(Kr, b, method=solver, near_null=cmaps[first].near_null, rtol=rtol,
                                   maxiter=maxiter) for b in rhs]
        for k, (i, (q, info)) in enumerate(zip(members, solutions)):
            timings = {"constraints": t_constraints, "assembly": t_assembly if i == 0 else 0.0,
                       "reduction": t_reduction if k == 0 else 0.0, "solve": info.setup_time + info.solve_time}
            results[i] = _result(mesh, materials, loads[i], cmaps[i], K, np.ascontiguousarray(q), info, timings)
    log.info("solve_static_cases: %d cases, %d reduced matrices", len(loads), len(groups))
    return results


def _same_map(a, b) -> bool:
    """Whether two constraint maps have the same ``T`` (so the same reduced matrix)."""
    if a.T.shape != b.T.shape or a.T.nnz != b.T.nnz or not np.array_equal(a.free_mesh, b.free_mesh):
        return False
    A, B = a.T.tocsr(), b.T.tocsr()
    return (np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
            and np.array_equal(A.data, B.data))
