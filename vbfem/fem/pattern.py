"""The sparsity plan of a mesh: CSR structure, scatter positions and colouring.

It is computed once per :class:`~vbfem.records.Mesh` (cached on the mesh object)
and reused for every material map and load case on that mesh.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..records import Mesh
from ._kernels import elasticity as kern

log = logging.getLogger(__name__)

#: Consecutive cells per block of the block-coloured assembly (a block's nodes
#: stay in cache; blocks of one colour are assembled in parallel).
BLOCK_SIZE = 2048

_PLANS: "weakref.WeakKeyDictionary[Mesh, SparsityPlan]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class SparsityPlan:
    """Everything assembly needs that depends on connectivity only.

    Attributes
    ----------
    nptr, nidx : ndarray
        CSR of the node graph (each node's sorted neighbours, itself included).
    indptr, indices : ndarray
        CSR structure of the 3 n x 3 n stiffness matrix.
    pos : ndarray, shape (m, k, k)
        Index into ``nidx`` of node ``cells[e, b]`` among the neighbours of ``cells[e, a]``.
    order, colour_ptr : ndarray
        Cells sorted by colour and the start of each colour in ``order`` (no two
        cells of one colour share a node; used by the nonlinear kernels).
    block_order, block_colour_ptr : ndarray
        Blocks of ``block_size`` consecutive cells sorted by colour and the start
        of each colour in ``block_order`` (no two blocks of one colour share a
        node; used by the linear assembly, which walks each block in mesh order).
    block_size : int
        Cells per block.
    """

    nptr: np.ndarray
    nidx: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    pos: np.ndarray
    order: np.ndarray
    colour_ptr: np.ndarray
    block_order: np.ndarray
    block_colour_ptr: np.ndarray
    block_size: int

    @property
    def n_colours(self) -> int:
        return self.colour_ptr.size - 1

    @property
    def nnz(self) -> int:
        return self.indices.size

    def orphan_nodes(self) -> np.ndarray:
        """Nodes that belong to no cell."""
        return np.flatnonzero(np.diff(self.nptr) == 0)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """Wrap ``data`` (length nnz) in a CSR matrix with this structure (no copy)."""
        n = 3 * (self.nptr.size - 1)
        A = sp.csr_matrix((data, self.indices, self.indptr), shape=(n, n), copy=False)
        A.has_sorted_indices = True
        return A


def sparsity_plan(mesh: Mesh) -> SparsityPlan:
    """The (cached) :class:`SparsityPlan` of ``mesh``."""
    plan = _PLANS.get(mesh)
    if plan is None:
        t0 = time.perf_counter()
        plan = _build_plan(mesh.cells, mesh.n_points)
        _PLANS[mesh] = plan
        log.debug(
            "sparsity plan: %d cells, %d colours, nnz %d in %.2f s",
            mesh.n_cells, plan.n_colours, plan.nnz, time.perf_counter() - t0,
        )
    return plan


def _build_plan(cells: np.ndarray, n_points: int) -> SparsityPlan:
    m, k = cells.shape
    incidence = sp.csr_matrix(
        (np.ones(m * k, np.int8), cells.ravel(), np.arange(0, m * k + 1, k)), shape=(m, n_points)
    )
    graph = (incidence.T @ incidence).tocsr()
    graph.sort_indices()
    nnz_node = graph.indices.size
    itype = np.int32 if 9 * nnz_node < np.iinfo(np.int32).max else np.int64
    nptr = graph.indptr.astype(itype)
    nidx = graph.indices.astype(itype)
    deg = np.diff(nptr).astype(np.int64)

    # dof rows 3i+d: start 9 nptr[i] + 3 d deg_i, length 3 deg_i
    row_len = np.repeat(3 * deg, 3)
    indptr = np.zeros(3 * n_points + 1, np.int64)
    np.cumsum(row_len, out=indptr[1:])
    indices = np.empty(indptr[-1], itype)
    kern.csr_indices(nptr, nidx, indptr, indices)

    pos = kern.block_positions(cells, nptr, nidx)
    colour, n_colours = kern.greedy_colouring(cells, n_points)
    order = np.argsort(colour, kind="stable")
    colour_ptr = np.zeros(n_colours + 1, np.int64)
    np.cumsum(np.bincount(colour, minlength=n_colours), out=colour_ptr[1:])
    block_colour, n_block_colours = kern.block_colouring(cells, n_points, BLOCK_SIZE)
    block_order = np.argsort(block_colour, kind="stable")
    block_colour_ptr = np.zeros(n_block_colours + 1, np.int64)
    np.cumsum(np.bincount(block_colour, minlength=n_block_colours), out=block_colour_ptr[1:])
    return SparsityPlan(nptr, nidx, indptr.astype(itype), indices, pos, order, colour_ptr,
                        block_order, block_colour_ptr, BLOCK_SIZE)
