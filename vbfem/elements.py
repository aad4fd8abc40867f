"""Reference elements: shape functions, their gradients and quadrature rules.

Node orders follow meshio / VTK (which equal Abaqus C3D8 / C3D4 / C3D10):

- ``hex8``: reference cube [-1, 1]^3, nodes (-1,-1,-1), (1,-1,-1), (1,1,-1),
  (-1,1,-1), then the same four at z = +1; 2 x 2 x 2 Gauss rule.
- ``tet4``: reference tetrahedron (0,0,0), (1,0,0), (0,1,0), (0,0,1); one-point rule
  (exact, the strain is constant).
- ``tet10``: corners as tet4, then mid-edge nodes on edges 01, 12, 02, 03, 13, 23;
  four-point rule of degree 2 (exact for the stiffness of straight-sided elements).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Element:
    """A reference element.

    Attributes
    ----------
    name : str
        Cell-type name (``"hex8"``, ``"tet4"``, ``"tet10"``).
    nodes : ndarray, shape (k, 3)
        Reference coordinates of the nodes.
    quad_points : ndarray, shape (nq, 3)
        Reference coordinates of the quadrature points.
    quad_weights : ndarray, shape (nq,)
        Quadrature weights (they sum to the reference volume).
    shape : callable
        ``shape(xi)`` with ``xi`` of shape (p, 3) returns N, shape (p, k).
    grad : callable
        ``grad(xi)`` returns dN/dxi, shape (p, k, 3).
    """

    name: str
    nodes: np.ndarray
    quad_points: np.ndarray
    quad_weights: np.ndarray
    shape: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]

    @property
    def n_nodes(self) -> int:
        return self.nodes.shape[0]

    @property
    def n_quad(self) -> int:
        return self.quad_points.shape[0]

    def quad_gradients(self) -> np.ndarray:
        """dN/dxi at the quadrature points, shape (nq, k, 3), C-contiguous float64."""
        return np.ascontiguousarray(self.grad(self.quad_points), dtype=np.float64)


_HEX_SIGNS = np.array(
    [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]],
    dtype=float,
)


def _hex8_shape(xi):
    xi = np.atleast_2d(xi)
    return np.prod(1.0 + xi[:, None, :] * _HEX_SIGNS[None], axis=2) / 8.0


def _hex8_grad(xi):
    xi = np.atleast_2d(xi)
    f = 1.0 + xi[:, None, :] * _HEX_SIGNS[None]  # (p, 8, 3)
    g = np.empty_like(f)
    g[..., 0] = _HEX_SIGNS[None, :, 0] * f[..., 1] * f[..., 2]
    g[..., 1] = _HEX_SIGNS[None, :, 1] * f[..., 0] * f[..., 2]
    g[..., 2] = _HEX_SIGNS[None, :, 2] * f[..., 0] * f[..., 1]
    return g / 8.0


def _barycentric(xi):
    xi = np.atleast_2d(xi)
    return np.column_stack([1.0 - xi.sum(axis=1), xi[:, 0], xi[:, 1], xi[:, 2]])


#: dL_i/dxi for the four barycentric coordinates, shape (4, 3)
_DL = np.array([[-1.0, -1.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _tet4_shape(xi):
    return _barycentric(xi)


def _tet4_grad(xi):
    p = np.atleast_2d(xi).shape[0]
    return np.broadcast_to(_DL, (p, 4, 3)).copy()


#: corner pairs of the tet10 mid-edge nodes 4..9
TET10_EDGES = np.array([[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]])

#: Faces of each cell type as polygons of corner nodes, ordered so that the
#: right-hand normal points out of the cell (VTK / meshio node orders).
CORNER_FACES = {
    "hex8": np.array([[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]),
    "tet4": np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]]),
    "tet10": np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]]),  # corners; mid-edge nodes below
}

#: Mid-edge nodes of the tet10 faces of :data:`CORNER_FACES`, same order.
TET10_FACE_MID = np.array([[6, 5, 4], [4, 8, 7], [5, 9, 8], [7, 9, 6]])


def _tet10_shape(xi):
    L = _barycentric(xi)
    corner = L * (2.0 * L - 1.0)
    edge = 4.0 * L[:, TET10_EDGES[:, 0]] * L[:, TET10_EDGES[:, 1]]
    return np.hstack([corner, edge])


def _tet10_grad(xi):
    L = _barycentric(xi)
    p = L.shape[0]
    g = np.empty((p, 10, 3))
    g[:, :4, :] = (4.0 * L - 1.0)[:, :, None] * _DL[None]
    i, j = TET10_EDGES[:, 0], TET10_EDGES[:, 1]
    g[:, 4:, :] = 4.0 * (L[:, i, None] * _DL[None, j] + L[:, j, None] * _DL[None, i])
    return g


_TET_CORNERS = np.vstack([np.zeros(3), np.eye(3)])
_G = 1.0 / np.sqrt(3.0)
_A, _B = 0.5854101966249685, 0.1381966011250105

ELEMENTS = {
    "hex8": Element(
        "hex8",
        nodes=_HEX_SIGNS.copy(),
        quad_points=_HEX_SIGNS * _G,
        quad_weights=np.ones(8),
        shape=_hex8_shape,
        grad=_hex8_grad,
    ),
    "tet4": Element(
        "tet4",
        nodes=_TET_CORNERS.copy(),
        quad_points=np.full((1, 3), 0.25),
        quad_weights=np.array([1.0 / 6.0]),
        shape=_tet4_shape,
        grad=_tet4_grad,
    ),
    "tet10": Element(
        "tet10",
        nodes=np.vstack([_TET_CORNERS, 0.5 * (_TET_CORNERS[TET10_EDGES[:, 0]] + _TET_CORNERS[TET10_EDGES[:, 1]])]),
        quad_points=np.array([[_B, _B, _B], [_A, _B, _B], [_B, _A, _B], [_B, _B, _A]]),
        quad_weights=np.full(4, 1.0 / 24.0),
        shape=_tet10_shape,
        grad=_tet10_grad,
    ),
}


def element(cell_type: str) -> Element:
    """The reference :class:`Element` of ``cell_type``."""
    try:
        return ELEMENTS[cell_type]
    except KeyError:
        raise ValueError(f"unknown cell type {cell_type!r}; allowed: {', '.join(ELEMENTS)}") from None


def lame(E, nu):
    """Lamé parameters ``(lambda, mu)`` in MPa from Young's modulus (MPa) and Poisson's ratio."""
    E = np.asarray(E, float)
    nu = np.asarray(nu, float)
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


def isotropic_D(E, nu) -> np.ndarray:
    """Isotropic elasticity matrices, shape (..., 6, 6), Voigt order (xx, yy, zz, yz, xz, xy)."""
    lam, mu = lame(E, nu)
    lam = np.asarray(lam)[..., None, None]
    mu = np.asarray(mu)[..., None, None]
    D = np.zeros(np.broadcast(lam, mu).shape[:-2] + (6, 6))
    D[..., :3, :3] = lam
    D[..., [0, 1, 2], [0, 1, 2]] += 2.0 * mu[..., 0]
    D[..., [3, 4, 5], [3, 4, 5]] = mu[..., 0]
    return D


def quadrature(cell_type: str, n: int):
    """A tensor-product rule with ``n`` Gauss-Legendre points per direction.

    Exact for polynomials of degree ``2 n - 1`` in each variable on the
    reference cube (hex8) or, through the collapsed (Duffy) map, of total
    degree ``2 n - 3`` on the reference tetrahedron. Used for loads and error
    norms, where the stiffness rule is not accurate enough.

    Returns
    -------
    points : ndarray (p, 3)
    weights : ndarray (p,)
    """
    g, w = np.polynomial.legendre.leggauss(int(n))
    if cell_type == "hex8":
        P = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        W = np.einsum("i,j,k->ijk", w, w, w).ravel()
        return P, W
    if cell_type in ("tet4", "tet10"):
        t, wt = 0.5 * (g + 1.0), 0.5 * w
        U, V, Wc = np.meshgrid(t, t, t, indexing="ij")
        pts = np.column_stack([U.ravel(), (V * (1 - U)).ravel(), (Wc * (1 - U) * (1 - V)).ravel()])
        jac = ((1 - U) ** 2 * (1 - V)).ravel()
        return pts, np.einsum("i,j,k->ijk", wt, wt, wt).ravel() * jac
    raise ValueError(f"unknown cell type {cell_type!r}; allowed: {', '.join(ELEMENTS)}")


def cell_fraction(mesh, hit: Callable, n: int, *, chunk: int = 8192) -> np.ndarray:
    """Volume fraction of every cell of ``mesh`` where a condition holds, by Gauss points.

    ``hit(cells, N)`` gets a chunk of ``mesh.cells`` (c, k) and the shape
    functions ``N`` (p, k) at the ``n``-point-per-direction rule of
    :func:`quadrature` and returns whether the condition holds at each point,
    bool (c, p) (e.g. of fields interpolated ``N @ f[cells]``). Points are
    weighted by det J; a cell where every point (no point) holds gets exactly
    1 (0). The jump of the condition is resolved to about ``h / n``. Chunks
    of ``chunk`` cells bound the Jacobians' memory (~40 MB at 4³ points).
    """
    el = element(mesh.cell_type)
    xi, w = quadrature(mesh.cell_type, n)
    N, dN = el.shape(xi), el.grad(xi)  # (p, k), (p, k, 3)
    frac = np.empty(mesh.cells.shape[0])
    for lo in range(0, frac.size, chunk):
        cells = mesh.cells[lo:lo + chunk]
        wd = np.linalg.det(np.einsum("mai,paj->mpij", mesh.points[cells], dN)) * w
        h = np.asarray(hit(cells, N), bool)
        f = np.clip(np.einsum("mp,mp->m", wd, h) / wd.sum(axis=1), 0.0, 1.0)
        frac[lo:lo + chunk] = np.where(h.all(axis=1), 1.0, np.where(h.any(axis=1), f, 0.0))
    return frac
