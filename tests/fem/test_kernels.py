"""numba kernels against their numpy twins on random distorted elements."""

import numpy as np
import pytest
from conftest import distorted_box, random_materials

from vbfem.fem._kernels import elasticity as kern
from vbfem.fem._kernels import elasticity_ref as ref
from vbfem.fem.assembly import assemble_stiffness, cell_fields
from vbfem.fem.elements import element, isotropic_D, lame


def test_assembly_equals_twin(cell_type):
    mesh = distorted_box(cell_type, amplitude=0.3)
    mat = random_materials(mesh.n_cells)
    el = element(cell_type)
    K = assemble_stiffness(mesh, mat)
    K_ref = ref.assemble(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights,
                         isotropic_D(mat.E, mat.nu))
    assert abs(K - K_ref).max() <= 1e-12 * abs(K_ref).max()


@pytest.mark.parametrize("cell_type, divisions", [("hex8", (14, 14, 12)), ("tet4", (8, 8, 8)), ("tet10", (8, 8, 7))])
def test_multi_block_parallel_assembly_equals_twin(cell_type, divisions):
    """More cells than one block (vbfem.fem.pattern.BLOCK_SIZE): several blocks and colours run in parallel."""
    from vbfem.fem.pattern import BLOCK_SIZE, sparsity_plan

    mesh = distorted_box(cell_type, divisions=divisions, amplitude=0.3, seed=2)
    assert mesh.n_cells > BLOCK_SIZE
    plan = sparsity_plan(mesh)
    assert np.diff(plan.block_colour_ptr).size >= 2  # at least two colours of blocks
    mat = random_materials(mesh.n_cells, seed=4)
    el = element(cell_type)
    K = assemble_stiffness(mesh, mat)
    K_ref = ref.assemble(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights,
                         isotropic_D(mat.E, mat.nu))
    assert abs(K - K_ref).max() <= 1e-12 * abs(K_ref).max()


def test_element_matrix_equals_twin(cell_type):
    mesh = distorted_box(cell_type, divisions=(2, 2, 2), amplitude=0.3, seed=5)
    el = element(cell_type)
    lam, mu = lame(300.0, 0.3)
    k3 = 3 * el.n_nodes
    Ke, J, G = np.empty((k3, k3)), np.empty((3, 3)), np.empty((el.n_nodes, 3))
    twin = ref.element_matrices(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights,
                                isotropic_D(np.full(mesh.n_cells, 300.0), 0.3))
    for e in (0, mesh.n_cells // 2, mesh.n_cells - 1):
        vol = kern.element_stiffness_isotropic(mesh.points[mesh.cells[e]], el.quad_gradients(), el.quad_weights,
                                               lam, mu, Ke, J, G)
        np.testing.assert_allclose(Ke, twin[e], rtol=0, atol=1e-12 * abs(twin[e]).max())
        assert vol > 0


def test_jacobians_equal_twin(cell_type):
    mesh = distorted_box(cell_type, amplitude=0.3)
    el = element(cell_type)
    dN = np.ascontiguousarray(el.grad(np.vstack([el.quad_points, el.nodes])))
    np.testing.assert_allclose(kern.jacobian_determinants(mesh.points, mesh.cells, dN),
                               ref.jacobian_determinants(mesh.points, mesh.cells, dN), rtol=1e-12)


def test_cell_strain_energy_equals_twin(cell_type):
    mesh = distorted_box(cell_type, amplitude=0.3)
    mat = random_materials(mesh.n_cells, seed=3)
    u = np.random.default_rng(4).normal(size=(mesh.n_points, 3)) * 1e-3
    el = element(cell_type)
    strain, stress, energy, volume = cell_fields(mesh, mat, u)
    s_ref, e_ref, v_ref = ref.cell_strain_energy(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights,
                                                 isotropic_D(mat.E, mat.nu), u)
    np.testing.assert_allclose(strain, s_ref, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(energy, e_ref, rtol=1e-10)
    np.testing.assert_allclose(volume, v_ref, rtol=1e-12)
    # the sum of cell energies is 1/2 u^T K u
    K = assemble_stiffness(mesh, mat)
    assert np.isclose(energy.sum(), 0.5 * u.ravel() @ (K @ u.ravel()), rtol=1e-11)


def test_colouring_has_no_shared_nodes_within_a_colour():
    mesh = distorted_box("tet4", divisions=(4, 4, 4))
    colour, n = kern.greedy_colouring(mesh.cells, mesh.n_points)
    for c in range(n):
        nodes = mesh.cells[colour == c].ravel()
        assert np.unique(nodes).size == nodes.size


def test_block_colouring_has_no_shared_nodes_within_a_colour():
    mesh = distorted_box("tet4", divisions=(6, 6, 6))
    bs = 40
    colour, n = kern.block_colouring(mesh.cells, mesh.n_points, bs)
    assert colour.size == -(-mesh.n_cells // bs) and n >= 2
    block_of_cell = np.arange(mesh.n_cells) // bs
    for c in range(n):
        sel = colour[block_of_cell] == c
        nodes = np.unique(np.column_stack([mesh.cells[sel].ravel(), block_of_cell[sel].repeat(4)]), axis=0)
        # each node appears in at most one block of this colour
        assert np.unique(nodes[:, 0]).size == nodes.shape[0]


def test_element_M_gives_BtDB(cell_type):
    """K_ab = lam M_ab + mu M_ab^T + mu tr(M_ab) I equals the twin's B^T D B."""
    mesh = distorted_box(cell_type, divisions=(2, 2, 2), amplitude=0.3, seed=7)
    el = element(cell_type)
    E, nu = 250.0, 0.27
    lam, mu = lame(E, nu)
    k = el.n_nodes
    twin = ref.element_matrices(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights,
                                isotropic_D(np.full(mesh.n_cells, E), nu))
    for e in (0, mesh.n_cells - 1):
        M = kern.element_M(mesh.points, mesh.cells[e], el.quad_gradients(), el.quad_weights)
        K = lam * M + mu * M.transpose(0, 1, 3, 2) + mu * np.einsum("abii->ab", M)[:, :, None, None] * np.eye(3)
        K = K.transpose(0, 2, 1, 3).reshape(3 * k, 3 * k)
        np.testing.assert_allclose(K, twin[e], rtol=0, atol=1e-12 * abs(twin[e]).max())


def test_translate_path_on_voxel_grids_equals_twin():
    """Uniform hex grids (voxel meshes) take the one-element-matrix path; it equals B^T D B per cell."""
    from vbfem.fem.assembly import translate_shape
    from vbfem.fem.primitives import box_mesh, perturbed

    mesh = box_mesh((1.0, 2.0, 3.0), (14, 12, 10))  # several blocks and colours
    assert translate_shape(mesh) is not None
    mat = random_materials(mesh.n_cells, seed=6)
    el = element("hex8")
    K = assemble_stiffness(mesh, mat)
    K_ref = ref.assemble(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, isotropic_D(mat.E, mat.nu))
    assert abs(K - K_ref).max() <= 1e-12 * abs(K_ref).max()
    # one moved node, or a six-tet split of the grid, is not a set of translates
    assert translate_shape(perturbed(mesh, 1e-3, seed=1)) is None
    assert translate_shape(box_mesh((1.0, 1.0, 1.0), (3, 3, 3), cell_type="tet4")) is None


def test_voxel_meshes_take_the_translate_path():
    from vbfem.anatomy.image import mesh_from_image
    from vbfem.fem.assembly import translate_shape

    z, y, x = np.mgrid[:12, :12, :12]
    mesh = mesh_from_image((x - 6) ** 2 + (y - 6) ** 2 + (z - 6) ** 2 < 25, spacing=(0.5, 0.6, 0.7))
    assert translate_shape(mesh) is not None
