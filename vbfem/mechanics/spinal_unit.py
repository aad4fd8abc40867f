"""Functional spinal units: the treated vertebral body stacked with discs and its neighbours.

A unit is two levels (the treated body and its cranial neighbour, one disc) or three (caudal
neighbour, disc, treated body, disc, cranial neighbour). The neighbours are parametric levels of the
morphometry table, meshed with the treated body's cross-section topology so that the endplate node
grids of two bodies facing each other match one to one; each disc is lofted between those two grids
(straight lines from node to node, ``disc_layers`` hex8 layers), so it shares its nodes with both
endplates (a conforming mesh, no tie). The nucleus is the central part of the disc's cross-section
(the quads nearest the endplate's centre in the elliptic norm of its half extents) with the area
fraction ``nucleus_fraction``, through the disc's full height; the annulus is the rest.

The nucleus is by default a fluid-filled cavity (``nucleus="fluid"``): a hydrostatic fluid of bulk
modulus :data:`vbfem.materials.disc.NUCLEUS_FLUID_BULK` fills each nucleus, whose cells keep a soft solid
skeleton (:data:`~vbfem.materials.disc.NUCLEUS_SKELETON_E`, ``NUCLEUS_SKELETON_NU``); the unit carries one
:class:`vbfem.fem.cavity.Cavity` per disc and is solved with
:func:`vbfem.mechanics.spine.solve_unit`. ``nucleus="solid"`` keeps the nearly incompressible solid
nucleus (:data:`~vbfem.materials.disc.NUCLEUS_E`, ``NUCLEUS_NU``) and no cavity.

Sources of the disc morphometry are beside the constants. Units: mm.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType

import numpy as np

from ..anatomy.morphometry import LEVELS
from ..materials.disc import NUCLEUS_FLUID_BULK
from ..records import MaterialMap, Mesh, tissue_code

log = logging.getLogger(__name__)

__all__ = ["DISC_HEIGHT", "NUCLEUS_FRACTION", "DiscOptions", "SpinalUnit", "SpineModel", "adjacent_levels",
           "assemble_unit", "prepare_spine", "rim_nodes", "unit_levels"]

#: Disc height (mean of the anterior and posterior heights), mm, by the cranial level of the disc:
#: digital lateral radiographs of 120 normal subjects, anterior / posterior L1/2 10.23 / 7.85,
#: L2/3 12.62 / 8.76, L3/4 14.33 / 9.00, L4/5 16.91 / 9.24 mm (Agichani, Joshi & Joshi, "Morphometric
#: study of lumbar intervertebral discs in a tertiary care centre in central India", J Evid Based Med
#: Healthc). No thoracic or thoracolumbar (T12/L1) value was found: give ``disc_height`` there.
DISC_HEIGHT = MappingProxyType({
    "L1": 0.5 * (10.23 + 7.85),
    "L2": 0.5 * (12.62 + 8.76),
    "L3": 0.5 * (14.33 + 9.00),
    "L4": 0.5 * (16.91 + 9.24),
})

#: Nucleus share of the disc's cross-sectional area: 0.64² = 0.41, from the L4/5 nucleus occupying
#: 64.0 % of the disc length in the mid-sagittal plane (MRI of 41 young subjects; "In vivo morphological
#: features of human lumbar discs", Medicine (Baltimore) 2014) with the same ratio assumed across the
#: width (a derivation, not a measured area). FE studies vary the ratio over 0.21-0.60 (J Biomech Eng
#: 2019;141(5):051004).
NUCLEUS_FRACTION = 0.64 ** 2


@dataclass(frozen=True)
class DiscOptions:
    """Disc geometry: height (mm, None: :data:`DISC_HEIGHT` of the level), nucleus area fraction, layers."""

    height: float | None = None
    nucleus_fraction: float = NUCLEUS_FRACTION
    layers: int | None = None


def unit_levels(level: str, *, levels: int = 3, segments=None) -> tuple[str, ...]:
    """Levels of the unit in cranio-caudal order, checked to be neighbours in :data:`LEVELS`.

    Parameters
    ----------
    level : str
        The treated level.
    levels : {2, 3}, keyword-only
        2: the treated body and its cranial neighbour; 3: with the caudal one too.
    segments : sequence of str, optional, keyword-only
        Explicit levels (cranio-caudal or caudo-cranial), e.g. ``["L2", "L3", "L4"]``; must contain
        ``level`` and be consecutive.

    Examples
    --------
    >>> unit_levels("L3")
    ('L2', 'L3', 'L4')
    """
    key = str(level).strip().upper()
    if key not in LEVELS:
        raise ValueError(f"level={level!r} is not in the morphometry table; valid levels: {', '.join(LEVELS)}")
    i = LEVELS.index(key)
    if segments is None:
        if levels not in (2, 3):
            raise ValueError(f"spine levels={levels!r} must be 2 or 3")
        lo, hi = i - 1, i + (levels - 1)
        if lo < 0 or hi > len(LEVELS):
            raise ValueError(f"a {levels}-level unit around {key} needs levels outside {LEVELS[0]}-{LEVELS[-1]}")
        return LEVELS[lo:lo + levels] if levels == 3 else LEVELS[i - 1:i + 1]
    seg = [str(s).strip().upper() for s in segments]
    for s in seg:
        if s not in LEVELS:
            raise ValueError(f"segments={list(segments)!r}: {s!r} is not a level; valid levels: {', '.join(LEVELS)}")
    idx = sorted(LEVELS.index(s) for s in seg)
    if len(seg) not in (2, 3) or np.any(np.diff(idx) != 1):
        raise ValueError(f"segments={list(segments)!r} must be 2 or 3 neighbouring levels, e.g. ['L2', 'L3', 'L4']")
    if key not in seg:
        raise ValueError(f"segments={list(segments)!r} must contain the treated level {key!r}")
    return tuple(LEVELS[j] for j in idx)


def adjacent_levels(levels, treated: str) -> tuple[str, ...]:
    """The levels of ``levels`` next to ``treated``."""
    i = list(levels).index(treated)
    return tuple(levels[j] for j in (i - 1, i + 1) if 0 <= j < len(levels))


# ------------------------------------------------------------------ topology helpers
def _face_quads(mesh: Mesh, side: str) -> np.ndarray:
    """Quads (k, 4), counter-clockwise seen from +z, of the cells' faces on endplate ``side``."""
    nodes = mesh.node_set(side)
    on = np.zeros(mesh.n_points, bool)
    on[nodes] = True
    cells = mesh.cells
    if mesh.cell_type != "hex8":
        raise ValueError(f"a spinal unit needs hex8 bodies, got {mesh.cell_type}")
    face = cells[:, 4:8] if side == "superior" else cells[:, 0:4]
    return face[on[face].all(axis=1)]


def _local(quads: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    pos = np.full(int(nodes.max()) + 1, -1)
    pos[nodes] = np.arange(nodes.size)
    return pos[quads]


def _canonical(q: np.ndarray) -> np.ndarray:
    """Quads as sorted rows in sorted order (to compare two patches' topology)."""
    s = np.sort(q, axis=1)
    return s[np.lexsort(s.T[::-1])]


def _matching_grids(lower: Mesh, upper: Mesh) -> np.ndarray:
    """Quads of the disc between ``lower``'s superior and ``upper``'s inferior endplate, in positions of
    their node sets (position i of one set faces position i of the other); ValueError if the two endplate
    grids differ."""
    a, b = lower.node_set("superior"), upper.node_set("inferior")
    qa = _local(_face_quads(lower, "superior"), a)
    qb = _local(_face_quads(upper, "inferior"), b)
    if a.size != b.size or qa.shape != qb.shape or not np.array_equal(_canonical(qa), _canonical(qb)):
        raise ValueError(
            f"the endplate grids do not match ({a.size} and {b.size} nodes, {len(qa)} and {len(qb)} quads): "
            "mesh the neighbours with the treated body's cross-section (prepare_spine does)")
    return qa


def rim_nodes(quads: np.ndarray) -> np.ndarray:
    """Node ids on the boundary of a quad patch ``quads`` (k, 4): the ends of the edges used by one quad only.

    Returns
    -------
    ndarray of int
        Sorted, unique node ids.
    """
    e = np.concatenate([quads[:, [0, 1]], quads[:, [1, 2]], quads[:, [2, 3]], quads[:, [3, 0]]])
    e = np.sort(e, axis=1)
    u, count = np.unique(e, axis=0, return_counts=True)
    return np.unique(u[count == 1])


def _nucleus_quads(xy: np.ndarray, quads: np.ndarray, fraction: float) -> np.ndarray:
    """Mask of the quads whose centroids are nearest the patch centre (elliptic norm of the half extents)
    with area closest to ``fraction`` of the patch; ValueError if it reaches the rim."""
    rim = rim_nodes(quads)
    c = xy[rim].mean(axis=0)
    half = 0.5 * np.ptp(xy[rim], axis=0)
    cen = xy[quads].mean(axis=1)
    rho = np.hypot(*((cen - c) / half).T)
    p = xy[quads]
    area = 0.5 * np.abs((p[:, 2, 0] - p[:, 0, 0]) * (p[:, 3, 1] - p[:, 1, 1])
                        - (p[:, 3, 0] - p[:, 1, 0]) * (p[:, 2, 1] - p[:, 0, 1]))
    order = np.argsort(rho, kind="stable")
    share = np.cumsum(area[order]) / area.sum()
    n = int(np.argmin(np.abs(share - fraction))) + 1
    mask = np.zeros(len(quads), bool)
    mask[order[:n]] = True
    on_rim = np.zeros(xy.shape[0], bool)
    on_rim[rim] = True
    if on_rim[quads[mask]].any():
        inner = ~on_rim[quads[order]].any(axis=1)
        largest = float(share[inner].max()) if inner.any() else 0.0
        raise ValueError(f"nucleus_fraction={fraction!r} makes the nucleus reach the disc's rim: no annulus would be "
                         f"left at this mesh size (largest nucleus share here {largest:.2f})")
    return mask


# ------------------------------------------------------------------ the model
@dataclass(frozen=True, eq=False)
class SpineModel:
    """What stays the same in every state of a unit: the neighbours and the disc options.

    Attributes
    ----------
    levels : tuple of str
        Cranio-caudal.
    treated : str
    neighbours : mapping of level to (Mesh, MaterialMap)
        Intact neighbouring bodies, in their own coordinates.
    disc : DiscOptions
    disc_heights : mapping of "upper/lower" to float
        mm.
    disc_layers : int
    nucleus : tuple (E, nu)
        The nucleus cells' solid: the skeleton of a fluid nucleus, or the solid nucleus.
    annulus : mapping of :func:`vbfem.materials.disc.annulus_stiffness` options
    nucleus_model : {"fluid", "solid"}
    nucleus_bulk : float
        Bulk modulus of a fluid nucleus, MPa (unused by a solid one).
    """

    levels: tuple
    treated: str
    neighbours: Mapping[str, tuple]
    disc: DiscOptions
    disc_heights: Mapping[str, float]
    disc_layers: int
    nucleus: tuple
    annulus: Mapping[str, float] = field(default_factory=dict)
    nucleus_model: str = "fluid"
    nucleus_bulk: float = NUCLEUS_FLUID_BULK


@dataclass(frozen=True, eq=False)
class SpinalUnit:
    """A meshed unit of one state.

    Attributes
    ----------
    mesh : Mesh
        Cell sets ``body_<L>`` (each body), ``<L>:<set>`` (the body's own cell sets), ``disc_<U>_<L>``,
        ``nucleus_<U>_<L>``, ``annulus_<U>_<L>``, ``nucleus``, ``annulus``; node sets ``superior`` (the
        top body's superior endplate, loaded), ``inferior`` (the bottom body's inferior endplate, fixed),
        ``<L>:superior``, ``<L>:inferior`` (every body's endplates). Cell data ``region``, ``level``
        (index into ``levels``, -1 in the discs).
    materials : MaterialMap
        Bone of each body; discs of tissue ``"disc"``, the annulus with its own ``stiffness``.
    levels, treated
        As in :class:`SpineModel`.
    discs : tuple of str
        Disc names ``<U>_<L>`` cranial first.
    cavities : tuple of Cavity
        One fluid-filled nucleus per disc, named as ``discs`` (empty for a solid nucleus): solve the unit
        with :func:`vbfem.mechanics.spine.solve_unit`, which includes them. ``materials`` declares them
        (``params["fluid_cavities"]``, :func:`vbfem.fem.cavity.material_cavities`), so that
        :func:`vbfem.output.inp.to_inp` of ``mesh`` and ``materials`` writes the fluid too.
    """

    mesh: Mesh
    materials: MaterialMap
    levels: tuple
    treated: str
    discs: tuple
    cavities: tuple = ()


def prepare_spine(treated_mesh: Mesh, *, level: str, levels: int = 3, segments=None, size: float,
                  bmd="osteoporotic", law=None, seed=0, disc: DiscOptions = DiscOptions(),
                  nucleus_E: float | None = None, nucleus_nu: float | None = None, annulus: Mapping | None = None,
                  geometries: Mapping | None = None, nucleus: str = "fluid",
                  nucleus_bulk: float | None = None) -> SpineModel:
    """Check the options and mesh the neighbours of ``level`` with the treated body's cross-section.

    Parameters
    ----------
    treated_mesh : Mesh
        The treated body's intact mesh from :func:`vbfem.anatomy.mesher.mesh_vertebra` (hex8).
    level : str
    levels, segments
        See :func:`unit_levels`.
    size : float, keyword-only
        The element size (mm) the treated body was meshed with; the neighbours' layers and the disc
        layers follow it.
    bmd, law, seed
        Bone quality of the neighbours (:func:`vbfem.materials.bone.assign_bone`); ``bmd`` may be a
        mapping level -> bmd.
    disc : DiscOptions
    nucleus_E, nucleus_nu : float, optional
        The nucleus cells' solid (MPa, -): default :data:`vbfem.materials.disc.NUCLEUS_SKELETON_E`,
        ``NUCLEUS_SKELETON_NU`` (the skeleton) for a fluid nucleus, :data:`~vbfem.materials.disc.NUCLEUS_E`,
        ``NUCLEUS_NU`` for a solid one.
    annulus : mapping, optional
        Options of :func:`vbfem.materials.disc.annulus_stiffness`.
    geometries : mapping of level to Geometry, optional
        Neighbour geometries (default :func:`vbfem.anatomy.geometry.build_vertebra`).
    nucleus : {"fluid", "solid"}, keyword-only
        A fluid-filled cavity in a soft skeleton (default) or a nearly incompressible solid.
    nucleus_bulk : float, optional, keyword-only
        Bulk modulus of the fluid, MPa (default :data:`vbfem.materials.disc.NUCLEUS_FLUID_BULK`).

    Raises
    ------
    ValueError
        Levels that are not neighbours, a disc thinner than half an element or not positive, a nucleus
        fraction outside (0, 1), material values outside their physical ranges: before any meshing.
    """
    from ..materials import disc as dm

    names = unit_levels(level, levels=levels, segments=segments)
    key = str(level).strip().upper()
    if treated_mesh.cell_type != "hex8":
        raise ValueError(f"a spinal unit needs a hex8 treated body, got cell_type={treated_mesh.cell_type!r}")
    if nucleus not in ("fluid", "solid"):
        raise ValueError(f"nucleus={nucleus!r} must be 'fluid' (a fluid-filled cavity) or 'solid'")
    fluid = nucleus == "fluid"
    nE = (dm.NUCLEUS_SKELETON_E if fluid else dm.NUCLEUS_E) if nucleus_E is None else float(nucleus_E)
    nnu = (dm.NUCLEUS_SKELETON_NU if fluid else dm.NUCLEUS_NU) if nucleus_nu is None else float(nucleus_nu)
    dm.check_disc_material("nucleus skeleton" if fluid else "nucleus", nE, nnu)
    bulk = dm.NUCLEUS_FLUID_BULK if nucleus_bulk is None else float(nucleus_bulk)
    if not (np.isfinite(bulk) and bulk > 0):
        raise ValueError(f"nucleus_bulk={nucleus_bulk!r} MPa must be finite and > 0")
    annulus = dict(annulus or {})
    dm.annulus_stiffness([[0.0, 1.0, 0.0]], **annulus)  # validates the options
    if not (0.0 < disc.nucleus_fraction < 1.0):
        raise ValueError(f"nucleus_fraction={disc.nucleus_fraction!r} must be in (0, 1): the nucleus cannot be "
                         "larger than the disc")
    heights = {}
    for up, lo in pairwise(names):
        h = disc.height if disc.height is not None else DISC_HEIGHT.get(up)
        if h is None:
            raise ValueError(f"no published disc height for {up}/{lo} in vbfem.mechanics.spinal_unit.DISC_HEIGHT "
                             f"(known: {', '.join(f'{k}/{LEVELS[LEVELS.index(k) + 1]}' for k in DISC_HEIGHT)}); "
                             "give the disc height")
        if not (np.isfinite(h) and h > 0):
            raise ValueError(f"disc height={h!r} mm must be > 0")
        if h < 0.5 * size:
            raise ValueError(f"disc height={h!r} mm is thinner than half an element (size={size!r} mm): the disc "
                             "needs at least one element of aspect ratio <= 2 across its height")
        heights[f"{up}/{lo}"] = float(h)
    if disc.layers is not None:
        if int(disc.layers) < 1:
            raise ValueError(f"disc layers={disc.layers!r} must be >= 1")
        n_layers = int(disc.layers)
    else:
        n_layers = max(1, round(min(heights.values()) / size))

    from ..anatomy.geometry import build_vertebra
    from ..anatomy.mesher import _resolution, mesh_vertebra
    from ..materials.bone import assign_bone

    n_q = _face_quads(treated_mesh, "superior").shape[0]
    neighbours = {}
    for name in names:
        if name == key:
            continue
        g = (geometries or {}).get(name) or build_vertebra(name)
        nb = _mesh_like(treated_mesh, g, size, n_q, mesh_vertebra, _resolution)
        b = bmd.get(name, "osteoporotic") if isinstance(bmd, Mapping) else bmd
        kw = {} if law is None else {"law": law}
        neighbours[name] = (nb, assign_bone(nb, bmd=b, seed=seed, **kw))
    return SpineModel(levels=names, treated=key, neighbours=MappingProxyType(neighbours),
                      disc=disc, disc_heights=MappingProxyType(heights), disc_layers=n_layers,
                      nucleus=(nE, nnu), annulus=MappingProxyType(annulus), nucleus_model=nucleus,
                      nucleus_bulk=bulk)


def _mesh_like(treated: Mesh, g, size, n_q, mesh_vertebra, resolution) -> Mesh:
    """Mesh geometry ``g`` with the cross-section topology of ``treated`` (same quads around and across).

    The mesher's cross-section is an ``n x n`` inner block and ``n_ring + 1`` rings of ``4 n`` quads,
    ``n² + 4 n (n_ring + 1)`` quads in all. The pairs ``(n, n_ring)`` that give the treated body's count are
    tried (nearest the neighbour's own resolution first): ``n`` through ``n_circumferential = 4 n``,
    ``n_ring`` through a size with ``ceil(core_span / size) == n_ring``; the layers along z follow ``size``.
    The first mesh whose endplate grid equals the treated body's is kept.
    """
    from ..anatomy.mesher import _INNER_FRACTION, SIZE_RANGE

    target = _canonical(_local(_face_quads(treated, "superior"), treated.node_set("superior")))
    n_own, _, nz = resolution(g, size)
    core_span = (1.0 - _INNER_FRACTION) * (0.5 * (0.5 * g.depth + 0.5 * g.width) - g.shell_thickness)
    pairs = [(n, (n_q - n * n) // (4 * n) - 1) for n in range(2, math.isqrt(n_q) + 1)
             if (n_q - n * n) % (4 * n) == 0 and (n_q - n * n) // (4 * n) - 1 >= 1]
    for n, rings in sorted(pairs, key=lambda p: abs(p[0] - n_own)):
        s_ring = core_span / (rings - 0.5)
        if not (SIZE_RANGE[0] <= s_ring <= SIZE_RANGE[1]):
            continue
        nb = mesh_vertebra(g, size=s_ring, n_layers=nz, n_circumferential=4 * n)
        q = _canonical(_local(_face_quads(nb, "inferior"), nb.node_set("inferior")))
        if q.shape == target.shape and np.array_equal(q, target):
            return nb
    raise ValueError(f"could not mesh {g.level} with the treated body's endplate grid ({n_q} quads)")


def assemble_unit(model: SpineModel, treated_mesh: Mesh, treated_materials: MaterialMap) -> SpinalUnit:
    """Stack the neighbours, the discs and this state's treated body into one conforming mesh.

    The treated body stays where it is; the cranial neighbour is moved along z so that the mean gap
    over the rim of the facing endplates is the disc height, the caudal one likewise below. A fractured
    or restored treated body thus carries its neighbours with its endplates.

    Parameters
    ----------
    model : SpineModel
    treated_mesh, treated_materials
        The state's treated body (the pipeline's :class:`~vbfem.study.pipeline.State` mesh and materials).
    """
    from ..materials import disc as dm

    if treated_materials.n_cells != treated_mesh.n_cells:
        raise ValueError("treated_materials does not match treated_mesh")
    bodies = {name: model.neighbours[name] for name in model.neighbours}
    bodies[model.treated] = (treated_mesh, treated_materials)
    order = list(model.levels)[::-1]  # caudal first: z grows along the list
    shifts = {model.treated: 0.0}
    t = order.index(model.treated)
    for j in range(t + 1, len(order)):  # cranial bodies
        lo, up = bodies[order[j - 1]][0], bodies[order[j]][0]
        gap = _rim_gap(lo, up)
        shifts[order[j]] = shifts[order[j - 1]] + model.disc_heights[f"{order[j]}/{order[j - 1]}"] - gap
    for j in range(t - 1, -1, -1):  # caudal bodies
        lo, up = bodies[order[j]][0], bodies[order[j + 1]][0]
        gap = _rim_gap(lo, up)
        shifts[order[j]] = shifts[order[j + 1]] - (model.disc_heights[f"{order[j + 1]}/{order[j]}"] - gap)

    points, cells, region, level_of = [], [], [], []
    node_sets, cell_sets = {}, {}
    node_off, cell_off = [], []
    n_pts = n_cells = 0
    for i, name in enumerate(order):
        m = bodies[name][0]
        node_off.append(n_pts)
        cell_off.append(n_cells)
        points.append(m.points + np.array([0.0, 0.0, shifts[name]]))
        cells.append(m.cells + n_pts)
        region.append(m.cell_data["region"] if "region" in m.cell_data
                      else np.full(m.n_cells, tissue_code("trabecular"), np.int8))
        level_of.append(np.full(m.n_cells, list(model.levels).index(name), np.int64))
        cell_sets[f"body_{name}"] = n_cells + np.arange(m.n_cells)
        for s, idx in m.cell_sets.items():
            cell_sets[f"{name}:{s}"] = n_cells + idx
        for s in ("superior", "inferior"):
            node_sets[f"{name}:{s}"] = n_pts + m.node_set(s)
        n_pts += m.n_points
        n_cells += m.n_cells

    disc_names, disc_blocks = [], []
    L = model.disc_layers
    for j in range(len(order) - 1):
        lo_name, up_name = order[j], order[j + 1]
        lo, up = bodies[lo_name][0], bodies[up_name][0]
        quads = _matching_grids(lo, up)
        a = node_off[j] + lo.node_set("superior")
        b = node_off[j + 1] + up.node_set("inferior")
        pa = points[j][lo.node_set("superior")]
        pb = points[j + 1][up.node_set("inferior")]
        frac = np.arange(1, L)[:, None, None] / L
        inner = (pa[None] + frac * (pb - pa)[None]).reshape(-1, 3)
        k = a.size
        ids = np.concatenate([a, n_pts + np.arange((L - 1) * k), b]).reshape(L + 1, k)
        points.append(inner)
        n_pts += inner.shape[0]
        cel = np.concatenate([ids[:-1][:, quads], ids[1:][:, quads]], axis=2).reshape(-1, 8)
        mask = np.tile(_nucleus_quads(pa[:, :2], quads, model.disc.nucleus_fraction), L)
        name = f"{up_name}_{lo_name}"
        disc_names.append(name)
        idx = n_cells + np.arange(cel.shape[0])
        cell_sets[f"disc_{name}"] = idx
        cell_sets[f"nucleus_{name}"] = idx[mask]
        cell_sets[f"annulus_{name}"] = idx[~mask]
        cells.append(cel)
        region.append(np.full(cel.shape[0], tissue_code("disc"), np.int8))
        level_of.append(np.full(cel.shape[0], -1, np.int64))
        disc_blocks.append((idx, mask, cel))
        n_cells += cel.shape[0]
    cell_sets["nucleus"] = np.concatenate([cell_sets[f"nucleus_{d}"] for d in disc_names])
    cell_sets["annulus"] = np.concatenate([cell_sets[f"annulus_{d}"] for d in disc_names])
    node_sets["superior"] = node_sets[f"{order[-1]}:superior"]
    node_sets["inferior"] = node_sets[f"{order[0]}:inferior"]
    all_points = np.concatenate(points)
    mesh = Mesh(all_points, np.concatenate(cells), "hex8", node_sets=node_sets, cell_sets=cell_sets,
                cell_data={"region": np.concatenate(region), "level": np.concatenate(level_of)})

    # ---------------------------------------------------------------- materials
    from ..fem.assembly import elasticity_matrices

    E, nu, tissue, density, ys, C = [], [], [], [], [], []
    for name in order:
        mat = bodies[name][1]
        E.append(mat.E)
        nu.append(mat.nu)
        tissue.append(mat.tissue)
        density.append(mat.density)
        ys.append(np.full(mat.n_cells, np.nan) if mat.yield_stress is None else mat.yield_stress)
        c = np.full((mat.n_cells, 6, 6), np.nan)
        if not mat.isotropic:
            own = mat.anisotropic_cells() | mat.stiffness_cells()
            c[own] = elasticity_matrices(mat)[own]
        C.append(c)
    nE, nnu = model.nucleus
    for idx, mask, cel in disc_blocks:
        m = idx.size
        e = np.where(mask, nE, model.annulus.get("E", dm.ANNULUS_E))
        v = np.where(mask, nnu, model.annulus.get("nu", dm.ANNULUS_NU))
        E.append(e)
        nu.append(v)
        tissue.append(np.full(m, tissue_code("disc"), np.int8))
        density.append(np.full(m, np.nan))
        ys.append(np.full(m, np.nan))
        c = np.full((m, 6, 6), np.nan)
        centre = all_points[cel].mean(axis=1)
        axis_c = all_points[cel[mask]].mean(axis=(0, 1)) if mask.any() else centre.mean(axis=0)
        radial = centre[~mask] - axis_c
        radial[:, 2] = 0.0
        circ = np.column_stack([-radial[:, 1], radial[:, 0], np.zeros(radial.shape[0])])
        c[~mask] = dm.annulus_stiffness(circ, **model.annulus)
        C.append(c)
    tm = treated_materials
    from ..fem.cavity import CAVITIES_PARAM, material_cavities

    fluid = {}
    if model.nucleus_model == "fluid":  # declared in the map, so that exports carry the fluid (to_inp)
        fluid = {CAVITIES_PARAM: {d: {"cell_set": f"nucleus_{d}", "bulk_modulus": float(model.nucleus_bulk)}
                                  for d in disc_names[::-1]}}
    materials = MaterialMap(E=np.concatenate(E), nu=np.concatenate(nu), tissue=np.concatenate(tissue),
                            density=np.concatenate(density), law=tm.law,
                            params={**{k: v for k, v in tm.params.items() if k != CAVITIES_PARAM}, **fluid,
                                    "spine": {"levels": list(model.levels), "treated": model.treated,
                                              "disc_heights": dict(model.disc_heights),
                                              "disc_layers": L, "nucleus": list(model.nucleus),
                                              "nucleus_fraction": model.disc.nucleus_fraction,
                                              "nucleus_model": model.nucleus_model,
                                              "nucleus_bulk": model.nucleus_bulk,
                                              "annulus": dict(model.annulus)}},
                            yield_stress=np.concatenate(ys), stiffness=np.concatenate(C))
    log.info("spinal unit %s: %d cells, %d nodes, discs %s", "-".join(model.levels), mesh.n_cells, mesh.n_points,
             ", ".join(disc_names))
    cavities = material_cavities(mesh, materials)
    return SpinalUnit(mesh=mesh, materials=materials, levels=tuple(model.levels), treated=model.treated,
                      discs=tuple(disc_names[::-1]), cavities=cavities)


def _rim_gap(lower: Mesh, upper: Mesh) -> float:
    """Mean z gap (mm) over the rim nodes between ``lower``'s superior and ``upper``'s inferior endplate,
    both in their own coordinates."""
    quads = _matching_grids(lower, upper)
    rim = rim_nodes(quads)
    za = lower.points[lower.node_set("superior")[rim], 2]
    zb = upper.points[upper.node_set("inferior")[rim], 2]
    return float(np.mean(zb - za))
