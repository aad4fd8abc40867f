"""The finite-element mesh record: :class:`Mesh` (one cell type, named node and cell sets)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._frozen import _frozen_array, _frozen_mapping, _Picklable

#: Number of nodes of each supported cell type.
CELL_NODES = {"hex8": 8, "tet4": 4, "tet10": 10}


@dataclass(frozen=True, eq=False)
class Mesh(_Picklable):
    """A finite-element mesh of one cell type with named sets.

    Parameters
    ----------
    points : array_like, shape (n_points, 3)
        Node coordinates in mm.
    cells : array_like of int, shape (n_cells, k)
        Node indices of each cell, in the node order of meshio / VTK
        (hex8: bottom face counter-clockwise seen from above, then top face;
        tet10: four corners, then mid-edge nodes 01, 12, 02, 03, 13, 23).
    cell_type : {"hex8", "tet4", "tet10"}
        Element type.
    node_sets : mapping of str to int arrays, optional
        Named node sets (indices into ``points``), e.g. ``"superior"``.
    cell_sets : mapping of str to int arrays, optional
        Named cell sets (indices into ``cells``), e.g. ``"cortex"``.
    cell_data : mapping of str to arrays, optional
        Per-cell fields; the first axis has length ``n_cells``.

    Notes
    -----
    Construction checks shapes, finiteness and index ranges. Element
    validity (positive Jacobians) is checked by :func:`vbfem.check_mesh`,
    which assembly calls before any long computation.
    """

    points: np.ndarray
    cells: np.ndarray
    cell_type: str
    node_sets: Mapping[str, np.ndarray] = field(default_factory=dict)
    cell_sets: Mapping[str, np.ndarray] = field(default_factory=dict)
    cell_data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        if self.cell_type not in CELL_NODES:
            raise ValueError(
                f"cell_type={self.cell_type!r} is not supported; "
                f"allowed: {', '.join(CELL_NODES)}"
            )
        points = np.asarray(self.points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"points must have shape (n, 3), got {points.shape}")
        if not np.all(np.isfinite(points)):
            bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
            raise ValueError(
                f"points contain non-finite coordinates at nodes {bad[:10].tolist()}"
                + (" ..." if bad.size > 10 else "")
            )
        cells = np.asarray(self.cells)
        k = CELL_NODES[self.cell_type]
        if cells.ndim != 2 or cells.shape[1] != k:
            raise ValueError(
                f"cells of type {self.cell_type} must have shape (m, {k}), got {cells.shape}"
            )
        if cells.size and not np.issubdtype(cells.dtype, np.integer):
            raise TypeError(f"cells must be integer node indices, got dtype {cells.dtype}")
        cells = cells.astype(np.int64)
        if cells.size and (cells.min() < 0 or cells.max() >= len(points)):
            raise ValueError(
                f"cells reference nodes outside [0, {len(points) - 1}] "
                f"(min {cells.min()}, max {cells.max()})"
            )
        object.__setattr__(self, "points", _frozen_array(points, dtype=float))
        object.__setattr__(self, "cells", _frozen_array(cells, dtype=np.int64))
        object.__setattr__(self, "node_sets", self._checked_sets(self.node_sets, len(points), "node"))
        object.__setattr__(self, "cell_sets", self._checked_sets(self.cell_sets, len(cells), "cell"))
        data = _frozen_mapping(self.cell_data)
        for name, arr in data.items():
            if arr.shape[:1] != (len(cells),):
                raise ValueError(
                    f"cell_data[{name!r}] has first dimension {arr.shape[:1]}, expected ({len(cells)},)"
                )
        object.__setattr__(self, "cell_data", data)

    @staticmethod
    def _checked_sets(sets, n, what):
        out = _frozen_mapping(sets, dtype=np.int64)
        for name, idx in out.items():
            if idx.ndim != 1:
                raise ValueError(f"{what} set {name!r} must be a 1-D index array")
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"{what} set {name!r} has indices outside [0, {n - 1}]")
        return out

    # ------------------------------------------------------------------ sizes
    @property
    def n_points(self) -> int:
        """Number of nodes."""
        return self.points.shape[0]

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.cells.shape[0]

    @property
    def n_dofs(self) -> int:
        """Number of displacement degrees of freedom (3 per node)."""
        return 3 * self.n_points

    # ---------------------------------------------------------------- changes
    def replace(self, **changes) -> Mesh:
        """Return a copy with the given fields replaced."""
        return dataclasses.replace(self, **changes)

    def with_points(self, points) -> Mesh:
        """Return the same mesh with new node coordinates (mm), e.g. deformed."""
        return self.replace(points=points)

    def with_node_set(self, name: str, nodes) -> Mesh:
        """Return a copy with node set ``name`` added or replaced."""
        return self.replace(node_sets={**self.node_sets, name: nodes})

    def with_cell_set(self, name: str, cells) -> Mesh:
        """Return a copy with cell set ``name`` added or replaced."""
        return self.replace(cell_sets={**self.cell_sets, name: cells})

    def with_cell_data(self, name: str, values) -> Mesh:
        """Return a copy with cell field ``name`` added or replaced."""
        return self.replace(cell_data={**self.cell_data, name: values})

    def node_set(self, name: str) -> np.ndarray:
        """Indices of node set ``name``; a clear ``KeyError`` lists the known sets."""
        return _named(self.node_sets, name, "node")

    def cell_set(self, name: str) -> np.ndarray:
        """Indices of cell set ``name``; a clear ``KeyError`` lists the known sets."""
        return _named(self.cell_sets, name, "cell")


def _named(sets, name: str, what: str) -> np.ndarray:
    """``sets[name]``, or a ``KeyError`` naming the ``what`` set and listing the known ones."""
    try:
        return sets[name]
    except KeyError:
        raise KeyError(f"{what} set {name!r} not in mesh; available: {sorted(sets) or 'none'}") from None
