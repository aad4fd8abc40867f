"""Loads and outputs of a functional spinal unit (:mod:`vbfem.anatomy.spine`).

Loads act on the top body's superior endplate through a rigid platen at its centroid (all six motions
free: force along -z and a pure moment, :func:`vbfem.mechanics.loadcases.physiological`); the bottom
body's inferior endplate is fixed. Outputs of one solution:

* intradiscal pressure: the volume-weighted mean of ``-tr(sigma) / 3`` over each nucleus, MPa;
* adjacent-endplate pressure: ``-sigma_zz`` of the disc cells that touch an endplate of a neighbour of the
  treated body (one value per endplate quad: a map), its mean and peak, MPa; the endplate cells'
  strain (minimum principal) beside it;
* cement load share: ``int_cement sigma_zz dV / int_body sigma_zz dV`` over the treated body, which is the
  height-averaged share of the axial force carried by cement and composite cells
  (``int_body sigma_zz dV = int N(z) dz``);
* per adjacent body: the peak magnitude of the minimum principal strain in its bone, the bone volume
  beyond the compressive yield strain, and the risk ratio ``F / F_yield``: the applied axial force over the
  force at which its most strained cell reaches the yield strain (linear scaling; a first-yield, not an
  ultimate, strength, and mesh dependent like any peak).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..anatomy.spine import SpinalUnit, adjacent_levels
from ..fem.cells import cell_volumes
from ..fem.post import principal_strains
from ..materials.laws import YIELD_STRAIN_COMPRESSION
from ..records import LoadCase, Result, tissue_code
from .loadcases import DEFAULT_FORCE, DEFAULT_MOMENT, physiological

log = logging.getLogger(__name__)

__all__ = ["UNIT_CASES", "UnitResponse", "intradiscal_pressure", "run_unit_states", "study_unit_columns",
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
    cement_load_share : float
        0 without cement.
    peak_strain : dict level -> |minimum principal strain| peak in the body's bone
    yield_volume : dict level -> mm³ of bone beyond :data:`YIELD_STRAIN_COMPRESSION`
    risk_ratio : dict level -> ``F / F_yield``
    rotation : ndarray (3,)
        Rotation of the top platen, rad.
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


def intradiscal_pressure(unit: SpinalUnit, stress: np.ndarray, *, volumes=None) -> dict:
    """Mean hydrostatic pressure ``-tr(sigma)/3`` (MPa) of each nucleus, volume weighted."""
    v = cell_volumes(unit.mesh) if volumes is None else volumes
    p = -stress[:, :3].sum(axis=1) / 3.0
    out = {}
    for d in unit.discs:
        c = unit.mesh.cell_set(f"nucleus_{d}")
        out[d] = float((p[c] * v[c]).sum() / v[c].sum())
    return out


def unit_response(unit: SpinalUnit, result: Result) -> UnitResponse:
    """The outputs of ``result`` on ``unit`` (see :class:`UnitResponse`).

    The risk ratio ``F / F_yield`` of a body is its peak compressive principal strain over the yield
    strain: in a linear analysis the strains scale with the load, so the load at which the most strained
    cell yields is ``F_yield = F * yield / peak``.
    """
    mesh, mat = unit.mesh, unit.materials
    v = cell_volumes(mesh)
    idp = intradiscal_pressure(unit, result.stress, volumes=v)
    emin = -principal_strains(result.strain)[:, 0]  # magnitude of the most compressive principal strain
    pressure, pmap, epstrain = {}, {}, {}
    t = unit.treated
    for lv in adjacent_levels(unit.levels, t):
        side = "inferior" if unit.levels.index(lv) < unit.levels.index(t) else "superior"
        nodes = np.zeros(mesh.n_points, bool)
        nodes[mesh.node_set(f"{lv}:{side}")] = True
        disc = np.concatenate([mesh.cell_set(f"disc_{d}") for d in unit.discs])
        face = mesh.cells[disc][:, 4:8] if side == "inferior" else mesh.cells[disc][:, 0:4]
        touching = disc[nodes[face].all(axis=1)]
        szz = -result.stress[touching, 2]
        key = f"{lv}:{side}"
        pmap[key] = szz
        pressure[key] = (float(np.average(szz, weights=v[touching])), float(szz.max()))
        ep = mesh.cell_set(f"{lv}:{side}_endplate")
        epstrain[key] = float(emin[ep].max())
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
                        risk_ratio=risk, rotation=np.asarray(result.platen_motion["platen"][3:], float))


def run_unit_states(study, *, levels: int = 3, segments=None, cases=("compression",), disc=None,
                    neighbour_bmd=None, force: float = DEFAULT_FORCE, moment: float = DEFAULT_MOMENT,
                    states=None, solver: str = "auto", nucleus_E: float | None = None,
                    nucleus_nu: float | None = None, annulus=None) -> list[dict]:
    """Every state of ``study`` (intact, fractured, VP, KP) in its unit, each load case solved.

    The treated body of each unit is exactly the pipeline's state (its mesh and material map from
    :func:`vbfem.study.pipeline.build_states`); the neighbours and discs are the same in every state.

    Parameters
    ----------
    study : vbfem.study.schema.Study
    levels, segments
        See :func:`vbfem.anatomy.spine.unit_levels`.
    cases : sequence of str
        Load cases (:data:`UNIT_CASES`).
    disc : DiscOptions, optional
    neighbour_bmd : str, float or mapping, optional
        Default the study's ``bone.bmd``.
    force, moment : float
        N and N·mm.
    states : list of State, optional
        Already built states (default: built here).
    nucleus_E, nucleus_nu, annulus
        Disc materials (:func:`vbfem.anatomy.spine.prepare_spine`).

    Returns
    -------
    list of dict
        One row per (state, case): the scalar outputs of :class:`UnitResponse` flattened.
    """
    from ..anatomy.spine import DiscOptions, assemble_unit, prepare_spine
    from ..fem.static import solve_static

    if states is None:
        from ..study.pipeline import build_states

        _, states = build_states(study)
    model = prepare_spine(states[0].mesh, level=study.geometry.level, levels=levels, segments=segments,
                          size=study.mesh.size, bmd=study.bone.bmd if neighbour_bmd is None else neighbour_bmd,
                          law=study.bone.law, seed=study.seed, disc=disc or DiscOptions(), nucleus_E=nucleus_E,
                          nucleus_nu=nucleus_nu, annulus=annulus)
    rows = []
    for s in states:
        unit = assemble_unit(model, s.mesh, s.materials)
        for case in cases:
            res = solve_static(unit.mesh, unit.materials, unit_load_case(unit, case, force=force, moment=moment),
                               solver=solver)
            r = unit_response(unit, res)
            row = {"state": s.name, "case": case, "cement_load_share": r.cement_load_share}
            row.update({f"idp_{d}_MPa": p for d, p in r.intradiscal_pressure.items()})
            row.update({f"endplate_{k}_mean_MPa": m for k, (m, _) in r.endplate_pressure.items()})
            row.update({f"endplate_{k}_peak_MPa": p for k, (_, p) in r.endplate_pressure.items()})
            row.update({f"peak_strain_{lv}": e for lv, e in r.peak_strain.items()})
            row.update({f"yield_volume_{lv}_mm3": y for lv, y in r.yield_volume.items()})
            row.update({f"risk_ratio_{lv}": x for lv, x in r.risk_ratio.items()})
            row.update({f"rotation_{a}_deg": float(np.degrees(x)) for a, x in zip("xyz", r.rotation)})
            rows.append(row)
            log.info("unit state %s, %s: IDP %s", s.name, case, r.intradiscal_pressure)
    return rows


def study_unit_columns(study, states) -> dict:
    """Columns ``spine_*`` of each state (by name) for a study with a ``[spine]`` section: its states in
    the unit under the study's load case (``load.case``, ``load.force``, ``load.moment``)."""
    from ..anatomy.spine import DiscOptions

    sp = study.spine
    rows = run_unit_states(study, levels=sp.levels or 3, segments=sp.segment_list(), cases=(study.load.case,),
                           disc=DiscOptions(height=sp.disc_height, nucleus_fraction=sp.nucleus_fraction),
                           force=study.load.force, moment=study.load.moment, states=states,
                           nucleus_E=sp.nucleus_E, nucleus_nu=sp.nucleus_nu, annulus={"fibre_angle": sp.fibre_angle})
    return {r["state"]: {f"spine_{k}": v for k, v in r.items() if k not in ("state", "case")} for r in rows}
