"""The study's states in a functional spinal unit (:mod:`vbfem.mechanics.spinal_unit`, the ``[spine]``
section of a study): the pipeline's intact, fractured and treated bodies between intact neighbours, their
unit outputs (:mod:`vbfem.mechanics.spine`) as results columns."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..mechanics.loadcases import DEFAULT_FORCE, DEFAULT_MOMENT
from ..mechanics.spine import UnitResponse, solve_unit, unit_load_case, unit_response

log = logging.getLogger(__name__)

__all__ = ["UnitSolution", "endplate_pictures", "run_unit_states", "solve_unit_states", "study_unit_columns",
           "study_unit_solutions", "unit_load_text",
           "unit_rows"]


@dataclass(frozen=True)
class UnitSolution:
    """One state of a study in its unit under one load case: ``state`` and ``case`` names, the
    :class:`~vbfem.mechanics.spine.UnitResponse`."""

    state: str
    case: str
    response: UnitResponse


def run_unit_states(study, **options) -> list[dict]:
    """The rows of :func:`solve_unit_states` (same options): one dict per (state, case), the scalar outputs
    of :class:`~vbfem.mechanics.spine.UnitResponse` flattened (:func:`unit_rows`)."""
    return unit_rows(solve_unit_states(study, **options))


def solve_unit_states(study, *, levels: int = 3, segments=None, cases=("compression",), disc=None,
                    neighbour_bmd=None, force: float = DEFAULT_FORCE, moment: float = DEFAULT_MOMENT,
                    states=None, solver: str = "auto", nucleus_E: float | None = None,
                    nucleus_nu: float | None = None, annulus=None, nucleus: str = "fluid",
                    nucleus_bulk: float | None = None) -> list[UnitSolution]:
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
    nucleus_E, nucleus_nu, annulus, nucleus, nucleus_bulk
        Disc materials and the nucleus model (:func:`vbfem.mechanics.spinal_unit.prepare_spine`).

    Returns
    -------
    list of UnitSolution
        One per (state, case), states in order. The cases of one state share one stiffness matrix and
        multigrid hierarchy (:func:`vbfem.mechanics.spine.solve_unit`): they have the same constraints.
    """
    from ..mechanics.spinal_unit import DiscOptions, assemble_unit, prepare_spine

    if states is None:
        from .pipeline import build_states

        _, states = build_states(study)
    model = prepare_spine(states[0].mesh, level=study.geometry.level, levels=levels, segments=segments,
                          size=study.mesh.size, bmd=study.bone.bmd if neighbour_bmd is None else neighbour_bmd,
                          law=study.bone.law, seed=study.seed, disc=disc or DiscOptions(), nucleus_E=nucleus_E,
                          nucleus_nu=nucleus_nu, annulus=annulus, nucleus=nucleus, nucleus_bulk=nucleus_bulk)
    out = []
    for s in states:
        unit = assemble_unit(model, s.mesh, s.materials)
        loads = [unit_load_case(unit, case, force=force, moment=moment) for case in cases]
        for case, res in zip(cases, solve_unit(unit, loads, solver=solver)):
            r = unit_response(unit, res)
            out.append(UnitSolution(s.name, case, r))
            log.info("unit state %s, %s: IDP %s", s.name, case, r.intradiscal_pressure)
    return out


def unit_rows(solutions) -> list[dict]:
    """One dict per :class:`UnitSolution`: ``state``, ``case`` and the scalar outputs (cement load share,
    ``idp_<disc>_MPa``, ``endplate_<level:side>_mean_MPa`` / ``_peak_MPa``, ``endplate_bulge_<level:side>_mm``
    (every endplate facing a disc), ``peak_strain_<level>``,
    ``yield_volume_<level>_mm3``, ``risk_ratio_<level>``, ``rotation_<axis>_deg``)."""
    rows = []
    for sol in solutions:
        r = sol.response
        row = {"state": sol.state, "case": sol.case, "cement_load_share": r.cement_load_share}
        row.update({f"idp_{d}_MPa": p for d, p in r.intradiscal_pressure.items()})
        row.update({f"endplate_{k}_mean_MPa": m for k, (m, _) in r.endplate_pressure.items()})
        row.update({f"endplate_{k}_peak_MPa": p for k, (_, p) in r.endplate_pressure.items()})
        row.update({f"endplate_bulge_{k}_mm": b for k, b in r.endplate_bulge.items()})
        row.update({f"peak_strain_{lv}": e for lv, e in r.peak_strain.items()})
        row.update({f"yield_volume_{lv}_mm3": y for lv, y in r.yield_volume.items()})
        row.update({f"risk_ratio_{lv}": x for lv, x in r.risk_ratio.items()})
        row.update({f"rotation_{a}_deg": float(np.degrees(x)) for a, x in zip("xyz", r.rotation)})
        rows.append(row)
    return rows


def study_unit_columns(study, states, *, solutions=None) -> dict:
    """Columns ``spine_*`` of each state (by name) for a study with a ``[spine]`` section: its states in
    the unit under the study's load case (``load.case``, ``load.force``, ``load.moment``); ``solutions``:
    those of :func:`study_unit_solutions` when already computed."""
    rows = unit_rows(study_unit_solutions(study, states) if solutions is None else solutions)
    return {r["state"]: {f"spine_{k}": v for k, v in r.items() if k not in ("state", "case")} for r in rows}


def study_unit_solutions(study, states) -> list[UnitSolution]:
    """:func:`solve_unit_states` with the options of the study's ``[spine]`` section and load."""
    from ..mechanics.spinal_unit import DiscOptions

    sp = study.spine
    return solve_unit_states(study, levels=sp.levels or 3, segments=sp.segment_list(), cases=(study.load.case,),
                             disc=DiscOptions(height=sp.disc_height, nucleus_fraction=sp.nucleus_fraction),
                             force=study.load.force, moment=study.load.moment, states=states,
                             nucleus_E=sp.nucleus_E, nucleus_nu=sp.nucleus_nu, nucleus=sp.nucleus,
                             nucleus_bulk=sp.nucleus_bulk,
                             annulus={"fibre_angle": sp.fibre_angle})


def unit_load_text(study) -> str:
    """The load of a study's units in words (:func:`study_unit_solutions`: the study's case through the top
    platen with ``load.force``, and ``load.moment`` for a bending or rotation case)."""
    ld = study.load
    text = f"{ld.case.replace('_', ' ')} in the unit, {ld.force:g} N axial force"
    return text if ld.case == "compression" else f"{text} and {ld.moment / 1000:g} N m moment"


def endplate_pictures(solutions, out: Path, *, load_text: str) -> tuple[dict, dict]:
    """Pictures of the disc pressure and the bone strain on the endplates next to the treated body, every
    state side by side (one colour range per picture; :func:`vbfem.output.viz.plot_endplate_maps`):
    ``endplate_pressure.png`` and ``endplate_strain.png`` in ``out`` (the first case of each state).
    Returns ``role -> Path`` and ``role -> caption``."""
    from ..output import viz

    first = {}
    for sol in solutions:
        first.setdefault(sol.state, sol.response)
    if not first:
        return {}, {}
    pressure = {s: {k: (r.endplate_quads[k], r.endplate_pressure_map[k]) for k in r.endplate_quads}
                for s, r in first.items()}
    strain = {s: {k: (r.endplate_quads[k], 1e6 * r.endplate_strain_map[k]) for k in r.endplate_quads}
              for s, r in first.items()}
    files = {
        "picture:spine:endplate_pressure": viz.plot_endplate_maps(
            pressure, out / "endplate_pressure.png", label="disc pressure on the endplate (MPa)",
            title=load_text),
        "picture:spine:endplate_strain": viz.plot_endplate_maps(
            strain, out / "endplate_strain.png", label="compressive principal strain of the endplate bone (microstrain)",
            title=load_text),
    }
    where = ("seen from above (anterior up, the patient's right to the right), one panel per state (columns) "
             "and adjacent endplate (rows: the neighbours' endplates facing the treated body), one colour range "
             f"for all panels; the treated body's numbers are in the table (spine_* columns). Load: {load_text}.")
    captions = {
        "picture:spine:endplate_pressure": ("Functional spinal unit: the disc's axial compressive stress "
                                            "(-sigma_zz, MPa) on each quad of the adjacent endplates, " + where),
        "picture:spine:endplate_strain": ("Functional spinal unit: the magnitude of the minimum principal strain "
                                          "(microstrain) of the neighbour's bone cell under each quad of the "
                                          "adjacent endplates, " + where),
    }
    return files, captions
