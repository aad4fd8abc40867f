"""Properties of the assembled stiffness: symmetry, definiteness, null space, invariance."""

import numpy as np
import pytest
from conftest import distorted_box, random_materials
from scipy.spatial.transform import Rotation

from vbfem.fem._kernels import elasticity as kern
from vbfem.fem.assembly import assemble_stiffness, check_mesh
from vbfem.fem.constraints import rigid_modes
from vbfem.fem.elements import element, lame
from vbfem.fem.pattern import sparsity_plan
from vbfem.fem.primitives import box_mesh
from vbfem.records import MaterialMap, Mesh


def test_symmetric_psd_with_exactly_six_rigid_modes(cell_type):
    mesh = distorted_box(cell_type, divisions=(2, 2, 3), amplitude=0.3)
    K = assemble_stiffness(mesh, random_materials(mesh.n_cells)).toarray()
    assert np.abs(K - K.T).max() <= 1e-14 * np.abs(K).max()
    w, V = np.linalg.eigh(K)
    tol = 1e-10 * w[-1]
    assert w.min() > -tol
    assert np.sum(np.abs(w) < tol) == 6
    # the null space is spanned by the rigid-body modes
    R = rigid_modes(mesh.points)
    null = V[:, :6]
    np.testing.assert_allclose(null @ (null.T @ R), R, atol=1e-9 * np.abs(R).max())
    assert np.abs(K @ R).max() < 1e-9 * np.abs(K).max() * np.abs(R).max()


def test_element_energy_invariant_under_rigid_motion(cell_type):
    el = element(cell_type)
    mesh = distorted_box(cell_type, divisions=(1, 1, 1), amplitude=0.0)
    X = mesh.points[mesh.cells[0]] + np.random.default_rng(2).uniform(-0.1, 0.1, (el.n_nodes, 3))
    u = np.random.default_rng(3).normal(size=(el.n_nodes, 3))
    Q = Rotation.from_rotvec([0.4, -1.1, 0.7]).as_matrix()
    lam, mu = lame(500.0, 0.35)
    k3 = 3 * el.n_nodes

    def energy(Xe, ue):
        Ke, J, G = np.empty((k3, k3)), np.empty((3, 3)), np.empty((el.n_nodes, 3))
        kern.element_stiffness_isotropic(np.ascontiguousarray(Xe), el.quad_gradients(), el.quad_weights,
                                         lam, mu, Ke, J, G)
        return 0.5 * ue.ravel() @ Ke @ ue.ravel()

    e0 = energy(X, u)
    assert energy(X @ Q.T + np.array([10.0, -3.0, 7.0]), u @ Q.T) == pytest.approx(e0, rel=1e-12)


def test_sparsity_plan_computed_once_per_mesh():
    mesh = box_mesh((1.0, 1.0, 1.0), (3, 3, 3))
    K1 = assemble_stiffness(mesh, MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    K2 = assemble_stiffness(mesh, MaterialMap.uniform(mesh.n_cells, 200.0, 0.3))
    assert sparsity_plan(mesh) is sparsity_plan(mesh)
    assert K1.indices is K2.indices or np.shares_memory(K1.indices, K2.indices)
    np.testing.assert_allclose(K2.data, 2 * K1.data)


def test_inverted_and_degenerate_cells_are_rejected(cell_type):
    mesh = box_mesh((1.0, 1.0, 1.0), (2, 2, 2), cell_type=cell_type)
    cells = mesh.cells.copy()
    k = cells.shape[1]
    # swap two corner nodes of cell 3: inverts it
    cells[3, [1, 2]] = cells[3, [2, 1]] if k != 8 else cells[3, [1, 3]]
    if k == 8:
        cells[3, [5, 7]] = cells[3, [7, 5]]
    with pytest.raises(ValueError, match="inverted"):
        check_mesh(Mesh(mesh.points, cells, cell_type))
    flat = mesh.points.copy()
    flat[:, 2] = np.where(flat[:, 2] > 0.4, 0.5, flat[:, 2])  # squash the top layer
    flat[:, 2] = np.where(mesh.points[:, 2] > 0.9, 0.5, flat[:, 2])
    with pytest.raises(ValueError, match="degenerate|inverted"):
        check_mesh(Mesh(flat, mesh.cells, cell_type))


def test_material_map_must_match_mesh():
    mesh = box_mesh((1.0, 1.0, 1.0), (2, 2, 2))
    with pytest.raises(ValueError, match="material map has 3 cells but the mesh has 8"):
        assemble_stiffness(mesh, MaterialMap.uniform(3, 100.0, 0.3))


def test_out_buffer_is_reused_across_material_maps():
    mesh = distorted_box("hex8", amplitude=0.2)
    K1 = assemble_stiffness(mesh, random_materials(mesh.n_cells, seed=1))
    mat2 = random_materials(mesh.n_cells, seed=2)
    fresh = assemble_stiffness(mesh, mat2)
    K2 = assemble_stiffness(mesh, mat2, out=K1)
    assert K2 is K1 and abs(K2 - fresh).max() == 0.0
    buf = np.full(sparsity_plan(mesh).nnz, np.nan)
    K3 = assemble_stiffness(mesh, mat2, out=buf)
    assert np.shares_memory(K3.data, buf) and abs(K3 - fresh).max() == 0.0
    with pytest.raises(ValueError, match="out"):
        assemble_stiffness(mesh, mat2, out=np.empty(3))
    other = distorted_box("hex8", divisions=(2, 2, 2))
    with pytest.raises(ValueError, match="out"):
        assemble_stiffness(mesh, mat2, out=assemble_stiffness(other, random_materials(other.n_cells)))
