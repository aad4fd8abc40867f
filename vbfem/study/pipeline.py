"""Run a :class:`~vbfem.study.schema.Study`: the pipeline stages in order, and its outputs.

Each stage is one of the package's plain functions; this module only wires
them together the way DESIGN.md describes::

    geometry -> mesh -> bone -> fracture -> treatments -> load -> compare

All states of a study share one mesh topology (treatments are element fields;
kyphoplasty may move nodes to restore height), so one sparsity pattern serves
every state. :func:`run_study` returns a :class:`StudyResult` and, when asked,
writes the resolved study, a provenance record, the tidy results table, a
VTU per state, pictures and an HTML report into the output folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..fem.solvers import serial_blas
from ..mechanics.protocol import RECOVERY_FRACTION
from ..records import MaterialMap, Mesh
from .schema import Study, StudyError, dumps_study

log = logging.getLogger(__name__)

@dataclass(frozen=True, eq=False)
class State:
    """One state of the vertebra: intact, fractured or treated.

    Attributes
    ----------
    name : str
    mesh : Mesh
    materials : MaterialMap
    treatment : object, optional
        The treatment record (``CementFill`` or kyphoplasty result) that made this state.
    info : mapping
        Scalar facts of the state (heights in mm, cement fill metrics ...), for the table.
    """

    name: str
    mesh: Mesh
    materials: MaterialMap
    treatment: object = None
    info: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))


@dataclass(frozen=True, eq=False)
class StudyResult:
    """What :func:`run_study` computed.

    Attributes
    ----------
    study : Study
        The resolved study.
    states : tuple of State
    rows : tuple of dict
        The results table, one row per state.
    files : mapping of str to Path
        Files written, by role.
    timings : mapping of str to float
        Wall-clock seconds per stage.
    geometry : Geometry
        The vertebra's geometry (needle paths, landmarks).
    """

    study: Study
    states: tuple
    rows: tuple
    files: Mapping[str, Path]
    timings: Mapping[str, float]
    geometry: object = None

    def state(self, name: str) -> State:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(f"no state {name!r}; states: {', '.join(s.name for s in self.states)}")


def make_geometry(*, level: str = "L1", surface: str | None = None):
    """The vertebra's :class:`~vbfem.anatomy.geometry.Geometry`: from a surface file if given, else the
    parametric level."""
    if surface is not None:
        from ..anatomy.surface import from_surface

        return from_surface(surface, level=level)
    from ..anatomy.geometry import build_vertebra

    return build_vertebra(level)


class _Timer:
    """Wall-clock seconds per stage (``with timer("mesh"): ...``); calls ``on_stage(name)`` after each."""

    def __init__(self, on_stage: Callable | None = None):
        self.times: dict[str, float] = {}
        self.on_stage = on_stage

    @contextlib.contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        self.times[name] = self.times.get(name, 0.0) + dt
        log.info("%s: %.2f s", name, dt)
        if self.on_stage is not None:
            self.on_stage(name)


@serial_blas()  # results independent of the BLAS thread count (Dask's workers run on 1): see serial_blas
def build_states(study: Study, *, timer=None) -> tuple[object, list[State]]:
    """Run the model stages of ``study``: returns its geometry and the states in order.

    intact, then fractured (unless ``fracture.kind == "none"``), then one state
    per treatment, all on the same mesh topology.
    """
    from ..anatomy.mesher import mesh_vertebra
    from ..materials.bone import assign_bone

    timer = timer or _Timer()
    if study.geometry.image is not None:
        return _image_states(study, timer)
    with timer("geometry"):
        geometry = make_geometry(level=study.geometry.level, surface=study.geometry.surface)
        check_placement(study, geometry)
    with timer("mesh"):
        mesh = mesh_vertebra(geometry, size=study.mesh.size, cell_type=study.mesh.cell_type)
    with timer("bone"):
        bone = assign_bone(mesh, bmd=study.bone.bmd, law=study.bone.law,
                           heterogeneity=study.bone.heterogeneity, seed=study.seed)
    states = [State("intact", mesh, bone, info=_height_info(mesh))]
    if study.fracture.kind == "none":
        if study.treatments:
            raise ValueError("treatments need a fractured state: fracture.kind is 'none'")
        return geometry, states
    from ..fracture.deformity import apply_fracture

    with timer("fracture"):
        fmesh, fbone = apply_fracture(mesh, bone, study.fracture.kind, grade=study.fracture.grade,
                                      height_loss=study.fracture.height_loss, seed=study.seed)
    states.append(State("fractured", fmesh, fbone, info=_height_info(fmesh)))
    for spec in study.treatments:
        with timer(spec.name):
            states.append(_treat(spec, states[0], states[1], geometry, study.seed))
    return geometry, states


def _image_states(study: Study, timer) -> tuple[object, list[State]]:
    """The landmarks (:class:`~vbfem.anatomy.ct_landmarks.CTGeometry`, None when intact only) and the
    states of an image-route study (:mod:`vbfem.anatomy.ct`): intact, fractured and treated.

    Fracture and treatments run on the capped voxel model in the body frame
    (:mod:`vbfem.anatomy.ct_landmarks`): while they run, the node sets
    ``superior`` / ``inferior`` are the bone / cap interfaces (the body's
    heights), and the caps ride rigidly on the endplates; in the states they
    are the caps' outer faces (the platens' faces).
    """
    from ..anatomy.calibration import CALIBRATED, read_calibration
    from ..anatomy.ct import ct_mesh
    from ..anatomy.image import read_volume
    from ..materials.image import ct_materials

    g = study.geometry
    if study.fracture.kind == "none" and study.treatments:
        raise ValueError("treatments need a fractured state: fracture.kind is 'none'")
    with timer("geometry"):
        volume = read_volume(g.image, labels=g.labels)
        cal = CALIBRATED if g.calibration == "mg/cm3" else read_calibration(g.calibration)
    with timer("mesh"):
        mesh, info = ct_mesh(volume, tissues=g.tissue_table(), calibration=cal, coarsen_by=g.coarsen,
                             cut_x=g.cut_x)
    with timer("bone"):
        bone, report = ct_materials(mesh, calibration=cal, law=study.bone.law)
    image_info = {"image": info.source, "image_axes": "".join(info.axcodes), "bone_voxels": info.n_bone,
                  "density_clipped": report.n_low + report.n_high}
    if study.fracture.kind == "none":
        return None, [State("intact", mesh, bone, info=image_info)]
    from ..anatomy.ct_landmarks import centre_on_body, ct_landmarks, swap_surfaces
    from ..fracture.deformity import apply_fracture

    with timer("landmarks"):
        mesh = centre_on_body(mesh)
        mesh, geom = ct_landmarks(mesh, level=g.level)
        check_placement(study, geom)  # before the fracture and the treatments
        body_sets = swap_surfaces(mesh)  # superior / inferior: the endplate surfaces
    with timer("fracture"):
        fmesh, fbone = apply_fracture(body_sets, bone, study.fracture.kind, grade=study.fracture.grade,
                                      height_loss=study.fracture.height_loss, seed=study.seed)
    # the states keep the caps' outer faces as superior / inferior: the load cases load them
    states = [State("intact", mesh, bone, info={**image_info, **_height_info(body_sets)}),
              State("fractured", swap_surfaces(fmesh), fbone, info={**image_info, **_height_info(fmesh)})]
    for spec in study.treatments:
        with timer(spec.name):
            states.append(_treat_image(spec, states[0], states[1], geom, study.seed))
    return geom, states


def _is_image(geometry) -> bool:
    from ..anatomy.ct_landmarks import CTGeometry

    return isinstance(geometry, CTGeometry)


def _treat_image(spec, intact: State, fractured: State, geometry, seed: int) -> State:
    """:func:`_treat` of an image model: the treatment measures its heights on the endplate surfaces."""
    from dataclasses import replace

    from ..anatomy.ct_landmarks import swap_surfaces

    state = _treat(spec, replace(intact, mesh=swap_surfaces(intact.mesh)),
                   replace(fractured, mesh=swap_surfaces(fractured.mesh)), geometry, seed)
    scan = {k: intact.info[k] for k in _IMAGE_INFO if k in intact.info}  # the scan's columns in every row
    return replace(state, mesh=swap_surfaces(state.mesh), info={**scan, **state.info})


#: Columns of an image study's states that describe its scan (:func:`_image_states`).
_IMAGE_INFO = ("image", "image_axes", "bone_voxels", "density_clipped")


def _height_info(mesh) -> dict:
    from ..anatomy.heights import measure_heights

    h = measure_heights(mesh)
    return {"anterior_height_mm": h.anterior, "middle_height_mm": h.middle, "posterior_height_mm": h.posterior}


def _needles(spec, geometry):
    """Needles of a vertebroplasty treatment spec (volume shared between the needles)."""
    from ..treatment.cannula import Cannula
    from ..treatment.needles import bipedicular, offset_tip, unipedicular

    kw = {"rate": spec.rate, "start": spec.start_time, "cannula": Cannula(spec.cannula_gauge, spec.cannula_length)}
    if spec.approach == "bipedicular":
        needles = bipedicular(geometry, volume=spec.volume, **kw)
    else:
        needles = (unipedicular(geometry, "left", volume=spec.volume, **kw),)
    return tuple(offset_tip(nd, spec.tip_offset) for nd in needles)


def _balloons(spec, geometry):
    """Balloons of a kyphoplasty treatment spec on ``geometry`` (its position and tip offset)."""
    from ..treatment.balloon import place_balloons

    return place_balloons(geometry, balloons=spec.approach, length=spec.balloon_length,
                          start=_balloon_start(spec), offset=spec.tip_offset)


def _balloon_start(spec) -> float:
    from ..treatment.balloon import BALLOON_START

    return BALLOON_START if spec.balloon_start is None else spec.balloon_start


def _placement_keys(spec, index: int | None) -> str:
    """The treatment keys that place its tips or balloons, with their values, for an error message
    (``treatments[i].key`` with the treatment's index, else ``key`` of treatment 'name')."""
    off = spec.tip_offset
    path = f"treatments[{index}]." if index is not None else ""
    keys = [f"{path}tip_offset_{a} = {v!r}" for a, v in zip("xyz", off) if v or not any(off)]
    if spec.kind == "kyphoplasty":
        keys.append(f"{path}balloon_start = {_balloon_start(spec)!r}")
    return ", ".join(keys) + ("" if index is not None else f" of treatment {spec.name!r}")


def check_placement(study: Study, geometry) -> None:
    """StudyError unless every needle tip of ``study`` lies in the trabecular core of ``geometry``
    (:func:`vbfem.treatment.needles.in_core`: inside the body, deeper than its cortical shell and bony
    endplate, or one voxel of a CT body): vertebroplasty's needle tips; kyphoplasty's working-cannula tip
    (the balloon's proximal end) and cement-needle tip (the balloon's middle), with the whole balloon axis
    inside the body (:func:`vbfem.treatment.balloon.place_balloons`, as before the offsets existed).

    The message names the treatment's placement keys (``tip_offset_x/y/z``, ``balloon_start``) and their
    values, the point that leaves the core, and what is allowed. Cheap (no mesh): :func:`check_inputs`
    runs it for a parametric level, the model stages for a surface or an image once the body is known.
    The fractured body is narrower than the intact one: a tip in the intact core can still miss the
    fractured bone, which the injection then refuses (its tip is not in a flow cell).
    """
    from ..treatment.needles import core_margin, in_core

    for i, spec in enumerate(study.treatments):
        if spec.kind == "vertebroplasty":
            points = {f"the tip of needle {nd.name!r}": np.asarray([nd.tip]) for nd in _needles(spec, geometry)}
        else:
            try:
                balloons = _balloons(spec, geometry)
            except ValueError as exc:
                raise StudyError(f"{_placement_keys(spec, i)}: {exc}") from None
            # the working cannula's tip (the balloon's proximal end) and the cement needle's tip (its middle);
            # the whole balloon axis is inside the body (place_balloons)
            points = {f"balloon {b.side!r}": np.asarray([b.start, 0.5 * (np.asarray(b.start) + np.asarray(b.end))])
                      for b in balloons}
        for name, pts in points.items():
            ok = in_core(geometry, pts)
            if not ok.all():
                bad = np.round(pts[np.flatnonzero(~ok)[0]], 2).tolist()
                raise StudyError(
                    f"{_placement_keys(spec, i)}: {name} of treatment {spec.name!r} reaches {bad} mm, outside the "
                    f"vertebral body's trabecular core (inside the body and at least {core_margin(geometry):g} mm "
                    "from its surface: cortical shell, endplates); allowed: offsets and a balloon position that "
                    "keep every tip and balloon in the core")


def _placement_info(spec) -> dict:
    """The tip offset of a treatment (mm, body axes) as results columns."""
    return {f"tip_offset_{a}_mm": float(v) for a, v in zip("xyz", spec.tip_offset)}


def _fill_info(fill, volume_ml: float) -> dict:
    m = fill.metrics
    return {
        "cement_ml": volume_ml,
        "fill_pct": 100.0 * float(m["fill_fraction"]),
        "bridging": m.get("bridging"),
        "leaked_ml": _ml(fill.leaked_total),
        "posterior_distance_mm": m.get("posterior_distance"),
        "needle_pressure_kPa": _peak(fill.needle_pressure) * 1e3,
        "syringe_pressure_kPa": (_peak(fill.syringe_pressure) * 1e3 if fill.syringe_pressure is not None
                                 else math.nan),
        "cannula_share_pct": 100.0 * float(m.get("cannula_pressure_share", math.nan)),
        "leak": m.get("leak"),
        "leaked_venous_ml": _ml(m.get("leaked_venous", math.nan)),
        "leaked_cortical_ml": _ml(m.get("leaked_cortical", math.nan)),
        "leaked_disc_ml": _ml(m.get("leaked_disc", math.nan)),
        "first_leak_s": m.get("first_leak_time", math.nan),
    }


def _ml(mm3: float) -> float:
    """mm³ as mL, with round-off below 1e-12 mL (denormal leakage of a closed body) as 0."""
    ml = float(mm3) / 1000.0
    return 0.0 if abs(ml) < 1e-12 else ml


def _peak(values) -> float:
    """Largest finite value (NaN if none): peak needle pressure, MPa."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else math.nan


def _treat(spec, intact: State, fractured: State, geometry, seed: int) -> State:
    """One treated state: the cement simulation of ``spec`` on the fractured state, then its material map."""
    from ..materials.cement import with_cement
    from ..treatment.needles import TipPlacementError

    if spec.kind == "vertebroplasty":
        from ..treatment.vertebroplasty import simulate_vertebroplasty

        try:
            fill = simulate_vertebroplasty(fractured.mesh, fractured.materials, geometry,
                                           needles=_needles(spec, geometry), cement=spec.cement_record(), seed=seed,
                                           heterogeneity=spec.permeability_sd,
                                           correlation_length=spec.permeability_correlation,
                                           vein_radius=spec.vein_radius)
        except TipPlacementError as exc:  # in the intact core (check_placement), not in the fractured bone
            raise StudyError(f"{_placement_keys(spec, None)}: in the fractured body, {exc}") from None
        info = {**_height_info(fractured.mesh), **_fill_info(fill, spec.volume), **_placement_info(spec),
                # the height is the protocol's recovery (+ the injection lift), which needs the crushing
                # force, i.e. the nonlinear strength (protocol_heights); without it it is not known
                "height_restored_mm": math.nan, "height_restored_pct": math.nan}
        return State(spec.name, fractured.mesh, with_cement(fractured.materials, fill, spec.cement_record()),
                     treatment=fill, info=info)
    from ..treatment.kyphoplasty import simulate_kyphoplasty

    n = 2 if spec.approach == "bipedicular" else 1
    try:
        kp = simulate_kyphoplasty(fractured.mesh, fractured.materials, geometry, balloons=spec.approach,
                                  balloon_length=spec.balloon_length, inflation_volume=spec.balloon_volume_ml,
                                  balloon_start=_balloon_start(spec), balloon_offset=spec.tip_offset,
                                  cement=spec.cement_record(), volume=spec.volume, intact=intact.mesh,
                                  rate=spec.rate * n,
                                  start=spec.start_time, seed=seed, heterogeneity=spec.permeability_sd,
                                  correlation_length=spec.permeability_correlation, vein_radius=spec.vein_radius)
    except TipPlacementError as exc:  # its fill needles, at the balloons' middles
        raise StudyError(f"{_placement_keys(spec, None)}: in the fractured body, {exc}") from None
    info = {**_height_info(kp.mesh), **_fill_info(kp.fill, spec.volume), **_placement_info(spec),
            "balloon_start_mm": _balloon_start(spec),
            "height_restored_mm": kp.height_restored_mm, "height_restored_pct": 100.0 * kp.height_restored_fraction,
            "cavity_ml": kp.params["cavity_volume_mm3"] / 1000.0,
            "cavity_unfilled_pct": 100.0 * kp.params["cavity_unfilled_fraction"],
            "interdigitation_mm": kp.interdigitation_depth}
    return State(spec.name, kp.mesh, with_cement(kp.materials, kp.fill, spec.cement_record()), treatment=kp,
                 info=info)


def protocol_heights(states, comparison, *, history=None,
                     recovery_fraction: float = RECOVERY_FRACTION) -> dict:
    """Heights through the ex vivo protocol (:mod:`vbfem.mechanics.protocol`): ``state -> info`` to
    update the rows with. The fractured body is unloaded from its strength (the force at the end of
    the crush), recovers elastically and, while it rests, up to ``recovery_fraction`` of its height
    loss; VP is injected into the rested body (plus the bound of the endplates' lift by the injection
    pressure), KP keeps the larger of its balloon lift and the recovered height at each station;
    "height restored" is then read against the crushed height, as the experiments read it. Needs the
    nonlinear strength (else: ``{}``, the heights of the geometry). On an image model the heights and the
    endplate's area are those of the body's endplate surfaces (the bone / cap interfaces,
    :func:`vbfem.anatomy.ct_landmarks.swap_surfaces`), the crush and its unloading act through the caps.
    ``history``: the fractured state's :class:`~vbfem.mechanics.protocol.CrushHistory` if already
    computed (:func:`crush_history_of`; shared by the cases of a sweep, :class:`BaseStates`)."""
    from ..anatomy.heights import Heights, measure_heights
    from ..mechanics.protocol import endplate_area, height_restored_pct, injection_lift, treated_heights
    from ..records import CementFill

    if history is None:
        history = crush_history_of(states, comparison, recovery_fraction=recovery_fraction)
    if history is None:
        return {}
    fractured = next(s for s in states if s.name == "fractured")
    area = endplate_area(_body_surfaces(fractured.mesh))

    def info(h: Heights, **extra):
        return {"anterior_height_mm": h.anterior, "middle_height_mm": h.middle, "posterior_height_mm": h.posterior,
                "height_restored_mm": h.anterior - history.crushed.anterior,
                "height_restored_pct": height_restored_pct(history, h), **extra}

    out = {"fractured": {"unloaded_anterior_height_mm": history.unloaded.anterior,
                         "rested_anterior_height_mm": history.rested.anterior,
                         "elastic_recovery_mm": history.recovery}}
    for s in states[2:]:
        if isinstance(s.treatment, CementFill):  # vertebroplasty: the cement fills the rested body
            lift = injection_lift(history, _peak(s.treatment.needle_pressure), area)
            out[s.name] = info(treated_heights(history, lift=lift), injection_lift_mm=lift)
        else:  # kyphoplasty: the balloon lifted the crushed body
            out[s.name] = info(treated_heights(history, balloon=measure_heights(_body_surfaces(s.mesh))))
    return out


def _body_surfaces(mesh: Mesh) -> Mesh:
    """``mesh`` with ``superior`` / ``inferior`` on the body's endplates: an image model's state (whose sets
    are its caps' outer faces, :mod:`vbfem.anatomy.ct_landmarks`) swapped to its endplate surfaces; any other
    mesh as it is."""
    if "superior_surface" not in mesh.node_sets:
        return mesh
    from ..anatomy.ct_landmarks import swap_surfaces

    return swap_surfaces(mesh)


def crush_history_of(states, comparison, *, recovery_fraction: float = RECOVERY_FRACTION):
    """The fractured state's :class:`~vbfem.mechanics.protocol.CrushHistory` (the crushed body unloaded
    from its strength, then rested), or None without a fractured state or the nonlinear strength."""
    from ..mechanics.protocol import crush_history

    names = [s.name for s in states]
    if comparison.strength_method != "nonlinear" or "fractured" not in names:
        return None
    fractured = states[names.index("fractured")]
    # the comparison's compression test (bonded or sliding platens, those of the strength test) already solved
    # the fractured body: its stiffness is the unloading one
    k = (comparison.row("fractured").stiffness if comparison.load in ("compression_test", "sliding_compression")
         else None)
    force = comparison.row("fractured").strength
    if k is None and "superior_surface" in fractured.mesh.node_sets:
        # an image model: the unloading stiffness is that of the crush through its caps (whose outer faces are
        # the states' superior / inferior sets); the heights below are read on the endplate surfaces
        from ..fem.static import solve_static
        from ..mechanics.loadcases import compression_test
        from ..mechanics.response import stiffness

        k = stiffness(solve_static(fractured.mesh, fractured.materials,
                                   compression_test(fractured.mesh, force=float(force))))
    return crush_history(_body_surfaces(states[0].mesh), _body_surfaces(fractured.mesh), fractured.materials,
                         crush_force=force, stiffness=k, recovery_fraction=recovery_fraction)


#: Keys of a study that determine its untreated states (intact and fractured) and their mechanics:
#: cases of a sweep that agree on them share those states (:class:`BaseStates`).
BASE_KEYS = ("seed", "geometry", "mesh", "bone", "fracture", "load")


def base_key(study: Study) -> str:
    """SHA-256 of the study keys :data:`BASE_KEYS` (and vbfem's version): equal keys, equal untreated states."""
    from .. import __version__

    data = study.to_dict()
    text = json.dumps({"vbfem": __version__, **{k: data[k] for k in BASE_KEYS}}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class BaseStates:
    """The untreated states of a study and their mechanics, computed once for several studies that differ
    only in their treatments (:func:`build_base`, ``run_study(..., base=)``; the cases of a sweep).

    Attributes
    ----------
    key : str
        :func:`base_key` of the studies it serves.
    geometry : Geometry
    states : tuple of State
        ``intact`` and, unless ``fracture.kind = "none"``, ``fractured``.
    comparison : Comparison
        Their stiffness and strength (with the solves and, for the nonlinear strength, the curves).
    history : CrushHistory or None
        The fractured body's crush and unloading (:func:`crush_history_of`), with the nonlinear strength.
    timings : mapping of str to float
        Wall-clock seconds of its stages.
    """

    key: str
    geometry: object
    states: tuple
    comparison: object
    history: object = None
    timings: Mapping[str, float] = field(default_factory=dict)


@serial_blas()
def _compare(states, study: Study, *, workers: int = 1, strength_options=None, displacement=None):
    """:func:`~vbfem.mechanics.compare.compare_states` of ``states`` under the study's load and strength
    (``displacement``: the strength test's platen travel, mm, when the intact body is not among them)."""
    from ..mechanics.compare import compare_states

    load, options = _load(study.load)
    if study.load.strength in ("linear", "nonlinear"):
        strength = study.load.strength
    else:
        strength = {s.name: math.nan for s in states}
    strength_options = dict(strength_options or {})
    if displacement is not None and study.load.strength == "nonlinear":
        strength_options["displacement"] = displacement
    softening = study.load.softening()
    if softening is not None:
        strength_options["softening"] = softening
    if study.load.platens == "sliding":  # the compression case only (LoadSpec._check)
        from ..mechanics.sliding import sliding_comparison

        return sliding_comparison({s.name: (s.mesh, s.materials) for s in states},
                                  displacement=study.load.displacement, strength=strength, workers=workers,
                                  strength_options=strength_options if study.load.strength == "nonlinear" else None)
    return compare_states({s.name: (s.mesh, s.materials) for s in states}, load=load, load_options=options,
                          strength=strength, workers=workers, strength_options=strength_options or None)


def build_base(study: Study, *, workers: int = 1, timer=None, strength_options=None) -> BaseStates:
    """The untreated states of ``study`` and their mechanics, for ``run_study(..., base=)``.

    Parameters
    ----------
    study : Study
        Only its keys :data:`BASE_KEYS` matter.
    workers : int, keyword-only
        Processes for the nonlinear strength curves (as :func:`run_study`).
    timer : callable, optional, keyword-only
        ``timer(stage)`` context manager timing each stage (default: its own).
    strength_options : mapping, optional, keyword-only
        Further options of :func:`~vbfem.mechanics.failure.start_compression_curves` (``executor``, ``on_curve``).

    Returns
    -------
    BaseStates
    """
    timer = timer or _Timer()
    geometry, states = build_states(study.replace(treatments=()), timer=timer)
    with timer("mechanics"):
        comparison = _compare(states, study, workers=workers, strength_options=strength_options)
        history = crush_history_of(states, comparison, recovery_fraction=study.fracture.recovery)
    return BaseStates(key=base_key(study), geometry=geometry, states=tuple(states), comparison=comparison,
                      history=history, timings=MappingProxyType(dict(timer.times)))


def _with_base(base: BaseStates, treated: list, study: Study, *, workers: int, strength_options):
    """The comparison of the base states and the ``treated`` ones, solving only the treated: what
    :func:`~vbfem.mechanics.compare.compare_states` of all of them gives, bit for bit."""
    from ..mechanics.compare import Comparison, ComparisonRow, _pct, _restored
    from ..mechanics.failure import STRENGTH_STRAIN, endplate_height

    shared = base.comparison
    if not treated:
        return shared
    intact = base.states[0]
    # the strength test takes every state to the travel set by the intact body (compression_curves)
    own = _compare(treated, study, workers=workers, strength_options=strength_options,
                   displacement=STRENGTH_STRAIN * endplate_height(intact.mesh))
    i, f = shared.row(intact.name), shared.row(shared.fractured)
    rows = list(shared.rows)
    for r in own.rows:
        k, st = r.stiffness, r.strength
        rows.append(ComparisonRow(
            state=r.state, stiffness=k, strength=st,
            stiffness_pct_intact=_pct(k, i.stiffness), strength_pct_intact=_pct(st, i.strength),
            stiffness_pct_restored=_restored(k, f.stiffness, i.stiffness),
            strength_pct_restored=_restored(st, f.strength, i.strength)))
    return Comparison(tuple(rows), shared.load, shared.strength_method, shared.fractured,
                      MappingProxyType({**shared.results, **own.results}),
                      MappingProxyType({**shared.curves, **own.curves}))


def save_base(base: BaseStates, path, *, tag: str | None = None) -> Path:
    """Write ``base`` to ``path`` (a pickle, written atomically: a temporary file
    ``.<name>.tmp-<tag>-<random>``, ``tag`` default this process's id, renamed into place).

    A pickle runs code when read: read only files of your own (:func:`load_base`)."""
    import pickle

    c = base.comparison
    # as plain data: the records' read-only mappings (MappingProxyType) do not pickle
    data = {"key": base.key, "geometry": base.geometry, "history": base.history, "timings": dict(base.timings),
            "states": [(s.name, s.mesh, s.materials, s.treatment, dict(s.info)) for s in base.states],
            "comparison": (c.rows, c.load, c.strength_method, c.fractured, dict(c.results), dict(c.curves))}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{tag or os.getpid()}-{os.urandom(4).hex()}")
    try:
        with open(tmp, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_base(path, *, key: str) -> BaseStates | None:
    """The :class:`BaseStates` that :func:`save_base` wrote to ``path`` if its key is ``key``; None (with
    a warning) if the file cannot be read or is of other states, so that the caller computes them."""
    import pickle

    from ..mechanics.compare import Comparison

    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        if data["key"] != key:
            log.warning("shared states %s are not those of this study; computing them", path)
            return None
        rows, load, method, fractured, results, curves = data["comparison"]
        return BaseStates(key=data["key"], geometry=data["geometry"], history=data["history"],
                          states=tuple(State(*s) for s in data["states"]),
                          comparison=Comparison(rows, load, method, fractured, MappingProxyType(results),
                                                MappingProxyType(curves)),
                          timings=MappingProxyType(data["timings"]))
    except Exception as exc:  # noqa: BLE001 - a stale or damaged file is recomputed, not fatal
        log.warning("shared states %s not read (%s: %s); computing them", path, type(exc).__name__, exc)
        return None


def _load(spec):
    """``(name, options)`` of :func:`vbfem.mechanics.loadcases.make_load_case` for a study's load section."""
    if spec.case == "compression":
        return "compression_test", {"displacement": spec.displacement}
    name = {"lateral_bending": "lateral_bending_left"}.get(spec.case, spec.case)
    return name, {"force": spec.force, "moment": spec.moment}


#: Columns of the results table, in order (state info columns follow).
TABLE_COLUMNS = ("state", "stiffness", "strength", "stiffness_pct_intact", "strength_pct_intact",
                 "stiffness_pct_restored", "strength_pct_restored")


def table_columns(rows) -> list[str]:
    """Columns of ``rows`` to print: the comparison columns, then the info columns present (first-seen order)."""
    seen = dict.fromkeys(k for r in rows for k in r)
    return [c for c in TABLE_COLUMNS if c in seen] + [c for c in seen if c not in TABLE_COLUMNS]


def check_inputs(study: Study, out=None, *, workers: int = 1) -> None:
    """Errors that can be found before any computation: files the study refers to, an output
    folder that cannot be one or cannot be written, a mesh too large for the memory.
    :func:`run_study` and the CLI call it first.

    Parameters
    ----------
    study : Study
    out : str or Path, optional
        Output folder: it must be a folder (not ``/`` or an existing file) and writable (a
        temporary file is created and removed in it, or in its nearest existing parent).
    workers : int, keyword-only, default 1
        ``workers`` of :func:`run_study`: the strength-curve worker processes it starts count in the
        memory estimate.

    The estimated memory of the study (:func:`vbfem.anatomy.mesher.estimate_memory`, with its
    strength-curve workers: :func:`vbfem.study.memory.check_study_memory`) is checked against
    :func:`vbfem.anatomy.mesher.memory_budget` here for a parametric level, and when the mesh is
    made for a surface.
    """
    if study.geometry.surface is not None and not Path(study.geometry.surface).is_file():
        raise FileNotFoundError(f"geometry.surface = {study.geometry.surface!r}: no such file")
    for key in ("image", "labels"):
        value = getattr(study.geometry, key)
        if value is not None and not Path(value).exists():  # a file, or a DICOM series folder
            raise FileNotFoundError(f"geometry.{key} = {value!r}: no such file or folder")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} must be an integer >= 1")
    from .memory import check_study_memory

    check_study_memory(study, workers=workers)  # a parametric level; a surface or an image: when meshed
    if study.treatments and study.geometry.surface is None and study.geometry.image is None:
        check_placement(study, make_geometry(level=study.geometry.level))  # a surface or an image: when read
    if out is not None:
        from ..output.atomic import check_writable_folder

        check_writable_folder(out)


def run_study(study: Study, *, out=None, progress: Callable | None = None, workers: int = 1,
              base: BaseStates | None = None) -> StudyResult:
    """Run every stage of ``study`` and, with ``out``, write its outputs there.

    Parameters
    ----------
    study : Study
    out : str or Path, optional
        Output folder. Nothing is written before all states are computed and
        every file is written atomically, so a failed run leaves no
        half-written file behind. Written (as ``study.output`` asks):
        ``study.toml`` (the resolved study), ``provenance.json``,
        ``results.csv`` (6 significant digits), ``results_units.json`` (the unit of
        each column), ``results.parquet`` (with pyarrow), ``<state>.vtu``,
        PNG pictures and ``report.html``. Files of the same name in ``out``
        are replaced; other files there (e.g. of an earlier run with other
        treatments) are left alone.
    progress : callable, optional
        ``progress(done, total, label)`` after each stage (the CLI's progress bar) and, with
        ``load.strength = "nonlinear"``, as each state's strength curve finishes (label
        ``"strength curve <state>"``; with ``workers > 1`` called from the worker pool's result thread).
    workers : int, keyword-only
        Processes for the states' nonlinear strength curves
        (:func:`vbfem.mechanics.failure.compression_curves`); 1 computes them in this process.
    base : BaseStates, optional, keyword-only
        The study's untreated states and their mechanics, already computed (:func:`build_base`, of a
        study with the same :func:`base_key`): only the treatments are then simulated and solved. The
        results are those of the full run, bit for bit; the timings hold only this run's stages.

    Returns
    -------
    StudyResult
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a vbfem.Study, got {type(study).__name__}")
    if base is not None and (not isinstance(base, BaseStates) or base.key != base_key(study)):
        raise ValueError("base: not the untreated states of this study (its base_key differs: it was built for "
                         f"other values of {', '.join(BASE_KEYS)}, or by another vbfem version)")
    check_inputs(study, out, workers=workers)
    start = run_start() if out is not None else None  # the provenance's start time and commit
    t0 = time.perf_counter()
    n_base = 1 + (study.fracture.kind != "none")
    n_solved = len(study.treatments) + (n_base if base is None else 0)  # states this run solves
    nonlinear = study.load.strength == "nonlinear"
    # steps: [geometry, mesh, bone, [landmarks of an image model], [fracture]], treatments, [a strength curve
    # per solved state], mechanics, [spine], [outputs]
    landmarks = study.geometry.image is not None and study.fracture.kind != "none"  # _image_states
    total = ((2 + n_base + landmarks if base is None else 0) + len(study.treatments) + nonlinear * n_solved + 1
             + study.spine.on + (out is not None))
    done = []

    def tick(label):
        done.append(label)
        if progress is not None:
            progress(len(done), total, label)

    timer = _Timer(on_stage=tick)
    pool = None
    if nonlinear and min(workers, n_solved) > 1:
        from ..mechanics.failure import strength_pool

        pool = strength_pool(min(workers, n_solved))  # its workers load their kernels while the states are built
    try:
        strength_options = None
        if nonlinear:  # a step of the progress as each state's curve finishes
            strength_options = {"executor": pool, "on_curve": lambda name: tick(f"strength curve {name}")}
        if base is None:
            geometry, states = build_states(study, timer=timer)
            with timer("mechanics"):
                comparison = _compare(states, study, workers=workers, strength_options=strength_options)
                heights = protocol_heights(states, comparison, recovery_fraction=study.fracture.recovery)
        else:
            geometry, states = base.geometry, list(base.states)
            if geometry is not None:
                check_placement(study, geometry)
            for spec in study.treatments:
                with timer(spec.name):
                    treat = _treat_image if _is_image(geometry) else _treat
                    states.append(treat(spec, states[0], states[1], geometry, study.seed))
            with timer("mechanics"):
                comparison = _with_base(base, states[len(base.states):], study, workers=workers,
                                        strength_options=strength_options)
                heights = protocol_heights(states, comparison, history=base.history)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    curves = dict(comparison.curves)
    rows = []
    for s, row in zip(states, comparison.as_dicts()):
        extra = {}
        if s.name in curves:
            c = curves[s.name]
            # the strength's travel: below the curve's end only where the force fell after it (a true
            # peak); equal to it where the curve still rises (hardening without a softening law)
            extra = {"yield_N": c.yield_force, "curve_travel_mm": float(c.displacement[-1]),
                     "peak_travel_mm": c.peak_displacement}
        rows.append({**row, **extra, **s.info, **heights.get(s.name, {})})
    if study.spine.on:  # the states in their functional spinal unit (issue 20)
        from .spine import study_unit_columns, study_unit_solutions

        with timer("spine"):
            spine = study_unit_solutions(study, states)
            unit = study_unit_columns(study, states, solutions=spine)
        rows = [{**row, **unit.get(row["state"], {})} for row in rows]
    else:
        spine = None
    files = {}
    if out is not None:
        with timer("outputs"):
            files = write_outputs(study, states, comparison, rows, Path(out), curves=curves, timings=timer.times,
                                  seconds=time.perf_counter() - t0, start=start, spine=spine)
    log.info("run_study %s: %d states in %.1f s", study.name, len(states), time.perf_counter() - t0)
    return StudyResult(study=study, states=tuple(states), rows=tuple(rows), files=MappingProxyType(files),
                       timings=MappingProxyType(dict(timer.times)), geometry=geometry)


#: Distributions whose versions go into the provenance (None when one is not installed).
PROVENANCE_PACKAGES = ("numpy", "scipy", "numba", "pyamg", "meshio", "pyvista")


def run_start() -> dict:
    """When a run starts and the git revision of the code it runs: ``started_utc`` (ISO 8601, UTC) and, from
    a git checkout, ``git_commit`` and ``git_dirty`` (:func:`git_revision`). :func:`run_study` takes it before
    its first stage, so a checkout that moves on while a long run computes does not put a later commit (or
    the time of writing) into that run's provenance."""
    import datetime

    return {"started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **git_revision(Path(__file__).resolve().parents[1])}


def provenance(study: Study, *, timings: Mapping | None = None, seconds: float | None = None,
               start: Mapping | None = None) -> dict:
    """What is needed to repeat a run: versions, the git commit, the command line, the resolved study,
    its hash, the seed, when it ran and the timings.

    Parameters
    ----------
    study : Study
    timings : mapping of str to float, optional, keyword-only
        Wall-clock seconds per stage.
    seconds : float, optional, keyword-only
        Wall-clock seconds of the whole run.
    start : mapping, optional, keyword-only
        :func:`run_start` taken when the run began (default: taken now).

    Returns
    -------
    dict
        ``vbfem``, ``python``, the versions of :data:`PROVENANCE_PACKAGES` (None for one not installed),
        ``platform``, ``git_commit`` and ``git_dirty`` (uncommitted changes to the package's files; both
        only when vbfem runs from a git checkout), ``command`` (``sys.argv``), ``started_utc`` (ISO 8601,
        UTC), ``seed``, ``input_hash``, ``study``, ``timings_s`` (s per stage) and ``total_s`` (s). Only this record holds times: the results table of a study is
        the same, byte for byte, on every run.
    """
    import importlib.metadata as md
    import sys

    from .. import __version__

    def version(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    text = dumps_study(study)
    record = {"vbfem": __version__, "python": platform.python_version(),
              **{name: version(name) for name in PROVENANCE_PACKAGES}, "platform": platform.platform()}
    start = dict(run_start() if start is None else start)
    record.update({k: start[k] for k in ("git_commit", "git_dirty") if k in start})
    record.update({
        "command": list(sys.argv),
        "started_utc": start.get("started_utc"),
        "seed": study.seed, "input_hash": hashlib.sha256(text.encode()).hexdigest(), "study": study.to_dict(),
        "timings_s": dict(timings or {}), "total_s": seconds,
    })
    return record


def git_revision(folder) -> dict:
    """``{"git_commit": sha, "git_dirty": bool}`` of the git checkout ``folder`` belongs to, ``{}`` otherwise.

    ``folder`` counts as part of a checkout only when its ``__init__.py`` is tracked there, so a copy
    installed into a virtual environment that happens to sit inside some clone reports nothing rather
    than that clone's commit. No git, no checkout or any git error gives ``{}``, never an exception.

    Parameters
    ----------
    folder : str or Path
        The package's folder.
    """
    import subprocess

    def git(*args):
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "__init__.py")
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "."))
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("no git commit for %s: %s", folder, exc)
        return {}
    return {"git_commit": commit, "git_dirty": dirty}


def write_outputs(study: Study, states, comparison, rows, out: Path, *, curves=None, timings=None,
                  seconds=None, start=None, spine=None) -> dict:
    """Write the outputs of a computed study into ``out`` (see :func:`run_study`); returns ``role -> Path``.

    ``spine``: the states in their functional spinal unit (:func:`vbfem.study.spine.study_unit_solutions`),
    whose adjacent-endplate maps become pictures.

    The files are written into a staging folder and moved into ``out`` together
    once all are complete (:func:`vbfem.output.atomic.staged_folder`).
    """
    from ..output.atomic import staged_folder

    with staged_folder(out) as stage:
        files = _write_files(study, states, comparison, rows, stage, curves=curves, timings=timings,
                             seconds=seconds, start=start, spine=spine)
    return {role: out / path.relative_to(stage) for role, path in files.items()}


def _write_files(study, states, comparison, rows, out: Path, *, curves, timings, seconds, start=None,
                 spine=None) -> dict:
    """Write every output into ``out``; the provenance last, so that its timings hold this output stage."""
    from ..output.atomic import write_table, write_text

    t0 = time.perf_counter()
    files = {"study": write_text(out / "study.toml", dumps_study(study))}
    files["table"], pq = write_table(list(rows), out)
    files["units"] = write_units(list(dict.fromkeys(k for r in rows for k in r)), out)
    if pq is not None:
        files["parquet"] = pq
    if curves:
        files["curves"] = write_text(out / "load_displacement.csv", curves_csv(curves))
    if study.output.vtu:
        from ..output.vtu import to_vtu

        for s in states:
            files[f"vtu:{s.name}"] = to_vtu(out / f"{s.name}.vtu", s.mesh, materials=s.materials,
                                            result=comparison.results.get(s.name))
    pictures, captions = (_pictures(states, comparison, out, curves or {}, load_text=load_text(study.load))
                          if study.output.pictures else ({}, {}))
    if spine and study.output.pictures:
        from .spine import endplate_pictures, unit_load_text

        more, more_captions = endplate_pictures(spine, out, load_text=unit_load_text(study))
        pictures, captions = {**pictures, **more}, {**captions, **more_captions}
    files.update(pictures)
    record = provenance(study, timings=timings, seconds=seconds, start=start)
    if study.output.report:
        files["report"] = _report(study, rows, pictures, out, captions=captions, record=record)
    dt = time.perf_counter() - t0
    record["timings_s"]["outputs"] = dt
    record["total_s"] = None if seconds is None else seconds + dt
    files["provenance"] = write_text(out / "provenance.json", json.dumps(record, indent=1, default=_json_default))
    return files


def write_units(columns, out: Path, *, stem: str = "results") -> Path:
    """Write ``<stem>_units.json`` into ``out``: ``{column: unit}`` of the results table's ``columns``
    ("" for text, flags and counts; :func:`vbfem.study.columns.column_unit`); returns its path."""
    from ..output.atomic import write_text
    from .columns import column_units

    return write_text(out / f"{stem}_units.json", json.dumps(column_units(columns), indent=1) + "\n")


def curves_csv(curves: Mapping) -> str:
    """The load–displacement curves as CSV text: one row per converged step of each state (platen travel
    in mm, force in N, fraction of Gauss points on the yield surface, Newton iterations)."""
    lines = ["state,displacement_mm,force_N,plastic_fraction,newton_iterations"]
    for name, c in curves.items():
        for d, f, pf, it in zip(c.displacement, c.force, c.plastic_fraction, c.iterations):
            lines.append(f"{name},{d:.6g},{f:.6g},{pf:.6g},{int(it)}")
    return "\n".join(lines) + "\n"


def _json_default(v):
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


#: Tissues whose von Mises stress sets the colour range of the stress pictures: trabecular bone and cement
#: (pure, and cement-bone composite). The cortical shell (10-20 MPa at 0.1 mm on the demo's L1) and the
#: fracture band (whose damaged cortex reaches 8 MPa) would take the range; they saturate at the top colour.
STRESS_RANGE_TISSUES = ("trabecular", "composite", "cement")
#: Percentiles of those cells' stresses, over all states, that bound the colour range (robust to a few cells).
STRESS_RANGE_PERCENTILES = (2.0, 98.0)


def stress_range(states, stresses: Mapping) -> tuple[float, float]:
    """One colour range for the stress (or strain) pictures of all ``states``, in the unit of ``stresses``.

    Parameters
    ----------
    states : sequence of State
        Their material maps say which cells are bone and cement (:data:`STRESS_RANGE_TISSUES`).
    stresses : mapping of str to array, shape (n_cells,)
        A field per cell of each state: the von Mises stress (MPa) or the minimum principal strain
        (microstrain, what the pictures show).

    Returns
    -------
    (float, float)
        The :data:`STRESS_RANGE_PERCENTILES` of the stresses of the bone and cement cells of every state in
        ``stresses`` (of all their cells if none is bone or cement).
    """
    from ..records import tissue_code

    interior = [tissue_code(t) for t in STRESS_RANGE_TISSUES]
    named = [s for s in states if s.name in stresses]
    if not named:
        raise ValueError(f"stresses names none of the states {[s.name for s in states]}")
    values = np.concatenate([np.asarray(stresses[s.name], float)[np.isin(s.materials.tissue, interior)]
                             for s in named])
    if values.size == 0:
        values = np.concatenate([np.asarray(stresses[s.name], float) for s in named])
    lo, hi = np.percentile(values[np.isfinite(values)], STRESS_RANGE_PERCENTILES)
    return float(lo), (float(hi) if hi > lo else float(lo) + 1.0)


def load_text(spec) -> str:
    """The load of a study's ``load`` section in words: "compression test, 0.1 mm platen travel"."""
    if spec.case == "compression":
        return f"compression test, {spec.displacement:g} mm platen travel"
    return f"{spec.case.replace('_', ' ')}, {spec.force:g} N axial force and {spec.moment / 1000:g} N m moment"


def _pictures(states, comparison, out: Path, curves: Mapping, *, load_text: str) -> tuple[dict, dict]:
    """PNG pictures of a study: cement (VP vs KP side by side), fracture overlay, the minimum principal
    strain on the mid-sagittal and mid-frontal cuts per state (``stress_<state>.png``, the name kept),
    needle pressure per treatment, the balloon's pressure–volume curve per kyphoplasty, load–displacement
    curves.
    Returns ``role -> Path`` and ``role -> caption`` (what each picture shows, for the report)."""
    from ..fem.post import principal_strains
    from ..materials.laws import YIELD_STRAIN_COMPRESSION
    from ..output import plots, viz

    files, captions = {}, {}
    by_name = {s.name: s for s in states}
    treated = [s for s in states if s.treatment is not None]
    if "fractured" in by_name:
        files["picture:overlay"] = viz.plot_overlay(by_name["fractured"].mesh, states[0].mesh, out / "fracture.png",
                                                    title="fractured (solid) in intact (wire)")
        captions["picture:overlay"] = ("The fracture: the fractured body (solid) inside the intact body "
                                       "(wireframe), lateral view.")
    vp = next((s for s in treated if not hasattr(s.treatment, "fill")), None)
    kp = next((s for s in treated if hasattr(s.treatment, "fill")), None)
    if vp is not None and kp is not None:
        vf, kf = vp.treatment, kp.treatment.fill
        files["picture:cement"] = viz.plot_side_by_side(
            None, (vf.saturation, kf.saturation), out / "cement.png", titles=(vp.name, kp.name),
            arrival_times=(vf.arrival_time, kf.arrival_time), cavities=(None, kp.treatment.cavity),
            shells=(None, kp.treatment.compacted), meshes=(vp.mesh, kp.mesh),
            notes=[_fill_note(s.mesh, f) for s, f in ((vp, vf), (kp, kf))])
        captions["picture:cement"] = (f"Where the cement went: {vp.name} (vertebroplasty) and {kp.name} "
                                      "(kyphoplasty) side by side, oblique view from anterior-right-above (arrows: "
                                      "anterior, superior, 10 mm). The cement cells (at least half filled) are "
                                      "coloured by the time the cement reached them (s after mixing, one scale for "
                                      "both panels, under them; the model fills the kyphoplasty cavity at once, so its cement "
                                      "takes the start time); the kyphoplasty cavity is drawn as its red outline "
                                      "and its compacted bone shell in translucent orange. Each panel states the "
                                      "cement in the body (mL) and the share of the body's volume it fills.")
    for s in treated:
        fill = s.treatment.fill if hasattr(s.treatment, "fill") else s.treatment
        if s is not vp and s is not kp or vp is None or kp is None:  # not in the side-by-side pair
            files[f"picture:cement:{s.name}"] = viz.plot_cement(
                s.mesh, fill.saturation, out / f"cement_{s.name}.png", title=s.name, arrival_time=fill.arrival_time,
                cavity=getattr(s.treatment, "cavity", None), shell=getattr(s.treatment, "compacted", None),
                note=_fill_note(s.mesh, fill))
            captions[f"picture:cement:{s.name}"] = (f"Where the cement of {s.name} went, coloured by its "
                                                    "arrival time (s).")
        files[f"plot:injection:{s.name}"] = plots.plot_injection(
            fill.times, 1e6 * fill.needle_pressure, fill.injected_history, out / f"injection_{s.name}.png",
            leaked=fill.leaked_history, title=f"{s.name}: needle pressure and cement volume")
        captions[f"plot:injection:{s.name}"] = (
            f"{s.name}: pressure at each needle tip (kPa, left axis, one line per needle) and the injected and "
            "leaked cement volume (mL, right axis) against the time after mixing (s).")
        if hasattr(s.treatment, "pv_curve"):
            from ..treatment.balloon import RATED_PRESSURE

            pv = s.treatment.pv_curve
            files[f"plot:balloon:{s.name}"] = plots.plot_balloon(
                pv[:, 0], pv[:, 1], out / f"balloon_{s.name}.png", rated_pressure=RATED_PRESSURE,
                n_balloons=len(s.treatment.balloons), title=f"{s.name}: balloon inflation")
            captions[f"plot:balloon:{s.name}"] = (
                f"{s.name}: balloon pressure (MPa, left; psi, right) against the cavity it has crushed (mL, the "
                "balloons together), from the crush strength of the bone around the balloons; the dot is the end "
                "of the inflation.")
    _pressure_and_leak_pictures(treated, out, files, captions)
    eps = {s.name: 1e6 * principal_strains(comparison.results[s.name].strain)[:, 0] for s in states
           if s.name in comparison.results}
    if eps:
        lo, hi = stress_range(states, eps)
        p_lo, p_hi = STRESS_RANGE_PERCENTILES
        scale = (f"colours: percentiles {p_lo:g}-{p_hi:g} of trabecular bone and cement, all states "
                 f"({lo:.0f} to {hi:.0f} microstrain); outside values take the end colours")
        for s in states:
            fill = getattr(s.treatment, "fill", s.treatment)
            files[f"picture:stress:{s.name}"] = viz.plot_cuts(
                s.mesh, eps[s.name], out / f"stress_{s.name}.png", clim=(lo, hi), note=scale,
                cement=None if fill is None else fill.saturation,
                title=f"{s.name}: minimum principal strain under the {load_text} (linear elastic)")
            outline = ("the black line on a white halo outlines the cement (cells at least half filled), "
                       if fill is not None else "")
            captions[f"picture:stress:{s.name}"] = (
                f"{s.name}: minimum principal strain (microstrain; negative is compression) on the mid-sagittal "
                f"(left, seen from the right, anterior to the right) and mid-frontal (right, seen from the front, "
                f"the patient's left to the right) cuts under the {load_text} of the stiffness test (linear "
                f"elastic); {outline}arrows mark anterior/left and superior, the bar is 10 mm. Strain rather than "
                "stress: vertebral trabecular "
                "bone yields at a nearly uniform strain whatever its density (the model's "
                f"{-1e6 * YIELD_STRAIN_COMPRESSION:.0f} microstrain, Kopperdahl & Keaveny 1998), so one scale reads "
                "bone of every density and the cement, where a stress scale is set by the stiffest tissue. "
                f"One colour range for all states: the percentiles {p_lo:g} to {p_hi:g} of the strain in "
                f"trabecular bone and cement ({lo:.0f} to {hi:.0f} microstrain); values beyond it take the end "
                "colours.")
    if "fractured" in comparison.results:
        f = by_name["fractured"]
        files["picture:deformed:fractured"] = viz.plot_deformed(
            f.mesh, comparison.results["fractured"].displacement, out / "deformed_fractured.png",
            title=f"fractured under the {load_text}")
        captions["picture:deformed:fractured"] = (
            f"The fractured body under the {load_text}, seen from the right (arrows: anterior, superior, 10 mm): "
            "the deformed shape, displacements magnified (the factor in the picture) and coloured by their "
            "magnitude (mm), over the undeformed outline.")
    if curves:
        files["plot:load_displacement"] = plots.plot_load_displacement(
            {n: (c.displacement, c.force) for n, c in curves.items()}, out / "load_displacement.png",
            title="compression to failure")
        captions["plot:load_displacement"] = (
            f"Compression to failure of every state ({', '.join(curves)}): platen force (N) against platen travel "
            "(mm) of the elastic-plastic test; triangles mark the peak force (the strength), circles the 0.2 % "
            "offset yield point.")
    return files, captions


def _pressure_and_leak_pictures(treated, out: Path, files: dict, captions: dict) -> None:
    """Syringe and needle-tip pressure of every treatment in one chart (``pressures.png``) and, for each
    treatment whose cement leaked, the cement at the first leak with its path (``first_leak_<state>.png``).
    Adds to ``files`` and ``captions`` in place."""
    from ..output import plots

    press = {}
    for s in treated:
        fill = getattr(s.treatment, "fill", s.treatment)
        if fill.syringe_pressure is not None and np.any(np.isfinite(fill.syringe_pressure)):
            press[s.name] = (fill.times, 1e6 * np.asarray(fill.syringe_pressure), 1e6 * np.asarray(fill.needle_pressure))
    if press and all(np.asarray(t).size >= 2 for t, _, _ in press.values()):
        files["plot:pressures"] = plots.plot_pressures(press, out / "pressures.png",
                                                       title="syringe and needle-tip pressure")
        captions["plot:pressures"] = (
            f"Pressure against the time after mixing (s) for {', '.join(press)}: at the syringe (top; the tip "
            "pressure plus the cannula's Hagen-Poiseuille / power-law drop at the cement's viscosity at that "
            "time) and at the needle tip in the bone (bottom), kPa; with two needles the larger. A kyphoplasty "
            "has no line while its cement fills the balloon cavity, whose pressure the model does not resolve.")
    for s in treated:
        fill = getattr(s.treatment, "fill", s.treatment)
        drawn = first_leak_picture(s.mesh, fill, out / f"first_leak_{s.name}.png", title=f"{s.name}: first leak")
        if drawn is not None:
            files[f"picture:first_leak:{s.name}"], outlet = drawn
            captions[f"picture:first_leak:{s.name}"] = (
                f"{s.name}: the cement (translucent, coloured by its arrival time, s after mixing) at the moment "
                f"the leaked volume first exceeded the detection threshold, through {outlet}; the path by which "
                "cement reached that outlet first is red, the outlet's cells magenta, the vertebra translucent.")


def first_leak_picture(mesh, fill, path, *, title: str | None = None):
    """Draw the cement of ``fill`` at its first leak (:func:`vbfem.output.viz.plot_first_leak`).

    The leak time is the first recorded time at which the leaked volume exceeds
    :data:`vbfem.treatment.outlets.LEAK_DETECTION` (as :func:`vbfem.treatment.outlets.leak_summary`
    counts it); the outlet is the one that had leaked most by then; its cells come from
    ``fill.params["outlet_cells"]`` (written by :func:`vbfem.treatment.vertebroplasty.simulate_vertebroplasty`)
    or the mesh's cell set of that name; the path is :func:`vbfem.treatment.outlets.leak_path`. The view is
    oblique from the outlet's side of the body.

    Returns
    -------
    (Path, str) or None
        The picture and the outlet's name; None when the cement did not leak (or the outlet's cells are
        unknown).
    """
    from ..output import viz
    from ..treatment.outlets import LEAK_DETECTION, leak_path

    leaked = np.asarray(fill.leaked_history, float)
    over = leaked > LEAK_DETECTION
    if not over.any():
        return None
    k = int(np.argmax(over))
    t_leak = float(np.asarray(fill.times, float)[k])
    cells_of = {**{n: c for n, c in mesh.cell_sets.items() if n.startswith("outlet_")},
                **dict(fill.params.get("outlet_cells") or {})}
    hist = fill.params.get("leaked_outlets_at_first_leak") or {}
    names = [n for n in (hist or fill.leaked) if n in cells_of]
    if not names:
        return None
    amount = hist if hist else fill.leaked
    name = max(names, key=lambda n: amount[n])
    outlet = np.asarray(cells_of[name], np.int64)
    route = leak_path(mesh, fill.arrival_time, outlet, until=t_leak)
    note = f"{1e-3 * leaked[k]:.3f} mL out at {t_leak:.0f} s after mixing, through {name}"
    # seen from the outlet's side (anterior-above, from the right or from the left), so that it is in front
    side = float(np.mean(mesh.points[mesh.cells[outlet]][..., 1]))
    view = "oblique_left" if side > 0 else "oblique"
    return viz.plot_first_leak(mesh, fill.arrival_time, t_leak, route, outlet, path, title=title, note=note,
                               view=view), name


def _fill_note(mesh, fill) -> str:
    """The cement in the body of a fill and the share of the body it fills, for a cement picture."""
    from ..output.viz import fill_summary

    ml, pct = fill_summary(mesh, fill.fraction)
    return f"{ml:.2f} mL cement in the body, {pct:.1f} % of its volume"


def _report(study: Study, rows, pictures: Mapping, out: Path, *, captions: Mapping, record: Mapping) -> Path:
    """The study's single-file HTML report: the main results with their units, the other columns, the
    pictures with captions, the resolved study as TOML and the provenance."""
    from .. import __version__
    from ..output.report import Report
    from .columns import column_unit, summary_columns
    from .limits import limit_marks

    rep = Report(f"vbfem study {study.name!r}")
    rep.add_text(f"{study.geometry.surface or study.geometry.level}, {study.bone.bmd} bone ({study.bone.law}), "
                 f"fracture {study.fracture.kind}"
                 + (f" grade {study.fracture.grade}" if study.fracture.grade else
                    f" height loss {study.fracture.height_loss}" if study.fracture.height_loss else "")
                 + f"; {study.mesh.cell_type} mesh size {study.mesh.size} mm; load: {load_text(study.load)}; "
                 f"strength: {study.load.strength}; seed {study.seed}; vbfem {__version__}.")
    rep.add_heading("Stiffness, strength and cement")
    summary = [c for c in summary_columns(study.load.strength) if any(c[0] in r for r in rows)]
    kinds = {"intact": "intact", "fractured": "fractured", **{t.name: t.kind for t in study.treatments}}
    marks, notes = limit_marks(rows, kinds, strength=study.load.strength)
    rep.add_table(list(rows), columns=[k for k, _, _ in summary], headers={k: h for k, h, _ in summary},
                  formats={k: f for k, _, f in summary}, marks=marks, footnotes=notes,
                  caption="% restored = (treated - fractured) / (intact - fractured); '–' where a state has no "
                          "value; a number marks a value one of the model's known limits (listed below) "
                          "qualifies. Every column, full precision: results.csv (units: results_units.json).")
    shown = {k for k, _, _ in summary}
    rest = [c for c in table_columns(rows) if c not in shown]
    if rest:  # one line per column, one column per state: as wide as the main table, however many columns
        names = [str(r["state"]) for r in rows]
        rep.add_table([{"column": c, "unit": column_unit(c), **{n: r.get(c) for n, r in zip(names, rows)}}
                       for c in rest], columns=["column", "unit", *names],
                      marks={(rest.index(c), names[i]): k for (i, c), k in marks.items() if c in rest},
                      footnotes=notes, caption="The other columns of results.csv, a line each (4 significant "
                                               "digits; '–' where a state has no value).")
    if pictures:
        rep.add_heading("Pictures")
        for role, path in pictures.items():
            rep.add_image(path, caption=captions.get(role, role.split(":", 1)[1].replace(":", " ")))
    rep.add_heading("Study (resolved, with defaults)")
    rep.add_code(dumps_study(study), caption="study.toml: rerun it with 'vbfem run study.toml'; commented keys "
                                              "show derived values and stay unset.")
    rep.add_heading("Provenance")
    facts = {k: v for k, v in record.items() if k not in ("study", "timings_s")}
    facts["command"] = " ".join(facts.get("command") or [])
    rep.add_table([{"item": k, "value": "–" if v is None else str(v)} for k, v in facts.items()],
                  caption="provenance.json (which also holds the time of writing these files)")
    timings = record.get("timings_s") or {}
    if timings:
        rep.add_table([{"stage": k, "seconds": float(v)} for k, v in timings.items()],
                      formats={"seconds": "{:.2f}"}, caption="wall-clock time per stage, s")
    return rep.to_html(out / "report.html")
