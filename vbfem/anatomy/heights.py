"""Endplate surfaces and vertebral-body heights (anterior, middle, posterior) of a mesh.

:func:`measure_heights` reads the superior and inferior endplate node sets
(``"superior"``, ``"inferior"``) as surfaces over (x, y) and measures the
heights at the anterior rim, the middle and the posterior rim of the
mid-sagittal line, the way a lateral radiograph is read (Genant 1993). The
fracture and kyphoplasty stages use it to set and report height loss.
Units: mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from ..fem.elements import CORNER_FACES
from ..fem.solvers import serial_blas
from ..records import Mesh


# --------------------------------------------------------------- surfaces
def _surface_faces(mesh: Mesh, nodes: np.ndarray) -> np.ndarray:
    """Cell faces (corner node ids) whose nodes all belong to ``nodes``, each face once."""
    inside = np.zeros(mesh.n_points, bool)
    inside[nodes] = True
    pattern = CORNER_FACES[mesh.cell_type]
    faces = mesh.cells[:, pattern].reshape(-1, pattern.shape[1])
    faces = faces[inside[faces].all(axis=1)]
    # an interior surface (a bone / cap interface of an image model) lists each face twice, once per cell
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    return faces[np.sort(first)]


class _Surface:
    """An endplate surface (a node set) seen from above: interpolation over (x, y) and its rim."""

    def __init__(self, mesh: Mesh, name: str):
        self.nodes = mesh.node_set(name)
        if self.nodes.size < 3:
            raise ValueError(f"node set {name!r} has {self.nodes.size} nodes; an endplate surface needs >= 3")
        self.xy = mesh.points[self.nodes, :2]
        self.z = mesh.points[self.nodes, 2]
        self.tri = Delaunay(self.xy)
        # the barycentric transforms (computed on first use, a LAPACK call per triangle) on one BLAS thread:
        # OpenBLAS's threads on these tiny calls took 4.2 s instead of 1.4 ms for the default L1's
        # 1287 triangles on a busy 2-core machine (benchmarks/bench_scaling.py's fracture column)
        with serial_blas():
            self.tri.transform
        self.tree = cKDTree(self.xy)
        faces = _surface_faces(mesh, self.nodes)
        if faces.shape[0] == 0:
            raise ValueError(f"node set {name!r} contains no cell face; it must be a surface of the mesh")
        # rim = boundary edges of the face set (edges used by one face only)
        edges = np.stack([faces, np.roll(faces, -1, axis=1)], axis=-1).reshape(-1, 2)
        edges = np.sort(edges, axis=1)
        uniq, count = np.unique(edges, axis=0, return_counts=True)
        rim = uniq[count == 1]
        local = np.full(mesh.n_points, -1, np.int64)
        local[self.nodes] = np.arange(self.nodes.size)
        self.rim = local[rim]  # (e, 2) local indices

    def interp(self, values: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Piecewise-linear interpolation of nodal ``values`` at points ``xy``; nearest node outside."""
        simplex = self.tri.find_simplex(xy)
        out = np.empty(len(xy))
        ok = simplex >= 0
        if ok.any():
            T = self.tri.transform[simplex[ok]]
            b = np.einsum("nij,nj->ni", T[:, :2], xy[ok] - T[:, 2])
            bary = np.column_stack([b, 1.0 - b.sum(axis=1)])
            out[ok] = np.einsum("ni,ni->n", values[self.tri.simplices[simplex[ok]]], bary)
        if not ok.all():
            out[~ok] = values[self.tree.query(xy[~ok])[1]]
        return out

    def rim_crossings(self, y: float):
        """Where the rim crosses the line ``Y = y``: (x, edge (2,), t) of the most anterior and posterior."""
        a, b = self.rim[:, 0], self.rim[:, 1]
        ya, yb = self.xy[a, 1], self.xy[b, 1]
        cross = ((ya - y) * (yb - y) <= 0.0) & (ya != yb)
        if np.count_nonzero(cross) < 2:
            raise ValueError(f"the endplate rim does not cross the mid-sagittal plane y = {y:.4g} mm twice")
        t = (y - ya[cross]) / (yb[cross] - ya[cross])
        x = self.xy[a[cross], 0] + t * (self.xy[b[cross], 0] - self.xy[a[cross], 0])
        edges = self.rim[cross]
        i_ant, i_post = int(np.argmax(x)), int(np.argmin(x))
        return (x[i_ant], edges[i_ant], t[i_ant]), (x[i_post], edges[i_post], t[i_post])

    @staticmethod
    def at_rim(values, crossing) -> float:
        _, (a, b), t = crossing
        return float(values[a] + t * (values[b] - values[a]))

    def stations(self, values, y, x_mid=None):
        """Nodal ``values`` at the anterior rim, the middle station and the posterior rim on ``Y = y``."""
        ant, post = self.rim_crossings(y)
        xm = 0.5 * (ant[0] + post[0]) if x_mid is None else x_mid
        mid = float(self.interp(values, np.array([[xm, y]]))[0])
        return np.array([self.at_rim(values, ant), mid, self.at_rim(values, post)]), (ant[0], xm, post[0])


# ----------------------------------------------------------------- heights
@dataclass(frozen=True)
class Heights:
    """Vertebral body heights in the mid-sagittal plane (mm).

    Attributes
    ----------
    anterior, middle, posterior : float
        ``Ha``, ``Hm``, ``Hp``: superior minus inferior endplate surface, mm,
        at the anterior rim, the middle station and the posterior rim.
    x_anterior, x_middle, x_posterior : float
        x of the three stations, mm.
    y : float
        y of the mid-sagittal plane, mm.
    """

    anterior: float
    middle: float
    posterior: float
    x_anterior: float
    x_middle: float
    x_posterior: float
    y: float

    @property
    def wedge_ratio(self) -> float:
        """``Ha / Hp`` (Genant's wedge index)."""
        return self.anterior / self.posterior

    @property
    def biconcavity_ratio(self) -> float:
        """``Hm / Hp`` (Genant's biconcavity index)."""
        return self.middle / self.posterior

    def as_array(self) -> np.ndarray:
        """``[Ha, Hm, Hp]`` in mm."""
        return np.array([self.anterior, self.middle, self.posterior])


def _mid_plane(sup: _Surface) -> float:
    return 0.5 * float(sup.xy[:, 1].min() + sup.xy[:, 1].max())


def measure_heights(mesh: Mesh, *, superior: str = "superior", inferior: str = "inferior") -> Heights:
    """Anterior, middle and posterior body heights in the mid-sagittal plane.

    The mid-sagittal plane is ``y = y_c``, the middle of the superior
    surface's lateral extent. The anterior and posterior stations are where
    the rim of the superior surface (its boundary edges) crosses that plane,
    as in six-point vertebral morphometry; the middle station lies halfway
    between them. Heights are the superior surface's z minus the inferior
    surface's z, each interpolated linearly over its surface nodes (along
    the rim edges at the rim stations).

    Parameters
    ----------
    mesh : Mesh
        A vertebral body with node sets on both endplate surfaces.
    superior, inferior : str, keyword-only
        Names of those node sets (default ``"superior"``, ``"inferior"``).

    Returns
    -------
    Heights

    Examples
    --------
    >>> from vbfem.anatomy.geometry import build_vertebra
    >>> from vbfem.anatomy.mesher import mesh_vertebra
    >>> h = measure_heights(mesh_vertebra(build_vertebra("L1"), size=4.0))
    >>> round(h.anterior, 2), round(h.posterior, 2)
    (25.0, 26.5)
    """
    sup, inf = _Surface(mesh, superior), _Surface(mesh, inferior)
    y = _mid_plane(sup)
    zs, (xa, xm, xp) = sup.stations(sup.z, y)
    zi, _ = inf.stations(inf.z, y, x_mid=xm)
    h = zs - zi
    return Heights(float(h[0]), float(h[1]), float(h[2]), float(xa), float(xm), float(xp), float(y))
