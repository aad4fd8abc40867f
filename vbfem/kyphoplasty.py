"""Kyphoplasty: balloon inflation, cavity growth, bone compaction, height restoration, cavity fill.

:func:`simulate_kyphoplasty` is the pipeline's kyphoplasty treatment stage. It
runs four plain stages, each usable alone:

1. :func:`place_balloons` - one or two balloons along the transpedicular
   paths of :class:`vbfem.geometry.Geometry` (``pedicle_entry(side)``,
   ``needle_axis(side)``).
2. :func:`inflate` - the cavity the balloons crush, and the balloon
   pressure-volume curve.
3. :func:`compact` - the crushed bone's mass moved into a compacted shell.
4. :func:`restore_height` - the collapsed endplate of a fracture partly
   lifted back towards the intact shape.

then fills the cavity with cement and lets the excess interdigitate through
the two-phase flow model of :mod:`vbfem.flow` (same outlets as
vertebroplasty: every ``"outlet_*"`` cell set).

Cavity growth (invasion by crushing)
------------------------------------
Each trabecular cell ``i`` has a crush resistance

``p_i = σ_c(ρ_i) · min(1, E_i / E_law(ρ_i)) · (1 + d_i / a)``

where ``σ_c`` is the apparent compressive strength of vertebral trabecular
bone from its density (:func:`vbfem.laws.strength_from_density`, default
Hansson 1987, ``50.3 ρ^2.24`` MPa; Mosekilde 1987 ``24.9 ρ^1.80`` selectable),
reduced where the cell's modulus is below what its density gives (the
fracture's damaged band, weak heterogeneity): yield strains of vertebral
trabecular bone hardly depend on density (Kopperdahl & Keaveny 1998), so
strength follows modulus. The balloon therefore opens the fractured zone first.
``d_i`` is the distance of the cell centroid from the nearest balloon axis
segment and ``a`` the deflated balloon radius. Crushing a cell at distance
``d`` means pushing all the bone crushed between the axis and ``d`` ahead of
the balloon wall as a compacted layer; the geometric factor ``1 + d/a``
(linear in the distance, 1 at the deflated wall) is the modelling choice for
that hardening of the cavity-expansion pressure (**assumption, not
calibrated**; a crushable-foam cavity-expansion pressure grows with cavity
size in the same sense). The balloon is connected to the cells it crushes:
a cell can be crushed at balloon pressure ``p`` only if a face-connected
path from the deflated balloon reaches it through cells whose resistance is
at most ``p`` (the minimax path value, computed by vectorised relaxation
over the faces). Cells are crushed in increasing order of that value; the
balloon pressure at each volume is the value of the last crushed cell,
which gives the pressure-volume curve (monotone by construction). Cortex and
bony endplates are never crushed unless ``allow_breach=True``; voids
(cleft) have no resistance.

Compaction
----------
The crushed bone is not removed: its mass is pushed into a shell of
trabecular (or damaged) cells around the cavity. Shell cells are filled,
layer by face-neighbour layer outward, to the compacted density
``ρ / (1 - ε_c)`` with ``ε_c = compaction_strain`` (default 0.5,
**assumption**: trabecular bone densifies after about 50-60 % strain, Gibson &
Ashby, Cellular Solids 1997; unverified for vertebral bone); the last layer
takes the remainder uniformly, so mass is conserved exactly and the shell
thickness follows from it. The shell's modulus scales by the density-modulus
law of the materials (``E' = E · E_law(ρ')/E_law(ρ)``, keeping damage and
heterogeneity factors) and its porosity and Kozeny-Carman permeability fall
with the raised density (computed by :func:`vbfem.porous.porous_medium` from
``MaterialMap.density``). Cavity cells become ``"void"`` with density 0 and
modulus :data:`vbfem.fracture.VOID_MODULUS_RATIO` times the median trabecular
modulus. The mesh does not move: cavity and shell are element fields, as for
every treatment (DESIGN.md).

Height restoration
------------------
When the cavity bears on the damaged band beneath a collapsed endplate (it
contains or touches a ``"damaged"`` cell), the balloon pushes the endplate up
with force ``F = p · A`` (``p`` the final balloon pressure, ``A`` the cavity's
mean cross-section ``V / H``). The fracture resists with
``F_r = σ_c(ρ_d) · A_c``: re-lifting a collapsed endplate means re-yielding
the compacted band of density ``ρ_d`` (mean density of the damaged cells)
over the collapsed area ``A_c`` of the endplate (**modelling choice, not
calibrated**). The fraction of the lost height restored is
``min(F / F_r, 1)``, or the user's ``restoration``. The fractured mesh is
moved back along the fracture's own deformation: ``x = x_f + f (x_0 - x_f)``
with ``x_0`` the intact mesh the fracture was applied to (the fracture map of
:func:`vbfem.fracture.apply_fracture` is z-only and monotone in each column,
so the blend of the two valid meshes stays valid; checked by
:func:`vbfem.assembly.check_mesh`). Each cell keeps its mass (density times
the volume ratio). Vertebroplasty restores nothing beyond elastic recovery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy.spatial import cKDTree

from .assembly import check_mesh
from .bone import cell_centroids, cell_volumes
from .fracture import VOID_MODULUS_RATIO
from .heights import measure_heights
from .laws import DEFAULT_STRENGTH_LAW, get_law, modulus_from_density, strength_from_density
from .porous import porous_medium
from .records import CementFill, MaterialMap, Mesh, tissue_code

log = logging.getLogger(__name__)

__all__ = [
    "BALLOON_CAPACITY",
    "BALLOON_LENGTHS",
    "COMPACTION_STRAIN",
    "DEFLATED_RADIUS",
    "RATED_PRESSURE",
    "Balloon",
    "Compaction",
    "HeightRestoration",
    "Inflation",
    "KyphoplastyResult",
    "compact",
    "crush_resistance",
    "fill_cavity",
    "inflate",
    "place_balloons",
    "restore_height",
    "simulate_kyphoplasty",
]

#: Nominal balloon lengths of common inflatable bone tamps, mm (10, 15, 20 mm;
#: Kyphon Xpander product range, manufacturer's catalogue, unverified).
BALLOON_LENGTHS = (10.0, 15.0, 20.0)

#: Maximum inflation volume per balloon by nominal length, mL (Kyphon Xpander
#: 10/15/20 mm: 3/4/6 mL, manufacturer's catalogue; unverified).
BALLOON_CAPACITY = MappingProxyType({10.0: 3.0, 15.0: 4.0, 20.0: 6.0})

#: Rated (maximum) inflation pressure, MPa: 700 psi = 4.83 MPa, the rating of
#: common inflatable bone tamps (manufacturer's instructions for use;
#: unverified).
RATED_PRESSURE = 700.0 * 6.894757e-3

#: Radius of the deflated balloon on its cannula, mm: an 11-gauge working
#: cannula (outer 3.05 mm, ISO 9626) - assumption.
DEFLATED_RADIUS = 1.5

#: Densification strain of crushed trabecular bone (assumption; Gibson & Ashby
#: 1997 put foam densification at 50-90 % strain depending on density).
COMPACTION_STRAIN = 0.5

#: Distance (mm) of the balloon's proximal end past the pedicle entry point:
#: the working cannula ends just inside the posterior wall (assumption).
BALLOON_START = 5.0

_SIDES = ("left", "right")
_CRUSHABLE = ("trabecular", "damaged", "compacted", "void")


# ----------------------------------------------------------------- records
@dataclass(frozen=True)
class Balloon:
    """One inflatable bone tamp on its transpedicular path.

    Attributes
    ----------
    side : str
        ``"left"`` (+y) or ``"right"``.
    start, end : tuple of float
        Proximal and distal ends of the balloon axis, mm.
    length : float
        Nominal length, mm.
    radius : float
        Deflated radius, mm.
    """

    side: str
    start: tuple
    end: tuple
    length: float
    radius: float = DEFLATED_RADIUS


@dataclass(frozen=True, eq=False)
class Inflation:
    """The cavity crushed by the balloons.

    Attributes
    ----------
    cavity : ndarray of bool (n_cells,)
    order : ndarray of int
        Crushed cells in crushing order.
    volume : ndarray (len(order),)
        Cumulative cavity volume after each crushed cell, mm³.
    pressure : ndarray (len(order),)
        Balloon pressure at which each cell was crushed, MPa (non-decreasing).
    resistance : ndarray (n_cells,)
        Crush resistance ``p_i`` of every cell, MPa (inf: not crushable).
    final_pressure : float
        MPa.
    cavity_volume : float
        mm³.
    """

    cavity: np.ndarray
    order: np.ndarray
    volume: np.ndarray
    pressure: np.ndarray
    resistance: np.ndarray
    final_pressure: float
    cavity_volume: float

    @property
    def pv_curve(self) -> np.ndarray:
        """``(k, 2)`` array of cavity volume (mL) and balloon pressure (MPa)."""
        return np.column_stack([self.volume / 1000.0, self.pressure])


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
class HeightRestoration:
    """Endplate lift by the balloon.

    Attributes
    ----------
    mesh : Mesh
    materials : MaterialMap
    fraction : float
        Fraction of the lost anterior height restored, 0..1.
    restored_mm : float
        Anterior height gained, mm.
    anterior_height : float
        Anterior height after restoration, mm.
    force, resistance : float
        Balloon force and fracture resistance, N (NaN when the user gave the fraction).
    """

    mesh: Mesh
    materials: MaterialMap
    fraction: float
    restored_mm: float
    anterior_height: float
    force: float
    resistance: float


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
    pv_curve : ndarray (k, 2)
        Cavity volume (mL) and balloon pressure (MPa).
    balloons : tuple of Balloon
    height_restored_mm, height_restored_fraction, anterior_height : float
        Anterior height gained (mm), fraction of the lost anterior height
        restored, anterior height after restoration (mm; NaN for an
        unfractured body or without ``intact``).
    interdigitation_depth : float
        Largest distance (mm) from the cavity of a cell holding cement
        (saturation >= 0.05) outside the cavity; 0 if none.
    """

    mesh: Mesh
    materials: MaterialMap
    fill: CementFill
    cavity: np.ndarray
    compacted: np.ndarray
    pv_curve: np.ndarray
    balloons: tuple
    height_restored_mm: float
    height_restored_fraction: float
    anterior_height: float
    interdigitation_depth: float
    params: Mapping[str, object] = field(default_factory=dict)


# ----------------------------------------------------------------- helpers
def _number(value, name, *, lo=None, hi=None, lo_open=True, unit=""):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number{(' in ' + unit) if unit else ''}, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}={value!r} must be finite")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name}={value!r} {unit} must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and v > hi:
        raise ValueError(f"{name}={value!r} {unit} must be <= {hi}")
    return v


def _face_pairs(mesh: Mesh):
    from .flow import mesh_faces  # shared finite-volume face connectivity

    f = mesh_faces(mesh)
    return f.inner_i, f.inner_j


def _segment_distance(x: np.ndarray, balloons) -> np.ndarray:
    d = np.full(len(x), np.inf)
    for b in balloons:  # one or two balloons
        p0, p1 = np.asarray(b.start), np.asarray(b.end)
        u = p1 - p0
        t = np.clip((x - p0) @ u / (u @ u), 0.0, 1.0)
        d = np.minimum(d, np.linalg.norm(x - (p0 + t[:, None] * u), axis=1))
    return d


def _tissue(materials: MaterialMap) -> np.ndarray:
    return materials.tissue if materials.tissue is not None else np.zeros(materials.n_cells, np.int8)


# ----------------------------------------------------------------- stage 1
def place_balloons(geometry, *, balloons="bipedicular", length: float = 15.0, start: float = BALLOON_START,
                   radius: float = DEFLATED_RADIUS) -> tuple:
    """Balloons along the transpedicular needle paths.

    Parameters
    ----------
    geometry : vbfem.geometry.Geometry
        Supplies ``pedicle_entry(side)``, ``needle_axis(side)`` and ``contains``.
    balloons : {"bipedicular", "unipedicular", "left", "right"}, keyword-only
        ``"unipedicular"`` is the left side.
    length : float, keyword-only
        Nominal balloon length, mm; one of :data:`BALLOON_LENGTHS`.
    start : float, keyword-only
        Distance of the balloon's proximal end past the entry point, mm.
    radius : float, keyword-only
        Deflated radius, mm.

    Returns
    -------
    tuple of Balloon

    Raises
    ------
    ValueError
        Unknown option, or a balloon path leaving the body (e.g. through the
        spinal canal) or longer than the body along its path.
    """
    sides = {"bipedicular": ("left", "right"), "unipedicular": ("left",), "left": ("left",),
             "right": ("right",)}
    if not isinstance(balloons, str) or balloons not in sides:
        raise ValueError(f"balloons={balloons!r}; allowed: {', '.join(sides)}")
    length = _number(length, "balloon_length", lo=0, unit="mm")
    if length not in BALLOON_LENGTHS:
        raise ValueError(f"balloon_length={length!r} mm; allowed nominal lengths: "
                         f"{', '.join(f'{v:g}' for v in BALLOON_LENGTHS)} mm")
    start = _number(start, "balloon_start", lo=0, lo_open=False, unit="mm")
    radius = _number(radius, "balloon_radius", lo=0, unit="mm")
    out = []
    for side in sides[balloons]:
        entry = np.asarray(geometry.pedicle_entry(side), float)
        axis = np.asarray(geometry.needle_axis(side), float)
        axis = axis / np.linalg.norm(axis)
        p0 = entry + start * axis
        p1 = p0 + length * axis
        samples = p0 + np.linspace(0.0, 1.0, 41)[:, None] * (p1 - p0)
        inside = geometry.contains(samples)
        if not np.all(inside):
            out_pts = samples[~inside]
            in_canal = (out_pts[:, 0] < 0) & (np.abs(out_pts[:, 1]) < 0.5 * getattr(geometry, "canal_width", 0.0))
            canal = bool(in_canal.any())
            bad = out_pts[np.flatnonzero(in_canal)[0]] if canal else out_pts[0]
            where = "through the spinal canal" if canal else "out of the vertebral body"
            raise ValueError(
                f"balloon {side!r}: balloon_length={length:g} mm from balloon_start={start:g} mm runs {where} "
                f"at {np.round(bad, 2).tolist()} mm; use a shorter balloon or another path")
        out.append(Balloon(side, tuple(float(v) for v in p0), tuple(float(v) for v in p1), length, radius))
    return tuple(out)


# ----------------------------------------------------------------- stage 2
def crush_resistance(mesh: Mesh, materials: MaterialMap, balloons, *, strength_law=DEFAULT_STRENGTH_LAW,
                     allow_breach: bool = False) -> np.ndarray:
    """Crush resistance ``p_i = σ_c(ρ_i)(1 + d_i/a)`` of every cell, MPa (module docstring).

    Cortex, bony endplates and other non-bone cells are ``inf`` unless
    ``allow_breach`` (then their own density's strength applies); voids are 0.
    """
    x = cell_centroids(mesh)
    a = min(b.radius for b in balloons)
    d = _segment_distance(x, balloons)
    rho = materials.density if materials.density is not None else np.full(mesh.n_cells, np.nan)
    tissue = _tissue(materials)
    crushable = np.isin(tissue, [tissue_code(t) for t in _CRUSHABLE])
    for name in ("cortex", "endplate", "superior_endplate", "inferior_endplate"):
        if name in mesh.cell_sets and not allow_breach:
            crushable[mesh.cell_sets[name]] = False
    if allow_breach:
        crushable |= np.isfinite(rho) & (rho > 0)
    sigma = np.zeros(mesh.n_cells)
    ok = np.isfinite(rho) & (rho > 0)
    sigma[ok] = bone_strength(materials, np.flatnonzero(ok), strength_law=strength_law)
    r = sigma * (1.0 + d / a)
    r[tissue == tissue_code("void")] = 0.0
    r[~crushable] = np.inf
    return r


def bone_strength(materials: MaterialMap, cells, *, strength_law=DEFAULT_STRENGTH_LAW) -> np.ndarray:
    """Apparent compressive strength (MPa) of bone ``cells`` (indices with density > 0).

    ``σ_c(ρ) · min(1, E / E_law(ρ))``: the strength law at the cell's density,
    reduced where the cell is softer than its density gives (the fracture's
    damaged band, weak heterogeneity). Apparent yield strains of vertebral
    trabecular bone hardly depend on density (Kopperdahl & Keaveny 1998, J
    Biomech 31:601), so at a given density strength follows modulus.
    """
    cells = np.asarray(cells)
    rho = np.minimum(np.asarray(materials.density, float)[cells], 2.0)
    sigma = strength_from_density(rho, strength_law, density_type="apparent")
    e_law = modulus_from_density(rho, _modulus_law(materials), density_type="apparent")
    return sigma * np.clip(np.asarray(materials.E, float)[cells] / e_law, 0.0, 1.0)


def _minimax(r: np.ndarray, seeds: np.ndarray, fi: np.ndarray, fj: np.ndarray) -> np.ndarray:
    """Smallest over paths from ``seeds`` of the largest resistance on the path (vectorised relaxation)."""
    level = np.full(r.size, np.inf)
    level[seeds] = 0.0
    for _ in range(4 * r.size):  # converges in about the graph diameter
        nb = np.full(r.size, np.inf)
        np.minimum.at(nb, fi, level[fj])
        np.minimum.at(nb, fj, level[fi])
        new = np.minimum(level, np.maximum(r, nb))
        if np.array_equal(new, level):
            return level
        level = new
    return level  # pragma: no cover - the loop always converges


def inflate(mesh: Mesh, materials: MaterialMap, balloons, *, volume: float | None = None,
            pressure: float | None = None, rated_pressure: float = RATED_PRESSURE,
            strength_law=DEFAULT_STRENGTH_LAW, allow_breach: bool = False) -> Inflation:
    """Crush the cavity of the balloons to a target volume or pressure.

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
    balloons : sequence of Balloon
    volume : float, keyword-only
        Inflation volume per balloon, mL (at most :data:`BALLOON_CAPACITY`).
    pressure : float, keyword-only
        Inflation pressure, MPa (at most ``rated_pressure``). Give exactly one
        of ``volume`` and ``pressure``.
    rated_pressure : float, keyword-only
        Balloon's rated limit, MPa, default :data:`RATED_PRESSURE`.
    strength_law : str, keyword-only
        A strength law of :mod:`vbfem.laws` (``"hansson1987"``, ``"mosekilde1987"``).
    allow_breach : bool, keyword-only
        Let the balloon crush cortex and endplates.

    Returns
    -------
    Inflation

    Raises
    ------
    ValueError
        Naming ``inflation_volume`` or ``inflation_pressure`` when the target
        exceeds the balloon, the body or the rated pressure.
    """
    balloons = tuple(balloons)
    if not balloons:
        raise ValueError("balloons: at least one balloon is needed")
    if (volume is None) == (pressure is None):
        raise ValueError("give exactly one of inflation_volume (mL) and inflation_pressure (MPa)")
    rated = _number(rated_pressure, "rated_pressure", lo=0, unit="MPa")
    get_law(strength_law, quantity="strength")
    if volume is not None:
        volume = _number(volume, "inflation_volume", lo=0, unit="mL")
        for b in balloons:
            cap = BALLOON_CAPACITY.get(float(b.length), np.inf)
            if volume > cap:
                raise ValueError(f"inflation_volume={volume:g} mL exceeds the {cap:g} mL capacity of a "
                                 f"{b.length:g} mm balloon")
    else:
        pressure = _number(pressure, "inflation_pressure", lo=0, unit="MPa")
        if pressure > rated:
            raise ValueError(f"inflation_pressure={pressure:g} MPa is above the balloon's rated limit "
                             f"rated_pressure={rated:g} MPa")
    r = crush_resistance(mesh, materials, balloons, strength_law=strength_law, allow_breach=allow_breach)
    vol = cell_volumes(mesh)
    x = cell_centroids(mesh)
    d = _segment_distance(x, balloons)
    a = min(b.radius for b in balloons)
    seeds = np.flatnonzero((d <= a) & np.isfinite(r))
    if seeds.size == 0:  # mesh coarser than the deflated balloon: the nearest crushable cell per balloon
        seeds = np.unique([int(np.argmin(np.where(np.isfinite(r), _segment_distance(x, (b,)), np.inf)))
                           for b in balloons])
    fi, fj = _face_pairs(mesh)
    level = _minimax(r, seeds, fi, fj)
    reach = np.flatnonzero(np.isfinite(level))
    order = reach[np.lexsort((d[reach], level[reach]))]
    cum = np.cumsum(vol[order])
    press = level[order]
    if volume is not None:
        target = 1000.0 * volume * len(balloons)
        if target > cum[-1]:
            raise ValueError(f"inflation_volume={volume:g} mL per balloon ({target / 1000:g} mL in all) is more "
                             f"than the body can hold: the crushable bone reachable within cortex and endplates "
                             f"is {cum[-1] / 1000:.3g} mL")
        k = min(int(np.searchsorted(cum, target, side="left")), order.size - 1)
        if k > 0 and target - cum[k - 1] < cum[k] - target:  # nearest cumulative volume
            k -= 1
        k = min(max(k, seeds.size - 1), order.size - 1)
        p_end = float(press[k])
        if p_end > rated:
            raise ValueError(f"inflation_volume={volume:g} mL needs {p_end:.3g} MPa, above the balloon's rated "
                             f"limit rated_pressure={rated:g} MPa")
    else:
        k = max(int(np.searchsorted(press, pressure, side="right")) - 1, seeds.size - 1)
        p_end = float(pressure)
    order, cum, press = order[: k + 1], cum[: k + 1], press[: k + 1]
    cavity = np.zeros(mesh.n_cells, bool)
    cavity[order] = True
    log.info("inflate: %d balloon(s), cavity %.3f mL in %d cells at %.3g MPa", len(balloons), cum[-1] / 1000,
             order.size, p_end)
    return Inflation(cavity=cavity, order=order, volume=cum, pressure=press, resistance=r,
                     final_pressure=p_end, cavity_volume=float(cum[-1]))


# ----------------------------------------------------------------- stage 3
def _modulus_law(materials: MaterialMap):
    try:
        return get_law(materials.law, quantity="modulus")
    except (ValueError, KeyError, TypeError):
        return get_law("morgan2003", quantity="modulus")


def compact(mesh: Mesh, materials: MaterialMap, cavity, *, compaction_strain: float = COMPACTION_STRAIN) -> Compaction:
    """Move the crushed bone's mass into a compacted shell (module docstring).

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
    cavity : array_like of bool (n_cells,)
    compaction_strain : float, keyword-only
        Densification strain ``ε_c`` in (0, 1): shell density ``ρ/(1-ε_c)``.

    Returns
    -------
    Compaction
    """
    eps = _number(compaction_strain, "compaction_strain", lo=0, unit="")
    if eps >= 1:
        raise ValueError(f"compaction_strain={compaction_strain!r} must be < 1")
    cavity = np.asarray(cavity, bool)
    if cavity.shape != (mesh.n_cells,):
        raise ValueError(f"cavity must be a boolean mask of {mesh.n_cells} cells, got shape {cavity.shape}")
    vol = cell_volumes(mesh)
    tissue = _tissue(materials).copy()
    rho = np.array(materials.density, float) if materials.density is not None else np.full(mesh.n_cells, np.nan)
    rho_c = np.where(np.isfinite(rho), rho, 0.0)
    mass_cav = float(np.sum(rho_c[cavity] * vol[cavity]))  # g/cm³ · mm³
    host = np.isin(tissue, [tissue_code(t) for t in ("trabecular", "damaged", "compacted")]) & ~cavity \
        & np.isfinite(rho) & (rho > 0)
    fi, fj = _face_pairs(mesh)
    added = np.zeros(mesh.n_cells)
    front = cavity.copy()
    visited = cavity.copy()
    remaining = mass_cav
    layers = 0
    while remaining > 0:  # loop over shell layers (a few), not over cells
        nxt = np.zeros(mesh.n_cells, bool)
        nxt[fj[front[fi]]] = True
        nxt[fi[front[fj]]] = True
        nxt &= ~visited
        visited |= nxt
        layer = nxt & host
        if not nxt.any():
            raise ValueError(f"compaction: no room for {remaining / 1000:.3g} g of crushed bone around the cavity "
                             f"(compaction_strain={eps:g}); inflate less")
        front = nxt & (host | cavity)
        if not layer.any():
            continue
        cap = rho[layer] * vol[layer] * eps / (1.0 - eps)
        total = float(cap.sum())
        share = min(1.0, remaining / total)
        added[layer] = share * cap
        remaining -= share * total
        layers += 1
        if share < 1.0:
            break
    compacted = added > 0
    new_rho = rho.copy()
    new_rho[compacted] = rho[compacted] + added[compacted] / vol[compacted]
    new_rho[cavity] = 0.0
    law = _modulus_law(materials)
    E = np.array(materials.E, float)
    E[compacted] = E[compacted] * (modulus_from_density(np.minimum(new_rho[compacted], 2.0), law,
                                                        density_type="apparent")
                                   / modulus_from_density(rho[compacted], law, density_type="apparent"))
    trab = tissue == tissue_code("trabecular")
    e_ref = float(np.median(materials.E[trab])) if trab.any() else float(np.median(materials.E))
    E[cavity] = VOID_MODULUS_RATIO * e_ref
    tissue[compacted] = tissue_code("compacted")
    tissue[cavity] = tissue_code("void")
    x = cell_centroids(mesh)
    thick = float(np.mean(cKDTree(x[cavity]).query(x[compacted])[0])) if compacted.any() and cavity.any() else 0.0
    params = {**materials.params, "kyphoplasty_compaction": {
        "compaction_strain": eps, "crushed_mass_g": mass_cav / 1000.0, "layers": layers,
        "n_compacted": int(compacted.sum()), "n_cavity": int(cavity.sum()), "modulus_law": law.name,
        "source": "mass-conserving shell, densification strain assumed (Gibson & Ashby 1997)"}}
    mats = materials.replace(E=E, tissue=tissue, density=new_rho, params=params)
    return Compaction(materials=mats, compacted=compacted, crushed_mass=mass_cav / 1000.0, layers=layers,
                      thickness=thick)


# ----------------------------------------------------------------- stage 4
def restore_height(mesh: Mesh, materials: MaterialMap, intact: Mesh, *, cavity, pressure: float,
                   fraction: float | None = None, strength_law=DEFAULT_STRENGTH_LAW) -> HeightRestoration:
    """Lift the collapsed endplate of a fractured body (module docstring).

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
        Fractured body from :func:`vbfem.fracture.apply_fracture` (cell set
        ``"damaged"``, ``materials.params["fracture"]``).
    intact : Mesh
        The intact mesh the fracture was applied to (same topology).
    cavity : array_like of bool (n_cells,)
        The balloon cavity.
    pressure : float
        Final balloon pressure, MPa.
    fraction : float, optional
        User-given fraction of the lost height restored, in [0, 1]; default
        from force against resistance.
    strength_law : str
        Strength law of the damaged band.

    Returns
    -------
    HeightRestoration
    """
    if not isinstance(intact, Mesh):
        raise TypeError(f"intact must be the intact vbfem Mesh the fracture was applied to, got {type(intact).__name__}")
    if intact.n_points != mesh.n_points or intact.cells.shape != mesh.cells.shape \
            or not np.array_equal(intact.cells, mesh.cells):
        raise ValueError("intact must have the same cells and nodes as the fractured mesh")
    cavity = np.asarray(cavity, bool)
    if fraction is not None:
        fraction = _number(fraction, "restoration", lo=0, lo_open=False)
        if fraction > 1:
            raise ValueError(f"restoration={fraction!r} must lie in [0, 1] (fraction of the lost height)")
    rec = materials.params.get("fracture") or {}
    if "intact_heights" in rec and "fractured_heights" in rec:  # measured by apply_fracture on these meshes
        ha_0, ha_f = float(rec["intact_heights"][0]), float(rec["fractured_heights"][0])
    else:
        ha_0, ha_f = measure_heights(intact).anterior, measure_heights(mesh).anterior
    lost = ha_0 - ha_f
    disp = intact.points - mesh.points
    force = resistance = float("nan")
    if fraction is None:
        damaged = np.zeros(mesh.n_cells, bool)
        if "damaged" in mesh.cell_sets:
            damaged[mesh.cell_sets["damaged"]] = True
        fi, fj = _face_pairs(mesh)
        touches = bool((cavity & damaged).any() or (cavity[fi] & damaged[fj]).any() or (cavity[fj] & damaged[fi]).any())
        vol = cell_volumes(mesh)
        z = mesh.points[mesh.cells[cavity], 2] if cavity.any() else np.zeros((1, 1))
        area = float(vol[cavity].sum() / max(float(z.max() - z.min()), 1e-12)) if cavity.any() else 0.0
        force = pressure * area
        from .flow import mesh_faces
        faces = mesh_faces(mesh)
        fn = mesh.cells[faces.bnd_cell]  # boundary faces whose nodes moved in the fracture
        moved = np.zeros(mesh.n_points, bool)
        moved[np.linalg.norm(disp, axis=1) > 1e-9] = True
        surf = np.zeros(mesh.n_points, bool)
        for name in ("superior", "inferior"):
            if name in mesh.node_sets:
                surf[mesh.node_sets[name]] = True
        cell_moved = (moved & surf)[fn].sum(axis=1) >= 3
        a_c = float(np.abs(faces.bnd_area[cell_moved, 2]).sum())
        rho = materials.density if materials.density is not None else np.full(mesh.n_cells, np.nan)
        band = np.flatnonzero(damaged & np.isfinite(rho) & (rho > 0))
        if touches and band.size and a_c > 0 and lost > 0:
            # the damaged band's mean strength (the same measure the balloon crushes it by) over the collapsed area
            sigma_d = float(np.average(bone_strength(materials, band, strength_law=strength_law), weights=vol[band]))
            resistance = sigma_d * a_c
            fraction = min(force / resistance, 1.0)
        else:
            fraction = 0.0
            log.info("restore_height: the cavity does not bear on a collapsed endplate; nothing lifted")
    new = mesh.with_points(mesh.points + fraction * disp)
    try:
        check_mesh(new)
    except ValueError as exc:  # pragma: no cover - blend of two valid z-only column maps
        raise ValueError(f"height restoration by {fraction:.3f} inverted cells: {exc}") from None
    v0, v1 = cell_volumes(mesh), cell_volumes(new)
    dens = materials.density * (v0 / v1) if materials.density is not None else None
    mats = materials.replace(density=dens, params={**materials.params, "kyphoplasty_restoration": {
        "fraction": fraction, "force_N": force, "resistance_N": resistance}})
    h = measure_heights(new)
    return HeightRestoration(mesh=new, materials=mats, fraction=float(fraction),
                             restored_mm=float(h.anterior - ha_f), anterior_height=float(h.anterior),
                             force=float(force), resistance=float(resistance))


# ----------------------------------------------------------------- stage 5
def lifted_cavity(mesh: Mesh, inflation: Inflation) -> np.ndarray:
    """The cavity of ``inflation`` on the height-restored ``mesh``, trimmed back to the balloon's volume.

    Lifting the endplate stretches the cells under it, so the crushed cells
    hold more than the balloon displaced. The balloon's volume holds both the
    crushed bone and the lift: the last-crushed cells (the outermost, at the
    highest pressure) are given back to the bone until the cavity's volume on
    the lifted mesh matches the inflated volume within one cell.
    """
    vol = cell_volumes(mesh)[inflation.order]
    keep = int(np.searchsorted(np.cumsum(vol), inflation.cavity_volume, side="right"))
    cavity = np.zeros(mesh.n_cells, bool)
    cavity[inflation.order[:max(keep, 1)]] = True
    return cavity


def fill_cavity(mesh: Mesh, materials: MaterialMap, geometry, balloons, inflation_order, cavity, *, volume: float,
                cement="pmma", rate: float | None = None, start: float = 480.0, **vp_options) -> CementFill:
    """Fill the cavity with cement, then let the excess interdigitate (same flow model as vertebroplasty).

    The cavity is filled first, in the order it was crushed, at negligible
    pressure (its history points carry NaN needle pressure: the flow in the
    void is not resolved). Cement beyond the cavity's pore volume is injected
    through :func:`vbfem.vertebroplasty.simulate_vertebroplasty` with the
    filled cavity as initial saturation, one needle per balloon with its tip
    at the balloon's middle, starting when the cavity is full.

    Parameters
    ----------
    volume : float
        Cement volume, mL, in all.
    cement : Cement or str
    rate : float, optional
        Injection rate, mL/min in all (default :data:`vbfem.needles.INJECTION_RATE` per balloon).
    start : float
        Start of the injection, s after mixing (default 480 s: kyphoplasty
        cement is injected later, more viscous, than in vertebroplasty; assumption).
    **vp_options
        Passed to :func:`vbfem.vertebroplasty.simulate_vertebroplasty`.
    """
    from .cement import cement_preset
    from .needles import INJECTION_RATE, Needle
    from .vertebroplasty import simulate_vertebroplasty

    cement = cement_preset(cement)
    volume = _number(volume, "volume", lo=0, unit="mL")
    nb = len(balloons)
    rate = INJECTION_RATE * nb if rate is None else _number(rate, "rate", lo=0, unit="mL/min")
    start = _number(start, "start", lo=0, lo_open=False, unit="s")
    medium = porous_medium(mesh, materials)
    cavity = np.asarray(cavity, bool)
    pv = medium.porosity * medium.volume
    order = np.asarray(inflation_order)
    order = order[cavity[order] & medium.flow[order]]
    cum = np.cumsum(pv[order])
    pv_cav = float(cum[-1]) if cum.size else 0.0
    V = 1000.0 * volume
    # reachable pore space: flow cells connected to the cavity
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    fi, fj = _face_pairs(mesh)
    both = medium.flow[fi] & medium.flow[fj]
    g = sp.coo_matrix((np.ones(both.sum()), (fi[both], fj[both])), shape=(mesh.n_cells,) * 2)
    _, lab = connected_components(g, directed=False)
    reach = float(pv[np.isin(lab, np.unique(lab[order]))].sum()) if order.size else 0.0
    if V > reach:
        raise ValueError(f"volume={volume:g} mL of cement is more than the cavity ({pv_cav / 1000:.3g} mL) plus the "
                         f"pore volume reachable from it ({(reach - pv_cav) / 1000:.3g} mL)")
    s0 = np.zeros(mesh.n_cells)
    k = int(np.searchsorted(cum, min(V, pv_cav), side="left"))
    s0[order[:k]] = 1.0
    if k < order.size:
        s0[order[k]] = (min(V, pv_cav) - (cum[k - 1] if k else 0.0)) / pv[order[k]]
        s0[order[k]] = min(s0[order[k]], 1.0)
    in_cav = float(pv @ s0)
    t_cav = start + 60.0 * in_cav / 1000.0 / rate
    excess = V - in_cav
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
        inj = np.concatenate([[0.0], in_cav + res.injected_history])
        body = np.concatenate([[0.0], in_cav + res.body_history])
        leak_h = np.concatenate([[0.0], res.leaked_history])
        npress = np.vstack([np.full((1, nb), np.nan), np.asarray(res.needle_pressure).reshape(len(res.times), -1)])
        s, frac, arrival, leaked = res.saturation, res.fraction, np.array(res.arrival_time), dict(res.leaked)
        metrics, params = dict(res.metrics), dict(res.params)
        injected = in_cav + res.injected
    else:
        from .vertebroplasty import fill_metrics
        s = s0
        frac = s * medium.porosity
        arrival = np.where(s0 >= 0.5, start, np.nan)
        times = np.array([start, t_cav])
        inj = body = np.array([0.0, in_cav])
        leak_h = np.zeros(2)
        npress = np.full((2, nb), np.nan)
        leaked = {name: 0.0 for name in medium.outlets}
        metrics, params = fill_metrics(mesh, medium, s), {"cement": cement.__dict__}
        injected = in_cav
    arrival = np.where(cavity & (s0 >= 0.5), start, arrival)
    x = medium.centroid
    outside = (s >= 0.05) & ~cavity
    depth = float(cKDTree(x[cavity]).query(x[outside])[0].max()) if outside.any() and cavity.any() else 0.0
    metrics.update(cavity_cement_volume=in_cav, cavity_pore_volume=pv_cav, interdigitation_depth=depth,
                   interdigitated_volume=float(np.sum((s * pv)[~cavity])),
                   leaked_fraction=float(sum(leaked.values()) / max(injected, 1e-30)))
    params.update(kyphoplasty={"balloons": [b.__dict__ for b in balloons], "cavity_fill_start_s": start,
                               "cavity_fill_end_s": t_cav, "rate_ml_min": rate})
    return CementFill(saturation=s, fraction=frac, arrival_time=arrival, injected=injected, leaked=leaked,
                      times=times, needle_pressure=npress, injected_history=inj, body_history=body,
                      leaked_history=leak_h, metrics=metrics, params=params)


# ----------------------------------------------------------------- pipeline
def simulate_kyphoplasty(mesh: Mesh, materials: MaterialMap, geometry, *, balloons="bipedicular",
                         balloon_length: float = 15.0, inflation_volume: float | None = 3.0,
                         inflation_pressure: float | None = None, rated_pressure: float = RATED_PRESSURE,
                         cement="pmma", volume: float = 6.0, intact: Mesh | None = None,
                         restoration: float | None = None, allow_breach: bool = False,
                         strength_law=DEFAULT_STRENGTH_LAW, compaction_strain: float = COMPACTION_STRAIN,
                         balloon_start: float = BALLOON_START, rate: float | None = None, start: float = 480.0,
                         **vp_options) -> KyphoplastyResult:
    """Balloon kyphoplasty: inflate, compact, lift, fill (module docstring).

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
        Intact or fractured body (:func:`vbfem.fracture.apply_fracture`).
    geometry : vbfem.geometry.Geometry
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
    **vp_options
        Passed to :func:`vbfem.vertebroplasty.simulate_vertebroplasty` (e.g. ``outlets``).

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
    bal = place_balloons(geometry, balloons=balloons, length=balloon_length, start=balloon_start)
    infl = inflate(mesh, materials, bal, volume=inflation_volume, pressure=inflation_pressure,
                   rated_pressure=rated_pressure, strength_law=strength_law, allow_breach=allow_breach)
    out_mesh, out_mats, cavity = mesh, materials, infl.cavity
    frac_r, mm_r = 0.0, 0.0
    h_a = float("nan")  # measured only for a fractured body (nothing to restore otherwise)
    if "fracture" in materials.params:
        if intact is None:
            if restoration is not None:
                raise ValueError("restoration needs intact=, the intact mesh the fracture was applied to")
            log.warning("simulate_kyphoplasty: fractured body without intact=: no height restoration computed")
        else:
            hr = restore_height(mesh, materials, intact, cavity=infl.cavity, pressure=infl.final_pressure,
                                fraction=restoration, strength_law=strength_law)
            out_mesh, out_mats = hr.mesh, hr.materials
            frac_r, mm_r, h_a = hr.fraction, hr.restored_mm, hr.anterior_height
            cavity = lifted_cavity(out_mesh, infl)
    elif restoration is not None:
        raise ValueError("restoration: the body is not fractured (materials.params has no 'fracture' record)")
    comp = compact(out_mesh, out_mats, cavity, compaction_strain=compaction_strain)
    out_mats = comp.materials
    fill = fill_cavity(out_mesh, out_mats, geometry, bal, infl.order, cavity, volume=volume, cement=cement,
                       rate=rate, start=start, **vp_options)
    out_mesh = out_mesh.replace(cell_sets={**out_mesh.cell_sets, "cavity": np.flatnonzero(cavity),
                                           "compacted": np.flatnonzero(comp.compacted)})
    log.info("simulate_kyphoplasty: cavity %.2f mL at %.2f MPa, %d shell cells, height +%.2f mm (%.0f %%), %.1f s",
             infl.cavity_volume / 1000, infl.final_pressure, int(comp.compacted.sum()), mm_r, 100 * frac_r,
             time.perf_counter() - t0)
    return KyphoplastyResult(mesh=out_mesh, materials=out_mats, fill=fill, cavity=cavity,
                             compacted=comp.compacted, pv_curve=infl.pv_curve, balloons=bal,
                             height_restored_mm=mm_r, height_restored_fraction=frac_r, anterior_height=h_a,
                             interdigitation_depth=float(fill.metrics["interdigitation_depth"]),
                             params={"inflation_volume_ml": inflation_volume, "inflation_pressure_MPa": infl.final_pressure,
                                     "rated_pressure_MPa": rated_pressure, "balloon_length_mm": balloon_length,
                                     "cavity_volume_mm3": float(cell_volumes(out_mesh)[cavity].sum()), "crushed_mass_g": comp.crushed_mass,
                                     "shell_layers": comp.layers, "shell_thickness_mm": comp.thickness,
                                     "strength_law": str(strength_law), "compaction_strain": compaction_strain,
                                     "allow_breach": allow_breach})
