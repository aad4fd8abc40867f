"""Kyphoplasty balloons: placement on the transpedicular paths and inflation (cavity growth).

:func:`place_balloons` puts one or two inflatable bone tamps along the
transpedicular paths of :class:`vbfem.anatomy.geometry.Geometry`; :func:`inflate`
grows the cavity they crush and gives the balloon pressure-volume curve. The
rest of the treatment (compaction, height restoration, cavity fill) is in
:mod:`vbfem.treatment.kyphoplasty`.

Cavity growth (invasion by crushing)
------------------------------------
Each trabecular cell ``i`` has a crush resistance

``p_i = σ_c(ρ_i) · min(1, E_i / E_law(ρ_i)) · (1 + d_i / a)``

where ``σ_c`` is the apparent compressive strength of vertebral trabecular
bone from its density (:func:`vbfem.materials.laws.strength_from_density`, default
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
size in the same sense). ``p_i`` is the resistance at the cell's centroid
(:func:`crush_resistance`); the cavity itself is resolved at points inside
the cells, connected to the deflated balloon, as follows. Cortex and bony
endplates are never crushed unless ``allow_breach=True``; voids (cleft) have
no resistance.

The cavity's wall is resolved inside the cells: a point ``x`` of cell ``i``
is crushed at the pressure

``t(x) = max(g_i, σ_i (1 + d(x) / a))``  (0 inside the deflated balloon, ``d(x) <= a``)

with ``σ_i`` the cell's strength and ``g_i`` the pressure at which the
crushed region first reaches the cell: it crosses a face from a reached
neighbour ``j`` once ``j``'s bone on the face is crushed somewhere (at the
face's corner or centre nearest the axis), so ``g`` is the minimax path
value of these face pressures over paths from the balloon (vectorised
relaxation over the faces) (0 for the cells the
deflated balloon starts in). In a cell the fracture's damaged band cuts,
``σ`` is that of the point's own part: the points on the band's side of its
edge (a plane holding the cell's damaged fraction) take the damaged bone's
strength, the others the intact bone's (:func:`damaged_parts`,
:func:`point_strength`); one strength for the whole cell, from the laminate's
blended modulus, moved the cavity's edge by up to a cell and made the
kyphoplasty stiffness scatter by 2 % over 3-1.25 mm meshes (issue 18). The
gates ``g`` do not yet see the parts: a face out of a cut cell opens at the
cell's blended strength (between the parts'), so where the band is thinner
than a cell (its lateral end, thin bands on fine meshes) the crushed region
reaches the damaged sliver beyond it later than the damaged strength would
(**known gap**; 48 of 354 cut cells of a grade-2 wedge L1 on 3 mm cells, 54
of 720 on 2 mm cells, have no wholly damaged face neighbour). The
cavity at pressure ``p`` is ``{x : t(x) <= p}``; each cell holds the
fraction of it found at :data:`CAVITY_POINTS`³ Gauss points
(:func:`vbfem.fem.elements.cell_points`). In homogeneous bone the cavity is
therefore the capsule ``d(x) <= a (p / σ - 1)`` around each balloon axis,
whatever the mesh (a cell-by-cell cavity, which an earlier version used,
moves its wall by up to a cell and made the kyphoplasty stiffness drift by
5 % between 2 mm meshes of 9 and 18 layers). The cavity's volume ``V(p)``
is the sum of the weights of the points with ``t <= p``: the exact
pressure-volume curve of the discretized cavity, monotone by construction;
a target volume is met to within one Gauss point's weight (points crushed
at the same pressure, e.g. a void's, are taken nearest the axis first). The wall of a
cell the cavity cuts is a surface of constant ``d``, so its normal is the
direction from the cell towards the nearest axis point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from ..fem.cells import cell_centroids, cell_volumes
from ..fem.elements import cell_points
from ..fem.faces import mesh_faces
from ..materials.laminate import axial_modulus
from ..materials.laws import DEFAULT_STRENGTH_LAW, get_law, modulus_from_density, strength_from_density
from ..records import MaterialMap, Mesh, tissue_code

log = logging.getLogger(__name__)

__all__ = [
    "BALLOON_CAPACITY",
    "BALLOON_LENGTHS",
    "BALLOON_START",
    "CAVITY_POINTS",
    "DEFLATED_RADIUS",
    "MAX_PART_COMPACTION",
    "RATED_PRESSURE",
    "Balloon",
    "Inflation",
    "bone_strength",
    "cavity_cells",
    "crush_resistance",
    "crush_strength",
    "damaged_parts",
    "inflate",
    "place_balloons",
    "point_strength",
    "resolve_cavity",
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

#: Distance (mm) of the balloon's proximal end past the pedicle entry point:
#: the working cannula ends just inside the posterior wall (assumption).
BALLOON_START = 5.0

#: Largest compaction of a cut cell's damaged part for which :func:`damaged_parts` splits the cell
#: (numerical choice, not physics: beyond it the damaged part would be more than 20 times denser than
#: the intact bone, i.e. the intact part must have been compacted too, which the two-part model
#: excludes; 2.3 % of the cut cells of a grade-2 wedge L1 on 3 mm cells, 2.5 % on 2 mm cells).
MAX_PART_COMPACTION = 0.95

#: Gauss points per direction with which a cell's share of the cavity is
#: found (numerical choice: in homogeneous bone the capsule of radius 3.6 mm
#: around a 15 mm balloon comes out within 0.9 % of its volume on 3 mm cells
#: and 0.1 % on 1.5 mm cells, against 1.6 % and 0.9 % with 4 points;
#: ``tests/treatment/test_kyphoplasty.py``).
CAVITY_POINTS = 6

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
    fraction : ndarray (n_cells,)
        Volume fraction of each cell that is cavity, in [0, 1].
    normal : ndarray (n_cells, 3)
        Unit normal of the cavity wall in the cells it cuts (``0 < fraction
        < 1``), pointing into the cavity (towards the nearest balloon axis);
        zero elsewhere.
    order : ndarray of int
        The cells holding cavity, in the order the balloon reaches them
        (the pressure at which their first point is crushed, then distance).
    volume : ndarray (k,)
        Cavity volume along the pressure-volume curve, mm³ (ends at
        ``cavity_volume``).
    pressure : ndarray (k,)
        Balloon pressure along the curve, MPa (non-decreasing, ends at
        ``final_pressure``).
    resistance : ndarray (n_cells,)
        Crush resistance ``p_i`` of every cell at its centroid, MPa (inf: not crushable).
    strength : ndarray (n_cells,)
        Strength ``σ_i`` of every crushable cell, MPa (0 for a void, inf: not crushable).
    gate : ndarray (n_cells,)
        Pressure at which the crushed region reaches each cell, MPa (inf: never).
    balloons : tuple of Balloon
    final_pressure : float
        MPa.
    cavity_volume : float
        ``sum(fraction * cell volume)``, mm³.
    part, part_normal, part_strength : ndarray (n_cells,), (n_cells, 3), (n_cells, 2), optional
        In the cells a fracture's damaged band cuts (:func:`damaged_parts`): the damaged volume
        fraction, the normal of the band's edge (into the damaged part), and the strengths (MPa) of
        the damaged part and of the rest; the fraction is 0 elsewhere. None: no band.
    """

    fraction: np.ndarray
    normal: np.ndarray
    order: np.ndarray
    volume: np.ndarray
    pressure: np.ndarray
    resistance: np.ndarray
    strength: np.ndarray
    gate: np.ndarray
    balloons: tuple
    final_pressure: float
    cavity_volume: float
    part: np.ndarray | None = None
    part_normal: np.ndarray | None = None
    part_strength: np.ndarray | None = None

    @property
    def cavity(self) -> np.ndarray:
        """bool (n_cells,): the cells at least half cavity (:func:`cavity_cells`; for cell sets and pictures)."""
        return cavity_cells(self.fraction)

    @property
    def pv_curve(self) -> np.ndarray:
        """``(k, 2)`` array of cavity volume (mL) and balloon pressure (MPa)."""
        return np.column_stack([self.volume / 1000.0, self.pressure])


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
    f = mesh_faces(mesh)
    return f.inner_i, f.inner_j


def _axis_point(x: np.ndarray, balloon: Balloon) -> np.ndarray:
    """The nearest point of ``balloon``'s axis segment to each of the points ``x`` (mm)."""
    p0, p1 = np.asarray(balloon.start), np.asarray(balloon.end)
    u = p1 - p0
    return p0 + np.clip((x - p0) @ u / (u @ u), 0.0, 1.0)[:, None] * u


def _segment_distance(x: np.ndarray, balloons) -> np.ndarray:
    """Distance (mm) of points ``x`` from the nearest balloon axis segment."""
    d = np.full(len(x), np.inf)
    for b in balloons:  # one or two balloons
        d = np.minimum(d, np.linalg.norm(x - _axis_point(x, b), axis=1))
    return d


def _towards_axis(x: np.ndarray, balloons) -> np.ndarray:
    """Unit vectors from points ``x`` towards the nearest point of the nearest balloon axis."""
    best = np.full(len(x), np.inf)
    out = np.zeros_like(x)
    for b in balloons:
        v = _axis_point(x, b) - x
        dist = np.linalg.norm(v, axis=1)
        closer = dist < best
        out[closer] = v[closer] / np.maximum(dist[closer], 1e-300)[:, None]
        best = np.minimum(best, dist)
    return out


def _tissue(materials: MaterialMap) -> np.ndarray:
    return materials.tissue if materials.tissue is not None else np.zeros(materials.n_cells, np.int8)


def _modulus_law(materials: MaterialMap):
    try:
        return get_law(materials.law, quantity="modulus")
    except (ValueError, KeyError, TypeError):
        return get_law("morgan2003", quantity="modulus")


# ----------------------------------------------------------------- stage 1
def place_balloons(geometry, *, balloons="bipedicular", length: float = 15.0, start: float = BALLOON_START,
                   radius: float = DEFLATED_RADIUS, offset=None) -> tuple:
    """Balloons along the transpedicular needle paths.

    Parameters
    ----------
    geometry : vbfem.anatomy.geometry.Geometry
        Supplies ``pedicle_entry(side)``, ``needle_axis(side)`` and ``contains``.
    balloons : {"bipedicular", "unipedicular", "left", "right"}, keyword-only
        ``"unipedicular"`` is the left side.
    length : float, keyword-only
        Nominal balloon length, mm; one of :data:`BALLOON_LENGTHS`.
    start : float, keyword-only
        Distance of the balloon's proximal end past the entry point, mm.
    radius : float, keyword-only
        Deflated radius, mm.
    offset : array_like (3,), optional, keyword-only
        Translation (dx, dy, dz) mm of every balloon in the body's axes (x anterior, y left, z cranial),
        e.g. a needle-tip offset (:func:`vbfem.treatment.needles.offset_tip`): the balloon is inflated
        from the working cannula's tip, so it moves with it; its axis stays parallel to the needle path.
        None or zero: on the path.

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
    from .needles import _offset

    shift = _offset(offset)
    out = []
    for side in sides[balloons]:
        entry = np.asarray(geometry.pedicle_entry(side), float)
        axis = np.asarray(geometry.needle_axis(side), float)
        axis = axis / np.linalg.norm(axis)
        p0 = entry + start * axis
        if shift.any():  # no arithmetic for a zero offset: the default placement keeps its bits
            p0 = p0 + shift
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
    """Crush resistance ``p_i = σ_c(ρ_i)(1 + d_i/a)`` of every cell at its centroid, MPa (module docstring).

    Cortex, bony endplates and other non-bone cells are ``inf`` unless
    ``allow_breach`` (then their own density's strength applies); voids are 0.
    """
    sigma = crush_strength(mesh, materials, strength_law=strength_law, allow_breach=allow_breach)
    return sigma * (1.0 + _segment_distance(cell_centroids(mesh), balloons) / min(b.radius for b in balloons))


def crush_strength(mesh: Mesh, materials: MaterialMap, *, strength_law=DEFAULT_STRENGTH_LAW,
                   allow_breach: bool = False) -> np.ndarray:
    """Strength ``σ_i`` against crushing of every cell, MPa: :func:`bone_strength`, 0 for a void,
    ``inf`` for cells the balloon cannot crush (cortex, endplates, non-bone; see :func:`crush_resistance`)."""
    rho = materials.require_density("crush_strength (the balloon's crush resistance)")
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
    sigma[tissue == tissue_code("void")] = 0.0
    sigma[~crushable] = np.inf
    return sigma


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


def _relax(n: int, seeds: np.ndarray, fi: np.ndarray, fj: np.ndarray, into_j: np.ndarray,
           into_i: np.ndarray) -> np.ndarray:
    """Smallest over face paths from ``seeds`` (value 0) of the largest cost on the path.

    Crossing face ``k`` from ``fi[k]`` into ``fj[k]`` costs ``into_j[k]``, the
    other way ``into_i[k]`` (vectorised relaxation over the faces).
    """
    level = np.full(n, np.inf)
    level[seeds] = 0.0
    for _ in range(4 * n):  # converges in about the graph diameter
        new = level.copy()
        np.minimum.at(new, fj, np.maximum(level[fi], into_j))
        np.minimum.at(new, fi, np.maximum(level[fj], into_i))
        if np.array_equal(new, level):
            return level
        level = new
    return level  # pragma: no cover - the loop always converges


def _gate(mesh: Mesh, strength: np.ndarray, seeds: np.ndarray, balloons) -> np.ndarray:
    """Pressure at which the crushed region reaches each cell.

    The region crosses a face from cell ``j`` once ``j`` is reached and its
    bone on the face is crushed somewhere, at ``max(gate_j, σ_j (1 + d_f /
    a))`` with ``d_f`` the smallest distance of the face's corners and centre
    from the axes (0 inside the deflated balloon); a cell's gate is the
    smallest over its faces. Cells the balloons start in have gate 0; cells
    the balloon cannot crush are never reached.
    """
    faces = mesh_faces(mesh)
    a = min(b.radius for b in balloons)
    fi, fj = faces.inner_i, faces.inner_j
    corners = mesh.points[faces.inner_nodes]  # (f, k, 3)
    d = np.minimum(_segment_distance(corners.reshape(-1, 3), balloons).reshape(corners.shape[:2]).min(axis=1),
                   _segment_distance(faces.inner_center, balloons))
    lift = 1.0 + d / a
    blocked = ~np.isfinite(strength)
    shut = blocked[fi] | blocked[fj]  # no way into or out of bone the balloon cannot crush
    inner = d <= a  # the deflated balloon: open
    into_j = np.where(shut, np.inf, np.where(inner, 0.0, strength[fi] * lift))
    into_i = np.where(shut, np.inf, np.where(inner, 0.0, strength[fj] * lift))
    return np.where(blocked, np.inf, _relax(strength.size, seeds, fi, fj, into_j, into_i))


def cavity_cells(fraction: np.ndarray) -> np.ndarray:
    """bool (n_cells,): the cells at least half cavity, or (on a mesh too coarse for any) every cell holding some.

    The cells a cavity is drawn with, counted as cavity in cell sets, and
    measured from (shell thickness, interdigitation depth).
    """
    fraction = np.asarray(fraction, float)
    core = fraction >= 0.5
    return core if core.any() else fraction > 0


def damaged_parts(mesh: Mesh, materials: MaterialMap, strength: np.ndarray, *,
                  strength_law=DEFAULT_STRENGTH_LAW):
    """The two parts of the cells a fracture's damaged band cuts, and their crush strengths.

    A cell the band's edge cuts (``0 < phi < 1``, ``mesh.cell_data["damaged_fraction"]`` of
    :func:`vbfem.fracture.deformity.apply_fracture`) holds a damaged part (volume fraction ``phi``)
    and intact bone; its modulus is their laminate (:func:`vbfem.fracture.band.band_moduli`), and
    :func:`bone_strength` of that blend would make the whole cell nearly as weak as the band. Each
    part gets the strength of its own modulus and density instead: the intact modulus ``E0 = E / g``
    (``g`` the laminate's axial modulus of parts ``f`` and 1, the laminate being homogeneous of
    degree one in the moduli; ``f`` the damaged part's modulus fraction) and ``f E0``; the intact
    density ``ρ0 = ρ r`` (``r`` the cell's deformed over intact volume, ``mesh.cell_data["volume_ratio"]``:
    the fracture conserved each cell's mass) and the damaged part's ``ρ0 / (1 - ε)``, compacted by
    ``ε = (1 - r) / phi`` (only the damaged part was compacted). Without ``"volume_ratio"`` both
    parts keep the cell's density.

    ``phi`` is the damaged share of the cell before the fracture (:mod:`vbfem.fracture.band`); it
    enters the modulus inversion, as in :func:`vbfem.fracture.band.band_moduli`. The fractured mesh's
    cell holds the damaged part at the share ``phi1 = phi (1 - ε) / r = (phi - (1 - r)) / r``
    (smaller than ``phi``: the damaged part shrank, the intact one did not), and that share is the one
    returned, since the points it is compared with (:func:`point_strength`) lie on the fractured mesh.
    Where ``r > 1`` (the cell was stretched) neither part is compacted (``ε = 0``, ``phi1 = phi``).
    Where ``ε`` would exceed :data:`MAX_PART_COMPACTION` the cell lost more volume than its damaged
    part holds: the intact part was compacted too, which the two-part model excludes, so the cell is
    left unsplit (its blended strength for every point) and the number of such cells is logged.

    Parameters
    ----------
    mesh : Mesh
        The fractured mesh, with cell data ``damaged_fraction``, ``damaged_normal`` (into the damaged
        part; a cut cell with a zero normal, whose edge gave no direction, is left unsplit) and
        ``damage_modulus_fraction``.
    materials : MaterialMap
    strength : ndarray (n_cells,)
        :func:`crush_strength` of every cell, MPa (only cells with a finite, positive one are split).
    strength_law : str, keyword-only
        A strength law of :mod:`vbfem.materials.laws`, as for :func:`bone_strength`.

    Returns
    -------
    part : ndarray (n_cells,) or None
        Damaged volume fraction of the split cells in the mesh's (fractured) configuration, ``phi1``
        (``phi`` without ``"volume_ratio"``), 0 elsewhere (None: the mesh has no band data).
    normal : ndarray (n_cells, 3) or None
        Normal of the band's edge, pointing into the damaged part.
    part_strength : ndarray (n_cells, 2) or None
        Strength of the damaged part and of the intact part, MPa (the cell's own where not split).
    """
    keys = ("damaged_fraction", "damaged_normal", "damage_modulus_fraction")
    if not all(k in mesh.cell_data for k in keys):
        return None, None, None
    phi, normal, f = (np.asarray(mesh.cell_data[k], float) for k in keys)
    cut = np.flatnonzero((phi > 0) & (phi < 1) & np.isfinite(strength) & (strength > 0)
                         & np.any(normal != 0.0, axis=1))
    part = np.zeros(mesh.n_cells)
    part_strength = np.column_stack([strength, strength]).astype(float)
    share = phi.copy()  # the damaged share in the mesh's configuration
    if cut.size and "volume_ratio" in mesh.cell_data:
        r_all = np.asarray(mesh.cell_data["volume_ratio"], float)
        over = (1.0 - r_all[cut]) / phi[cut] > MAX_PART_COMPACTION
        if over.any():
            log.info("damaged_parts: %d of %d cut cells lost more volume than their damaged part can "
                     "(compaction > %g): left unsplit, with their blended strength", int(over.sum()), cut.size,
                     MAX_PART_COMPACTION)
        cut = cut[~over]
    if cut.size:
        nu = np.asarray(materials.nu, float)[cut]
        g = axial_modulus(f[cut], nu, np.ones(cut.size), nu, phi[cut], normal[cut])
        E0 = np.asarray(materials.E, float)[cut] / g
        rho = np.asarray(materials.density, float)[cut]
        rho0, rho_d = rho, rho
        if "volume_ratio" in mesh.cell_data:
            r = r_all[cut]
            eps = np.maximum((1.0 - r) / phi[cut], 0.0)
            rho0 = rho * r
            rho_d = rho0 / (1.0 - eps)
            share[cut] = np.clip(phi[cut] * (1.0 - eps) / r, 0.0, 1.0)
        for col, (E_part, rho_part) in enumerate(((f[cut] * E0, rho_d), (E0, rho0))):
            E = np.array(materials.E, float)
            E[cut] = E_part
            density = np.array(materials.density, float)
            density[cut] = rho_part
            part_strength[cut, col] = bone_strength(materials.replace(E=E, density=density), cut,
                                                    strength_law=strength_law)
        part[cut] = share[cut]
    return part, np.where(part[:, None] > 0, normal, 0.0), part_strength


def point_strength(inflation: Inflation, cells, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Crush strength (MPa) at points ``x`` (m, p, 3) with weights ``w`` (m, p) of ``cells``.

    The cell's strength, except in the cells a damaged band cuts (:func:`damaged_parts`): there the
    points furthest along the band edge's normal, holding the damaged part's share of the cell's weight
    (``Inflation.part``: its share of the fractured cell, not the pre-fracture ``damaged_fraction``)
    (a point is in if the middle of its weight is), take the damaged part's strength and the others
    the intact part's. The band's edge is thus a plane inside the cell, like the cavity's wall, so
    the crushed region does not jump by a cell where the edge moves through the mesh.

    Parameters
    ----------
    inflation : Inflation
        The inflation's per-cell strengths (``strength``, MPa) and, where a band cuts cells, their
        parts (``part``, ``part_normal``, ``part_strength``; :func:`damaged_parts`).
    cells : array_like of int (m,)
        Cells the points belong to.
    x : ndarray (m, p, 3)
        Coordinates of each cell's points in the fractured mesh, mm.
    w : ndarray (m, p)
        Their weights (volumes, mm³, or any positive weights proportional to them).

    Returns
    -------
    ndarray (m, p)
        Crush strength at each point, MPa.
    """
    cells = np.asarray(cells, np.int64)
    out = np.repeat(np.asarray(inflation.strength, float)[cells, None], w.shape[1], axis=1)
    if inflation.part is None or cells.size == 0:
        return out
    split = np.flatnonzero(inflation.part[cells] > 0)
    if split.size == 0:
        return out
    k = cells[split]
    h = np.einsum("mpi,mi->mp", x[split], inflation.part_normal[k])  # height along the normal
    rank = np.argsort(-h, axis=1)  # the damaged side first
    ws = np.take_along_axis(w[split], rank, axis=1)
    mid = (np.cumsum(ws, axis=1) - 0.5 * ws) / ws.sum(axis=1, keepdims=True)
    damaged = np.empty_like(mid, dtype=bool)
    np.put_along_axis(damaged, rank, mid <= inflation.part[k, None], axis=1)
    out[split] = np.where(damaged, inflation.part_strength[k, 0, None], inflation.part_strength[k, 1, None])
    return out


def _cavity_fraction(cavity, mesh: Mesh) -> np.ndarray:
    """``cavity`` (fractions or a boolean mask) as fractions, checked."""
    c = np.asarray(cavity)
    if c.shape != (mesh.n_cells,):
        raise ValueError(f"cavity must be a fraction (or boolean mask) of {mesh.n_cells} cells, got shape {c.shape}")
    c = c.astype(float)
    if not np.all((c >= 0) & (c <= 1)):
        raise ValueError("cavity fractions must lie in [0, 1]")
    return c


def _cavity(mesh: Mesh, inflation: Inflation, cells, *, volume=None, pressure=None, crushed: Mesh | None = None):
    """The cavity among ``cells`` at a volume (mm³) or pressure (MPa): ``(Inflation, p_sorted, v_cum)``.

    ``p_sorted`` are the crush pressures of the cells' Gauss points in the
    order they are crushed (pressure, then distance from the axis) and
    ``v_cum`` the cavity volume once each is: the pressure-volume curve.
    A target volume takes points in that order, so ties (a void's cells,
    which open all at once at their gate) are split by distance.
    """
    cells = np.asarray(cells, np.int64)
    xg, w = cell_points(mesh, CAVITY_POINTS, cells)
    if crushed is not None:  # the crush pressure belongs to the bone's points: their places on the crushed mesh
        xg = cell_points(crushed, CAVITY_POINTS, cells)[0]
    d = _segment_distance(xg.reshape(-1, 3), inflation.balloons).reshape(w.shape)
    a = min(b.radius for b in inflation.balloons)
    sigma = point_strength(inflation, cells, xg, w)
    t = np.where(d <= a, 0.0, np.maximum(inflation.gate[cells, None], sigma * (1.0 + d / a)))
    rank = np.lexsort((d.ravel(), t.ravel()))
    ts, cum = t.ravel()[rank], np.cumsum(w.ravel()[rank])
    if volume is not None:
        j = min(int(np.searchsorted(cum, volume, side="left")), cum.size - 1)
        if j > 0 and volume - cum[j - 1] < cum[j] - volume:  # the nearest volume
            j -= 1
        inside = np.zeros(t.size, bool)
        inside[rank[:j + 1]] = True
        inside = inside.reshape(t.shape)
        pressure = float(ts[j]) if j >= 0 else 0.0
    else:
        inside = t <= pressure
    frac = np.zeros(mesh.n_cells)
    if cells.size:
        frac[cells] = np.einsum("mp,mp->m", w, inside) / w.sum(axis=1)
        frac[cells[inside.all(axis=1)]] = 1.0
    cut = np.flatnonzero((frac > 0) & (frac < 1))
    normal = np.zeros((mesh.n_cells, 3))
    x = cell_centroids(mesh if crushed is None else crushed)
    normal[cut] = _towards_axis(x[cut], inflation.balloons)
    held = inside.any(axis=1)
    first = np.where(inside, t, np.inf).min(axis=1)[held]
    order = cells[held][np.lexsort((_segment_distance(x[cells[held]], inflation.balloons), first))]
    res = replace(inflation, fraction=frac, normal=normal, order=order, final_pressure=float(pressure),
                  cavity_volume=float(frac @ cell_volumes(mesh)))
    return res, ts, cum


def resolve_cavity(mesh: Mesh, inflation: Inflation, *, volume: float | None = None,
                   pressure: float | None = None, cells=None, crushed: Mesh | None = None) -> Inflation:
    """The cavity of ``inflation``'s strengths and gates on ``mesh`` at a volume or pressure.

    Give exactly one of ``volume`` (mm³, met to within one Gauss point's
    weight) and ``pressure`` (MPa). ``cells`` limits the search (default:
    every cell with a finite gate). ``crushed`` is the mesh the balloons
    crushed on when ``mesh`` has since moved (the same cells, e.g. lifted by
    :func:`vbfem.treatment.restoration.restore_height`): the crush pressure is a
    property of the bone's points, so it is found at their places on
    ``crushed``, and the volumes on ``mesh``. Returns a new Inflation with
    the fraction, normal, order, final pressure (the crush pressure of the
    last point taken) and volume of that cavity on ``mesh``; its
    pressure-volume curve is that of ``inflation``.
    """
    if (volume is None) == (pressure is None):
        raise ValueError("give exactly one of volume (mm³) and pressure (MPa)")
    if cells is None:
        cells = np.flatnonzero(np.isfinite(inflation.gate) & np.isfinite(inflation.strength))
    return _cavity(mesh, inflation, cells, volume=volume, pressure=pressure, crushed=crushed)[0]


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
        A strength law of :mod:`vbfem.materials.laws` (``"hansson1987"``, ``"mosekilde1987"``).
    allow_breach : bool, keyword-only
        Let the balloon crush cortex and endplates.

    Returns
    -------
    Inflation
        The cavity resolved inside the cells (module docstring).

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
    sigma = crush_strength(mesh, materials, strength_law=strength_law, allow_breach=allow_breach)
    x = cell_centroids(mesh)
    d = _segment_distance(x, balloons)
    a = min(b.radius for b in balloons)
    r = sigma * (1.0 + d / a)
    seeds = np.flatnonzero((d <= a) & np.isfinite(r))
    if seeds.size == 0:  # mesh coarser than the deflated balloon: the nearest crushable cell per balloon
        seeds = np.unique([int(np.argmin(np.where(np.isfinite(r), _segment_distance(x, (b,)), np.inf)))
                           for b in balloons])
    gate = _gate(mesh, sigma, seeds, balloons)
    reach = np.flatnonzero(np.isfinite(gate))
    centre = np.maximum(gate, r)[reach]  # the pressure crushing each cell's centroid bounds the search
    by_centre = np.argsort(centre, kind="stable")
    whole = centre[by_centre]
    cum_whole = np.cumsum(cell_volumes(mesh)[reach][by_centre])
    part, part_normal, part_strength = damaged_parts(mesh, materials, sigma, strength_law=strength_law)
    base = Inflation(fraction=np.zeros(mesh.n_cells), normal=np.zeros((mesh.n_cells, 3)),
                     order=np.zeros(0, np.int64), volume=np.zeros(0), pressure=np.zeros(0), resistance=r,
                     strength=sigma, gate=gate, balloons=balloons, final_pressure=0.0, cavity_volume=0.0,
                     part=part, part_normal=part_normal, part_strength=part_strength)
    if volume is not None:
        target = 1000.0 * volume * len(balloons)
        if target > cum_whole[-1]:
            raise ValueError(f"inflation_volume={volume:g} mL per balloon ({target / 1000:g} mL in all) is more "
                             f"than the body can hold: the crushable bone reachable within cortex and endplates "
                             f"is {cum_whole[-1] / 1000:.3g} mL")
        k = int(np.searchsorted(cum_whole, target))
        while True:  # the cells the crushed region reaches below the cap hold every point crushed below it
            last = k + k // 4 + 1 >= whole.size - 1
            cap = np.inf if last else whole[k + k // 4 + 1]
            res, ts, cum = _cavity(mesh, base, np.flatnonzero(gate <= cap), volume=target)
            if res.final_pressure <= cap:
                break
            k = 2 * k + 1
        if res.final_pressure > rated:
            raise ValueError(f"inflation_volume={volume:g} mL needs {res.final_pressure:.3g} MPa, above the "
                             f"balloon's rated limit rated_pressure={rated:g} MPa")
    else:
        res, ts, cum = _cavity(mesh, base, np.flatnonzero(gate <= pressure), pressure=pressure)
    n = int(np.searchsorted(cum, res.cavity_volume * (1.0 - 1e-12), side="left"))  # points before the last one
    pick = np.unique(np.linspace(0, n - 1, min(n, 255)).round().astype(np.int64)) if n else np.zeros(0, np.int64)
    res = replace(res, volume=np.append(cum[pick], res.cavity_volume), pressure=np.append(ts[pick], res.final_pressure))
    log.info("inflate: %d balloon(s), cavity %.3f mL in %d cells (%d cut by its wall) at %.3g MPa", len(balloons),
             res.cavity_volume / 1000, res.order.size, int(np.count_nonzero(res.normal.any(axis=1))),
             res.final_pressure)
    return res
