"""The study's states in a functional spinal unit (:mod:`vbfem.mechanics.spinal_unit`, the ``[spine]``
section of a study): the pipeline's intact, fractured and treated bodies between intact neighbours, their
unit outputs (:mod:`vbfem.mechanics.spine`) as results columns."""

from __future__ import annotations

import logging

import numpy as np

from ..mechanics.loadcases import DEFAULT_FORCE, DEFAULT_MOMENT
from ..mechanics.spine import unit_load_case, unit_response

log = logging.getLogger(__name__)

__all__ = ["run_unit_states", "study_unit_columns"]

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
        See :func:`vbfem.mechanics.spinal_unit.unit_levels`.
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
        Disc materials (:func:`vbfem.mechanics.spinal_unit.prepare_spine`).

    Returns
    -------
    list of dict
        One row per (state, case): the scalar outputs of :class:`UnitResponse` flattened.
    """
    from ..fem.static import solve_static
    from ..mechanics.spinal_unit import DiscOptions, assemble_unit, prepare_spine

    if states is None:
        from .pipeline import build_states

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
    from ..mechanics.spinal_unit import DiscOptions

    sp = study.spine
    rows = run_unit_states(study, levels=sp.levels or 3, segments=sp.segment_list(), cases=(study.load.case,),
                           disc=DiscOptions(height=sp.disc_height, nucleus_fraction=sp.nucleus_fraction),
                           force=study.load.force, moment=study.load.moment, states=states,
                           nucleus_E=sp.nucleus_E, nucleus_nu=sp.nucleus_nu, annulus={"fibre_angle": sp.fibre_angle})
    return {r["state"]: {f"spine_{k}": v for k, v in r.items() if k not in ("state", "case")} for r in rows}
