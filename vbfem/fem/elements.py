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

from collections.abc import Callable
from dataclasses import dataclass

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


def _gauss01(n: int):
    """Gauss-Legendre points and weights on [0, 1] (the factors of the collapsed rules on simplices)."""
    g, w = np.polynomial.legendre.leggauss(int(n))
    return 0.5 * (g + 1.0), 0.5 * w


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
        t, wt = _gauss01(n)
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
    return cell_phase(mesh, hit, n, chunk=chunk, normals=False)[0]


#: A cut cell's face integral ``|∮ χ n dA|`` below this fraction of the area
#: ``∮ χ |dA|`` where the condition holds gives no direction (a slab
#: through the cell: the two interfaces cancel). A plane cutting a cell
#: leaves at least ~0.06 (a 4 : 1 : 1 hexahedron cut across its long axis
#: with 90 % of it inside); a numerical choice below that.
_NO_DIRECTION = 0.02


def _jacobian_columns(X, dN):
    """Columns ``dx/dxi_j`` (j = 0, 1, 2) of the Jacobians of cells with nodes ``X`` (m, k, 3) at
    points with shape-function gradients ``dN`` (p, k, 3): three arrays (m, p, 3)."""
    p, k, _ = dN.shape
    J = np.matmul(dN.transpose(0, 2, 1).reshape(p * 3, k), X)  # (m, p*3, 3): [m, (q, j), i]
    J = J.reshape(X.shape[0], p, 3, 3)
    return J[:, :, 0], J[:, :, 1], J[:, :, 2]


def cell_points(mesh, n: int, cells=None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss points of cells of ``mesh`` and their volume weights.

    The ``n``-point-per-direction rule of :func:`quadrature` mapped into each
    cell: the points ``x`` (m, p, 3) in mm and their weights ``w det J``
    (m, p) in mm³, which sum to each cell's volume (exactly for hex8 and
    tet4). ``cells`` are indices (default all cells). The weights are those
    :func:`cell_phase` integrates with.
    """
    el = element(mesh.cell_type)
    xi, w = quadrature(mesh.cell_type, n)
    conn = mesh.cells if cells is None else mesh.cells[np.asarray(cells, np.int64)]
    X = mesh.points[conn]
    return np.einsum("pk,mki->mpi", el.shape(xi), X), _volume_weights(X, el.grad(xi), w)


def _volume_weights(X, dN, w):
    """Weights ``w det J`` (m, p) of cells with nodes ``X`` (m, k, 3) at points with gradients ``dN``."""
    c0, c1, c2 = _jacobian_columns(X, dN)
    return np.einsum("mpi,mpi->mp", c0, np.cross(c1, c2)) * w


def _face_rule(cell_type: str, n: int):
    """Points on the faces of the reference cell and their outward area vectors ``n_ref dA_ref``.

    ``n`` Gauss-Legendre points per direction on each face (the collapsed
    rule on triangles). Returns points (q, 3) and area vectors (q, 3).
    """
    g, w = np.polynomial.legendre.leggauss(int(n))
    if cell_type == "hex8":
        a, b = (m.ravel() for m in np.meshgrid(g, g, indexing="ij"))
        wab = np.outer(w, w).ravel()
        pts, area = [], []
        for axis in range(3):
            others = [k for k in range(3) if k != axis]
            for side in (-1.0, 1.0):
                p = np.empty((a.size, 3))
                p[:, axis], p[:, others[0]], p[:, others[1]] = side, a, b
                v = np.zeros((a.size, 3))
                v[:, axis] = side * wab
                pts.append(p)
                area.append(v)
        return np.vstack(pts), np.vstack(area)
    if cell_type in ("tet4", "tet10"):
        t, wt = _gauss01(n)
        U, V = (m.ravel() for m in np.meshgrid(t, t, indexing="ij"))
        a, b = U, V * (1.0 - U)
        wab = (np.outer(wt, wt).ravel() * (1.0 - U))[:, None]
        zero = np.zeros_like(a)
        faces = [(np.column_stack([zero, a, b]), [-1.0, 0.0, 0.0]), (np.column_stack([a, zero, b]), [0.0, -1.0, 0.0]),
                 (np.column_stack([a, b, zero]), [0.0, 0.0, -1.0]), (np.column_stack([1.0 - a - b, a, b]), [1.0, 1.0, 1.0])]
        return np.vstack([p for p, _ in faces]), np.vstack([wab * np.asarray(v) for _, v in faces])
    raise ValueError(f"unknown cell type {cell_type!r}; allowed: {', '.join(ELEMENTS)}")


def cell_phase(mesh, hit: Callable, n: int, *, n_face: int | None = None, chunk: int = 8192,
               normals: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Volume fraction of a condition in every cell and the normal of its interface in the cut cells.

    The fraction is that of :func:`cell_fraction` (same ``hit``, ``n`` and
    ``chunk``). In a cell the interface cuts (some but not all points hold),
    the normal is the direction of the mean gradient of the condition's
    indicator ``χ``, which the divergence theorem turns into a surface
    integral over the cell's faces, ``∫ ∇χ dV = ∮ χ n dA``, evaluated with
    ``n_face`` × ``n_face`` Gauss points per face (default ``2 n``; Nanson's
    formula maps the area vectors). For a plane cutting the cell it is the
    plane's normal whatever the cell's shape, up to the sampling of ``χ`` on
    the faces: for a plane cutting perturbed 4 : 1 : 1 hexahedra the largest
    error over cells cut by 10-90 % is 4.9° at 8 points per face direction
    and 0.4° at 24; the slivers that tetrahedra split from such hexahedra
    need 24 points for 5°. It points into the region where the condition
    holds. Only the cut cells' faces are sampled: ``hit`` is called a second
    time per chunk, with the cut cells and the shape functions at their face
    points. If the interface cuts a cell twice (a slab thinner than the
    cell), the face integral is the difference of the two interfaces' area
    vectors: zero up to round-off in a parallelepiped, which must not give a
    direction, so a normal shorter than :data:`_NO_DIRECTION` times the area
    of the faces' part where the condition holds is returned as zero (in a
    distorted cell the difference can exceed that and gives the direction
    of the larger interface). ``normals=False``
    skips the faces (the fractions alone, as :func:`cell_fraction`).

    Returns
    -------
    fraction : ndarray (n_cells,)
        In [0, 1].
    normal : ndarray (n_cells, 3)
        Unit normal in the cut cells, zero in the others (and in a cut cell
        whose faces give no direction, e.g. a slab through its middle).
    """
    el = element(mesh.cell_type)
    xi, w = quadrature(mesh.cell_type, n)
    N, dN = el.shape(xi), el.grad(xi)  # (p, k), (p, k, 3)
    xf, af = _face_rule(mesh.cell_type, 2 * n if n_face is None else n_face)
    Nf, dNf = el.shape(xf), el.grad(xf)
    frac = np.empty(mesh.cells.shape[0])
    normal = np.zeros((frac.size, 3))
    for lo in range(0, frac.size, chunk):
        cells = mesh.cells[lo:lo + chunk]
        X = mesh.points[cells]
        wd = _volume_weights(X, dN, w)
        h = np.asarray(hit(cells, N), bool)
        cut = h.any(axis=1) & ~h.all(axis=1)
        f = np.clip(np.einsum("mp,mp->m", wd, h) / wd.sum(axis=1), 0.0, 1.0)
        frac[lo:lo + chunk] = np.where(cut, f, h.all(axis=1))
        if normals and cut.any():
            idx = np.flatnonzero(cut)
            # Nanson: n dA = det(J) J^-T n_ref dA_ref = cof(J) n_ref dA_ref, and the columns of
            # cof(J) are the cross products of those of J = dx/dxi
            c0, c1, c2 = _jacobian_columns(X[idx], dNf)
            area = (np.cross(c1, c2) * af[:, 0, None] + np.cross(c2, c0) * af[:, 1, None]
                    + np.cross(c0, c1) * af[:, 2, None])
            chi = np.asarray(hit(cells[idx], Nf), float)
            g = np.einsum("mq,mqi->mi", chi, area)
            norm = np.linalg.norm(g, axis=1, keepdims=True)
            wet = np.einsum("mq,mq->m", chi, np.linalg.norm(area, axis=2))[:, None]
            normal[lo + idx] = np.divide(g, norm, out=np.zeros_like(g), where=norm > _NO_DIRECTION * wet)
    return frac, normal
