"""The multigrid kernels (block Gauss–Seidel sweeps, 3 x 3 BSR products) against their numpy twins and
pyamg's own smoother; the V-cycle of ``v_cycle`` against pyamg's preconditioner."""

import numpy as np
import pytest
import scipy.sparse as sp

from vbfem.fem._kernels import multigrid as kern
from vbfem.fem._kernels import multigrid_ref as ref
from vbfem.fem.assembly import assemble_stiffness
from vbfem.fem.constraints import constraint_map
from vbfem.fem.primitives import box_mesh
from vbfem.fem.solvers import amg_hierarchy, v_cycle
from vbfem.mechanics.loadcases import physiological
from vbfem.records import MaterialMap


@pytest.fixture(scope="module")
def system():
    """A stiff-soft-stiff column (contrast 1000 : 4) with a platen, reduced: 3 x 3 node blocks, 2.2k dofs."""
    mesh = box_mesh((12.0, 12.0, 24.0), (6, 6, 16), origin=(-6.0, -6.0, 0.0))
    z = mesh.points[mesh.cells].mean(axis=1)[:, 2]
    E = np.where((z > 10) & (z < 14), 4.0, 1000.0)
    K = assemble_stiffness(mesh, MaterialMap.uniform(mesh.n_cells, 1.0, 0.3).replace(E=E))
    cmap = constraint_map(mesh, physiological(mesh, "flexion", superior="top", inferior="bottom"))
    A, b = cmap.reduce(K)
    return A, b, cmap.near_null


def _block_inverses(A):
    m = A.blocksize[0]
    D = A.toarray()
    return np.array([np.linalg.inv(D[i:i + m, i:i + m]) for i in range(0, A.shape[0], m)])


@pytest.mark.parametrize("blocksize", [3, 6])
@pytest.mark.parametrize("forward", [True, False])
def test_block_gauss_seidel_equals_twin_and_pyamg(system, blocksize, forward):
    from pyamg.relaxation.relaxation import block_gauss_seidel

    A, _, _ = system
    A = A[:1800, :1800].tobsr(blocksize=(blocksize, blocksize))
    rng = np.random.default_rng(1)
    x0, b = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    dinv = _block_inverses(A)
    x = x0.copy()
    kern.block_gauss_seidel(A.indptr, A.indices, A.data, dinv, x, b, forward)
    twin = ref.block_gauss_seidel(A, x0, b, forward=forward)
    np.testing.assert_allclose(x, twin, rtol=0, atol=1e-10 * np.abs(twin).max())
    x_pyamg = x0.copy()
    block_gauss_seidel(A, x_pyamg, b, sweep="forward" if forward else "backward", blocksize=blocksize, Dinv=dinv)
    if forward:  # the same operations in the same order: the same bits
        assert np.array_equal(x, x_pyamg)
    else:  # each row's blocks summed backwards: round-off only
        np.testing.assert_allclose(x, x_pyamg, rtol=0, atol=1e-12 * np.abs(x_pyamg).max())
    assert not np.allclose(x, x0)  # the sweep changed x


def test_bsr3_products_equal_twin(system):
    A, _, _ = system
    A = A.tobsr(blocksize=(3, 3))
    rng = np.random.default_rng(2)
    x, b = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    r, y = np.empty_like(b), np.empty_like(b)
    kern.bsr3_residual(A.indptr, A.indices, A.data, x, b, r)
    kern.bsr3_matvec(A.indptr, A.indices, A.data, x, y)
    twin = ref.residual(A, x, b)
    scale = np.abs(A.data).max() * np.abs(x).max()
    np.testing.assert_allclose(r, twin, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(y, b - twin, rtol=0, atol=1e-12 * scale)


def test_v_cycle_equals_pyamg_preconditioner(system):
    """``v_cycle`` skips pyamg's two convergence residuals only: the same preconditioner, and the numba
    smoothers of ``amg_hierarchy`` give pyamg's own smoothers' cycle to round-off."""
    import pyamg

    A, b, null = system
    ml = amg_hierarchy(A, near_null=null)
    assert len(ml.levels) >= 2 and type(ml.levels[0].presmoother).__name__ == "_BlockGaussSeidel"
    y = v_cycle(ml) @ b
    np.testing.assert_allclose(y, ml.aspreconditioner(cycle="V") @ b, rtol=0, atol=1e-12 * np.abs(y).max())
    # the hierarchy with pyamg's block Gauss-Seidel: the same options as amg_hierarchy
    from vbfem.fem.solvers import seeded_global_random

    with seeded_global_random():
        ml_pyamg = pyamg.smoothed_aggregation_solver(
            A.tobsr(blocksize=(3, 3)), B=null, symmetry="symmetric", strength=("symmetric", {"theta": 0.0}),
            smooth=("jacobi", {"omega": 4.0 / 3.0, "degree": 1}), improve_candidates=None,
            presmoother=("block_gauss_seidel", {"sweep": "forward", "iterations": 1}),
            postsmoother=("block_gauss_seidel", {"sweep": "backward", "iterations": 1}),
            max_coarse=500, coarse_solver="splu")
    y_pyamg = ml_pyamg.aspreconditioner(cycle="V") @ b
    np.testing.assert_allclose(y, y_pyamg, rtol=0, atol=1e-10 * np.abs(y).max())
    assert np.abs(y).max() > 0


def test_v_cycle_is_symmetric(system):
    """CG needs a symmetric preconditioner: u^T M^-1 v = v^T M^-1 u."""
    A, _, null = system
    M = v_cycle(amg_hierarchy(A, near_null=null))
    rng = np.random.default_rng(3)
    u, v = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    assert u @ (M @ v) == pytest.approx(v @ (M @ u), rel=1e-10)


def test_csr_hierarchy_keeps_pyamg_smoother():
    """A system whose size is no multiple of 3 has a CSR hierarchy (point Gauss-Seidel): solved as before."""
    from vbfem.fem.solvers import solve_spd

    n = 6001
    A = sp.diags([-np.ones(n - 1), 2.01 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="csr")
    b = np.ones(n)
    x, info = solve_spd(A, b, method="amg-cg", near_null=np.ones((n, 1)))
    assert np.linalg.norm(b - A @ x) <= 1e-7 * np.linalg.norm(b) and info.iterations > 0
