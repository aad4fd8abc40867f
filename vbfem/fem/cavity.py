"""Fluid-filled cavities: a closed region of cells whose volume change is resisted by a fluid.

A cavity is a set of cells (e.g. a disc's nucleus pulposus) filled with a fluid of bulk modulus
``K_f`` (MPa). In small strain its volume change is linear in the nodal displacements ``u`` (mm),

    dV = b^T u,    b = sum over the cavity's cells of  int_cell grad(N_a) dV   (mm², per dof),

the integral of the divergence operator (the first variation of ``int det J dxi``). By the divergence
theorem ``b = oint N_a n dA`` over the cavity's boundary: ``b`` is zero at the nodes inside the cavity
(up to round-off) and equals the consistent nodal forces of a unit pressure on its wall. The fluid
adds the energy ``K_f (b^T u)² / (2 V)`` (``V`` the cavity's volume, mm³), i.e. the rank-one stiffness
``(K_f / V) b b^T`` (N/mm), and carries a uniform pressure

    p = -K_f b^T u / V   (MPa, compression positive),

which pushes on the wall with the nodal forces ``p b`` (N). The cells of the cavity keep their own
(solid) material as a skeleton.

:func:`solve_static_cavities` solves ``(K + sum_d k_d b_d b_d^T) u = f`` without forming the dense
rank-one blocks: by linearity ``u = u_0 + sum_d p_d w_d`` with ``u_0`` the solution without the fluid
and ``w_d`` that of a unit pressure in cavity ``d`` (the load ``b_d`` with the constraints made
homogeneous); ``p = -k (B^T u)`` gives the small symmetric system (Sherman-Morrison-Woodbury)

    (diag(1 / k) + B^T W) p = -B^T u_0,    k_d = K_f / V_d.

All load cases and the unit-pressure cases share one stiffness matrix (and, for AMG-CG, one
multigrid hierarchy) through :func:`vbfem.fem.static.solve_static_cases`. :func:`add_cavities` forms
the assembled matrix with the rank-one terms instead (dense blocks over the cavity walls' dofs; used
to verify the former).

A material map can declare its mesh's cavities under ``params["fluid_cavities"]`` (:data:`CAVITIES_PARAM`):
name -> ``{"cell_set": <cell set of the mesh>, "bulk_modulus": K_f}`` (the spinal unit's fluid nuclei do).
:func:`material_cavities` builds them; exports use it so that a mesh and its material map carry their
fluid with them (:func:`vbfem.output.inp.to_inp`).

Units: mm, N, MPa.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..records import LoadCase, MaterialMap, Mesh, Platen, Result
from .elements import _jacobian_columns, element

log = logging.getLogger(__name__)

__all__ = ["CAVITIES_PARAM", "Cavity", "add_cavities", "cavity", "cavity_pressures", "material_cavities",
           "solve_static_cavities", "volume_vector"]

#: Key of :attr:`vbfem.records.MaterialMap.params` that declares fluid-filled cavities: name ->
#: ``{"cell_set": str, "bulk_modulus": float (MPa)}``.
CAVITIES_PARAM = "fluid_cavities"

#: Entries of ``b`` below this fraction of its largest entry are round-off of the interior nodes
#: (analytically zero) and are dropped from the unit-pressure loads.
_ROUNDOFF = 1e-12


@dataclass(frozen=True, eq=False)
class Cavity:
    """A fluid-filled cavity of a mesh.

    Attributes
    ----------
    name : str
    cells : ndarray of int
        The cells the fluid fills.
    vector : ndarray (3 n_points,)
        ``b``: the volume change is ``b @ u.ravel()``, mm² per mm of displacement.
    volume : float
        Undeformed volume ``V``, mm³.
    bulk_modulus : float
        Fluid bulk modulus ``K_f``, MPa.
    """

    name: str
    cells: np.ndarray
    vector: np.ndarray
    volume: float
    bulk_modulus: float

    @property
    def stiffness(self) -> float:
        """``K_f / V``, N/mm⁵: the rank-one stiffness is ``stiffness * b b^T``."""
        return self.bulk_modulus / self.volume

    def pressure(self, displacement) -> float:
        """Fluid pressure ``-K_f b^T u / V`` (MPa, compression positive) of nodal displacements (n, 3), mm."""
        return -self.stiffness * float(self.vector @ np.asarray(displacement, float).ravel())

    def wall_dofs(self) -> np.ndarray:
        """Dofs (3 node + component) where ``b`` is not round-off: the cavity wall's (the entries of the
        nodes inside the cavity are analytically zero)."""
        return _support(self.vector)


def volume_vector(mesh: Mesh, cells) -> tuple[np.ndarray, float]:
    """The volume-change vector ``b`` (3 n_points,) of a set of cells and their volume.

    ``b[3 a + i] = sum over the cells of int dN_a/dx_i dV`` by the element's stiffness rule (exact
    for hex8 and tet4: the integrand ``cof(J) grad_xi N`` is a polynomial the rule integrates exactly).

    Parameters
    ----------
    mesh : Mesh
    cells : array_like of int
        Cell indices (at least one).

    Returns
    -------
    b : ndarray (3 n_points,), mm²
    volume : float, mm³
    """
    cells = np.unique(np.asarray(cells, np.int64).ravel())
    if cells.size == 0:
        raise ValueError("a cavity needs at least one cell, got none")
    if cells[0] < 0 or cells[-1] >= mesh.n_cells:
        raise ValueError(f"cavity cells must be in [0, {mesh.n_cells}), got {cells[0]}..{cells[-1]}")
    el = element(mesh.cell_type)
    dN = el.quad_gradients()  # (q, k, 3)
    conn = mesh.cells[cells]
    c0, c1, c2 = _jacobian_columns(mesh.points[conn], dN)  # columns dx/dxi_j, (m, q, 3) each
    # cof(J) = det J J^-T has the columns c1 x c2, c2 x c0, c0 x c1; det J dN/dx = cof(J) dN/dxi
    cof = np.stack([np.cross(c1, c2), np.cross(c2, c0), np.cross(c0, c1)], axis=-1)  # (m, q, i, j)
    det = np.einsum("mqi,mqi->mq", c0, np.cross(c1, c2))
    w = el.quad_weights
    contrib = np.einsum("q,mqij,qaj->mai", w, cof, dN)  # (m, k, 3)
    dofs = 3 * conn[:, :, None] + np.arange(3)
    b = np.bincount(dofs.ravel(), weights=contrib.ravel(), minlength=3 * mesh.n_points)
    return b, float((det * w).sum())


def cavity(mesh: Mesh, cells, *, bulk_modulus: float, name: str = "cavity") -> Cavity:
    """The :class:`Cavity` of ``cells`` of ``mesh`` filled with a fluid of ``bulk_modulus`` (MPa, > 0)."""
    if not (np.isfinite(bulk_modulus) and bulk_modulus > 0):
        raise ValueError(f"bulk_modulus={bulk_modulus!r} MPa must be finite and > 0")
    b, vol = volume_vector(mesh, cells)
    if not vol > 0:
        raise ValueError(f"cavity {name!r} has volume {vol!r} mm³; it must be > 0")
    return Cavity(name=str(name), cells=np.unique(np.asarray(cells, np.int64)), vector=b, volume=vol,
                  bulk_modulus=float(bulk_modulus))


def material_cavities(mesh: Mesh, materials: MaterialMap) -> tuple[Cavity, ...]:
    """The fluid-filled cavities that ``materials`` declares (``params["fluid_cavities"]``), on ``mesh``.

    Returns
    -------
    tuple of Cavity
        In the declared order; empty when the map declares none.

    Raises
    ------
    ValueError
        When a declared cavity names a cell set the mesh lacks, has no bulk modulus, or the map does not
        match the mesh.
    """
    spec = materials.params.get(CAVITIES_PARAM)
    if not spec:
        return ()
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    out = []
    for name, entry in spec.items():
        try:
            cell_set, bulk = entry["cell_set"], float(entry["bulk_modulus"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"params[{CAVITIES_PARAM!r}][{name!r}] = {entry!r}: give a 'cell_set' and a "
                             "'bulk_modulus' (MPa)") from None
        if cell_set not in mesh.cell_sets:
            raise ValueError(f"fluid cavity {name!r}: the mesh has no cell set {cell_set!r}")
        out.append(cavity(mesh, mesh.cell_set(cell_set), bulk_modulus=bulk, name=name))
    return tuple(out)


def cavity_pressures(cavities, displacement) -> dict:
    """Pressure (MPa) of each cavity for nodal displacements (n, 3) in mm, keyed by name."""
    return {c.name: c.pressure(displacement) for c in cavities}


def add_cavities(K: sp.spmatrix, cavities) -> sp.csr_matrix:
    """``K + sum_d (K_f / V)_d b_d b_d^T`` as CSR (dense blocks over each cavity wall's dofs).

    For verification and small problems; :func:`solve_static_cavities` avoids the dense blocks.
    """
    out = sp.csr_matrix(K, copy=True)
    for c in cavities:
        nz = _support(c.vector)
        v = c.vector[nz]
        rows = np.repeat(nz, nz.size)
        cols = np.tile(nz, nz.size)
        out = out + sp.csr_matrix((c.stiffness * np.outer(v, v).ravel(), (rows, cols)), shape=K.shape)
    return out.tocsr()


def _support(b: np.ndarray) -> np.ndarray:
    """Dofs where ``b`` is not round-off."""
    return np.flatnonzero(np.abs(b) > _ROUNDOFF * np.abs(b).max())


def _homogeneous(load: LoadCase, name: str, b: np.ndarray) -> LoadCase:
    """``load``'s constraints with zero prescribed values, loaded by the nodal forces ``b`` alone."""
    nz = _support(b)
    platens = tuple(Platen(name=p.name, nodes=p.nodes, ref_point=p.ref_point,
                           prescribed=np.where(np.isnan(p.prescribed), np.nan, 0.0), load=np.zeros(6))
                    for p in load.platens)
    return LoadCase(name=name, fixed_dofs=load.fixed_dofs, fixed_values=np.zeros(load.fixed_dofs.size),
                    force_dofs=nz, force_values=b[nz], platens=platens)


def _constraint_key(load: LoadCase) -> tuple:
    """Loads with equal keys have the same constraints (the same homogeneous unit-pressure cases)."""
    return (load.fixed_dofs.tobytes(),) + tuple(
        (p.name, p.nodes.tobytes(), p.ref_point.tobytes(), np.isnan(p.prescribed).tobytes()) for p in load.platens)


def solve_static_cavities(mesh: Mesh, materials: MaterialMap, loads, cavities, *, solver: str = "auto",
                          rtol: float = 1e-8, maxiter: int = 1000) -> tuple[list[Result], list[dict]]:
    """Solve load cases of a mesh whose ``cavities`` are filled with fluid (see the module docstring).

    Parameters
    ----------
    mesh, materials
        As :func:`vbfem.fem.static.solve_static`; the cavities' cells keep their material (the skeleton).
    loads : sequence of LoadCase
    cavities : sequence of Cavity
        Of ``mesh``, with distinct names; none: plain :func:`~vbfem.fem.static.solve_static_cases`.
    solver, rtol, maxiter
        As :func:`vbfem.fem.static.solve_static_cases`.

    Returns
    -------
    results : list of Result
        One per load case: displacements ``u_0 + W p``; the cells' strains and stresses of that
        displacement, with the fluid pressure added to the cavity cells' stresses (``sigma - p I``);
        reactions and platen motions and reactions combined alike; the strain energy includes the
        fluid's ``sum p² V / (2 K_f)``. ``timings["cavities"]`` (first result) is the time of the
        unit-pressure solves and the combination.
    pressures : list of dict
        Cavity name -> pressure, MPa, per load case.
    """
    from .static import solve_static_cases

    loads = list(loads)
    cavities = list(cavities)
    names = [c.name for c in cavities]
    if len(set(names)) != len(names):
        raise ValueError(f"cavity names must be distinct, got {names}")
    for c in cavities:
        if c.vector.shape != (3 * mesh.n_points,):
            raise ValueError(f"cavity {c.name!r} has a vector of shape {c.vector.shape}, the mesh needs "
                             f"({3 * mesh.n_points},)")
    if not cavities:
        return solve_static_cases(mesh, materials, loads, solver=solver, rtol=rtol, maxiter=maxiter), [{}] * len(loads)
    keys = {}
    for load in loads:
        keys.setdefault(_constraint_key(load), load)
    unit_loads = [_homogeneous(load, f"unit pressure {c.name}", c.vector) for load in keys.values() for c in cavities]
    solved = solve_static_cases(mesh, materials, loads + unit_loads, solver=solver, rtol=rtol, maxiter=maxiter)
    base, unit = solved[:len(loads)], solved[len(loads):]
    t_unit = sum(sum(r.timings.values()) for r in unit)
    index = {k: i for i, k in enumerate(keys)}
    B = np.column_stack([c.vector for c in cavities])  # (3n, c)
    k = np.array([c.stiffness for c in cavities])
    results, pressures = [], []
    for load, r0 in zip(loads, base):
        j = index[_constraint_key(load)] * len(cavities)
        w = unit[j:j + len(cavities)]
        W = np.column_stack([r.displacement.ravel() for r in w])  # (3n, c)
        G = B.T @ W
        G = 0.5 * (G + G.T)  # symmetric up to the solver tolerance
        p = np.linalg.solve(np.diag(1.0 / k) + G, -(B.T @ r0.displacement.ravel()))
        results.append(_combine(mesh, materials, r0, w, p, cavities, t_unit if not results else 0.0,
                                time.perf_counter()))
        pressures.append(dict(zip(names, p.tolist())))
    log.info("solve_static_cavities: %d cases, %d cavities, %d unit-pressure solves; pressures %s", len(loads),
             len(cavities), len(unit_loads), pressures)
    return results, pressures


def _combine(mesh, materials, r0: Result, w, p, cavities, t_unit, t0) -> Result:
    """The result ``r0 + sum_d p_d w_d`` with the fields of the combined displacement."""
    from .assembly import cell_fields

    u = r0.displacement + sum(pd * r.displacement for pd, r in zip(p, w))
    reaction = r0.reaction + sum(pd * r.reaction for pd, r in zip(p, w))
    motion = {n: r0.platen_motion[n] + sum(pd * r.platen_motion[n] for pd, r in zip(p, w)) for n in r0.platen_motion}
    preact = {n: r0.platen_reaction[n] + sum(pd * r.platen_reaction[n] for pd, r in zip(p, w))
              for n in r0.platen_reaction}
    strain, stress, energy, _ = cell_fields(mesh, materials, u)
    stress = np.array(stress)
    fluid = 0.0
    for c, pd in zip(cavities, p):
        stress[c.cells, :3] -= pd
        fluid += 0.5 * pd * pd * c.volume / c.bulk_modulus
    timings = dict(r0.timings)
    timings["cavities"] = t_unit + (time.perf_counter() - t0)
    return Result(displacement=u, strain=strain, stress=stress, reaction=reaction, platen_motion=motion,
                  platen_reaction=preact, strain_energy=float(energy.sum()) + fluid, solver=r0.solver,
                  timings=timings)
