"""Stiffness assembly and element-validity checks."""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp

from ..records import MaterialMap, Mesh
from ._kernels import elasticity as kern
from .elements import element, isotropic_D, lame
from .pattern import sparsity_plan

#: A cell whose smallest Jacobian determinant is below this fraction of the
#: mesh's median is called degenerate.
DEGENERATE_JACOBIAN = 1e-10

_CHECKED: "weakref.WeakSet[Mesh]" = weakref.WeakSet()

#: Cells that match cell 0 moved by a translation to this fraction of the
#: mesh's extent count as translates (voxel grids; coordinates carry rounding).
TRANSLATE_TOLERANCE = 1e-10

_TRANSLATES: "weakref.WeakKeyDictionary[Mesh, np.ndarray | None]" = weakref.WeakKeyDictionary()


def translate_shape(mesh: Mesh):
    """``element_M`` (k, k, 3, 3) of cell 0 if every cell is a translate of it, else None (cached per mesh).

    On such meshes (voxel grids, uniform boxes) every isotropic element
    matrix is ``lam M_ab + mu M_ab^T + mu tr(M_ab) I`` of that one ``M``, so
    assembly skips the per-cell quadrature.
    """
    if mesh not in _TRANSLATES:
        el = element(mesh.cell_type)
        tol = TRANSLATE_TOLERANCE * float(np.ptp(mesh.points, axis=0).max())
        same = mesh.n_cells > 1 and kern.translates_of_first(mesh.points, mesh.cells, tol)
        _TRANSLATES[mesh] = (kern.element_M(mesh.points, mesh.cells[0], el.quad_gradients(), el.quad_weights)
                             if same else None)
    return _TRANSLATES[mesh]


def jacobian_determinants(mesh: Mesh) -> np.ndarray:
    """det J of every cell at its quadrature points and nodes, shape (m, nq + k)."""
    el = element(mesh.cell_type)
    xi = np.vstack([el.quad_points, el.nodes])
    return kern.jacobian_determinants(mesh.points, mesh.cells, np.ascontiguousarray(el.grad(xi)))


def check_mesh(mesh: Mesh) -> None:
    """Raise ``ValueError`` if any cell is inverted or degenerate.

    A cell is inverted when det J <= 0 at a quadrature point or node and
    degenerate when its smallest det J is below ``DEGENERATE_JACOBIAN`` times
    the median over the mesh. The check runs once per mesh object.
    """
    if mesh in _CHECKED:
        return
    if mesh.n_cells == 0:
        raise ValueError("mesh has no cells")
    det = jacobian_determinants(mesh)
    dmin = det.min(axis=1)
    scale = np.median(np.abs(det))
    bad = np.flatnonzero(dmin <= DEGENERATE_JACOBIAN * scale)
    if bad.size:
        kind = "inverted" if np.any(dmin[bad] < 0) else "degenerate"
        raise ValueError(
            f"{bad.size} {mesh.cell_type} cell(s) are {kind} (det J <= 0 or ~0 at a quadrature point "
            f"or node); first cells {bad[:10].tolist()}, smallest det J {dmin[bad].min():.3g} "
            f"(median {scale:.3g})"
        )
    _CHECKED.add(mesh)


def _check_materials(mesh: Mesh, materials: MaterialMap) -> None:
    if materials.n_cells != mesh.n_cells:
        raise ValueError(
            f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}"
        )


def assemble_stiffness(mesh: Mesh, materials: MaterialMap, *, out=None) -> sp.csr_matrix:
    """Global small-strain stiffness matrix (3 n x 3 n, N/mm) in CSR.

    Dof ``3 i + c`` is component ``c`` of node ``i``. The sparsity structure is
    computed once per mesh and shared by every call on the same mesh.

    Parameters
    ----------
    mesh : Mesh
        Mesh (checked for inverted cells on first use).
    materials : MaterialMap
        Per-cell Young's modulus (MPa) and Poisson's ratio, or elasticity
        matrices where it has an ``anisotropy`` (:meth:`MaterialMap.elasticity`).
    out : ndarray or csr_matrix, optional
        Buffer to reuse for repeated assemblies on one mesh: either a float64
        array of length ``nnz`` (the result wraps it, no copy) or a matrix
        returned by an earlier call on the same mesh (overwritten in place and
        returned). Anything else raises ``ValueError``.

    Examples
    --------
    >>> from vbfem.fem.primitives import box_mesh
    >>> from vbfem.records import MaterialMap
    >>> mesh = box_mesh((1.0, 1.0, 1.0), (2, 2, 2))
    >>> K = assemble_stiffness(mesh, MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    >>> K.shape
    (81, 81)
    """
    _check_materials(mesh, materials)
    check_mesh(mesh)
    plan = sparsity_plan(mesh)
    if out is None:
        data = np.empty(plan.nnz)
    else:
        data = out.data if sp.issparse(out) else out
        if not (isinstance(data, np.ndarray) and data.dtype == np.float64 and data.shape == (plan.nnz,)
                and data.flags.c_contiguous and data.flags.writeable):
            raise ValueError(
                f"out must be a writeable contiguous float64 array of length nnz={plan.nnz} (or a matrix "
                f"returned by assemble_stiffness on this mesh); got {type(out).__name__} "
                f"{getattr(data, 'dtype', None)} {getattr(data, 'shape', None)}"
            )
        if sp.issparse(out) and not (out.indices.size == plan.nnz and np.shares_memory(out.indices, plan.indices)):
            raise ValueError("out is a sparse matrix whose structure is not this mesh's sparsity plan")
    el = element(mesh.cell_type)
    blocks = (plan.block_order, plan.block_colour_ptr, plan.block_size, plan.pos, plan.nptr, data)
    lam, mu = lame(materials.E, materials.nu)
    M = translate_shape(mesh) if materials.isotropic else None
    if M is not None:
        kern.assemble_isotropic_translates(M, mesh.cells, lam, mu, *blocks)
    else:
        D = np.empty((0, 6, 6)) if materials.isotropic else elasticity_matrices(materials)
        kern.assemble_blocks(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, lam, mu, D, *blocks)
    return out if sp.issparse(out) else plan.matrix(data)


def elasticity_matrices(materials: MaterialMap) -> np.ndarray:
    """Voigt elasticity matrices of all cells, shape (n_cells, 6, 6), MPa.

    Order (xx, yy, zz, yz, xz, xy) with engineering shear strains: isotropic from
    ``E`` and ``nu``, or ``E * anisotropy`` for the cells of
    :meth:`~vbfem.records.MaterialMap.anisotropic_cells`, or the cell's own
    matrix for the cells of :meth:`~vbfem.records.MaterialMap.stiffness_cells`.
    """
    D = isotropic_D(materials.E, materials.nu)
    aniso = materials.anisotropic_cells()
    if aniso.any():
        D[aniso] = materials.E[aniso, None, None] * materials.anisotropy
    own = materials.stiffness_cells()
    if own.any():
        D[own] = materials.stiffness[own]
    return D


def cell_fields(mesh: Mesh, materials: MaterialMap, displacement: np.ndarray):
    """Volume-averaged strain and stress, strain energy and volume of every cell.

    Parameters
    ----------
    displacement : ndarray, shape (n_points, 3)
        Nodal displacement in mm.

    Returns
    -------
    strain : ndarray (m, 6)
        Voigt (xx, yy, zz, yz, xz, xy), engineering shear.
    stress : ndarray (m, 6)
        MPa, same order.
    energy : ndarray (m,)
        Strain energy in N·mm.
    volume : ndarray (m,)
        Cell volume in mm³.
    """
    _check_materials(mesh, materials)
    el = element(mesh.cell_type)
    u = np.ascontiguousarray(displacement, dtype=float)
    lam, mu = lame(materials.E, materials.nu)
    D = np.empty((0, 6, 6)) if materials.isotropic else elasticity_matrices(materials)
    strain, energy, volume = kern.cell_strain_energy(
        mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, lam, mu, D, u
    )
    if D.shape[0]:
        stress = np.einsum("mij,mj->mi", D, strain)
    else:
        tr = strain[:, :3].sum(axis=1)
        stress = np.empty_like(strain)
        stress[:, :3] = 2.0 * mu[:, None] * strain[:, :3] + (lam * tr)[:, None]
        stress[:, 3:] = mu[:, None] * strain[:, 3:]
    return strain, stress, energy, volume
