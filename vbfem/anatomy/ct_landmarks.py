"""Landmarks of a capped voxel vertebra: endplate surfaces, pedicles, foramen (image route).

The fracture and treatment stages read a vertebra through node and cell sets
(the endplate surfaces the heights are measured on, the bony endplate layers)
and through a geometry object (pedicle entries and needle axes, the body's
depth, ``contains``). :func:`ct_landmarks` derives both from a mesh of
:func:`vbfem.anatomy.ct.ct_mesh`: the endplate surfaces are the bone / cap
interfaces; the needles follow the body's own pedicles, found in the
``posterior`` label where the pedicles join the body, or, without a
posterior label, are placed by the parametric vertebra's rule
(:meth:`vbfem.anatomy.geometry.Geometry.pedicle_entry`) on the scanned body's
posterior wall. Units: mm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from ..fem.cells import cell_centroids
from ..records import Mesh

logger = logging.getLogger(__name__)

__all__ = ["PEDICLE_RADIUS", "PEDICLE_SLAB", "RIM_HEIGHT_FRACTION", "CTGeometry", "centre_on_body", "ct_landmarks", "swap_surfaces"]

#: Depth (mm) of the slab of posterior voxels behind the body that is taken as the pedicles: a modelling
#: choice (no published pedicle length was found for this project); it is meant to stay short of the
#: articular processes, which sit behind the pedicles.
PEDICLE_SLAB = 8.0

#: Radius (mm), across the anterior direction, about the pedicle's root of the posterior voxels taken as its
#: section PEDICLE_SLAB behind the body (a modelling choice: a lumbar pedicle is 10.15 mm wide at L3 in
#: vbfem.anatomy.morphometry; the radius leaves room for its convergence over the slab, not for the
#: transverse process).
PEDICLE_RADIUS = 7.0

#: The endplate surfaces keep the grid lines where the body is at least this fraction of its median
#: height tall: a scanned body's rounded rim (lower at the very edge) is left out, so the heights are
#: read at the endplate's rim, as on a radiograph, and every column under a surface has a core to
#: collapse. A modelling choice (no published value); the parametric body's vertical walls keep all lines.
RIM_HEIGHT_FRACTION = 0.75

_SIDES = {"left": 1.0, "right": -1.0}


@dataclass(frozen=True, eq=False)
class CTGeometry:
    """The landmarks the treatment stages need, measured on a voxel vertebra (vbfem's axes, mm).

    Duck-types the part of :class:`vbfem.anatomy.geometry.Geometry` that the
    needles, balloons and outlets use: ``pedicle_entry(side)``,
    ``needle_axis(side)``, ``contains(points)``, ``depth``, ``width``,
    ``canal_width``, ``basivertebral_foramen``, ``canal_direction``.

    Attributes
    ----------
    entries, axes : dict side -> ndarray (3,)
        Entry point on the body's posterior wall and unit needle direction
        (into the body) of each pedicle.
    depth, width : float
        Body extent along x and y, mm.
    canal_width : float
        Distance between the two pedicle entries along y, mm (an upper bound
        of the canal's width; used only to word an error message).
    foramen : ndarray (3,)
        Posterior wall at the midline and mid-height, mm.
    pedicles_from : str
        ``"posterior label"`` or ``"body geometry"``.
    """

    entries: dict
    axes: dict
    depth: float
    width: float
    canal_width: float
    foramen: np.ndarray
    pedicles_from: str
    _centres: np.ndarray
    _half: np.ndarray

    def pedicle_entry(self, side: str) -> np.ndarray:
        return np.array(self.entries[_side(side)])

    def needle_axis(self, side: str) -> np.ndarray:
        return np.array(self.axes[_side(side)])

    @property
    def basivertebral_foramen(self) -> np.ndarray:
        return np.array(self.foramen)

    @property
    def canal_direction(self) -> np.ndarray:
        return np.array([-1.0, 0.0, 0.0])

    @property
    def voxel_size(self) -> float:
        """Largest edge of the (coarsened) voxels, mm."""
        return float(2.0 * np.max(self._half))

    @cached_property
    def _tree(self) -> cKDTree:
        """The body voxels' centres in voxel half-widths, built once (needle tips, balloon samples and outlets each ask ``contains``)."""
        return cKDTree(self._centres / self._half)

    def contains(self, points, *, tol: float = 0.0) -> np.ndarray:
        """Whether each point lies in a body voxel (boundary included, ``tol`` mm beyond it)."""
        p = np.asarray(points, float)
        flat = p.reshape(-1, 3)
        d, _i = self._tree.query(flat / self._half, p=np.inf)
        return (d <= 1.0 + tol / float(self._half.min()) + 1e-9).reshape(p.shape[:-1])


def _side(side: str) -> str:
    if side not in _SIDES:
        raise ValueError(f"side={side!r} is not valid; allowed: 'left' (+y), 'right' (-y)")
    return side


def _voxel_size(mesh: Mesh) -> np.ndarray:
    p = mesh.points[mesh.cells[0]]
    return np.ptp(p, axis=0)


def centre_on_body(mesh: Mesh) -> Mesh:
    """``mesh`` translated so that the body's bounding box is centred on the origin (vbfem's body frame)."""
    body = mesh.cell_sets["body"]
    p = mesh.points[np.unique(mesh.cells[body])]
    c = 0.5 * (p.min(axis=0) + p.max(axis=0))
    return mesh.with_points(mesh.points - c)


def _interface_nodes(mesh: Mesh, cap: str, bone: np.ndarray) -> np.ndarray:
    """Nodes shared by a cap cell and a bone cell: the staircase interface, its risers included."""
    in_cap = np.zeros(mesh.n_points, bool)
    in_cap[mesh.cells[mesh.cell_sets[cap]].ravel()] = True
    in_bone = np.zeros(mesh.n_points, bool)
    in_bone[mesh.cells[bone].ravel()] = True
    return np.flatnonzero(in_cap & in_bone)


def _line_keys(mesh: Mesh, nodes) -> np.ndarray:
    h = _voxel_size(mesh)
    key = np.round(mesh.points[nodes, :2] / h[:2]).astype(np.int64)
    return key[:, 0] * 1_000_003 + key[:, 1]


def _full_height(mesh: Mesh, sup: np.ndarray, inf: np.ndarray):
    """``sup`` and ``inf`` on the grid lines where the body is >= RIM_HEIGHT_FRACTION of its median height."""
    ks, ki = _line_keys(mesh, sup), _line_keys(mesh, inf)
    lines = np.intersect1d(ks, ki)
    top = np.full(lines.size, np.inf)
    bot = np.full(lines.size, -np.inf)
    np.minimum.at(top, np.searchsorted(lines, ks[np.isin(ks, lines)]), mesh.points[sup[np.isin(ks, lines)], 2])
    np.maximum.at(bot, np.searchsorted(lines, ki[np.isin(ki, lines)]), mesh.points[inf[np.isin(ki, lines)], 2])
    height = top - bot
    keep = lines[height >= RIM_HEIGHT_FRACTION * np.median(height)]
    return sup[np.isin(ks, keep)], inf[np.isin(ki, keep)]


def endplate_sets(mesh: Mesh) -> tuple[dict, dict]:
    """Node sets of the body's endplate surfaces and cell sets of its bony endplate layers.

    ``superior_surface`` / ``inferior_surface``: the bone / cap interfaces
    (staircases: where the interface steps, a grid line holds two of its nodes;
    the heights read one of them, within a voxel), over the grid lines where
    the body is at least :data:`RIM_HEIGHT_FRACTION` of its median height
    tall (the endplate proper, without the rounded rim). ``superior_endplate`` /
    ``inferior_endplate``: the body cells that share a node with a cap (one
    voxel layer: the endplate that the fracture moves rigidly and the cement
    bridges to).
    """
    body = mesh.cell_sets["body"]
    sup = _interface_nodes(mesh, "cap_superior", body)
    inf = _interface_nodes(mesh, "cap_inferior", body)
    sup, inf = _full_height(mesh, sup, inf)
    nsets = {"superior_surface": sup, "inferior_surface": inf}
    csets = {}
    for side in ("superior", "inferior"):
        in_cap = np.zeros(mesh.n_points, bool)
        in_cap[mesh.cells[mesh.cell_sets[f"cap_{side}"]].ravel()] = True
        csets[f"{side}_endplate"] = body[in_cap[mesh.cells[body]].any(axis=1)]
    return nsets, csets


def _wall_cells(mesh: Mesh) -> np.ndarray:
    """Body cells with a lateral (x or y) face neighbour outside the body: its outer wall, one voxel thick."""
    body = mesh.cell_sets["body"]
    h = _voxel_size(mesh)
    ijk = np.round(cell_centroids(mesh, body) / h).astype(np.int64)
    lo = ijk.min(axis=0) - 1
    grid = np.zeros(tuple(ijk.max(axis=0) - lo + 2), bool)
    grid[tuple((ijk - lo).T)] = True
    wall = np.zeros(body.size, bool)
    for axis in (0, 1):
        for step in (-1, 1):
            nb = ijk - lo
            nb[:, axis] += step
            wall |= ~grid[tuple(nb.T)]
    return body[wall]


def ct_landmarks(mesh: Mesh, *, level: str = "L1") -> tuple[Mesh, CTGeometry]:
    """Endplate sets and pedicle landmarks of a capped voxel vertebra.

    Parameters
    ----------
    mesh : Mesh
        A capped mesh of :func:`vbfem.anatomy.ct.ct_mesh`, in the body frame
        (:func:`centre_on_body`).
    level : str, keyword-only, default "L1"
        Spinal level whose parametric pedicle rule (entry height and offset,
        transverse and sagittal angles; :func:`vbfem.anatomy.geometry.build_vertebra`)
        places the needles when the mesh has no ``posterior`` cells.

    Returns
    -------
    mesh : Mesh
        With node sets ``superior_surface`` / ``inferior_surface`` and cell sets
        ``superior_endplate`` / ``inferior_endplate`` (:func:`endplate_sets`);
        without a cortex label, cell set ``cortex`` is the body's outer wall
        voxels (where the outlets of the treatments are placed).
    geometry : CTGeometry
    """
    for name in ("body", "cap_superior", "cap_inferior"):
        if mesh.cell_sets.get(name) is None or mesh.cell_sets[name].size == 0:
            raise ValueError(f"the image mesh has no {name!r} cells; fracture and treatments need a capped image "
                             "model (ct_mesh with caps=True)")
    nsets, csets = endplate_sets(mesh)
    if mesh.cell_sets.get("cortex") is None or mesh.cell_sets["cortex"].size == 0:
        csets["cortex"] = _wall_cells(mesh)
        logger.info("ct_landmarks: no cortex label; cell set 'cortex' = the body's %d outer wall voxels "
                    "(the outlets' places; the moduli stay per voxel)", csets["cortex"].size)
    mesh = mesh.replace(node_sets={**mesh.node_sets, **nsets}, cell_sets={**mesh.cell_sets, **csets})
    h = _voxel_size(mesh)
    c = cell_centroids(mesh)
    body = mesh.cell_sets["body"]
    cb = c[body]
    lo, hi = cb.min(axis=0) - 0.5 * h, cb.max(axis=0) + 0.5 * h
    depth, width = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    half = 0.5 * h
    inside = CTGeometry({}, {}, depth, width, 0.0, np.zeros(3), "", cb, half)
    post = mesh.cell_sets.get("posterior", np.zeros(0, np.int64))
    entries, axes, source = _pedicles_from_label(c, cb, post, h, inside)
    if entries is None:
        entries, axes = _pedicles_from_rule(cb, h, level, width, inside)
        source = "body geometry"
    mid = (np.abs(cb[:, 1]) <= h[1]) & (np.abs(cb[:, 2]) <= h[2])
    row = cb[mid] if mid.any() else cb
    foramen = np.array([float(row[:, 0].min() - half[0]), 0.0, 0.0])
    geom = CTGeometry(entries, axes, depth, width, float(abs(entries["left"][1] - entries["right"][1])), foramen,
                      source, cb, half)
    logger.info("ct_landmarks: pedicles from the %s; entries %s, axes %s", source,
                {s: np.round(e, 1).tolist() for s, e in entries.items()},
                {s: np.round(a, 3).tolist() for s, a in axes.items()})
    return mesh, geom


def _to_wall(point, axis, inside: CTGeometry, h) -> np.ndarray:
    """First point along ``point + t axis`` (t >= 0) inside the body, to a tenth of a voxel."""
    step = 0.1 * float(h.min())
    t = np.arange(0.0, 60.0, step)
    pts = np.asarray(point)[None] + t[:, None] * np.asarray(axis)[None]
    hit = np.flatnonzero(inside.contains(pts))
    if hit.size == 0:
        raise ValueError(f"the needle line from {np.round(point, 1).tolist()} mm along {np.round(axis, 3).tolist()} "
                         "never enters the body")
    return pts[hit[0]]


def _pedicles_from_label(c, cb, post, h, inside):
    """Each pedicle from the posterior voxels, one side of the midline: the axis runs from the centroid of
    its section PEDICLE_SLAB behind the body (within PEDICLE_RADIUS of the root across the axis) to the
    centroid of its root (the posterior voxels within a voxel and a half of the body)."""
    if post.size == 0:
        return None, None, None
    cp = c[post]
    d, _ = cKDTree(cb).query(cp)
    hm = float(h.max())
    entries, axes = {}, {}
    for side, sign in _SIDES.items():
        on_side = sign * cp[:, 1] > h[1]
        root = cp[on_side & (d <= 1.5 * hm)]
        if root.shape[0] < 2:
            return None, None, None
        c0 = root.mean(axis=0)
        near = np.linalg.norm(cp[:, 1:] - c0[1:], axis=1) <= PEDICLE_RADIUS
        far = cp[on_side & near & (d > PEDICLE_SLAB - 1.5 * hm) & (d <= PEDICLE_SLAB)]
        if far.shape[0] < 2:
            return None, None, None
        a = c0 - far.mean(axis=0)
        a /= np.linalg.norm(a)
        if a[0] <= 0.5:  # more than 60° off the anterior direction: not a pedicle
            return None, None, None
        entries[side] = _to_wall(c0 - 2.0 * hm * a, a, inside, h)
        axes[side] = a
    return entries, axes, "posterior label"


def _pedicles_from_rule(cb, h, level, width, inside):
    """The parametric vertebra's pedicle rule on the scanned body (see Geometry._pedicle_centre)."""
    from .geometry import build_vertebra

    g = build_vertebra(level)
    entries, axes = {}, {}
    for side, sign in _SIDES.items():
        y = sign * min(0.5 * (g.canal_width + g.pedicle_width), 0.75 * 0.5 * width)
        col = cb[(np.abs(cb[:, 1] - y) <= 0.5 * h[1])]
        x_back = float(col[:, 0].min())
        rim = col[np.abs(col[:, 0] - x_back) <= h[0] + 1e-9]
        z_rim = float(rim[:, 2].max() + 0.5 * h[2])
        z = max(z_rim - g.endplate_thickness - 0.5 * g.pedicle_height, 0.0)
        a = g.needle_axis(side)
        start = np.array([x_back - 2.0 * h[0], y, z]) - 2.0 * h[0] * a
        entries[side] = _to_wall(start, a, inside, h)
        axes[side] = a
    return entries, axes



def swap_surfaces(mesh: Mesh) -> Mesh:
    """Swap the node sets ``superior`` / ``inferior`` with ``superior_surface`` / ``inferior_surface``.

    The fracture and treatment stages measure heights on ``superior`` /
    ``inferior``: give them the endplate surfaces (:func:`ct_landmarks`), then
    swap back so that the load cases load the caps' outer faces.
    """
    ns = dict(mesh.node_sets)
    for side in ("superior", "inferior"):
        ns[side], ns[f"{side}_surface"] = ns[f"{side}_surface"], ns[side]
    return mesh.replace(node_sets=ns)
