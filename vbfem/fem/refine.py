"""Uniform refinement of hex8 meshes: every cell split into eight along its own parametric axes.

:func:`split_hex` is the kinematic refinement of a model: the children keep their parent's material (and
cell data and sets), so a solution on the split mesh differs from the parent mesh's only by the finer
displacement field (what that separates for the VP strength: ``benchmarks/bench_strength_split.py`` and
the README's mesh convergence). It is also the first block of a local refinement (hanging nodes), not
written yet.

The new nodes sit where the parent's trilinear map puts the midpoints of its edges, the centres of its faces
and its centre: the averages of two, four and eight corners, exact for that map, so the children tile the
parent exactly (their volumes sum to the parent's) and keep its orientation (a valid parent gives valid
children). Nodes are shared between neighbours by their corners (an edge's midpoint is one node for every
cell around the edge), never by comparing coordinates.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..records import MaterialMap, Mesh

__all__ = ["split_hex"]

#: hex8 corners in parametric coordinates, meshio / VTK node order.
_CORNERS = np.array([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                     [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]])

#: The 27 points of the split, (i, j, k) in {0, 1, 2}^3 (0: -1, 1: 0, 2: +1 in the parent's coordinates).
_LATTICE = [(i, j, k) for k in range(3) for j in range(3) for i in range(3)]

#: Fields of a MaterialMap with one row per cell.
_PER_CELL = ("E", "nu", "tissue", "density", "yield_stress", "stiffness")


def _support(point) -> list[int]:
    """Parent corners (indices into :data:`_CORNERS`) whose mean is the lattice ``point``."""
    choices = [(-1,) if c == 0 else (1,) if c == 2 else (-1, 1) for c in point]
    return [int(np.flatnonzero((_CORNERS == s).all(axis=1))[0]) for s in itertools.product(*choices)]


def split_hex(mesh: Mesh, materials: MaterialMap | None = None):
    """Split every hex8 cell of ``mesh`` into eight; the children inherit their parent's properties.

    Parameters
    ----------
    mesh : Mesh
        A hex8 mesh (mm).
    materials : MaterialMap, optional
        Its material map; every per-cell field (``E``, ``nu``, ``tissue``, ``density``,
        ``yield_stress``, ``stiffness``) is repeated for the children, the rest kept.

    Returns
    -------
    mesh : Mesh
        The split mesh: the parent's nodes first, with their indices, then the new edge, face and cell
        centres. Children of cell ``c`` are cells ``8 c`` to ``8 c + 7``, x fastest, then y, then z in
        the parent's parametric coordinates. A node set keeps its nodes and gains every new node whose
        parent corners (two, four or eight) all belong to it: a set of surface nodes stays the surface's
        wherever the body is more than one cell thick; where it is one cell thick, an edge, face or cell
        whose corners all lie on the surface without lying in it gains its inner node too. Cell sets and
        cell data follow the children.
    materials : MaterialMap or None
        The children's material map (None without ``materials``).
    parent : ndarray of int (8 n_cells,)
        Parent cell of each child.

    Raises
    ------
    ValueError
        A mesh of another cell type, or a material map of another number of cells.
    """
    if mesh.cell_type != "hex8":
        raise ValueError(f"mesh.cell_type={mesh.cell_type!r}: split_hex refines hex8 meshes only")
    if materials is not None and materials.n_cells != mesh.n_cells:
        raise ValueError(f"materials has {materials.n_cells} cells, the mesh {mesh.n_cells}")
    cells = np.asarray(mesh.cells)
    m, n0 = cells.shape[0], mesh.n_points
    supports = [_support(p) for p in _LATTICE]
    index = np.empty((m, len(_LATTICE)), np.int64)  # new node of each lattice point of each cell
    points = [np.asarray(mesh.points, float)]
    memberships = {name: [np.asarray(nodes)] for name, nodes in mesh.node_sets.items()}
    in_set = {}
    for name, nodes in mesh.node_sets.items():
        mask = np.zeros(n0, bool)
        mask[nodes] = True
        in_set[name] = mask
    offset = n0
    for size in (1, 2, 4, 8):  # corners, edge midpoints, face centres, cell centres
        which = [q for q, s in enumerate(supports) if len(s) == size]
        if size == 1:
            index[:, which] = cells[:, [supports[q][0] for q in which]]
            continue
        tuples = np.stack([np.sort(cells[:, supports[q]], axis=1) for q in which], axis=1)  # (m, k, size)
        unique, inverse = np.unique(tuples.reshape(-1, size), axis=0, return_inverse=True)
        index[:, which] = offset + inverse.reshape(m, len(which))
        points.append(np.asarray(mesh.points, float)[unique].mean(axis=1))
        for name, mask in in_set.items():
            memberships[name].append(offset + np.flatnonzero(mask[unique].all(axis=1)))
        offset += unique.shape[0]
    lattice_id = {p: q for q, p in enumerate(_LATTICE)}
    children = []
    for child in itertools.product((0, 1), repeat=3):  # (cz, cy, cx)
        cz, cy, cx = child
        corners = [lattice_id[(cx + (s[0] > 0), cy + (s[1] > 0), cz + (s[2] > 0))] for s in _CORNERS]
        children.append(index[:, corners])
    new_cells = np.stack(children, axis=1).reshape(-1, 8)
    parent = np.repeat(np.arange(m), 8)
    split = Mesh(np.concatenate(points), new_cells, "hex8",
                 node_sets={k: np.unique(np.concatenate(v)) for k, v in memberships.items()},
                 cell_sets={k: (8 * np.asarray(v, np.int64)[:, None] + np.arange(8)).ravel()
                            for k, v in mesh.cell_sets.items()},
                 cell_data={k: np.asarray(v)[parent] for k, v in mesh.cell_data.items()})
    if materials is None:
        return split, None, parent
    fields = {f: np.asarray(getattr(materials, f))[parent] for f in _PER_CELL if getattr(materials, f) is not None}
    return split, materials.replace(**fields), parent
