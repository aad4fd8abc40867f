"""Simple structured meshes: boxes and cylinders, and cell-type conversions.

Used for verification problems and for the potted-cylinder reference
specimen; vertebra meshes come from :mod:`vbfem.anatomy.mesher`.
"""

from __future__ import annotations

import numpy as np

from ..records import Mesh
from .elements import TET10_EDGES

# Kuhn subdivision of a hex (VTK order) into six tetrahedra sharing diagonal 0-6;
# conforming between neighbours of a structured grid.
_KUHN = np.array([[0, 1, 2, 6], [0, 5, 1, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 4, 5, 6], [0, 7, 4, 6]])


def _grid_hexes(nx: int, ny: int, nz: int) -> np.ndarray:
    idx = np.arange((nx + 1) * (ny + 1) * (nz + 1)).reshape(nz + 1, ny + 1, nx + 1)
    c = idx[:-1, :-1, :-1], idx[:-1, :-1, 1:], idx[:-1, 1:, 1:], idx[:-1, 1:, :-1]
    t = idx[1:, :-1, :-1], idx[1:, :-1, 1:], idx[1:, 1:, 1:], idx[1:, 1:, :-1]
    return np.stack([a.ravel() for a in c + t], axis=1)


def _check_divisions(divisions):
    div = tuple(int(d) for d in divisions)
    if len(div) != 3 or min(div) < 1:
        raise ValueError(f"divisions must be three integers >= 1, got {divisions!r}")
    return div


def box_mesh(size=(1.0, 1.0, 1.0), divisions=(4, 4, 4), *, origin=(0.0, 0.0, 0.0), cell_type="hex8") -> Mesh:
    """Structured mesh of the box ``origin + [0, size]``.

    Parameters
    ----------
    size : 3 floats
        Edge lengths in mm.
    divisions : 3 ints
        Cells along x, y, z.
    origin : 3 floats, keyword-only
        Lower corner in mm.
    cell_type : {"hex8", "tet4", "tet10"}, keyword-only
        Tets come from splitting each hex into six.

    Returns
    -------
    Mesh
        With node sets ``xmin, xmax, ymin, ymax, zmin, zmax`` (and aliases
        ``bottom`` = zmin, ``top`` = zmax).
    """
    size = np.asarray(size, float)
    if size.shape != (3,) or np.any(size <= 0):
        raise ValueError(f"size must be three lengths > 0 mm, got {size.tolist()}")
    nx, ny, nz = _check_divisions(divisions)
    axes = [np.linspace(0.0, s, n + 1) + o for s, n, o in zip(size, (nx, ny, nz), origin)]
    Z, Y, X = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    points = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    mesh = Mesh(points, _grid_hexes(nx, ny, nz), "hex8")
    tol = 1e-9 * size.max()
    sets = {}
    for c, name in enumerate("xyz"):
        lo, hi = points[:, c].min(), points[:, c].max()
        sets[f"{name}min"] = np.flatnonzero(points[:, c] < lo + tol)
        sets[f"{name}max"] = np.flatnonzero(points[:, c] > hi - tol)
    sets["bottom"], sets["top"] = sets["zmin"], sets["zmax"]
    return convert(mesh.replace(node_sets=sets), cell_type)


def cylinder_mesh(radius: float, height: float, *, n_radial: int = 4, n_axial: int = 8, cell_type="hex8") -> Mesh:
    """Boundary-fitted structured mesh of a cylinder on the z axis, z in [0, height].

    The cross-section is a square grid mapped onto the disc by the smooth
    elliptical map ``(u, v) -> (u sqrt(1 - v²/2), v sqrt(1 - u²/2))``, so the
    outer nodes lie exactly on the circle and every cell stays convex.

    Parameters
    ----------
    radius, height : float
        mm.
    n_radial : int, keyword-only
        Cells from the axis to the surface (the square has 2 n_radial per side).
    n_axial : int, keyword-only
        Cells along the axis.
    cell_type : {"hex8", "tet4", "tet10"}, keyword-only

    Returns
    -------
    Mesh
        Node sets ``bottom``, ``top``, ``side``.
    """
    if not (radius > 0 and height > 0):
        raise ValueError(f"radius and height must be > 0 mm, got {radius}, {height}")
    n = 2 * int(n_radial)
    box = box_mesh((2.0, 2.0, height), (n, n, int(n_axial)), origin=(-1.0, -1.0, 0.0))
    u, v, z = box.points.T
    x = u * np.sqrt(1.0 - v**2 / 2.0)
    y = v * np.sqrt(1.0 - u**2 / 2.0)
    points = np.column_stack([radius * x, radius * y, z])
    r = np.hypot(points[:, 0], points[:, 1])
    sets = {
        "bottom": box.node_sets["zmin"],
        "top": box.node_sets["zmax"],
        "side": np.flatnonzero(r > radius * (1 - 1e-9)),
    }
    return convert(Mesh(points, box.cells, "hex8", node_sets=sets), cell_type)


def convert(mesh: Mesh, cell_type: str) -> Mesh:
    """Convert hex8 -> tet4 / tet10 or tet4 -> tet10, keeping node sets.

    Cell sets and cell data follow the parent cell (six tets per hex). New
    mid-edge nodes of tet10 join a node set when both end nodes are in it.
    """
    if cell_type == mesh.cell_type:
        return mesh
    if mesh.cell_type == "hex8" and cell_type in ("tet4", "tet10"):
        tets = mesh.cells[:, _KUHN].reshape(-1, 4)
        parent = np.repeat(np.arange(mesh.n_cells), len(_KUHN))
        tets = _positively_oriented(mesh.points, tets)
        tet = Mesh(
            mesh.points,
            tets,
            "tet4",
            node_sets=mesh.node_sets,
            cell_sets={k: _children(v, parent) for k, v in mesh.cell_sets.items()},
            cell_data={k: v[parent] for k, v in mesh.cell_data.items()},
        )
        return convert(tet, cell_type)
    if mesh.cell_type == "tet4" and cell_type == "tet10":
        return _tet4_to_tet10(mesh)
    raise ValueError(f"cannot convert {mesh.cell_type} to {cell_type}")


def _children(parents_in_set, parent):
    return np.flatnonzero(np.isin(parent, parents_in_set))


def _positively_oriented(points, tets):
    p = points[tets]
    vol = np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0])
    tets = tets.copy()
    flip = vol < 0
    tets[flip, 1], tets[flip, 2] = tets[flip, 2], tets[flip, 1].copy()
    return tets


def _tet4_to_tet10(mesh: Mesh) -> Mesh:
    edges = np.sort(mesh.cells[:, TET10_EDGES].reshape(-1, 2), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    mid = 0.5 * (mesh.points[unique[:, 0]] + mesh.points[unique[:, 1]])
    points = np.vstack([mesh.points, mid])
    cells = np.hstack([mesh.cells, mesh.n_points + inverse.reshape(-1, 6)])
    node_sets = {}
    for name, nodes in mesh.node_sets.items():
        inset = np.zeros(mesh.n_points, bool)
        inset[nodes] = True
        new = np.flatnonzero(inset[unique[:, 0]] & inset[unique[:, 1]]) + mesh.n_points
        node_sets[name] = np.concatenate([nodes, new])
    return Mesh(points, cells, "tet10", node_sets=node_sets, cell_sets=mesh.cell_sets, cell_data=mesh.cell_data)


def perturbed(mesh: Mesh, amplitude: float, *, seed: int, fixed=None) -> Mesh:
    """Move nodes randomly by up to ``amplitude`` mm in each coordinate.

    Nodes in ``fixed`` (default: every node in any node set) do not move;
    tet10 mid-edge nodes are put back at their edge midpoints so edges stay straight.
    """
    rng = np.random.default_rng(seed)
    if fixed is None:
        fixed = np.unique(np.concatenate([v for v in mesh.node_sets.values()] or [np.zeros(0, int)]))
    move = rng.uniform(-amplitude, amplitude, mesh.points.shape)
    move[np.asarray(fixed, int)] = 0.0
    points = mesh.points + move
    if mesh.cell_type == "tet10":
        corners = mesh.cells[:, TET10_EDGES]
        points[mesh.cells[:, 4:]] = 0.5 * (points[corners[..., 0]] + points[corners[..., 1]])
    return mesh.with_points(points)
