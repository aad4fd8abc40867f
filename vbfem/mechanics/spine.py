"""Loads and outputs of a functional spinal unit (:mod:`vbfem.mechanics.spinal_unit`).

Loads act on the top body's superior endplate through a rigid platen at its centroid (all six motions
free: force along -z and a pure moment, :func:`vbfem.mechanics.loadcases.physiological`); the bottom
body's inferior endplate is fixed. :func:`solve_unit` solves a unit's load cases, with its fluid-filled
nuclei if it has them (:mod:`vbfem.fem.cavity`). Outputs of one solution:

* intradiscal pressure: the fluid's pressure ``-K_f b^T u / V`` in each fluid-filled nucleus, or the
  volume-weighted mean of ``-tr(sigma) / 3`` over each solid nucleus, MPa;
* adjacent-endplate pressure: ``-sigma_zz`` of the disc cells that touch an endplate of a neighbour of the
  treated body (one value per endplate quad: a map), its mean and peak, MPa; the endplate cells'
  strain (minimum principal) beside it;
* cement load share: ``int_cement sigma_zz dV / int_body sigma_zz dV`` over the treated body, which is the
  height-averaged share of the axial force carried by cement and composite cells
  (``int_body sigma_zz dV = int N(z) dz``);
* endplate bulge: the peak deflection of each endplate that faces a disc into its own body, relative to
  the plane through its rim's axial displacements (the body's rigid translation and tilt removed), mm:
  the "inward bulge of the endplate" of Baroud et al., Eur Spine J 2003;12:421;
* per adjacent body: the peak magnitude of the minimum principal strain in its bone, the bone volume
  beyond the compressive yield strain, and the risk ratio ``F / F_yield``: the applied axial force over the
  force at which its most strained cell reaches the yield strain (linear scaling; a first-yield, not an
  ultimate, strength, and mesh dependent like any peak).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..fem.cells import cell_volumes
from ..fem.post import principal_strains
from ..materials.laws import YIELD_STRAIN_COMPRESSION
from ..records import LoadCase, Result, tissue_code
from .loadcases import DEFAULT_FORCE, DEFAULT_MOMENT, physiological
from .spinal_unit import SpinalUnit, adjacent_levels, rim_nodes

log = logging.getLogger(__name__)

__all__ = ["UNIT_CASES", "UnitResponse", "endplate_bulge", "intradiscal_pressure", "solve_unit",
           "unit_load_case", "unit_response"]

#: Load directions of the unit benchmark and the state comparison.
UNIT_CASES = ("compression", "flexion", "extension", "lateral_bending", "axial_rotation")

_BONE = tuple(tissue_code(t) for t in ("trabecular", "cortical", "endplate", "damaged", "compacted"))
_CEMENT = tuple(tissue_code(t) for t in ("cement", "composite"))


def unit_load_case(unit: SpinalUnit, case: str = "compression", *, force: float = DEFAULT_FORCE,
                   moment: float = DEFAULT_MOMENT) -> LoadCase:
    """The load case ``case`` on ``unit``: top through a free rigid platen, bottom fixed.

    ``force`` in N (compressive, >= 0), ``moment`` in N·mm; ``case`` as
    :func:`vbfem.mechanics.loadcases.physiological`.
    """
    return physiological(unit.mesh, case, force=force, moment=moment, superior="superior", inferior="inferior")


def solve_unit(unit: SpinalUnit, loads, *, solver: str = "auto", rtol: float = 1e-8,
               maxiter: int = 1000) -> list[Result]:
    """Solve load cases of ``unit``, its fluid-filled nuclei included.

    With cavities (``unit.cavities``, a fluid nucleus) :func:`vbfem.fem.cavity.solve_static_cavities`
    (the load cases and one unit-pressure case per disc share one stiffness matrix and multigrid
    hierarchy); without, :func:`vbfem.fem.static.solve_static_cases`. A plain
    :func:`vbfem.fem.static.solve_static` of ``unit.mesh`` ignores the fluid: use this instead.

    Parameters
    ----------
    unit : SpinalUnit
    loads : LoadCase or sequence of LoadCase
        E.g. from :func:`unit_load_case`.
    solver, rtol, maxiter
        As :func:`vbfem.fem.static.solve_static`.

    Returns
    -------
    list of Result
        One per load case; the nucleus cells' stresses include the fluid's pressure.
    """
    from ..fem.cavity import solve_static_cavities

    loads = [loads] if isinstance(loads, LoadCase) else list(loads)
    results, _ = solve_static_cavities(unit.mesh, unit.materials, loads, unit.cavities, solver=solver, rtol=rtol,
                                       maxiter=maxiter)
    return results


@dataclass(frozen=True)
class UnitResponse:
    """Outputs of one solved unit (see the module docstring).

    Attributes
    ----------
    intradiscal_pressure : dict disc -> MPa
    endplate_pressure : dict "<level>:<side>" -> (mean, peak) MPa, the neighbours' endplates facing the
        treated body
    endplate_pressure_map : dict "<level>:<side>" -> ndarray (per disc quad at that endplate), MPa
    endplate_strain_peak : dict "<level>:<side>" -> peak |minimum principal strain| of the endplate cells
    endplate_strain_map : dict "<level>:<side>" -> ndarray (per quad of ``endplate_pressure_map``)
        |minimum principal strain| of the neighbour's bone cell under each quad (the cell whose face the
        quad is).
    endplate_quads : dict "<level>:<side>" -> ndarray (n_quads, 4, 3)
        Corner coordinates (mm, undeformed) of the quads of the two maps, in their order.
    cement_load_share : float
        0 without cement.
    peak_strain : dict level -> |minimum principal strain| peak in the body's bone
    yield_volume : dict level -> mm³ of bone beyond :data:`YIELD_STRAIN_COMPRESSION`
    risk_ratio : dict level -> ``F / F_yield``
    rotation : ndarray (3,)
        Rotation of the top platen, rad.
    endplate_bulge : dict "<level>:<side>" -> mm
        Every endplate that faces a disc (both sides of each disc): :func:`endplate_bulge`.
    """

    intradiscal_pressure: dict
    endplate_pressure: dict
    endplate_pressure_map: dict
    endplate_strain_peak: dict
    cement_load_share: float
    peak_strain: dict
    yield_volume: dict
    risk_ratio: dict
    rotation: np.ndarray
    endplate_strain_map: dict
    endplate_quads: dict
    endplate_bulge: dict = field(default_factory=dict)


def intradiscal_pressure(unit: SpinalUnit, stress: np.ndarray, *, volumes=None, displacement=None) -> dict:
    """Pressure (MPa) of each nucleus.

    A fluid-filled nucleus (``unit.cavities``): the fluid's pressure ``-K_f b^T u / V`` of the nodal
    ``displacement`` (required). A solid nucleus: the mean hydrostatic pressure ``-tr(sigma)/3`` of its
    cells, volume weighted.

    Raises
    ------
    ValueError
        For a fluid nucleus without ``displacement``, or when the stress's mean pressure in the nucleus
        is not the fluid's plus the skeleton's share (within 10 %): a result solved
        without the fluid (a plain ``solve_static``; use :func:`solve_unit`).
    """
    v = cell_volumes(unit.mesh) if volumes is None else volumes
    p = -stress[:, :3].sum(axis=1) / 3.0
    out = {}
    for d in unit.discs:
        c = unit.mesh.cell_set(f"nucleus_{d}")
        out[d] = float((p[c] * v[c]).sum() / v[c].sum())
    if not unit.cavities:
        return out
    if displacement is None:
        raise ValueError("the unit's nuclei are fluid-filled cavities: give the displacement (the fluid's pressure "
                         "is -K_f b^T u / V)")
    mat = unit.materials
    for c in unit.cavities:
        pf = c.pressure(displacement)
        # the skeleton adds its own mean pressure K_s (-b^T u / V) = (K_s / K_f) p_f (uniform K_s)
        ks = mat.E[c.cells] / (3.0 * (1.0 - 2.0 * mat.nu[c.cells]))
        expected = pf * (1.0 + float((ks * v[c.cells]).sum() / v[c.cells].sum()) / c.bulk_modulus)
        if abs(out[c.name] - expected) > 0.1 * max(abs(expected), abs(out[c.name])) + 1e-12:
            raise ValueError(f"nucleus {c.name}: the stress's mean pressure {out[c.name]:.4g} MPa is not the "
                             f"fluid's {pf:.4g} MPa: the result was solved without the fluid-filled nuclei; solve "
                             "the unit with vbfem.mechanics.spine.solve_unit")
    fluid = {c.name: c.pressure(displacement) for c in unit.cavities}
    return {d: fluid[d] for d in unit.discs}


def endplate_bulge(points: np.ndarray, displacement: np.ndarray, quads: np.ndarray, side: str) -> float:
    """Peak deflection (mm) of an endplate into its own body, relative to the plane through its rim.

    The plane ``w = a + b x + c y`` is the least-squares fit of the axial displacements ``w`` of the rim
    nodes (the patch's boundary: edges of one quad only), so the body's rigid translation and small
    rotation about x and y give no bulge. The inward deflection of a node is ``plane - w`` on a
    ``"superior"`` endplate (into the body: -z) and ``w - plane`` on an ``"inferior"`` one; the result is
    its maximum over the patch's nodes (0 at the rim by construction when the rim stays plane).

    Parameters
    ----------
    points : ndarray (n, 3)
        Undeformed node coordinates, mm.
    displacement : ndarray (n, 3)
        Nodal displacements, mm.
    quads : ndarray (k, 4) of int
        The endplate's quads (node ids), e.g. the disc cells' faces on it.
    side : {"superior", "inferior"}
        Which endplate of its body it is.
    """
    if side not in ("superior", "inferior"):
        raise ValueError(f"side={side!r} must be 'superior' or 'inferior'")
    quads = np.asarray(quads, np.int64)
    nodes, rim = np.unique(quads), rim_nodes(quads)
    if rim.size < 3:
        raise ValueError(f"an endplate patch needs a rim of at least 3 nodes, got {rim.size}")
    w = np.asarray(displacement, float)[:, 2]
    fit = np.column_stack([np.ones(rim.size), points[rim, 0], points[rim, 1]])
    coef = np.linalg.lstsq(fit, w[rim], rcond=None)[0]
    plane = coef[0] + coef[1] * points[nodes, 0] + coef[2] * points[nodes, 1]
    inward = plane - w[nodes] if side == "superior" else w[nodes] - plane
    return float(inward.max())


def unit_response(unit: SpinalUnit, result: Result) -> UnitResponse:
    """The outputs of ``result`` on ``unit`` (see :class:`UnitResponse`).

    The risk ratio ``F / F_yield`` of a body is its peak compressive principal strain over the yield
    strain: in a linear analysis the strains scale with the load, so the load at which the most strained
    cell yields is ``F_yield = F * yield / peak``.
    """
    mesh, mat = unit.mesh, unit.materials
    v = cell_volumes(mesh)
    idp = intradiscal_pressure(unit, result.stress, volumes=v, displacement=result.displacement)
    emin = -principal_strains(result.strain)[:, 0]  # magnitude of the most compressive principal strain
    pressure, pmap, epstrain, smap, quads = {}, {}, {}, {}, {}
    t = unit.treated
    for lv in adjacent_levels(unit.levels, t):
        side = "inferior" if unit.levels.index(lv) < unit.levels.index(t) else "superior"
        nodes = np.zeros(mesh.n_points, bool)
        nodes[mesh.node_set(f"{lv}:{side}")] = True
        disc = np.concatenate([mesh.cell_set(f"disc_{d}") for d in unit.discs])
        face = mesh.cells[disc][:, 4:8] if side == "inferior" else mesh.cells[disc][:, 0:4]
        hit = nodes[face].all(axis=1)
        touching, face = disc[hit], face[hit]
        szz = -result.stress[touching, 2]
        key = f"{lv}:{side}"
        pmap[key] = szz
        quads[key] = mesh.points[face]
        smap[key] = emin[_cells_on_faces(mesh, mesh.cell_set(f"body_{lv}"), face, side)]
        pressure[key] = (float(np.average(szz, weights=v[touching])), float(szz.max()))
        ep = mesh.cell_set(f"{lv}:{side}_endplate")
        epstrain[key] = float(emin[ep].max())
    bulge = {}
    for d in unit.discs:  # named <upper>_<lower>: the upper body's inferior and the lower body's superior endplate
        up, lo = d.split("_")
        cells = mesh.cells[mesh.cell_set(f"disc_{d}")]
        for lv, side, face in ((up, "inferior", cells[:, 4:8]), (lo, "superior", cells[:, 0:4])):
            on = np.zeros(mesh.n_points, bool)
            on[mesh.node_set(f"{lv}:{side}")] = True
            bulge[f"{lv}:{side}"] = endplate_bulge(mesh.points, result.displacement, face[on[face].all(axis=1)],
                                                   side)
    body = mesh.cell_set(f"body_{t}")
    cement = body[np.isin(mat.tissue[body], _CEMENT)]
    total = float((result.stress[body, 2] * v[body]).sum())
    share = float((result.stress[cement, 2] * v[cement]).sum() / total) if cement.size and total else 0.0
    peak, yv, risk = {}, {}, {}
    for lv in unit.levels:
        cells = mesh.cell_set(f"body_{lv}")
        bone = cells[np.isin(mat.tissue[cells], _BONE)]
        peak[lv] = float(emin[bone].max())
        yv[lv] = float(v[bone][emin[bone] > YIELD_STRAIN_COMPRESSION].sum())
        risk[lv] = peak[lv] / YIELD_STRAIN_COMPRESSION
    return UnitResponse(intradiscal_pressure=idp, endplate_pressure=pressure, endplate_pressure_map=pmap,
                        endplate_strain_peak=epstrain, cement_load_share=share, peak_strain=peak, yield_volume=yv,
                        risk_ratio=risk, rotation=np.asarray(result.platen_motion["platen"][3:], float),
                        endplate_strain_map=smap, endplate_quads=quads, endplate_bulge=bulge)


def _cells_on_faces(mesh, cells: np.ndarray, faces: np.ndarray, side: str) -> np.ndarray:
    """For each quad of ``faces`` (node ids), the cell of ``cells`` (hex8) whose ``side`` face
    ("superior": nodes 4-7, "inferior": nodes 0-3) has the same four nodes; ValueError if one has none."""
    own = mesh.cells[cells][:, 4:8] if side == "superior" else mesh.cells[cells][:, 0:4]
    own_k, face_k = _quad_keys(own), _quad_keys(faces)
    order = np.argsort(own_k)
    pos = np.minimum(np.searchsorted(own_k[order], face_k), len(order) - 1)
    found = own_k[order][pos] == face_k
    if not found.all():
        raise ValueError(f"{int((~found).sum())} endplate quads are the {side} face of no cell of the body")
    return cells[order[pos]]


def _quad_keys(quads: np.ndarray) -> np.ndarray:
    """One comparable key per quad: its sorted node ids as a structured scalar."""
    a = np.ascontiguousarray(np.sort(np.asarray(quads, np.int64), axis=1))
    return a.view([(f"n{i}", np.int64) for i in range(4)]).ravel()
