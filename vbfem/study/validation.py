"""Credibility evidence from the code as it is: what ``vbfem validate`` runs and reports.

Four kinds of evidence, in the vocabulary of ASME V&V 40:

* **code verification** - the patch test per element type and the convergence
  rates of a manufactured solution (:mod:`vbfem.study.verification`), beside theory;
* **calculation verification** - mesh convergence of the intact, fractured,
  VP and KP stiffness and strength of a study over five sizes, with the
  least-squares uncertainty of Eça & Hoekstra (J Comput Phys 2014;262:104) over the finest four, or
  over three (the reduced report) with Richardson extrapolation and the grid
  convergence index (Roache 1994; Celik et al., J Fluids Eng 2008;130:078001);
  both in :mod:`vbfem.study.convergence`;
* **cross-code** - every state solved again by CalculiX from the exported deck;
* **validation** - model outputs beside published experiments, each with its
  source and reported value, and whether the model falls in the reported range.
  Values outside are reported as such; nothing is tuned here.

Plus a one-at-a-time sensitivity study of the stiffness restored (tornado).

:func:`run_validation` returns the tables and writes a Markdown and a
single-file HTML report; ``reduced=True`` is the coarse version the tests run.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .convergence import GCI_SAFETY, least_squares_uncertainty, richardson
from .protocols import pressure_comparisons
from .published import CALIBRATED, PUBLISHED, ROM_MOMENT, SPINE_PUBLISHED
from .schema import Study

log = logging.getLogger(__name__)

#: Target of the discretization uncertainty (GCI, %) of every state's stiffness at the
#: study's mesh size (issue 8 of the project; a credibility goal, not a published value).
GCI_TARGET_PCT = 2.0
#: The same for the nonlinear strength (issue 18; a credibility goal).
GCI_TARGET_STRENGTH_PCT = 3.0
#: Mesh sizes (mm) of the calculation verification: full report and reduced (test) version.
#: Five sizes in the full report, of which the finest :data:`CONVERGENCE_GRIDS` give the
#: least-squares uncertainty of Eça & Hoekstra 2014 (three sizes gave the fractured strength an
#: observed order of 0.04 and a meaningless GCI of 44 %).
SIZES = (3.0, 2.5, 2.0, 1.5, 1.25)
SIZES_REDUCED = (4.0, 3.0, 2.5)
#: Meshes the uncertainty is estimated from: the finest four. The coarsest mesh (3 mm: two to three
#: cells through the cortex-to-core distance) is reported but left out, being outside the
#: asymptotic range for the strength: the intact L1's strength changes by 0.7 N from 3 to 2.5 mm and
#: by 8.0 / 7.0 / 3.3 N over the next refinements (3832.6 / 3831.9 / 3823.9 / 3816.9 / 3813.6 N).
#: Chosen after seeing that sequence, for the intact state only (the other states' five-mesh values
#: were not known when the rule was set); stated in the report.
CONVERGENCE_GRIDS = 4
#: Mesh size (mm) of the validation comparisons and of the report's state table: the finest mesh
#: of the four-size report, kept so that the comparisons do not depend on the convergence sizes.
COMPARISON_SIZE = 1.5
#: Kosmopoulos & Keller, Eur Spine J 2004;13:617 (2-D finite elements of a T10; abstract): the share of
#: the marrow their partial fill replaced with cement (39 %), the cement moduli they compared (1 and
#: 9 GPa) and their PMMA's modulus (2.16 GPa, MPa here); their complete fill replaced all the marrow.
KOSMOPOULOS_PARTIAL_FILL = 0.39
KOSMOPOULOS_MODULI = (1000.0, 9000.0)
KOSMOPOULOS_PMMA = 2160.0
#: Boger, Heini, Windolf & Schneider, Eur Spine J 2007;16:2118 (PMC2140124; abstract): functional spine units
#: whose caudal body was augmented with regular or low-modulus PMMA. Their cements' moduli are not in the
#: abstract; the pair measured by the same group (Kolb et al., Eur Spine J 2013, PMC3698342, abstract: ISO 5833,
#: 1937 ± 478 MPa for PMMA and 954 ± 141 MPa with 8 mL serum added) stands in, MPa: (regular, low-modulus).
BOGER_MODULI = (1937.0, 954.0)
#: Mesh sizes (mm) of the fixed-inclusion check of the partial-cell cement rule.
INCLUSION_SIZES = (3.0, 2.0, 1.0)
INCLUSION_SIZES_REDUCED = (4.0, 3.0)


def spine_validation(study: Study, *, size: float = 3.0, force: float | None = None) -> dict:
    """Model values of :data:`SPINE_PUBLISHED`: two-level units, linear, axial compression.

    * ``idp_intact_L4_L5_MPa``: the nucleus pressure of an intact L4-L5 unit of the parametric levels
      (normal bone, the default disc: a fluid-filled nucleus) under ``force``, the fluid's pressure;
    * ``rom_flexion_L4_L5_deg``, ``rom_extension_L4_L5_deg``: the rotation of the same unit's top (the
      platen on L4's superior endplate; L5's inferior endplate fixed) under a pure moment of
      :data:`ROM_MOMENT` (no axial force), degrees: the disc's rotation plus the two bodies' small share;
    * ``endplate_bulge_pillar_pct``: the configuration of Baroud et al. 2003 (an L4-L5 unit, the L4 body
      osteoporotic; its whole trabecular core then filled with cement, s = 1 by
      :func:`vbfem.materials.cement.cement_mix`, the study's vertebroplasty cement or PMMA): the bulge of
      L4's inferior endplate (:func:`vbfem.mechanics.spine.endplate_bulge`, its peak deflection into the
      body relative to its rim) filled, % of unfilled, under ``force``; ``endplate_bulge_L4_inferior_<unfilled
      |filled>_mm``, ``endplate_bulge_L5_superior_<...>_mm`` (the adjacent endplate) and
      ``idp_L4_L5_<unfilled|filled>_MPa`` beside it;
    * ``idp_adjacent_vp_vs_fractured_pct``: the study's fractured and vertebroplasty states (built at
      ``size``) in a two-level unit with the caudal neighbour (the cranial one at L5), the change of
      that disc's pressure from the fractured to the VP state (skipped without a vertebroplasty);
    * ``endplate_bulge_vp_vs_fractured_pct``: in the same unit, the bulge of the treated body's endplate
      facing the disc (:func:`vbfem.mechanics.spine.endplate_bulge`: its peak deflection into the body
      relative to its rim) in the VP state, % of the fractured state's (the state the cement is put
      into), and ``endplate_bulge_<level:side>_<state>_mm`` of both endplates of that disc: reported, not
      judged (the study's fill need not reach the endplate, unlike the configuration of the row above).

    Parameters
    ----------
    study : Study
    size : float, keyword-only
        Element size, mm (coarse: a few hundred CG iterations per solve).
    force : float, optional, keyword-only
        Axial force, N; default :data:`vbfem.mechanics.loadcases.DEFAULT_FORCE`.

    Returns
    -------
    dict
        Keys as above (and ``idp_<disc>_<state>_MPa`` of every state of the second unit).
    """
    from ..anatomy.geometry import build_vertebra
    from ..anatomy.mesher import mesh_vertebra
    from ..anatomy.morphometry import LEVELS
    from ..materials.bone import assign_bone
    from ..mechanics.loadcases import DEFAULT_FORCE
    from ..mechanics.spinal_unit import assemble_unit, prepare_spine
    from ..mechanics.spine import solve_unit, unit_load_case, unit_response
    from .pipeline import build_states
    from .spine import run_unit_states

    force = DEFAULT_FORCE if force is None else float(force)
    if not (math.isfinite(size) and size > 0):
        raise ValueError(f"size={size!r} must be a positive element size in mm")
    if not (math.isfinite(force) and force > 0):
        raise ValueError(f"force={force!r} must be a positive compressive force in N")
    out = {}
    mesh = mesh_vertebra(build_vertebra("L4"), size=size)
    bone = assign_bone(mesh, bmd="normal", seed=study.seed)
    unit = assemble_unit(prepare_spine(mesh, level="L4", segments=("L4", "L5"), size=size, bmd="normal",
                                       seed=study.seed), mesh, bone)
    loads = [unit_load_case(unit, "compression", force=force)] + [
        unit_load_case(unit, case, force=0.0, moment=ROM_MOMENT) for case in ("flexion", "extension")]
    compression, flexion, extension = (unit_response(unit, r) for r in
                                       solve_unit(unit, loads))
    (idp,) = compression.intradiscal_pressure.values()
    out["idp_intact_L4_L5_MPa"] = float(idp)
    out["rom_flexion_L4_L5_deg"] = float(np.degrees(np.linalg.norm(flexion.rotation)))
    out["rom_extension_L4_L5_deg"] = float(np.degrees(np.linalg.norm(extension.rotation)))
    vp = next((t for t in study.treatments if t.kind == "vertebroplasty"), None)
    out.update(_pillar_bulge(mesh, study, size=size, force=force, cement=vp.cement if vp is not None else "pmma"))
    if vp is None:
        return out
    level = study.geometry.level.upper()
    i = LEVELS.index(level)
    segments = (level, LEVELS[i + 1]) if i + 1 < len(LEVELS) else (LEVELS[i - 1], level)
    sized = study.replace(mesh=dict(study.mesh.to_dict(), size=size))
    _, states = build_states(sized)
    states = [s for s in states if s.name in ("fractured", vp.name)]
    rows = run_unit_states(sized, segments=segments, states=states, force=force)
    by = {r["state"]: r for r in rows}
    (key,) = [k for k in by["fractured"] if k.startswith("idp_")]
    for r in rows:
        out[f"{key[:-4]}_{r['state']}_MPa"] = r[key]
        out.update({f"{k[:-3]}_{r['state']}_mm": v for k, v in r.items() if k.startswith("endplate_bulge_")})
    out["idp_adjacent_vp_vs_fractured_pct"] = 100.0 * (by[vp.name][key] / by["fractured"][key] - 1.0)
    treated = f"endplate_bulge_{level}:{'inferior' if segments[0] == level else 'superior'}_mm"
    out["endplate_bulge_vp_vs_fractured_pct"] = 100.0 * by[vp.name][treated] / by["fractured"][treated]
    return out


def _pillar_bulge(mesh, study: Study, *, size: float, force: float, cement) -> dict:
    """The values ``endplate_bulge_*`` of :func:`spine_validation`: an osteoporotic L4 (``mesh``) in an
    L4-L5 unit, unfilled and with its trabecular core filled with ``cement`` (s = 1)."""
    from ..materials.bone import assign_bone
    from ..materials.cement import cement_mix
    from ..mechanics.spinal_unit import assemble_unit, prepare_spine
    from ..mechanics.spine import solve_unit, unit_load_case, unit_response
    from ..records import tissue_code

    bone = assign_bone(mesh, bmd="osteoporotic", seed=study.seed)
    model = prepare_spine(mesh, level="L4", segments=("L4", "L5"), size=size, bmd="osteoporotic", seed=study.seed)
    core = mesh.cell_set("trabecular")
    E, nu, tissue = bone.E.copy(), bone.nu.copy(), bone.tissue.copy()
    E[core], nu[core] = cement_mix(bone.E[core], bone.nu[core], np.ones(core.size), cement)
    tissue[core] = tissue_code("composite")
    out = {}
    for name, mat in (("unfilled", bone), ("filled", bone.replace(E=E, nu=nu, tissue=tissue))):
        unit = assemble_unit(model, mesh, mat)
        (res,) = solve_unit(unit, unit_load_case(unit, "compression", force=force))
        r = unit_response(unit, res)
        for key in ("L4:inferior", "L5:superior"):
            out[f"endplate_bulge_{key.replace(':', '_')}_{name}_mm"] = r.endplate_bulge[key]
        out[f"idp_L4_L5_{name}_MPa"] = r.intradiscal_pressure["L4_L5"]
    out["endplate_bulge_pillar_pct"] = 100.0 * out["endplate_bulge_L4_inferior_filled_mm"] / \
        out["endplate_bulge_L4_inferior_unfilled_mm"]
    return out


@dataclass(frozen=True)
class Validation:
    """Tables of :func:`run_validation` (lists of dict rows) and the files written."""

    code: list
    model: list
    convergence: list
    time_steps: list
    cross_code: list
    validation: list
    sensitivity: list
    files: dict = field(default_factory=dict)
    seconds: float = 0.0


# ------------------------------------------------------------- code verification
def patch_test_error(cell_type: str, *, seed: int = 7) -> float:
    """Largest nodal error (relative) of the linear-field patch test on a distorted mesh."""
    from ..fem.loads import fixed, load_case
    from ..fem.primitives import box_mesh, perturbed
    from ..fem.static import solve_static
    from ..records import MaterialMap

    mesh = perturbed(box_mesh((2.0, 3.0, 4.0), (3, 3, 3), cell_type=cell_type), 0.25 * 2.0 / 3, seed=seed)
    A = np.array([[1.0, 0.3, -0.2], [0.1, -0.5, 0.4], [0.25, 0.2, 0.8]]) * 1e-3
    exact = mesh.points @ A.T + np.array([0.01, -0.02, 0.03])
    boundary = np.unique(np.concatenate([mesh.node_sets[k] for k in ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")]))
    load = load_case("patch", fixed=[fixed(mesh, boundary, value=exact[boundary])])
    res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, 730.0, 0.27), load)
    return float(np.abs(res.displacement - exact).max() / np.abs(exact).max())


def code_verification(*, reduced: bool = False) -> list[dict]:
    """Patch test and manufactured-solution rates per element type, beside theory."""
    from .verification import manufactured_errors, observed_rates

    divisions = {"hex8": (4, 8), "tet4": (4, 8), "tet10": (2, 4)} if reduced else \
        {"hex8": (4, 8, 16), "tet4": (4, 8, 12), "tet10": (2, 4, 8)}
    theory = {"hex8": 2.0, "tet4": 2.0, "tet10": 3.0}
    rows = []
    for cell_type, divs in divisions.items():
        h, err = manufactured_errors(cell_type, divs, distortion=0.2)
        rate = float(observed_rates(h, err)[-1])
        patch = patch_test_error(cell_type)
        rows.append({"element": cell_type, "patch test error": patch, "patch test": "pass" if patch < 1e-10 else "FAIL",
                     "meshes (cells/side)": " ".join(map(str, divs)), "L2 error, finest": float(err[-1]),
                     "observed rate": rate, "theory": theory[cell_type],
                     "rate": "pass" if abs(rate - theory[cell_type]) < 0.3 else "FAIL"})
    return rows


def model_verification(*, reduced: bool = False) -> list[dict]:
    """The plastic tangent against a finite difference, the flow solver against the spherical injection, and the
    mesh convergence of the partial-cell cement rule on a fixed inclusion."""
    from .verification import inclusion_convergence, plastic_tangent_error, spherical_injection

    rows = []
    for cell_type in ("hex8", "tet4", "tet10"):
        err, plastic = plastic_tangent_error(cell_type)
        rows.append({"check": f"consistent tangent vs central difference of f_int ({cell_type}, "
                              f"{100 * plastic:.0f} % of points plastic)", "value": err, "target": "< 1e-6",
                     "result": "pass" if err < 1e-6 else "FAIL"})
    for nd in ((12,) if reduced else (12, 20)):
        r = spherical_injection(nd)
        rows.append({"check": f"spherical injection, h = {r['h']:.1f} mm: |R_fill - R| / h", "value":
                     abs(r["R_fill"] - r["R"]) / r["h"], "target": "< 1", "result":
                     "pass" if abs(r["R_fill"] - r["R"]) < r["h"] else "FAIL"})
        rows.append({"check": f"spherical injection, h = {r['h']:.1f} mm: needle pressure vs steady Darcy",
                     "value": r["pressure_error"], "target": "< 0.10 on the finer mesh",
                     "result": "pass" if r["pressure_error"] < 0.10 else "(coarse)" if nd == 12 else "FAIL"})
        rows.append({"check": f"spherical injection, h = {r['h']:.1f} mm: cement balance, every step",
                     "value": r["mass_error"], "target": "< 1e-6", "result": "pass" if r["mass_error"] < 1e-6 else "FAIL"})
    inc = inclusion_convergence(INCLUSION_SIZES_REDUCED if reduced else INCLUSION_SIZES)
    for rule in ("series", "parallel"):
        change = abs(inc[-1][rule] - inc[0][rule]) / inc[-1][rule]
        used = rule == "series"
        rows.append({"check": f"fixed cement inclusion in an L1, {rule} mix of partly cemented cells"
                              f"{' (the rule used)' if used else ''}: stiffness change {inc[0]['size']:g} -> "
                              f"{inc[-1]['size']:g} mm", "value": change,
                     "target": "< 0.01" if used else "(for comparison)",
                     "result": ("pass" if change < 0.01 else "FAIL") if used else "-"})
    return rows


def time_step_convergence(state, geometry, treatment, *, cfls=(0.9, 0.45, 0.225)) -> list[dict]:
    """The vertebroplasty fill of ``treatment`` at decreasing CFL fractions against the smallest.

    Reports the relative L1 difference of the cement fraction field and the
    change of the filled volume fraction and the leaked volume.
    """
    from ..treatment.vertebroplasty import simulate_vertebroplasty
    from .pipeline import _needles

    fills = [simulate_vertebroplasty(state.mesh, state.materials, geometry, needles=_needles(treatment, geometry),
                                     cement=treatment.cement, cfl=c) for c in cfls]
    ref = fills[-1]
    rows = []
    for c, f in zip(cfls, fills):
        rows.append({"CFL fraction": c, "transport steps": f.params["n_transport_steps"],
                     "L1 difference of the cement fraction vs the smallest step":
                         float(np.abs(f.fraction - ref.fraction).sum() / np.abs(ref.fraction).sum()),
                     "filled % of body": 100 * f.metrics["filled_volume_fraction"], "leaked mL": f.leaked_total / 1000})
    return rows


# ---------------------------------------------------- calculation verification
def calculation_verification(study: Study, sizes, *, target_size: float | None = None, keep: float | None = None,
                             workers: int = 1):
    """Stiffness and strength of every state of ``study`` at each mesh size, with their
    discretization uncertainty (:func:`convergence_rows`).

    ``target_size`` (mm, default ``study.mesh.size``) is the size at which the
    uncertainty is held against :data:`GCI_TARGET_PCT`: the study's own size.

    The mesher rounds the cell counts of each direction up separately, so a
    nominal size is not the mesh's cell size and nominal ratios are not its
    refinement ratios. The uncertainty estimates therefore use the
    representative cell size ``h = (V / N)^(1/3)`` of each intact mesh
    (Celik et al. 2008, eq. 1), reported in the table.

    Returns the table and the :class:`~vbfem.study.pipeline.StudyResult` of the size ``keep`` (mm, one
    of ``sizes``; default the finest).
    """
    from ..fem.cells import cell_volumes
    from .pipeline import run_study

    sizes = tuple(sorted(sizes, reverse=True))
    keep = sizes[-1] if keep is None else float(keep)
    if keep not in sizes:
        raise ValueError(f"keep = {keep!r} mm: must be one of the sizes {sizes}")
    target = float(study.mesh.size if target_size is None else target_size)
    values, h_rep, kept = {}, [], None
    for h in sizes:
        res = run_study(study.replace(mesh=dict(study.mesh.to_dict(), size=h)), workers=workers)
        mesh = res.states[0].mesh
        h_rep.append(float(np.cbrt(cell_volumes(mesh).sum() / mesh.n_cells)))
        for r in res.rows:
            for quantity in ("stiffness", "strength"):
                values.setdefault((quantity, r["state"]), []).append(float(r.get(quantity, math.nan)))
        if h == keep:
            kept = res
    rows = convergence_rows(sizes, h_rep, values, target)
    return rows, kept


def convergence_rows(sizes, h_rep, values: dict, target: float) -> list[dict]:
    """The mesh-convergence table: one row per (quantity, state) of ``values`` (``{(quantity, state):
    [value per size]}``, ``sizes`` coarse to fine, ``h_rep`` their representative cell sizes, mm).

    Three sizes: Richardson extrapolation and the GCI (:func:`~vbfem.study.convergence.richardson`);
    four or more: the least-squares uncertainty of every size
    (:func:`~vbfem.study.convergence.least_squares_uncertainty`) from the finest
    :data:`CONVERGENCE_GRIDS` (the coarser sizes' values are reported, their uncertainty is not
    estimated). ``target`` (mm, one of those sizes) is the size whose uncertainty is held against the
    target (% of the value).
    """
    rows = []
    for (quantity, state), k in values.items():
        if not np.all(np.isfinite(k)):
            continue
        unit = "N/mm" if quantity == "stiffness" else "N"
        goal = GCI_TARGET_PCT if quantity == "stiffness" else GCI_TARGET_STRENGTH_PCT
        row = {"quantity": quantity, "state": state,
               "representative h (mm)": " / ".join(f"{v:.2f}" for v in h_rep)}
        row.update({f"at {h:g} mm ({unit})": v for h, v in zip(sizes, k)})
        if len(sizes) >= 4:
            used = slice(len(sizes) - min(len(sizes), CONVERGENCE_GRIDS), None)
            fit_sizes = list(sizes)[used]
            ls = least_squares_uncertainty(list(h_rep)[used], list(k)[used])
            row.update({"fit": ("weighted " if ls["weighted"] else "") + ls["fit"],
                        "observed order": ls["observed_order"], "extrapolated": ls["extrapolated"],
                        "Fs": ls["safety_factor"]})
            row.update({f"uncertainty at {h:g} mm %": u for h, u in zip(fit_sizes, ls["uncertainty_pct"])})
            row["target %"] = goal
            if target in fit_sizes:
                u = ls["uncertainty_pct"][fit_sizes.index(target)]
                row[f"target met at {target:g} mm"] = "pass" if u < goal else "NO"
            else:
                row[f"target met at {target:g} mm"] = f"({target:g} mm not among the sizes of the estimate)"
        elif len(sizes) == 3:
            rich = richardson(h_rep, k)
            row.update({"convergence": rich.get("convergence"), "observed order": rich.get("order"),
                        "extrapolated": rich.get("extrapolated"),
                        "change finest pair %": rich.get("change_fine_pct"),
                        f"GCI at {sizes[-1]:g} mm %": rich.get("gci_fine_pct"),
                        f"GCI at {sizes[1]:g} mm %": rich.get("gci_medium_pct"),
                        "uncertainty %": rich.get("uncertainty_pct"), "target %": goal,
                        f"target met at {target:g} mm": _gci_target(rich, sizes, target, goal)})
        rows.append(row)
    return rows


def _gci_target(rich: dict, sizes, size: float, target_pct: float | None = None) -> str:
    """Whether the discretization uncertainty at ``size`` (one of ``sizes``) meets ``target_pct``
    (default :data:`GCI_TARGET_PCT`)."""
    target_pct = GCI_TARGET_PCT if target_pct is None else target_pct
    if rich["convergence"] == "oscillatory":
        u = rich["uncertainty_pct"]  # Stern et al. 2001: half the range, for every size of the triplet
    elif size == sizes[-1]:
        u = rich["gci_fine_pct"]
    elif size == sizes[1]:
        u = rich["gci_medium_pct"]
    else:
        return f"({size:g} mm not the fine or medium size)"
    if not math.isfinite(u):
        return f"no estimate ({rich['convergence']})"
    return "pass" if u < target_pct else "NO"


# ----------------------------------------------------------------- cross-code
def cross_code(states, workdir: Path, *, febio: Path | None = None) -> list[dict]:
    """Each state solved by vbfem and by CalculiX from the same deck; platen force and relative difference.

    With ``febio``, the same models are also written there as FEBio 4 ``.feb`` files.
    """
    from ..fem.static import solve_static
    from ..mechanics.loadcases import compression_test
    from ..output.ccx import ccx_platen_reaction
    from ..output.feb import to_feb

    if febio is not None:
        febio.mkdir(parents=True, exist_ok=True)
        for s in states:
            to_feb(febio / f"{s.name}.feb", s.mesh, s.materials, compression_test(s.mesh, displacement=0.1),
                   title=f"vbfem state {s.name}: compression test, 0.1 mm")
    if shutil.which("ccx") is None:
        return [{"state": "-", "note": "CalculiX (ccx) is not installed: apt-get install calculix-ccx"}]
    rows = []
    for s in states:
        load = compression_test(s.mesh, displacement=0.1)
        ours = solve_static(s.mesh, s.materials, load, solver="direct").platen_reaction["platen"][2]
        theirs = ccx_platen_reaction(s.mesh, s.materials, load, "platen", workdir / s.name).reaction[2]
        rel = abs(theirs - ours) / abs(ours)
        rows.append({"state": s.name, "vbfem force (N)": ours, "CalculiX force (N)": theirs, "relative difference": rel,
                     "agreement": "pass" if rel < 1e-6 else "FAIL"})
    return rows


# ----------------------------------------------------------------- validation
def validation_table(rows, comparisons=None, leakage=None, spine=None) -> list[dict]:
    """Model outputs beside :data:`PUBLISHED` results, with whether each lies in the reported range.

    ``rows``: the study's results rows; ``comparisons``: the values of :func:`treatment_comparisons`
    (rows that need them are skipped without it); ``leakage``: leak probability (%) per treatment name
    and ``"KP_minus_VP"`` (:func:`leakage_rates`; skipped without it); ``spine``: the values of
    :func:`spine_validation` (the rows of :data:`SPINE_PUBLISHED`; skipped without it).
    """
    by_state = {r["state"]: r for r in rows}
    by_state["comparisons"] = dict(comparisons or {})
    by_state["leakage"] = dict(leakage or {})
    by_state["spine"] = dict(spine or {})
    out = []
    for ref in PUBLISHED + (SPINE_PUBLISHED if spine is not None else ()):
        state, key, offset = ref["key"]
        if (state == "comparisons" and comparisons is None) or (state == "leakage" and leakage is None):
            continue
        value = by_state.get(state, {}).get(key)
        v = math.nan if value is None else float(value) + offset
        inside = (ref["low"] <= v <= ref["high"]) if math.isfinite(v) else None
        verdict = "-" if inside is None else "yes" if inside else "NO (outside)"
        scored = ref.get("scored", True)
        if not (scored is True or scored is False or (isinstance(scored, str) and scored)):
            raise ValueError(f"PUBLISHED row {ref['quantity']!r}: scored={scored!r} must be True, False or a reason")
        if scored is not True:  # context, not a comparison: the setups or the regimes differ
            verdict = f"not scored ({scored or 'setups differ'})"
        elif ref.get("post_hoc") and inside is not None:  # added after its model value was seen
            verdict += " (post hoc)"
        out.append({"quantity": ref["quantity"], "reported": ref["reported"], "model": v, "in range": verdict,
                    "evidence": ref["evidence"], "source": ref["source"]})
    return out


def leakage_rates(study: Study, *, n: int = 50, size: float = 3.0, workers: int = 1, patient_options=None) -> dict:
    """Leak probability (%) of the study's VP and KP treatments over ``n`` sampled patients.

    Each realisation is a patient (:func:`vbfem.treatment.leakage.patient_leakage_risk`): the study's intact
    body at ``size`` mm fractured with the study's fracture kind and grade plus the patient's own
    intravertebral cleft, cortical disruption (the kind's outlets) and basivertebral foramina, drawn with
    their published frequencies (:func:`vbfem.fracture.cohort.sample_leakage_patients`: McKiernan 2003,
    Ikeda 2013, Tzika 2021; seed ``study.seed``), its basivertebral venous network with the trunk radius of its
    own foramen (He 2023, an upper bound; a treatment's non-zero ``vein_radius`` is used for every patient
    instead), its own cement volume (:data:`vbfem.fracture.cohort.CEMENT_VOLUMES`: KP log-normal 4.05 +- 1.20 mL,
    Jin 2018; VP the enrolment-weighted mixture of 2.8 +- 1.2 mL, Buchbinder 2009, and 7.5 +- 2.8 mL, VAPOUR 2016;
    the VP needles keep their shares, the KP balloons their inflation volume; the start time stays the
    treatment's: no spread found), and its own permeability field (each treatment's
    ``permeability_sd``, default the between-core scatter 0.37 of Baroud 2004 when the study gives none;
    correlation length default 5 mm, an assumption). None of these inputs is fitted to the clinical
    leakage rates. ``patient_options``: keywords of :func:`vbfem.fracture.cohort.sample_leakage_patients`
    for every treatment (None: the published prevalences and the assumed vein share). Keys of the result: the
    treatment names, ``"<name>_<class>_share"`` (:func:`class_share` of each outlet class of
    :data:`vbfem.treatment.outlets.OUTLET_CLASSES`) and ``"KP_minus_VP"`` when both kinds are present.
    """
    from ..treatment.leakage import patient_leakage_risk
    from ..treatment.outlets import OUTLET_CLASSES
    from .pipeline import _needles, run_study

    if study.fracture.kind == "none":
        raise ValueError("leakage_rates needs a fracture: fracture.kind is 'none'")
    base = study.replace(mesh=dict(study.mesh.to_dict(), size=size), treatments=[],
                         fracture={"kind": "none"}, load=dict(study.load.to_dict(), strength="none"),
                         output={"vtu": False, "pictures": False, "report": False})
    res = run_study(base)
    intact = res.state("intact")
    fracture = {"kind": study.fracture.kind, "grade": study.fracture.grade,
                "height_loss": study.fracture.height_loss, "seed": study.seed}
    if study.geometry.image is not None:  # the caps' outer faces are superior / inferior: fracture the endplates
        fracture.update(superior="superior_surface", inferior="inferior_surface")
    out, kinds = {}, {}
    for spec in study.treatments:
        sd = spec.permeability_sd or 0.37
        ell = spec.permeability_correlation or 5.0
        if spec.kind == "vertebroplasty":
            opts = {"needles": _needles(spec, res.geometry), "cement": spec.cement_record()}
        else:
            nb = 2 if spec.approach == "bipedicular" else 1
            opts = {"balloons": spec.approach, "balloon_length": spec.balloon_length,
                    "inflation_volume": spec.balloon_volume_ml, "cement": spec.cement_record(),
                    "volume": spec.volume, "intact": intact.mesh, "rate": spec.rate * nb, "start": spec.start_time}
        if spec.vein_radius:
            opts["vein_radius"] = spec.vein_radius
        r = patient_leakage_risk(intact.mesh, intact.materials, res.geometry, fracture=fracture, kind=spec.kind, n=n,
                                 seed=study.seed, heterogeneity=sd, correlation_length=ell, workers=workers,
                                 patient_options=patient_options, **opts)
        out[spec.name] = 100.0 * r.probability
        for outlet_class in OUTLET_CLASSES:
            out[f"{spec.name}_{outlet_class}_share"] = class_share(r, outlet_class)
        kinds.setdefault(spec.kind, spec.name)
    if {"vertebroplasty", "kyphoplasty"} <= set(kinds):
        out["KP_minus_VP"] = out[kinds["kyphoplasty"]] - out[kinds["vertebroplasty"]]
    return out


def class_share(risk, outlet_class: str) -> float:
    """Share (%) of the leaking realisations of a :class:`vbfem.treatment.leakage.LeakageRisk` with a leak of
    ``outlet_class`` (one of :data:`vbfem.treatment.outlets.OUTLET_CLASSES`; its volume above
    :data:`vbfem.treatment.outlets.LEAK_DETECTION`; the classes are not exclusive, as on CT); NaN without a leak."""
    from ..treatment.outlets import LEAK_DETECTION

    leak = np.asarray(risk.leak, bool)
    if not leak.any():
        return math.nan
    return float(100.0 * np.mean(np.asarray(risk.leaked[outlet_class], float)[leak] > LEAK_DETECTION))


def _stiffness(mesh, materials) -> float:
    from ..fem.static import solve_static
    from ..mechanics.loadcases import compression_test
    from ..mechanics.response import stiffness

    return stiffness(solve_static(mesh, materials, compression_test(mesh, displacement=0.1)))


def core_fill(mesh, materials):
    """A :class:`~vbfem.records.CementFill` with the whole marrow of the body replaced by cement.

    Every flow cell (:data:`vbfem.materials.porous.FLOW_TISSUES`: the trabecular core, the damaged band)
    has saturation 1 and its porosity as the cement's volume fraction; no flow is simulated (histories of
    one zero sample). Kosmopoulos & Keller 2004's complete fill (100 % of the marrow replaced).
    """
    from ..materials.porous import porous_medium
    from ..records import CementFill

    medium = porous_medium(mesh, materials)
    s = np.asarray(medium.flow, float)
    volume = float(np.sum(s * medium.pore_volume))
    held = np.full(1, volume)  # one sample: all of it injected and held, nothing leaked
    return CementFill(saturation=s, fraction=s * medium.porosity, arrival_time=np.where(s > 0, 0.0, np.nan),
                      injected=volume, leaked={}, times=np.zeros(1), needle_pressure=np.zeros((1, 1)),
                      injected_history=held, body_history=held, leaked_history=np.zeros(1),
                      params={"fill": "whole marrow of the body (core_fill)"})


def low_modulus_share(mesh, materials, fill, *, moduli=BOGER_MODULI, k0: float | None = None) -> dict:
    """How much of a regular PMMA's stiffening a low-modulus PMMA gives, for one fill (Boger et al. 2007).

    The body (``mesh``, ``materials``: the unaugmented state) is augmented with ``fill`` holding PMMA of each
    modulus of ``moduli`` in turn (:func:`vbfem.materials.cement.with_cement`, the composite rule unchanged);
    linear compression stiffness against the unaugmented body's.

    Parameters
    ----------
    mesh : Mesh
    materials : MaterialMap
        The unaugmented body's materials.
    fill : CementFill
        The cement's distribution (the same for both cements: only the modulus differs).
    moduli : tuple of float, keyword-only
        (regular, low-modulus) cement moduli, MPa, ``regular > low > 0``; default :data:`BOGER_MODULI`.
    k0 : float, optional, keyword-only
        The unaugmented body's stiffness, N/mm, when already computed.

    Returns
    -------
    dict
        ``boger_regular_stiffness_change_pct`` and ``boger_low_modulus_stiffness_change_pct`` (stiffness change
        vs unaugmented, %), ``boger_low_modulus_share_pct`` (the second over the first, %; NaN if the regular
        cement does not stiffen the body).
    """
    import dataclasses

    from ..materials.cement import CEMENTS, with_cement

    regular, low = (float(e) for e in moduli)
    if not (math.isfinite(regular) and math.isfinite(low) and regular > low > 0):
        raise ValueError(f"moduli={moduli!r} must be (regular, low-modulus) cement moduli in MPa with "
                         "regular > low > 0")
    k0 = _stiffness(mesh, materials) if k0 is None else float(k0)
    pmma = CEMENTS["pmma"]
    change = [100.0 * (_stiffness(mesh, with_cement(materials, fill, dataclasses.replace(pmma, E=e))) / k0 - 1.0)
              for e in (regular, low)]
    return {"boger_regular_stiffness_change_pct": change[0], "boger_low_modulus_stiffness_change_pct": change[1],
            "boger_low_modulus_share_pct": 100.0 * change[1] / change[0] if change[0] > 0 else math.nan}


def treatment_comparisons(intact, fractured, geometry, *, seed: int = 0) -> dict:
    """The model values of the volume, approach and cement comparisons of :data:`PUBLISHED`.

    Bipedicular PMMA vertebroplasty of the fractured state at 2, 4 and 8 mL (and of the intact
    state at 4 mL), unipedicular at 4 mL: linear stiffness (N/mm) against the intact state's, and
    the fill of the body (% of its volume) at which the stiffness reaches the intact one
    (interpolated over the volumes; NaN if not reached).

    The cement's modulus in the setups of Kosmopoulos & Keller 2004 (abstract), taken from the paper
    before the model was run in them: a bipedicular fill whose volume is
    :data:`KOSMOPOULOS_PARTIAL_FILL` of the fractured body's marrow (pore volume), with cements of
    :data:`KOSMOPOULOS_MODULI` (``partial_fill_cement_modulus_effect_pct``; beside it the fill's
    share of the marrow and whether it bridges the endplates), and the whole marrow replaced
    (:func:`core_fill`) with their PMMA (:data:`KOSMOPOULOS_PMMA`) and 9 GPa
    (``full_fill_cement_modulus_effect_pct``, ``full_fill_stiffness_pct_intact``).

    Regular vs low-modulus PMMA after Boger et al. 2007 (abstract): the intact body's 4 mL fill with
    cements of :data:`BOGER_MODULI` (:func:`low_modulus_share`; the volume is the calibration's, theirs
    is not in the abstract).
    """
    import dataclasses

    from ..materials.cement import CEMENTS, with_cement
    from ..materials.porous import porous_medium
    from ..treatment.needles import bipedicular, unipedicular
    from ..treatment.vertebroplasty import simulate_vertebroplasty

    pmma = CEMENTS["pmma"]
    k0 = _stiffness(intact.mesh, intact.materials)

    def vp(state, needles, cement=pmma):
        fill = simulate_vertebroplasty(state.mesh, state.materials, geometry, needles=needles, seed=seed)
        return fill, 100.0 * _stiffness(state.mesh, with_cement(state.materials, fill, cement)) / k0

    def stiffness_with(fill, modulus):
        return _stiffness(fractured.mesh, with_cement(fractured.materials, fill,
                                                       dataclasses.replace(pmma, E=modulus)))

    out, fills, pcts = {}, [], []
    for volume in (2.0, 4.0, 8.0):
        fill, pct = vp(fractured, bipedicular(geometry, volume=volume))
        out[f"vp{volume:g}_stiffness_pct_intact"] = pct
        fills.append(100.0 * fill.metrics["fill_fraction"])
        pcts.append(pct)
    above = np.flatnonzero(np.asarray(pcts) >= 100.0)
    if above.size == 0:
        out["fill_pct_restoring_stiffness"] = math.nan
    elif above[0] == 0:
        out["fill_pct_restoring_stiffness"] = fills[0]
    else:
        i = above[0]
        t = (100.0 - pcts[i - 1]) / (pcts[i] - pcts[i - 1])
        out["fill_pct_restoring_stiffness"] = fills[i - 1] + t * (fills[i] - fills[i - 1])
    fill4, pct = vp(intact, bipedicular(geometry, volume=4.0))
    out["intact_vp4_stiffness_change_pct"] = pct - 100.0
    # Boger et al. 2007: the same prophylactic fill with a regular and a low-modulus PMMA
    out.update(low_modulus_share(intact.mesh, intact.materials, fill4, k0=k0))
    _, out["vp4_uni_stiffness_pct_intact"] = vp(fractured, (unipedicular(geometry, volume=4.0),))

    # Kosmopoulos & Keller 2004: 39 % of the marrow replaced, 1 vs 9 GPa; all of it, 2.16 vs 9 GPa
    medium = porous_medium(fractured.mesh, fractured.materials)
    marrow = float(medium.pore_volume.sum())  # mm³
    fill = simulate_vertebroplasty(fractured.mesh, fractured.materials, geometry, seed=seed,
                                   needles=bipedicular(geometry, volume=KOSMOPOULOS_PARTIAL_FILL * marrow / 1000.0))
    soft, hard = (stiffness_with(fill, e) for e in KOSMOPOULOS_MODULI)
    out["partial_fill_cement_modulus_effect_pct"] = 100.0 * (hard / soft - 1.0)
    out["partial_fill_marrow_pct"] = 100.0 * float(np.dot(fill.fraction, medium.volume)) / marrow
    out["partial_fill_bridging"] = fill.metrics.get("bridging")
    core = core_fill(fractured.mesh, fractured.materials)
    k_pmma, k_hard = (stiffness_with(core, e) for e in (KOSMOPOULOS_PMMA, KOSMOPOULOS_MODULI[1]))
    out["full_fill_cement_modulus_effect_pct"] = 100.0 * (k_hard / k_pmma - 1.0)
    out["full_fill_stiffness_pct_intact"] = 100.0 * k_pmma / k0
    return out


# ---------------------------------------------------------------- sensitivity
#: One-at-a-time inputs of the tornado: (label, key path, low, high).
SENSITIVITY = (
    ("cement (low-modulus 1 GPa / PMMA 2 GPa)", "treatments[0].cement", "low_modulus_pmma", "pmma"),
    ("cement volume (2 / 6 mL)", "treatments[0].volume", 2.0, 6.0),
    ("bone density (0.08 / 0.12 g/cm3)", "bone.bmd", 0.08, 0.12),
)


def sensitivity(study: Study, *, mesh_sizes=(3.0, 1.5), baseline: float | None = None) -> list[dict]:
    """Stiffness restored by the first treatment with each input at its low and high value.

    ``baseline``: the restored stiffness of ``study`` itself when already computed.
    """
    from .pipeline import run_study
    from .sweep import set_key

    # stiffness only: no strength curves (they would multiply the cost by about 20 for nothing reported)
    base = study.replace(treatments=list(study.treatments[:1]), load=dict(study.load.to_dict(), strength="none"))
    name = base.treatments[0].name

    def restored(s):
        return next(r for r in run_study(s).rows if r["state"] == name)["stiffness_pct_restored"]

    baseline = restored(base) if baseline is None else baseline
    cases = list(SENSITIVITY) + [(f"mesh size ({mesh_sizes[0]:g} / {mesh_sizes[1]:g} mm)", "mesh.size",
                                  *mesh_sizes)]
    rows = []
    for label, path, lo, hi in cases:
        rows.append({"input": label, "low": restored(set_key(base, path, lo)), "high": restored(set_key(base, path, hi)),
                     "baseline": baseline})
    return rows


def fracture_gallery(study: Study, path) -> Path:
    """PNG of the study's vertebra with each of the seven fracture morphologies (the study's grade)."""
    from ..anatomy.mesher import mesh_vertebra
    from ..fracture.deformity import KINDS, apply_fracture
    from ..materials.bone import assign_bone
    from ..output.viz import plot_gallery
    from .pipeline import make_geometry

    mesh = mesh_vertebra(make_geometry(level=study.geometry.level, surface=study.geometry.surface),
                         size=study.mesh.size, cell_type=study.mesh.cell_type)
    bone = assign_bone(mesh, bmd=study.bone.bmd, law=study.bone.law)
    grade = study.fracture.grade or 2
    meshes = [apply_fracture(mesh, bone, kind, grade=grade)[0] for kind in KINDS]
    return plot_gallery(meshes, list(KINDS), path)


# --------------------------------------------------------------------- report
def real_vertebra_study(base: Study, surface, *, size: float) -> Study:
    """The report's real-vertebra study: ``base`` on the surface ``surface`` (an L3) at mesh ``size`` (mm).

    It keeps ``base``'s strength definition (the elastic-plastic curve's peak in the full report, the
    linear screen only in the reduced one) and runs at the study's own mesh size, not the convergence
    study's finest.
    """
    return base.replace(name="real", geometry={"surface": str(surface), "level": "L3"},
                        mesh=dict(base.mesh.to_dict(), size=size),
                        output={"vtu": False, "pictures": True, "report": False})


def run_validation(out, *, reduced: bool = False, study: Study | None = None, surface=None,
                   progress=None, workers: int = 1) -> Validation:
    """Run every part and write ``validation.md`` and ``validation.html`` (with plots) into ``out``.

    Parameters
    ----------
    out : path
        Output folder.
    reduced : bool, keyword-only
        Coarse meshes and fewer cases (the version the test suite runs, about a minute).
    study : Study, optional
        The study verified and validated (default: the demo's, VP vs KP on an osteoporotic L1).
    surface : path, optional
        A real vertebra surface run through the whole pipeline (e.g. the shared L3).
    progress : callable, optional
        ``progress(done, total, label)`` after each part (the CLI's progress bar).
    workers : int, keyword-only
        Processes for the strength curves of each mesh size (see :func:`~vbfem.study.pipeline.run_study`).
    """
    parts = ["code verification", "model verification", "mesh convergence", "time steps", "sensitivity",
             "cross-code", "report"]
    done = []

    def tick(label):
        done.append(label)
        if progress is not None:
            progress(len(done), len(parts), label)

    from ..output import plots
    from ..output.atomic import staged_folder
    from ..output.report import Report
    from .pipeline import run_study, table_columns

    t0 = time.perf_counter()
    out = Path(out)
    study = study or Study(name="validation")
    sizes = SIZES_REDUCED if reduced else SIZES
    base = study.replace(mesh=dict(study.mesh.to_dict(), size=sizes[-1]),
                         output={"vtu": False, "pictures": False, "report": False})
    # strength from the elastic-plastic curves; the reduced version (the tests') keeps the linear screen
    base = base.replace(load=dict(base.load.to_dict(), strength="linear" if reduced else "nonlinear"))
    log.info("validate: code verification")
    code = code_verification(reduced=reduced)
    tick("code verification")
    model = model_verification(reduced=reduced)
    tick("model verification")
    log.info("validate: mesh convergence at %s mm", sizes)
    conv, finest = calculation_verification(base, sizes, target_size=study.mesh.size, workers=workers,
                                            keep=None if reduced else COMPARISON_SIZE)
    tick("mesh convergence")
    rows = finest.rows
    vp = next((t for t in base.treatments if t.kind == "vertebroplasty"), None)
    steps = time_step_convergence(finest.state("fractured"), finest.geometry, vp) if vp is not None else []
    log.info("validate: treatment comparisons")
    comparisons = treatment_comparisons(finest.state("intact"), finest.state("fractured"), finest.geometry,
                                        seed=study.seed)
    if not reduced:  # the VP pressure rows, each in its paper's protocol (three injections)
        log.info("validate: injection pressures in the papers' protocols")
        comparisons.update(pressure_comparisons(finest.state("intact"), finest.state("fractured"),
                                                finest.geometry, vp, seed=study.seed))
    leakage = None
    if not reduced:  # n seeded realisations of every treatment at 3 mm (a few minutes on 2 workers)
        log.info("validate: leakage rates")
        leakage = leakage_rates(study, size=sizes[0], workers=workers or 1)
    spine = None
    if not reduced:  # two-level units at 3 mm: an intact L4-L5 and the study's fractured/VP states
        log.info("validate: spinal units")
        try:
            spine = spine_validation(study, size=sizes[0])
        except ValueError as exc:  # e.g. a thoracic level without a published disc height: rows left out
            log.warning("validate: spinal-unit rows left out: %s", exc)
    valid = validation_table(rows, comparisons, leakage, spine)
    tick("time steps")
    log.info("validate: sensitivity")
    first = base.treatments[0].name
    sens = sensitivity(base, mesh_sizes=(sizes[0], finest.study.mesh.size),
                       baseline=next(r["stiffness_pct_restored"] for r in rows if r["state"] == first))
    tick("sensitivity")
    with staged_folder(out) as stage:
        xcode = cross_code(finest.states, stage / "ccx", febio=stage / "febio")
        shutil.rmtree(stage / "ccx", ignore_errors=True)
        files = {}
        tick("cross-code")
        files["tornado"] = plots.plot_tornado([r["input"] for r in sens], [r["low"] for r in sens],
                                              [r["high"] for r in sens], sens[0]["baseline"], stage / "tornado.png",
                                              title=f"stiffness restored by {base.treatments[0].name}")
        files["gallery"] = fracture_gallery(base, stage / "fracture_types.png")
        real = None
        if surface is not None and Path(surface).is_file():
            real = run_study(real_vertebra_study(base, surface, size=study.mesh.size),
                             out=stage / "real_vertebra", workers=workers or 1)
        rep = Report("vbfem validation report" + (" (reduced)" if reduced else ""))
        rep.add_text(f"{study.geometry.level}, {study.bone.bmd} bone, {study.fracture.kind} fracture grade "
                     f"{study.fracture.grade}; treatments {', '.join(t.name for t in study.treatments)}; "
                     f"mesh sizes {', '.join(f'{h:g}' for h in sizes)} mm.")
        rep.add_heading("Code verification")
        rep.add_table(code, caption="patch test on distorted meshes; L2 displacement error rates of a manufactured "
                                    "solution on distorted unit cubes")
        rep.add_table(model, caption="elastic-plastic tangent; two-phase flow solver against the analytic "
                                     "spherical injection")
        rep.add_heading("Calculation verification: mesh convergence")
        method = (f"Richardson extrapolation and GCI (Celik et al. 2008, Fs = {GCI_SAFETY})" if len(sizes) == 3 else
                  f"the least-squares uncertainty of each of the finest {CONVERGENCE_GRIDS} sizes (Eça & Hoekstra, "
                  "J Comput Phys 2014;262:104; Fs = 1.25, or 3 where the observed order is outside [0.5, 2.1) or the "
                  f"data scatter); the {', '.join(f'{h:g}' for h in sizes[:len(sizes) - CONVERGENCE_GRIDS])} mm "
                  "values are shown but not used: the coarsest mesh is outside the asymptotic range of the intact "
                  "strength (a rule set after seeing the intact state's five values, before the other states')"
                  if len(sizes) > CONVERGENCE_GRIDS else
                  "the least-squares uncertainty of each size (Eça & Hoekstra, J Comput Phys 2014;262:104; Fs = "
                  "1.25, or 3 where the observed order is outside [0.5, 2.1) or the data scatter)")
        rep.add_table(conv, caption=f"compression stiffness and strength ({base.load.strength}); {method}")
        if steps:
            rep.add_table(steps, caption=f"time-step convergence of the {vp.name} fill (IMPES CFL fraction)")
        rep.add_heading("Cross-code: CalculiX and FEBio")
        rep.add_table(xcode, caption="platen force at 0.1 mm, same deck (vbfem.output.inp); the same models as FEBio 4 "
                                     "files in febio/")
        rep.add_heading("Validation against published experiments")
        rep.add_table(valid, caption=f"model values at {finest.study.mesh.size:g} mm; 'NO' marks a value outside the reported "
                                     "range; 'calibration' marks a comparison a parameter was fitted to (not "
                                     "independent evidence)")
        rep.add_table(list(CALIBRATED), caption="the parameters fitted to published data; every other parameter "
                                                "comes from material data or morphometry, cited in the code")
        rep.add_table(list(rows), columns=table_columns(rows), caption="the model's states")
        rep.add_image(files["gallery"], f"the seven fracture morphologies, grade {study.fracture.grade or 2}")
        rep.add_heading("Sensitivity")
        rep.add_table(sens, caption="stiffness restored (%) with one input at its low / high value")
        rep.add_image(files["tornado"], "stiffness restored: one input at a time")
        if real is not None:
            rep.add_heading("A real vertebra (surface fitted)")
            how = ("the peak of the elastic-plastic load-displacement curve" if real.study.load.strength == "nonlinear"
                   else "the linear screen (strength = 'linear': not suited to cemented bodies)")
            rep.add_table(list(real.rows), columns=table_columns(real.rows),
                          caption=f"{Path(surface).name}, "
                                  f"{real.study.mesh.size:g} mm; strength is {how}")
            for role, path in real.files.items():
                if role.startswith("picture:cement"):
                    rep.add_image(stage / "real_vertebra" / Path(path).name, "real vertebra: cement")
        files["markdown"] = rep.to_markdown(stage / "validation.md")
        files["html"] = rep.to_html(stage / "validation.html")
    tick("report")
    files = {k: out / Path(v).name for k, v in files.items()}
    return Validation(code, model, conv, steps, xcode, valid, sens, files, time.perf_counter() - t0)
