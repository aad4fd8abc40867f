"""Boundary-fitted mapped hexahedral meshes of a parametric vertebral body.

Cross-section (an O-grid, the same at every height up to the waist scale)::

    cortical shell ring   one radial layer of exactly ``shell_thickness``,
                          between the outline and its inward offset
    core ring             ``n_ring`` radial layers from the inner block to
                          the offset outline
    inner block           an n x n grid, a blend of a rectangle and the
                          elliptic square-to-disc map (no cell has a
                          180-degree corner, unlike a single mapped square)

Along z every node column runs from ``z_inferior`` to ``z_superior`` of the
geometry: the lowest and highest layer of cells are the bony endplates of
their real thickness (along z), the layers between are graded uniformly.
Outline nodes lie exactly on the lateral surface (the waist included) and
endplate nodes exactly on the endplate surfaces, so the mesh is
boundary-fitted, not a staircase.

Hexahedra are numbered so that the six-tet Kuhn split of
:func:`vbfem.fem.primitives.convert` is conforming: every quad of the
cross-section starts at the vertex of least "height" ``i + j (+ ring
layer)``, so two cells sharing a face split it along the same diagonal.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from ..fem.primitives import convert
from ..records import Mesh, tissue_code
from .geometry import Geometry

logger = logging.getLogger(__name__)

__all__ = ["BYTES_PER_CELL", "FORAMEN_RADIUS", "REGION_NAMES", "SIZE_RANGE", "WORKER_BASE_MEMORY", "WORKER_BYTES_PER_CELL", "check_mesh_memory", "count_cells",
           "count_nodes", "estimate_memory", "memory_budget", "mesh_vertebra"]

#: Allowed element sizes ``(smallest, largest)``, mm: the one source of this bound for
#: :func:`mesh_vertebra`, the study schema and the command line. At 0.3 mm the default L1 has
#: about 2.9 M hex8 cells; at 10 mm a handful of cells across the body.
SIZE_RANGE = (0.3, 10.0)

#: Peak memory of a study per cell of its mesh, bytes, by cell type: the growth of the peak RSS of a
#: linear-screen study (intact, fractured, VP, KP) with the cells over :data:`BASE_MEMORY`, measured on the
#: default L1 with ``python benchmarks/bench_memory.py [--cell-type tet4 | tet10]`` and rounded up
#: (docs/limits.md): hex8 19 kB per cell between 2.5 and 2 mm, 17 kB between 2 and 1.5 mm; tet4 0.293 GiB
#: at 4 mm (10 368 cells) and 0.391 GiB at 3 mm (19 602 cells), 9.6 and 10.5 kB per cell; tet10
#: 0.315 GiB at 5 mm (5 586 cells), 0.425 GiB at 4 mm (10 368 cells) and 0.504 GiB at 3.5 mm (13 500 cells),
#: 22, 23 and 23 kB per cell (24.7 kB per cell between 5 and 4 mm).
BYTES_PER_CELL = {"hex8": 20_000, "tet4": 11_000, "tet10": 25_000}
#: The fixed part of that peak, GiB: Python, numpy, scipy, numba and the compiled kernels (the measured
#: peak less 20 kB per cell, 0.18-0.19 GiB at 2.5 / 2 / 1.5 mm; benchmarks/bench_memory.py).
BASE_MEMORY = 0.2

#: Peak memory of one strength-curve worker process (:func:`vbfem.mechanics.failure.strength_pool`: a
#: spawned interpreter with the elastic-plastic kernels, holding one state's mesh and material map and its
#: Newton solve) per cell, bytes, and its fixed part, GiB. hex8 measured with
#: ``python benchmarks/bench_memory.py --workers 2`` (the nonlinear strength, 2 workers; the largest child's
#: peak RSS, psutil): 0.308 GiB at 2.5 mm (5 148 cells), 0.379 GiB at 2 mm (9 600 cells), 17 kB per cell over
#: 0.226 GiB, rounded up. tet4 and tet10 NOT measured: hex8's times the ratio of their study constants.
WORKER_BYTES_PER_CELL = {"hex8": 18_000, "tet4": 10_000, "tet10": 23_000}
WORKER_BASE_MEMORY = 0.23

#: Fraction of the machine's physical memory that :func:`memory_budget` allows by default.
MEMORY_FRACTION = 0.75
#: Environment variable that sets :func:`memory_budget`, GiB (inherited by worker processes).
MEMORY_ENV = "VBFEM_MAX_MEMORY"

#: Side of the inner block as a fraction of the outline's half-extents.
_INNER_FRACTION = 0.5
#: Weight of the elliptic square-to-disc map in the inner block (0 = rectangle).
_ELLIPTIC_BLEND = 0.4
#: A wall node belongs to ``posterior_wall`` when its outward normal is within
#: 45 degrees of -x.
_POSTERIOR_NORMAL = -math.cos(math.radians(45.0))

#: Radius (mm) of the basivertebral foramen region on the posterior wall.
#: ASSUMPTION (not verified against a measured table): the basivertebral
#: foramen is a single large midline opening (sometimes paired) in the centre
#: of the posterior wall through which the basivertebral veins leave the body
#: (Standring, Gray's Anatomy 41st ed., 2016, ch. "Vertebral column"); its
#: diameter is of the order of a few millimetres, taken here as 6 mm (radius 3 mm).
FORAMEN_RADIUS = 3.0

#: cell_data["region"] codes are tissue codes of :data:`vbfem.records.TISSUES`.
REGION_NAMES = ("trabecular", "cortical", "endplate")


def mesh_vertebra(
    geometry: Geometry,
    *,
    size: float = 2.0,
    cell_type: str = "hex8",
    n_layers: int | None = None,
    n_circumferential: int | None = None,
    max_memory: float | None = None,
) -> Mesh:
    """Mesh a vertebral body with boundary-fitted hexahedra (or tets from them).

    Parameters
    ----------
    geometry : Geometry
        The body (see :func:`vbfem.anatomy.geometry.build_vertebra`).
    size : float, keyword-only, default 2.0
        Target element edge length in mm for the trabecular core, in
        :data:`SIZE_RANGE`: sets the number of cells around the outline
        (perimeter / size), across the core ring and along z. The shell and
        endplate layers keep their anatomical thickness whatever ``size`` is.
    cell_type : {"hex8", "tet4", "tet10"}, keyword-only
        Tets come from a conforming six-tet split of every hex.
    n_layers : int, optional, keyword-only
        Number of trabecular cell layers along z (default from ``size``).
    n_circumferential : int, optional, keyword-only
        Cells around the outline, rounded up to a multiple of 4 (default from ``size``).
    max_memory : float, optional, keyword-only
        Memory a study on this mesh may take, GiB (default :func:`memory_budget`, set by
        ``VBFEM_MAX_MEMORY`` or ``--max-memory``): a mesh whose
        :func:`estimate_memory` exceeds it is refused before any array is built, naming the size
        that would fit. ``math.inf`` switches the check off.

    Returns
    -------
    Mesh
        Node sets: ``superior``, ``inferior`` (nodes on the endplate
        surfaces), ``lateral_wall`` (outer wall nodes not on an endplate),
        ``posterior_wall`` (the part of ``lateral_wall`` facing -x),
        ``pedicle_entry_left``, ``pedicle_entry_right`` (wall nodes within the
        pedicle's width and height around each entry point),
        ``basivertebral_foramen`` (posterior-wall nodes within
        :data:`FORAMEN_RADIUS` of :attr:`Geometry.basivertebral_foramen`).
        Cell sets: ``cortex`` (shell ring, full height), ``superior_endplate``,
        ``inferior_endplate``, ``endplate`` (both), ``trabecular`` (the rest);
        ``cortex``, ``endplate`` and ``trabecular`` partition the cells;
        ``outlet_basivertebral`` (cortex cells touching the foramen nodes; by
        convention every cell set named ``outlet_*`` is a leakage outlet of
        the cement flow model).
        Cell data ``region``: tissue code (:data:`vbfem.records.TISSUES`)
        ``trabecular``, ``cortical`` or ``endplate``.

    Raises
    ------
    ValueError
        ``size`` outside :data:`SIZE_RANGE`, or a mesh whose estimated memory exceeds ``max_memory``.

    Examples
    --------
    >>> from vbfem.anatomy.geometry import build_vertebra
    >>> mesh = mesh_vertebra(build_vertebra("L1"), size=4.0)
    >>> mesh.cell_type, sorted(mesh.cell_sets)[:2]
    ('hex8', ['cortex', 'endplate'])
    """
    if not isinstance(geometry, Geometry):
        raise TypeError(f"geometry must be a vbfem.anatomy.geometry.Geometry, got {type(geometry).__name__}")
    size = _check_size(size)
    if cell_type not in BYTES_PER_CELL:
        raise ValueError(f"cell_type={cell_type!r} is not supported; allowed: hex8, tet4, tet10")
    t0 = time.perf_counter()
    g = geometry

    _check_shell_meshable(g)

    # ----------------------------------------------------------- resolution
    half = np.array([0.5 * g.depth, 0.5 * g.width])
    n, n_ring, nz = _resolution(g, size, n_layers, n_circumferential)
    n_perim = 4 * n
    check_mesh_memory(g, size=size, cell_type=cell_type, n_layers=n_layers, n_circumferential=n_circumferential,
                      max_memory=max_memory)

    # ------------------------------------------------ cross-section (2-D)
    A, B, quads, ring_of, perim_of = _cross_section(g, n, n_ring, half)
    n2 = A.shape[0]

    # ----------------------------------------------------- layers along z
    lam = np.linspace(0.0, 1.0, nz + 1)
    # z = z_inf + c0 + c1 (z_sup - z_inf) per node layer
    c0 = np.concatenate([[0.0], g.endplate_thickness * (1.0 - 2.0 * lam), [0.0]])
    c1 = np.concatenate([[0.0], lam, [1.0]])
    n_node_layers = c0.size
    # the inner shell nodes take the waist scale of their outer partner, so the
    # shell is exactly shell_thickness thick (in the transverse plane) at every height
    scale_from = np.arange(n2)
    scale_from[ring_of == n_ring] += n_perim
    points = _place_nodes(g, A, B, c0, c1, scale_from)

    # ---------------------------------------------------------------- cells
    offsets = (np.arange(n_node_layers - 1) * n2)[:, None, None]
    bottom = quads[None] + offsets
    cells = np.concatenate([bottom, bottom + n2], axis=2).reshape(-1, 8)
    n_q = quads.shape[0]
    layer = np.repeat(np.arange(n_node_layers - 1), n_q)
    shell_quad = ring_of[quads].min(axis=1) == n_ring  # quads between ring n_ring and the outline
    is_shell = np.tile(shell_quad, n_node_layers - 1)
    top_layer = n_node_layers - 2
    cortex = np.flatnonzero(is_shell)
    inferior_ep = np.flatnonzero(~is_shell & (layer == 0))
    superior_ep = np.flatnonzero(~is_shell & (layer == top_layer))
    trabecular = np.flatnonzero(~is_shell & (layer > 0) & (layer < top_layer))
    region = np.full(cells.shape[0], tissue_code("trabecular"), np.int8)
    region[cortex] = tissue_code("cortical")
    region[inferior_ep] = tissue_code("endplate")
    region[superior_ep] = tissue_code("endplate")

    # ------------------------------------------------------------ node sets
    node_layer = np.repeat(np.arange(n_node_layers), n2)
    node2d = np.tile(np.arange(n2), n_node_layers)
    outer2d = ring_of == n_ring + 1
    wall = outer2d[node2d] & (node_layer > 0) & (node_layer < n_node_layers - 1)
    normals2d = np.zeros((n2, 2))
    phi_perim = _perimeter_angles(n, half)
    normals2d[outer2d] = g.outline_normal(phi_perim[perim_of[outer2d]])
    posterior = wall & (normals2d[node2d, 0] < _POSTERIOR_NORMAL)
    node_sets = {
        "superior": np.flatnonzero(node_layer == n_node_layers - 1),
        "inferior": np.flatnonzero(node_layer == 0),
        "lateral_wall": np.flatnonzero(wall),
        "posterior_wall": np.flatnonzero(posterior),
    }
    outer_all = np.flatnonzero(outer2d[node2d])
    for side in ("left", "right"):
        node_sets[f"pedicle_entry_{side}"] = _pedicle_nodes(g, side, points, outer_all, normals2d[node2d])

    foramen_nodes = _foramen_nodes(g, points, node_sets["posterior_wall"])
    node_sets["basivertebral_foramen"] = foramen_nodes
    # posterior cortex cells with a node in the foramen: a leakage outlet
    in_foramen = np.zeros(points.shape[0], bool)
    in_foramen[foramen_nodes] = True
    outlet = cortex[in_foramen[cells[cortex]].any(axis=1)]

    mesh = Mesh(
        points,
        cells,
        "hex8",
        node_sets=node_sets,
        cell_sets={
            "cortex": cortex,
            "superior_endplate": superior_ep,
            "inferior_endplate": inferior_ep,
            "endplate": np.sort(np.concatenate([inferior_ep, superior_ep])),
            "trabecular": trabecular,
            "outlet_basivertebral": outlet,
        },
        cell_data={"region": region},
    )
    mesh = convert(mesh, cell_type)
    logger.info(
        "meshed %s: %d %s cells, %d nodes (%d around, %d core ring + 1 shell layer, %d + 2 layers) in %.3f s",
        g.level, mesh.n_cells, cell_type, mesh.n_points, n_perim, n_ring, nz, time.perf_counter() - t0,
    )
    return mesh


# ---------------------------------------------------------------- limits
def _check_size(size) -> float:
    """``size`` as a float in :data:`SIZE_RANGE` (mm), else TypeError / ValueError naming it."""
    try:
        value = float(size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be a number (mm), got {size!r}") from None
    lo, hi = SIZE_RANGE
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"size={size!r} mm is outside the allowed element sizes [{lo:g}, {hi:g}] mm")
    return value


def _resolution(g: Geometry, size: float, n_layers=None, n_circumferential=None) -> tuple[int, int, int]:
    """``(n, n_ring, nz)``: a quarter of the cells around the outline, core ring layers, trabecular layers."""
    half = np.array([0.5 * g.depth, 0.5 * g.width])
    if n_circumferential is None:
        n = max(2, math.ceil(g.perimeter() / (4.0 * size)))
    else:
        n = max(2, math.ceil(int(n_circumferential) / 4))
    core_span = (1.0 - _INNER_FRACTION) * (float(np.mean(half)) - g.shell_thickness)
    n_ring = max(1, math.ceil(core_span / size))
    h_core = 0.5 * (g.anterior_height + g.posterior_height) - 2.0 * g.endplate_thickness
    nz = max(1, math.ceil(h_core / size)) if n_layers is None else int(n_layers)
    if nz < 1:
        raise ValueError(f"n_layers={n_layers!r} must be >= 1")
    return n, n_ring, nz


def count_cells(geometry: Geometry, *, size: float = 2.0, cell_type: str = "hex8", n_layers: int | None = None,
                n_circumferential: int | None = None) -> int:
    """Number of cells :func:`mesh_vertebra` makes with these options, without building the mesh.

    Parameters as :func:`mesh_vertebra` (``size`` in mm, within :data:`SIZE_RANGE`).

    Examples
    --------
    >>> from vbfem.anatomy.geometry import build_vertebra
    >>> count_cells(build_vertebra("L1"), size=2.0)
    9600
    """
    size = _check_size(size)
    if cell_type not in BYTES_PER_CELL:
        raise ValueError(f"cell_type={cell_type!r} is not supported; allowed: {', '.join(BYTES_PER_CELL)}")
    n, n_ring, nz = _resolution(geometry, size, n_layers, n_circumferential)
    quads = n * n + 4 * n * (n_ring + 1)  # inner block, core rings and the shell ring
    hexes = quads * (nz + 2)  # trabecular layers and the two endplate layers
    return hexes if cell_type == "hex8" else 6 * hexes


def count_nodes(geometry: Geometry, *, size: float = 2.0, cell_type: str = "hex8", n_layers: int | None = None,
                n_circumferential: int | None = None) -> int:
    """Number of nodes :func:`mesh_vertebra` makes with these options (three dofs each), without building the mesh.

    Each node layer is the inner block's (n+1)² nodes plus a closed loop of 4n per ring; hex8 and tet4
    share the hexes' nodes, tet10 adds one node per edge of the six-tet split: the hexes' edges (from
    Euler's V - E + F - C = 1 of the solid body), one diagonal per quad face and one per hex.
    Parameters as :func:`count_cells`.

    Examples
    --------
    >>> from vbfem.anatomy.geometry import build_vertebra
    >>> count_nodes(build_vertebra("L1"), size=2.0)  # 32 304 dofs
    10768
    """
    count_cells(geometry, size=size, cell_type=cell_type, n_layers=n_layers,
                n_circumferential=n_circumferential)  # checks the options
    n, n_ring, nz = _resolution(geometry, size, n_layers, n_circumferential)
    quads = n * n + 4 * n * (n_ring + 1)
    nodes = ((n + 1) ** 2 + 4 * n * (n_ring + 1)) * (nz + 3)
    if cell_type != "tet10":
        return nodes
    hexes = quads * (nz + 2)
    faces = (6 * hexes + 2 * quads + 4 * n * (nz + 2)) // 2  # each inner face shared by two hexes
    edges = nodes + faces - hexes - 1
    return nodes + edges + faces + hexes


def estimate_memory(n_cells: int, cell_type: str = "hex8", *, curve_workers: int = 0, processes: int = 1) -> float:
    """Estimated peak memory of a study on a mesh of ``n_cells`` cells, GiB.

    Parameters
    ----------
    n_cells : int
        Cells of the mesh (:func:`count_cells`).
    cell_type : {"hex8", "tet4", "tet10"}, default "hex8"
    curve_workers : int, keyword-only, default 0
        Strength-curve worker processes running beside each study (the nonlinear strength with
        ``workers > 1``: ``min(workers, number of states)``); each holds one state and its
        elastic-plastic solve: :data:`WORKER_BASE_MEMORY` plus :data:`WORKER_BYTES_PER_CELL` per cell.
    processes : int, keyword-only, default 1
        Studies running at once (the worker processes of a sweep), each :data:`BASE_MEMORY` plus
        :data:`BYTES_PER_CELL` per cell.

    Examples
    --------
    >>> round(estimate_memory(9600), 2)  # the default L1 at 2 mm, linear screen
    0.38
    """
    if cell_type not in BYTES_PER_CELL:
        raise ValueError(f"cell_type={cell_type!r} is not supported; allowed: {', '.join(BYTES_PER_CELL)}")
    for name, value, low in (("curve_workers", curve_workers, 0), ("processes", processes, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    study = BASE_MEMORY + n_cells * BYTES_PER_CELL[cell_type] / 2**30
    worker = WORKER_BASE_MEMORY + n_cells * WORKER_BYTES_PER_CELL[cell_type] / 2**30
    return processes * (study + curve_workers * worker)


def memory_budget() -> float:
    """Default memory a study may take, GiB: the environment variable :data:`MEMORY_ENV` if set (the
    command line's ``--max-memory`` sets it), else :data:`MEMORY_FRACTION` of the machine's physical
    memory (``inf`` where the system does not tell)."""
    import os

    given = os.environ.get(MEMORY_ENV)
    if given:
        try:
            value = float(given)
        except ValueError:
            value = math.nan
        if not value > 0:
            raise ValueError(f"{MEMORY_ENV}={given!r}: must be a number of GiB > 0")
        return value
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return math.inf
    return MEMORY_FRACTION * total / 2**30


def check_mesh_memory(g: Geometry, *, size: float, cell_type: str = "hex8", n_layers: int | None = None,
                      n_circumferential: int | None = None, max_memory: float | None = None,
                      curve_workers: int = 0, processes: int = 1) -> None:
    """ValueError naming ``size``, the cells, the estimate and the smallest size that fits, when a study
    on the mesh of these options (see :func:`mesh_vertebra`) would take more than ``max_memory`` GiB
    (default :func:`memory_budget`); ``curve_workers`` and ``processes`` as in :func:`estimate_memory`."""
    budget = memory_budget() if max_memory is None else float(max_memory)
    if not budget > 0:
        raise ValueError(f"max_memory={max_memory!r} GiB must be > 0")
    every = {"curve_workers": curve_workers, "processes": processes}

    def need_at(h):
        return estimate_memory(count_cells(g, size=h, cell_type=cell_type, n_layers=n_layers,
                                           n_circumferential=n_circumferential), cell_type, **every)

    cells = count_cells(g, size=size, cell_type=cell_type, n_layers=n_layers, n_circumferential=n_circumferential)
    need = estimate_memory(cells, cell_type, **every)
    if need <= budget:
        dofs = 3 * count_nodes(g, size=size, cell_type=cell_type, n_layers=n_layers,
                               n_circumferential=n_circumferential)
        who = f" for {processes} studies at once" if processes > 1 else ""
        who += f" with {curve_workers} strength-curve worker processes" if curve_workers else ""
        logger.info("memory estimate: size=%g mm gives %d %s cells, %d dofs, about %.2f GiB%s (max_memory %.3g GiB)",
                    size, cells, cell_type, dofs, need, who, budget)
        return
    fits = size
    while fits < SIZE_RANGE[1] and need_at(fits) > budget:
        fits = min(SIZE_RANGE[1], round(fits * 1.05 + 0.005, 2))
    hint = (f"size >= {fits:g} mm fits" if fits < SIZE_RANGE[1] else "no allowed size fits")
    who = "a study" if processes == 1 else f"{processes} studies at once"
    who += f" with {curve_workers} strength-curve worker processes" if curve_workers else ""
    raise ValueError(f"size={size:g} mm gives {cells} {cell_type} cells, about {need:.1f} GiB for {who} "
                     f"({BYTES_PER_CELL[cell_type] / 1e3:g} kB per cell), more than max_memory = {budget:.3g} GiB; "
                     f"{hint} (or raise max_memory, --max-memory or {MEMORY_ENV}"
                     + (", or use fewer workers)" if curve_workers or processes > 1 else ")"))


# ---------------------------------------------------------------- helpers
def _check_shell_meshable(g: Geometry):
    """Raise if the shell's inward offset of the outline would fold over itself.

    The offset ``C - t n`` folds where ``t`` exceeds the outline's radius of
    curvature (smallest at the posterolateral corners, and smaller again by the
    waist scale at mid-height); a 10 % margin keeps the shell cells convex.
    """
    phi = np.linspace(0.0, 2.0 * np.pi, 4096, endpoint=False)
    r_min = (1.0 - g.waist_fraction) / float(np.max(g.curvature(phi)))
    limit = 0.9 * r_min
    if g.shell_thickness >= limit:
        raise ValueError(
            f"shell_thickness={g.shell_thickness:g} mm is too thick to mesh this outline: the shell's inner "
            f"surface would fold where the outline's radius of curvature is {r_min:.3g} mm; allowed range "
            f"0 < shell_thickness < {limit:.3g} mm (measured shells are 0.09-0.86 mm, Silva et al. 1994)"
        )


def _elliptic(u, v):
    """Square [-1, 1]^2 -> unit disc (the map used by vbfem.fem.primitives.cylinder_mesh)."""
    return u * np.sqrt(1.0 - v**2 / 2.0), v * np.sqrt(1.0 - u**2 / 2.0)


def _square_perimeter(n):
    """Grid indices (i, j) of the 4n boundary nodes of an n x n grid, counter-clockwise from (0, 0)."""
    k = np.arange(n)
    i = np.concatenate([k, np.full(n, n), n - k, np.zeros(n, int)])
    j = np.concatenate([np.zeros(n, int), k, np.full(n, n), n - k])
    return i, j


def _perimeter_angles(n, half):
    """Polar angle on the outline assigned to each of the 4n perimeter positions."""
    i, j = _square_perimeter(n)
    ex, ey = _elliptic(-1.0 + 2.0 * i / n, -1.0 + 2.0 * j / n)
    alpha = np.arctan2(ey, ex)
    return np.arctan2(half[1] * np.sin(alpha), half[0] * np.cos(alpha))


def _cross_section(g: Geometry, n: int, n_ring: int, half: np.ndarray):
    """Template of the O-grid cross-section.

    A node at waist scale ``s`` sits at ``s * A + B`` (the shell offset ``B``
    is not scaled, so the shell keeps its thickness at every height).

    Returns
    -------
    A, B : (n2, 2) arrays
    quads : (m, 4) int, counter-clockwise, starting at the vertex of least height
        ``i + j`` in the block, ``i + j`` of the block perimeter + ring layer outside
    ring_of : (n2,) int, 0 for the inner block, r = 1 .. n_ring + 1 for ring layers
    perim_of : (n2,) int, perimeter position of ring nodes (-1 in the block)
    """
    # inner block: (n + 1)^2 nodes, id = j (n + 1) + i
    ii, jj = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="xy")
    ii, jj = ii.ravel(), jj.ravel()
    u, v = -1.0 + 2.0 * ii / n, -1.0 + 2.0 * jj / n
    ex, ey = _elliptic(u, v)
    L = _INNER_FRACTION * (half - g.shell_thickness)  # inside the shell's inner outline
    block = np.column_stack([
        L[0] * ((1.0 - _ELLIPTIC_BLEND) * u + _ELLIPTIC_BLEND * ex),
        L[1] * ((1.0 - _ELLIPTIC_BLEND) * v + _ELLIPTIC_BLEND * ey),
    ])
    n_block = block.shape[0]
    pi, pj = _square_perimeter(n)
    perim_ids = pj * (n + 1) + pi
    n_perim = 4 * n

    # outline points and inward shell offset at each perimeter position
    phi = _perimeter_angles(n, half)
    outer = g.outline(phi)
    normal = g.outline_normal(phi)
    Q = block[perim_ids]

    A = [block]
    B = [np.zeros_like(block)]
    for r in range(1, n_ring + 1):
        tau = r / n_ring
        A.append((1.0 - tau) * Q + tau * outer)
        B.append(-tau * g.shell_thickness * normal)
    A.append(outer)
    B.append(np.zeros_like(outer))
    A = np.vstack(A)
    B = np.vstack(B)

    ring_of = np.concatenate([np.zeros(n_block, int), np.repeat(np.arange(1, n_ring + 2), n_perim)])
    perim_of = np.concatenate([np.full(n_block, -1), np.tile(np.arange(n_perim), n_ring + 1)])
    height = np.concatenate([ii + jj, (pi + pj)[None, :].repeat(n_ring + 1, 0).ravel()
                             + np.repeat(np.arange(1, n_ring + 2), n_perim)])

    # quads of the block
    i0, j0 = np.meshgrid(np.arange(n), np.arange(n), indexing="xy")
    b00 = (j0 * (n + 1) + i0).ravel()
    block_quads = np.column_stack([b00, b00 + 1, b00 + n + 2, b00 + n + 1])
    # quads of the rings: layer r - 1 (layer 0 = block perimeter) to layer r
    k = np.arange(n_perim)
    kn = (k + 1) % n_perim
    ring_quads = []
    for r in range(1, n_ring + 2):
        inner = perim_ids if r == 1 else n_block + (r - 2) * n_perim + np.arange(n_perim)
        outer_ids = n_block + (r - 1) * n_perim + np.arange(n_perim)
        ring_quads.append(np.column_stack([inner[k], outer_ids[k], outer_ids[kn], inner[kn]]))
    quads = np.vstack([block_quads] + ring_quads)

    # counter-clockwise in the unscaled template (s = 1)
    xy = A + B
    p = xy[quads]
    d1, d2 = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    area2 = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    quads[area2 < 0] = quads[area2 < 0][:, ::-1]
    # rotate each quad (keeping orientation) to start at its least-height vertex:
    # then the Kuhn split of vbfem.fem.primitives.convert is conforming
    start = np.argmin(height[quads], axis=1)
    quads = np.take_along_axis(quads, (start[:, None] + np.arange(4)[None]) % 4, axis=1)
    return A, B, quads, ring_of, perim_of


def _place_nodes(g: Geometry, A, B, c0, c1, scale_from, *, tol=1e-12, max_iter=50):
    """3-D nodes: layer l, template node a at ``s A_a + B_a``, ``z = z_inf + c0_l + c1_l H``.

    The waist scale ``s`` depends on the node's normalised height ``zeta``,
    which depends on the node's (x, y); solved by fixed-point iteration
    (the coupling is weak, a few iterations reach round-off). Node ``a``
    finally uses the scale of node ``scale_from[a]`` of the same layer.
    """
    Ab, Bb = A[None], B[None]
    c0b, c1b = c0[:, None], c1[:, None]
    s = np.ones((c0.size, A.shape[0]))
    for _ in range(max_iter):
        xy = s[..., None] * Ab + Bb
        zi = g.z_inferior(xy[..., 0], xy[..., 1])
        H = g.z_superior(xy[..., 0], xy[..., 1]) - zi
        zeta = np.clip(c1b + c0b / H, 0.0, 1.0)
        s_new = g.waist_scale(zeta)
        change = np.abs(s_new - s).max()
        s = s_new
        if change < tol:
            break
    else:  # pragma: no cover - the map is a strong contraction
        logger.warning("node placement did not converge (last change %.3g)", change)
    s = s[:, scale_from]
    xy = s[..., None] * Ab + Bb
    zi = g.z_inferior(xy[..., 0], xy[..., 1])
    H = g.z_superior(xy[..., 0], xy[..., 1]) - zi
    z = zi + c0b + c1b * H
    return np.concatenate([xy, z[..., None]], axis=-1).reshape(-1, 3)


def _foramen_nodes(g: Geometry, points, posterior, *, radius=None):
    """Posterior-wall nodes within ``radius`` (mm) of the basivertebral foramen centre.

    Falls back to the nearest posterior-wall node when the cells are coarser
    than the foramen.
    """
    radius = FORAMEN_RADIUS if radius is None else radius
    centre = np.asarray(g.basivertebral_foramen, float)
    d = np.linalg.norm(points[posterior] - centre, axis=1)
    nodes = posterior[d <= radius]
    if nodes.size == 0:
        nodes = posterior[[np.argmin(d)]]
    return np.sort(nodes)


def _pedicle_nodes(g: Geometry, side, points, outer, normals):
    """Outer-surface nodes within the pedicle's footprint around the entry point."""
    entry = g.pedicle_entry(side)
    p = points[outer]
    facing = normals[outer, 0] < 0.0
    near = (
        facing
        & (np.abs(p[:, 1] - entry[1]) <= 0.5 * g.pedicle_width)
        & (np.abs(p[:, 2] - entry[2]) <= 0.5 * g.pedicle_height)
    )
    nodes = outer[near]
    if nodes.size == 0:  # footprint smaller than the cells: take the nearest wall node
        nodes = outer[[np.argmin(np.linalg.norm(p - entry, axis=1))]]
    return np.sort(nodes)
