"""Kyphoplasty: balloon inflation, cavity growth, bone compaction, height restoration, cavity fill.

:func:`simulate_kyphoplasty` is the pipeline's kyphoplasty treatment stage. It
runs four plain stages, each usable alone:

1. :func:`place_balloons` - one or two balloons along the transpedicular
   paths of :class:`vbfem.anatomy.geometry.Geometry` (``pedicle_entry(side)``,
   ``needle_axis(side)``).
2. :func:`inflate` - the cavity the balloons crush, and the balloon
   pressure-volume curve.
3. :func:`compact` - the crushed bone's mass moved into a compacted shell.
4. :func:`restore_height` (:mod:`vbfem.treatment.restoration`) - the collapsed endplate of a fracture partly
   lifted back towards the intact shape.

then fills the cavity, and any part of a cleft it opened into, with cement
and lets the excess interdigitate through the two-phase flow model of
:mod:`vbfem.treatment.flow` (same outlets as vertebroplasty: every
``"outlet_*"`` cell set).

Cavity growth (invasion by crushing): see :mod:`vbfem.treatment.balloon`.

Compaction
----------
The crushed bone is not removed: its mass is pushed into a shell of
trabecular (or damaged) cells around the cavity. Shell cells are filled,
layer by face-neighbour layer outward, to the compacted density
``ρ / (1 - ε_c)`` with ``ε_c = compaction_strain`` (default 0.5,
**assumption**: trabecular bone densifies after about 50-60 % strain, Gibson &
Ashby, Cellular Solids 1997; unverified for vertebral bone); in the last
layer only the share of each cell's bone that the remainder fills is
compacted, on its side towards the cavity, so mass is conserved exactly and
the shell thickness follows from it. The compacted bone's modulus scales by
the density-modulus law of the materials (``E' = E · E_law(ρ')/E_law(ρ)``,
keeping damage and heterogeneity factors); a cell of the last layer is the
laminate of its compacted share and its uncompacted rest, layered normal to
the direction towards the cavity (axial modulus,
:func:`vbfem.materials.laminate.axial_modulus`, the composite voxel of Kabel
et al. 2015, as for the fracture's damaged band). Spreading the remainder
uniformly over the last layer instead (an earlier version) made the
shell's stiffness depend on how the layers fell in the mesh (issue 18).
Its porosity and Kozeny-Carman permeability fall with the raised density (computed by :func:`vbfem.materials.porous.porous_medium` from
``MaterialMap.density``). The cavity is resolved inside the cells (a
fraction ``c`` per cell, :mod:`vbfem.treatment.balloon`): the crushed mass is ``Σ c ρ
V``; the first shell layer is the bone part ``(1 - c) V`` of the cells the
cavity's wall cuts, then the face-neighbour layers outward. A cut cell keeps
its bone part in the material map (density = that part's mass over the
cell's volume, so its porosity is ``c + (1 - c) φ_bone``; modulus = the bone
part's); cells wholly inside become ``"void"`` with density 0 and modulus
:func:`vbfem.materials.bone.void_modulus` (a small fraction of the median
trabecular modulus). The mesh does not move: cavity and shell are element
fields, as for every treatment (DESIGN.md).

Height restoration: see :mod:`vbfem.treatment.restoration` (:func:`restore_height`, :func:`lifted_cavity`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from ..fem.cells import cell_centroids, cell_volumes
from ..fem.faces import connected_to
from ..materials.bone import void_modulus
from ..materials.laminate import axial_modulus
from ..materials.laws import DEFAULT_STRENGTH_LAW, modulus_from_density
from ..materials.porous import porous_medium
from ..records import CementFill, MaterialMap, Mesh, tissue_code
from .balloon import (
    BALLOON_START,
    RATED_PRESSURE,
    _cavity_fraction,
    _face_pairs,
    _modulus_law,
    _number,
    _tissue,
    cavity_cells,
    inflate,
    place_balloons,
)
from .restoration import lifted_cavity, restore_height

log = logging.getLogger(__name__)

__all__ = [
    "COMPACTION_STRAIN", "Compaction", "KyphoplastyResult", "compact", "fill_cavity", "simulate_kyphoplasty",
]

#: Densification strain of crushed trabecular bone (assumption; Gibson & Ashby
#: 1997 put foam densification at 50-90 % strain depending on density).
COMPACTION_STRAIN = 0.5


# ----------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class Compaction:
    """Compacted shell around a cavity.

    Attributes
    ----------
    materials : MaterialMap
        Cavity void, shell ``"compacted"`` with raised density and modulus.
    compacted : ndarray of bool (n_cells,)
    crushed_mass : float
        Bone mass moved out of the cavity, g (density g/cm³ times mm³ / 1000).
    layers : int
        Number of face-neighbour layers of the shell.
    thickness : float
        Mean shell thickness, mm: mean distance of the shell centroids from
        the nearest cavity centroid.
    """

    materials: MaterialMap
    compacted: np.ndarray
    crushed_mass: float
    layers: int
    thickness: float


@dataclass(frozen=True, eq=False)
class KyphoplastyResult:
    """Everything :func:`simulate_kyphoplasty` produced.

    ``mesh`` and ``materials`` are the treated (possibly height-restored,
    compacted) state to which ``with_cement(materials, fill, cement)`` is
    applied for the mechanics.

    Attributes
    ----------
    mesh : Mesh
    materials : MaterialMap
    fill : CementFill
        Same record as vertebroplasty; ``metrics`` adds cavity and fill metrics.
    cavity, compacted : ndarray of bool (n_cells,)
        The cells at least half cavity (cell set ``"cavity"``) and the
        compacted shell (cell set ``"compacted"``).
    cavity_fraction : ndarray (n_cells,)
        Cavity fraction of each cell (the cavity's wall is resolved inside
        the cells; :mod:`vbfem.treatment.balloon`).
    pv_curve : ndarray (k, 2)
        Cavity volume (mL) and balloon pressure (MPa).
    balloons : tuple of Balloon
    height_restored_mm, height_restored_fraction, anterior_height : float
        Anterior height gained (mm), fraction of the lost anterior height
        restored, anterior height after restoration (mm; NaN for an
        unfractured body or without ``intact``).
    interdigitation_depth : float
        Largest distance (mm) from the cavity (the cells at least half cavity)
        of a cell whose bone holds cement beyond the cavity's share, at least
        5 % of its pore space; 0 if none.
    """

    mesh: Mesh
    materials: MaterialMap
    fill: CementFill
    cavity: np.ndarray
    cavity_fraction: np.ndarray
    compacted: np.ndarray
    pv_curve: np.ndarray
    balloons: tuple
    height_restored_mm: float
    height_restored_fraction: float
    anterior_height: float
    interdigitation_depth: float
    params: Mapping[str, object] = field(default_factory=dict)


# ----------------------------------------------------------------- stage 3
def compact(mesh: Mesh, materials: MaterialMap, cavity, *, compaction_strain: float = COMPACTION_STRAIN,
            normal=None) -> Compaction:
    """Move the crushed bone's mass into a compacted shell (module docstring).

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
    cavity : array_like (n_cells,)
        Cavity fraction of each cell in [0, 1] (:attr:`Inflation.fraction`;
        a boolean mask means whole cells).
    compaction_strain : float, keyword-only
        Densification strain ``ε_c`` in (0, 1): shell density ``ρ/(1-ε_c)``.
    normal : array_like (n_cells, 3), optional, keyword-only
        The cavity wall's normal in the cells it cuts (:attr:`Inflation.normal`), the layering
        direction of a partly compacted cell the wall cuts; elsewhere the direction towards the
        nearest cell holding cavity. Default: that direction everywhere, and the series mix
        (no direction) in the cells the wall cuts.

    Returns
    -------
    Compaction
        A cell the cavity's wall cuts keeps, in ``materials``, its bone part:
        ``density`` is that part's mass over the cell's volume, ``E`` and
        ``nu`` are the bone part's, and the cavity share is ``cavity``'s
        (:func:`vbfem.materials.cement.with_cement` lays cement into it).
    """
    eps = _number(compaction_strain, "compaction_strain", lo=0, unit="")
    if eps >= 1:
        raise ValueError(f"compaction_strain={compaction_strain!r} must be < 1")
    c = _cavity_fraction(cavity, mesh)
    vol = cell_volumes(mesh)
    tissue = _tissue(materials).copy()
    rho = np.array(materials.require_density("compact (kyphoplasty compaction)"), float)
    rho_c = np.where(np.isfinite(rho), rho, 0.0)
    mass_cav = float(np.sum(c * rho_c * vol))  # g/cm³ · mm³
    host = np.isin(tissue, [tissue_code(t) for t in ("trabecular", "damaged", "compacted")]) & (c < 1) \
        & np.isfinite(rho) & (rho > 0)
    bone = (1.0 - c) * vol  # the bone part of each cell, mm³
    fi, fj = _face_pairs(mesh)
    added = np.zeros(mesh.n_cells)
    part = np.zeros(mesh.n_cells)  # the compacted share of each shell cell's bone
    front = c > 0
    visited = front.copy()
    layer = front & host  # the first layer is the bone of the cells the wall cuts
    remaining = mass_cav
    layers = 0
    while remaining > 0:  # loop over shell layers (a few), not over cells
        if layer.any():
            cap = rho[layer] * bone[layer] * eps / (1.0 - eps)
            total = float(cap.sum())
            share = min(1.0, remaining / total)
            added[layer] = share * cap
            part[layer] = share
            remaining -= share * total
            layers += 1
            if share < 1.0:
                break
        nxt = np.zeros(mesh.n_cells, bool)
        nxt[fj[front[fi]]] = True
        nxt[fi[front[fj]]] = True
        nxt &= ~visited
        if not nxt.any():
            raise ValueError(f"compaction: no room for {remaining / 1000:.3g} g of crushed bone around the cavity "
                             f"(compaction_strain={eps:g}); inflate less")
        visited |= nxt
        layer = nxt & host
        front = nxt & host
    compacted = added > 0
    void = c >= 1
    rho_b = rho.copy()  # density of the bone part
    rho_b[compacted] = rho[compacted] + added[compacted] / bone[compacted]
    new_rho = np.where(void, 0.0, rho_b * (1.0 - c))
    law = _modulus_law(materials)
    E = np.array(materials.E, float)
    full = np.minimum(rho[compacted] / (1.0 - eps), 2.0)  # the compacted bone's density
    E_full = E[compacted] * (modulus_from_density(full, law, density_type="apparent")
                             / modulus_from_density(rho[compacted], law, density_type="apparent"))
    partly = np.flatnonzero(compacted)[part[compacted] < 1.0]
    E[compacted] = E_full
    if partly.size:  # the last layer: laminate of its compacted share and the rest (module docstring)
        nu = np.asarray(materials.nu, float)[partly]
        E[partly] = axial_modulus(E_full[part[compacted] < 1.0], nu, np.asarray(materials.E, float)[partly], nu,
                                  part[partly], _towards_cavity(mesh, c, partly, normal))
    E[void] = void_modulus(materials)
    tissue[compacted] = tissue_code("compacted")
    tissue[void] = tissue_code("void")
    x = cell_centroids(mesh)
    wall = cavity_cells(c)
    shell = compacted & ~wall
    thick = float(np.mean(cKDTree(x[wall]).query(x[shell])[0])) if shell.any() and wall.any() else 0.0
    params = {**materials.params, "kyphoplasty_compaction": {
        "compaction_strain": eps, "crushed_mass_g": mass_cav / 1000.0, "layers": layers,
        "n_compacted": int(compacted.sum()), "n_cavity": int(void.sum()), "n_wall": int(((c > 0) & ~void).sum()),
        "modulus_law": law.name,
        "source": "mass-conserving shell, densification strain assumed (Gibson & Ashby 1997)"}}
    mats = materials.replace(E=E, tissue=tissue, density=new_rho, params=params)
    return Compaction(materials=mats, compacted=compacted, crushed_mass=mass_cav / 1000.0, layers=layers,
                      thickness=thick)


def _towards_cavity(mesh: Mesh, c: np.ndarray, cells: np.ndarray, normal=None) -> np.ndarray:
    """Unit directions (len(cells), 3) from ``cells`` towards the cavity (fractions ``c``): the wall's
    ``normal`` in the cells it cuts (zero without one), else towards the nearest cell holding cavity."""
    out = np.zeros((cells.size, 3))
    held = np.flatnonzero(c > 0)
    if held.size == 0:
        return out
    inside = c[cells] > 0
    if normal is not None:
        out[inside] = np.asarray(normal, float)[cells[inside]]
    x = cell_centroids(mesh)
    rest = cells[~inside]
    if rest.size:
        v = x[held[cKDTree(x[held]).query(x[rest])[1]]] - x[rest]
        out[~inside] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def _opened_void(materials: MaterialMap, medium, c: np.ndarray, share: np.ndarray, fi: np.ndarray,
                 fj: np.ndarray) -> np.ndarray:
    """Pore space (mm³ per cell) of the void the cavity opened into, beyond the cavity's ``share``.

    A void (an intravertebral cleft, :func:`vbfem.fracture.deformity.apply_fracture`) has no crush
    resistance, so the balloon opens all of it that it reaches at one pressure and takes of it only what its
    volume holds (:mod:`vbfem.treatment.balloon`); the rest stays open, one space with the cavity. Its cells:
    the void flow cells face-connected through void cells to a void cell that holds cavity (``c > 0``). A
    cleft that only touches the cavity's cells, none of its own cells cut by the cavity, is not opened: the
    balloon did not reach into it, and the cement reaches it only by the flow through the bone between.
    """
    void = (_tissue(materials) == tissue_code("void")) & medium.flow
    rest = np.zeros(c.size)
    if not (void & (c > 0)).any():
        return rest
    opened = void & connected_to(fi, fj, c.size, np.flatnonzero(void & (c > 0)), keep=void)
    rest[opened] = np.maximum(medium.porosity[opened] * medium.volume[opened] - share[opened], 0.0)
    return rest


# ----------------------------------------------------------------- stage 5
def fill_cavity(mesh: Mesh, materials: MaterialMap, geometry, balloons, inflation_order, cavity, *, volume: float,
                normal=None, cement="pmma", rate: float | None = None, start: float = 480.0,
                **vp_options) -> CementFill:
    """Fill the cavity with cement, then let the excess interdigitate (same flow model as vertebroplasty).

    The cavity is filled first, in the order it was crushed, at negligible
    pressure (its history points carry NaN needle pressure: the flow in the
    void is not resolved). A cell the cavity's wall cuts takes cement into
    its cavity share ``c V`` of its pore space first. Then, still at
    negligible pressure, the void the cavity opened into: a cleft larger
    than what the balloons took stays open, one space with the cavity
    (:func:`_opened_void`; nearest the cavity first). Clefts fill with
    cement wherever the needle is (all 44 clefts of Krauss et al., Eur
    Radiol 2006;16:1015, vertebroplasty); on cells as coarse as the cavity's
    cut the flow would otherwise see the cavity's path to the cleft only as
    its cut cells' bone. Cement beyond these is injected through
    :func:`vbfem.treatment.vertebroplasty.simulate_vertebroplasty` with the filled
    cavity as initial saturation, one needle per balloon with its tip at the
    balloon's middle, starting when the cavity is full.

    Parameters
    ----------
    cavity : array_like (n_cells,)
        Cavity fraction of each cell (:attr:`Inflation.fraction`; or a boolean mask).
    volume : float
        Cement volume, mL, in all.
    normal : array_like (n_cells, 3), optional
        The cavity wall's normal in the cells it cuts (:attr:`Inflation.normal`),
        kept in the fill for :func:`vbfem.materials.cement.with_cement`.
    cement : Cement or str
    rate : float, optional
        Injection rate, mL/min in all (default :data:`vbfem.treatment.needles.INJECTION_RATE` per balloon).
    start : float
        Start of the injection, s after mixing (default 480 s: kyphoplasty
        cement is injected later, more viscous, than in vertebroplasty; assumption).
    **vp_options
        Passed to :func:`vbfem.treatment.vertebroplasty.simulate_vertebroplasty`.

    Returns
    -------
    CementFill
        With ``cavity`` and ``cavity_normal`` set; ``metrics`` adds ``cavity_cement_volume`` and
        ``opened_void_cement_volume`` (mm³: the cement placed there before the excess flows; the flow may move
        some of it on, e.g. out of a cleft through an endplate crack it touches), ``opened_void_pore_volume``
        (mm³), ``interdigitated_volume`` (in the
        bone beyond both) and ``interdigitation_depth``; ``params["kyphoplasty"]`` gives
        ``cavity_fill_start_s`` (the injection's start) and ``cavity_fill_end_s`` (when the cavity and the
        void it opened are full and the excess starts to flow), both s after mixing, and ``rate_ml_min``.
    """
    from ..materials.cement import cement_preset
    from .needles import INJECTION_RATE, Needle
    from .outlets import leak_summary
    from .vertebroplasty import simulate_vertebroplasty

    cement = cement_preset(cement)
    volume = _number(volume, "volume", lo=0, unit="mL")
    nb = len(balloons)
    rate = INJECTION_RATE * nb if rate is None else _number(rate, "rate", lo=0, unit="mL/min")
    start = _number(start, "start", lo=0, lo_open=False, unit="s")
    c = _cavity_fraction(cavity, mesh)
    normal = np.zeros((mesh.n_cells, 3)) if normal is None else np.asarray(normal, float)
    if normal.shape != (mesh.n_cells, 3):
        raise ValueError(f"normal must have shape ({mesh.n_cells}, 3), got {normal.shape}")
    medium = porous_medium(mesh, materials)
    pv = medium.porosity * medium.volume
    share = np.minimum(c * medium.volume, pv)  # the cavity's share of each cell's pore space, mm³
    order = np.asarray(inflation_order, np.int64)
    order = order[(c[order] > 0) & medium.flow[order]]
    cum = np.cumsum(share[order])
    pv_cav = float(cum[-1]) if cum.size else 0.0
    V = 1000.0 * volume
    # reachable pore space: flow cells connected to the cavity
    fi, fj = _face_pairs(mesh)
    reach = float(pv[connected_to(fi, fj, mesh.n_cells, order, keep=medium.flow)].sum()) if order.size else 0.0
    if V > reach:
        raise ValueError(f"volume={volume:g} mL of cement is more than the cavity ({pv_cav / 1000:.3g} mL) plus the "
                         f"pore volume reachable from it ({(reach - pv_cav) / 1000:.3g} mL)")
    # the cavity first, in the order it was crushed, then the void it opened into, nearest the cavity first
    rest = _opened_void(materials, medium, c, share, fi, fj)
    opened = np.flatnonzero(rest > 0)
    if opened.size:
        opened = opened[np.argsort(cKDTree(medium.centroid[c > 0]).query(medium.centroid[opened])[0], kind="stable")]
    cells = np.concatenate([order, opened])
    amount = np.concatenate([share[order], rest[opened]])
    before = np.cumsum(amount) - amount
    filled = np.clip(V - before, 0.0, amount)  # each entry's cement, mm³
    s0 = np.zeros(mesh.n_cells)
    np.add.at(s0, cells, filled / pv[cells])
    in_cav = float(filled[:order.size].sum())
    in_void = float(filled[order.size:].sum())
    in_cav_total = in_cav + in_void
    t_cav = start + 60.0 * in_cav_total / 1000.0 / rate
    excess = V - in_cav_total
    if excess > 1e-9 * V:
        needles = []
        for b in balloons:
            mid = 0.5 * (np.asarray(b.start) + np.asarray(b.end))
            entry = np.asarray(geometry.pedicle_entry(b.side)) if geometry is not None else np.asarray(b.start)
            needles.append(Needle(f"kyphoplasty_{b.side}", entry, mid, rate=rate / nb, volume=excess / 1000.0 / nb,
                                  start=t_cav))
        res = simulate_vertebroplasty(mesh, materials, geometry, needles=tuple(needles), cement=cement,
                                      saturation=s0, **vp_options)
        times = np.concatenate([[start], res.times])
        inj = np.concatenate([[0.0], in_cav_total + res.injected_history])
        body = np.concatenate([[0.0], in_cav_total + res.body_history])
        leak_h = np.concatenate([[0.0], res.leaked_history])
        npress = np.vstack([np.full((1, nb), np.nan), np.asarray(res.needle_pressure).reshape(len(res.times), -1)])
        spress = np.vstack([np.full((1, nb), np.nan), np.asarray(res.syringe_pressure).reshape(len(res.times), -1)])
        s, frac, arrival, leaked = res.saturation, res.fraction, np.array(res.arrival_time), dict(res.leaked)
        metrics, params = dict(res.metrics), dict(res.params)
        metrics["first_leak_time"] = metrics["first_leak_time"] + t_cav - start  # from the cavity fill's start
        injected = in_cav_total + res.injected
    else:
        from .vertebroplasty import fill_metrics
        s = s0
        frac = s * medium.porosity
        arrival = np.where(s0 >= 0.5, start, np.nan)
        times = np.array([start, t_cav])
        inj = body = np.array([0.0, in_cav_total])
        leak_h = np.zeros(2)
        npress = np.full((2, nb), np.nan)
        spress = np.full((2, nb), np.nan)
        leaked = {name: 0.0 for name in medium.outlets}
        metrics, params = fill_metrics(mesh, medium, s), {"cement": dataclasses.asdict(cement)}
        metrics.update(leak_summary([], np.zeros((0, len(medium.outlets))), tuple(medium.outlets), start=start))
        metrics["mass_error"] = 0.0  # the cavity and its opened void hold all the cement: nothing flowed
        injected = in_cav_total
    arrival = np.where(((c > 0) | (rest > 0)) & (s0 >= 0.5), start, arrival)
    x = medium.centroid
    beyond = np.maximum(s * pv - share - rest, 0.0)  # in the bone's pores, beyond the cavity and opened void
    outside = (beyond > 0) & (beyond >= 0.05 * pv)
    core = cavity_cells(c)
    depth = float(cKDTree(x[core]).query(x[outside])[0].max()) if outside.any() and core.any() else 0.0
    metrics.update(cavity_cement_volume=in_cav, cavity_pore_volume=pv_cav, opened_void_cement_volume=in_void,
                   opened_void_pore_volume=float(rest.sum()), interdigitation_depth=depth,
                   interdigitated_volume=float(beyond.sum()),
                   leaked_fraction=float(sum(leaked.values()) / max(injected, 1e-30)))
    params.update(kyphoplasty={"balloons": [b.__dict__ for b in balloons], "cavity_fill_start_s": start,
                               "cavity_fill_end_s": t_cav, "rate_ml_min": rate})
    return CementFill(saturation=s, fraction=frac, arrival_time=arrival, injected=injected, leaked=leaked,
                      times=times, needle_pressure=npress, injected_history=inj, body_history=body,
                      leaked_history=leak_h, metrics=metrics, params=params, cavity=c, cavity_normal=normal,
                      syringe_pressure=spress)


# ----------------------------------------------------------------- pipeline
def simulate_kyphoplasty(mesh: Mesh, materials: MaterialMap, geometry, *, balloons="bipedicular",
                         balloon_length: float = 15.0, inflation_volume: float | None = 3.0,
                         inflation_pressure: float | None = None, rated_pressure: float = RATED_PRESSURE,
                         cement="pmma", volume: float = 6.0, intact: Mesh | None = None,
                         restoration: float | None = None, allow_breach: bool = False,
                         strength_law=DEFAULT_STRENGTH_LAW, compaction_strain: float = COMPACTION_STRAIN,
                         balloon_start: float = BALLOON_START, rate: float | None = None, start: float = 480.0,
                         balloon_offset=None, **vp_options) -> KyphoplastyResult:
    """Balloon kyphoplasty: inflate, compact, lift, fill (module docstring).

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
        Intact or fractured body (:func:`vbfem.fracture.deformity.apply_fracture`).
    geometry : vbfem.anatomy.geometry.Geometry
        Transpedicular paths and the basivertebral outlet.
    balloons : {"bipedicular", "unipedicular", "left", "right"}
    balloon_length : float
        Nominal length, mm (:data:`BALLOON_LENGTHS`).
    inflation_volume : float
        Per balloon, mL (set None to inflate to ``inflation_pressure``).
    inflation_pressure : float
        MPa, at most ``rated_pressure`` (default 700 psi, :data:`RATED_PRESSURE`).
    cement : Cement or str
    volume : float
        Cement volume in all, mL.
    intact : Mesh, optional
        The intact mesh the fracture was applied to; needed to restore height.
    restoration : float, optional
        User-given restored fraction of the lost height (default from the
        balloon force against the fracture's resistance).
    allow_breach : bool
        Let the balloon crush cortex and endplates.
    strength_law, compaction_strain, balloon_start, rate, start
        See :func:`inflate`, :func:`compact`, :func:`place_balloons`, :func:`fill_cavity`.
    balloon_offset : array_like (3,), optional
        Translation (dx, dy, dz) mm of the balloons off their paths (``offset`` of :func:`place_balloons`).
    **vp_options
        Passed to :func:`vbfem.treatment.vertebroplasty.simulate_vertebroplasty` (e.g. ``outlets``).

    Returns
    -------
    KyphoplastyResult
        Treated mesh and materials (apply ``with_cement(result.materials,
        result.fill, cement)``), the CementFill, cavity/compacted masks,
        pressure-volume curve and height restored.
    """
    t0 = time.perf_counter()
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a vbfem Mesh, got {type(mesh).__name__}")
    if not isinstance(materials, MaterialMap) or materials.n_cells != mesh.n_cells:
        raise TypeError("materials must be a vbfem MaterialMap with one entry per mesh cell")
    if inflation_pressure is not None:
        inflation_volume = None
    _number(volume, "volume", lo=0, unit="mL")
    materials.require_density("simulate_kyphoplasty (crush resistance, compaction, porosity)")
    bal = place_balloons(geometry, balloons=balloons, length=balloon_length, start=balloon_start,
                         offset=balloon_offset)
    infl = inflate(mesh, materials, bal, volume=inflation_volume, pressure=inflation_pressure,
                   rated_pressure=rated_pressure, strength_law=strength_law, allow_breach=allow_breach)
    out_mesh, out_mats = mesh, materials
    frac_r, mm_r = 0.0, 0.0
    h_a = float("nan")  # measured only for a fractured body (nothing to restore otherwise)
    if "fracture" in materials.params:
        if intact is None:
            if restoration is not None:
                raise ValueError("restoration needs intact=, the intact mesh the fracture was applied to")
            log.warning("simulate_kyphoplasty: fractured body without intact=: no height restoration computed")
        else:
            hr = restore_height(mesh, materials, intact, cavity=infl.fraction, pressure=infl.final_pressure,
                                fraction=restoration, strength_law=strength_law)
            out_mesh, out_mats = hr.mesh, hr.materials
            frac_r, mm_r, h_a = hr.fraction, hr.restored_mm, hr.anterior_height
            if hr.fraction > 0:
                infl = lifted_cavity(out_mesh, infl, mesh)
    elif restoration is not None:
        raise ValueError("restoration: the body is not fractured (materials.params has no 'fracture' record)")
    comp = compact(out_mesh, out_mats, infl.fraction, compaction_strain=compaction_strain, normal=infl.normal)
    out_mats = comp.materials
    fill = fill_cavity(out_mesh, out_mats, geometry, bal, infl.order, infl.fraction, volume=volume,
                       normal=infl.normal, cement=cement, rate=rate, start=start, **vp_options)
    cavity = infl.cavity
    underfill = max(0.0, 1.0 - 1000.0 * volume / infl.cavity_volume) if infl.cavity_volume > 0 else 0.0
    if underfill > 0.01:
        warnings.warn(f"simulate_kyphoplasty: {volume:g} mL of cement leaves {100 * underfill:.0f} % of the "
                      f"{infl.cavity_volume / 1000:.2f} mL cavity empty: an unfilled cavity is a void, and the body "
                      "can end up less stiff than the fractured one; give volume >= the cavity",
                      UserWarning, stacklevel=2)
    out_mesh = out_mesh.replace(cell_sets={**out_mesh.cell_sets, "cavity": np.flatnonzero(cavity),
                                           "compacted": np.flatnonzero(comp.compacted)})
    log.info("simulate_kyphoplasty: cavity %.2f mL at %.2f MPa, %d shell cells, height +%.2f mm (%.0f %%), %.1f s",
             infl.cavity_volume / 1000, infl.final_pressure, int(comp.compacted.sum()), mm_r, 100 * frac_r,
             time.perf_counter() - t0)
    return KyphoplastyResult(mesh=out_mesh, materials=out_mats, fill=fill, cavity=cavity,
                             cavity_fraction=infl.fraction, compacted=comp.compacted, pv_curve=infl.pv_curve, balloons=bal,
                             height_restored_mm=mm_r, height_restored_fraction=frac_r, anterior_height=h_a,
                             interdigitation_depth=float(fill.metrics["interdigitation_depth"]),
                             params={"inflation_volume_ml": inflation_volume, "inflation_pressure_MPa": infl.final_pressure,
                                     "rated_pressure_MPa": rated_pressure, "balloon_length_mm": balloon_length,
                                     "cavity_volume_mm3": infl.cavity_volume, "crushed_mass_g": comp.crushed_mass,
                                     "cavity_unfilled_fraction": underfill,
                                     "shell_layers": comp.layers, "shell_thickness_mm": comp.thickness,
                                     "strength_law": str(strength_law), "compaction_strain": compaction_strain,
                                     "allow_breach": allow_breach})
