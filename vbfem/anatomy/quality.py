"""Mesh quality: scaled Jacobian, edge aspect ratio, and volume against the geometry."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..fem.cells import cell_volumes
from ..records import Mesh

__all__ = ["MeshQuality", "aspect_ratio", "mesh_quality", "scaled_jacobian"]

# corner -> its three edge neighbours, ordered so that a right-handed cell gives det > 0
_HEX_CORNERS = np.array([
    [0, 1, 3, 4], [1, 2, 0, 5], [2, 3, 1, 6], [3, 0, 2, 7],
    [4, 7, 5, 0], [5, 4, 6, 1], [6, 5, 7, 2], [7, 6, 4, 3],
])
_TET_CORNERS = np.array([[0, 1, 2, 3], [1, 2, 0, 3], [2, 0, 1, 3], [3, 0, 2, 1]])
_HEX_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4],
                       [0, 4], [1, 5], [2, 6], [3, 7]])
_TET_EDGES = np.array([[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]])


@dataclass(frozen=True)
class MeshQuality:
    """Summary of a mesh's element quality.

    Attributes
    ----------
    cell_type : str
    n_cells : int
    min_scaled_jacobian, mean_scaled_jacobian : float
        Corner scaled Jacobian (1 for a cube or regular tet, <= 0 for an inverted corner).
    max_aspect_ratio, mean_aspect_ratio : float
        Longest over shortest edge of each cell (1 for a cube; tets from a
        cube split give about 1.73).
    volume : float
        Mesh volume, mm³.
    geometry_volume : float or None
        ``geometry.volume()`` in mm³ when a geometry was given.
    volume_error : float or None
        ``volume / geometry_volume - 1``.
    """

    cell_type: str
    n_cells: int
    min_scaled_jacobian: float
    mean_scaled_jacobian: float
    max_aspect_ratio: float
    mean_aspect_ratio: float
    volume: float
    geometry_volume: float | None = None
    volume_error: float | None = None

    def as_dict(self) -> dict:
        """The record as a plain dict."""
        return asdict(self)


def scaled_jacobian(mesh: Mesh) -> np.ndarray:
    """Per-cell minimum corner scaled Jacobian, shape (n_cells,).

    For each corner, the determinant of its three edge vectors divided by
    their lengths (Verdict's definition); tets are scaled by sqrt(2) so that
    a regular tet gives 1. tet10 cells use their corner nodes.
    """
    if mesh.cell_type == "hex8":
        corners, scale, n_corner = _HEX_CORNERS, 1.0, 8
    else:
        corners, scale, n_corner = _TET_CORNERS, np.sqrt(2.0), 4
    p = mesh.points[mesh.cells[:, :n_corner]]
    origin = p[:, corners[:, 0]]
    e = p[:, corners[:, 1:]] - origin[:, :, None]  # (m, corners, 3 edges, 3)
    det = np.linalg.det(e)
    lengths = np.linalg.norm(e, axis=-1).prod(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sj = np.where(lengths > 0, det / lengths, -1.0)
    return scale * sj.min(axis=1)


def aspect_ratio(mesh: Mesh) -> np.ndarray:
    """Per-cell longest over shortest edge, shape (n_cells,)."""
    edges = _HEX_EDGES if mesh.cell_type == "hex8" else _TET_EDGES
    p = mesh.points[mesh.cells]
    length = np.linalg.norm(p[:, edges[:, 1]] - p[:, edges[:, 0]], axis=-1)
    with np.errstate(divide="ignore"):
        return length.max(axis=1) / length.min(axis=1)


def mesh_quality(mesh: Mesh, geometry=None) -> MeshQuality:
    """Quality summary of ``mesh``, with its volume error when ``geometry`` is given.

    Parameters
    ----------
    mesh : Mesh
    geometry : object with ``volume()`` in mm³, optional
        Typically a :class:`vbfem.anatomy.geometry.Geometry`.

    Returns
    -------
    MeshQuality

    Examples
    --------
    >>> from vbfem.fem.primitives import box_mesh
    >>> q = mesh_quality(box_mesh((1.0, 1.0, 1.0), (2, 2, 2)))
    >>> round(q.min_scaled_jacobian, 6), round(q.volume, 6)
    (1.0, 1.0)
    """
    sj = scaled_jacobian(mesh)
    ar = aspect_ratio(mesh)
    volume = float(cell_volumes(mesh).sum())
    gv = err = None
    if geometry is not None:
        gv = float(geometry.volume())
        err = volume / gv - 1.0
    return MeshQuality(
        cell_type=mesh.cell_type,
        n_cells=mesh.n_cells,
        min_scaled_jacobian=float(sj.min()),
        mean_scaled_jacobian=float(sj.mean()),
        max_aspect_ratio=float(ar.max()),
        mean_aspect_ratio=float(ar.mean()),
        volume=volume,
        geometry_volume=gv,
        volume_error=err,
    )
