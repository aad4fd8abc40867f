"""Transversely isotropic (and general anisotropic) elasticity: kernels, solver, QCT law, CalculiX."""

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import distorted_box, random_materials

from vbfem import MaterialMap, fixed, load_case, platen_compression, rigid_platen, solve_static
from vbfem.fem._kernels import elasticity_ref as ref
from vbfem.fem.assembly import assemble_stiffness, cell_fields, elasticity_matrices
from vbfem.fem.elements import element, isotropic_D
from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.materials.bone import assign_bone
from vbfem.materials.cement import with_cement
from vbfem.materials.laws import get_law, transverse_isotropic_constants
from vbfem.materials.strength import plastic_material
from vbfem.output.ccx import ccx_platen_reaction
from vbfem.output.inp import engineering_constants
from vbfem.records import TISSUES, tissue_code

QCT = get_law("qct_crawford2003").anisotropy


def _random_spd(seed):
    A = np.random.default_rng(seed).normal(size=(6, 6))
    A = A @ A.T + 6.0 * np.eye(6)
    return A / np.abs(A).max()


def _mixed(mesh, anisotropy, seed=0):
    """Random E and nu; tissue trabecular, cortical or damaged at random (2 of 3 anisotropic)."""
    mat = random_materials(mesh.n_cells, seed=seed)
    tissue = np.random.default_rng(seed + 1).choice(
        [tissue_code("trabecular"), tissue_code("cortical"), tissue_code("damaged")], mesh.n_cells)
    return mat.replace(tissue=tissue, anisotropy=anisotropy)


@pytest.mark.parametrize("divisions", [(3, 3, 3), (10, 10, 8)])
def test_general_assembly_and_fields_equal_twin(cell_type, divisions):
    """A random symmetric positive-definite D: the numba kernels equal B^T D B of the twin."""
    mesh = distorted_box(cell_type, divisions=divisions, amplitude=0.3, seed=2)
    mat = _mixed(mesh, _random_spd(3))
    assert 0 < mat.anisotropic_cells().sum() < mesh.n_cells and not mat.isotropic
    el = element(cell_type)
    D = elasticity_matrices(mat)
    K = assemble_stiffness(mesh, mat)
    K_ref = ref.assemble(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, D)
    assert abs(K - K_ref).max() <= 1e-12 * abs(K_ref).max()
    assert abs(K - K.T).max() <= 1e-12 * abs(K).max()
    u = np.random.default_rng(5).normal(size=(mesh.n_points, 3)) * 1e-3
    strain, stress, energy, volume = cell_fields(mesh, mat, u)
    s_ref, e_ref, _ = ref.cell_strain_energy(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, D, u)
    np.testing.assert_allclose(strain, s_ref, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(energy, e_ref, rtol=1e-10)
    np.testing.assert_allclose(stress, np.einsum("mij,mj->mi", D, strain), rtol=1e-12, atol=1e-14)
    assert np.isclose(energy.sum(), 0.5 * u.ravel() @ (K @ u.ravel()), rtol=1e-11)


def test_isotropic_anisotropy_equals_isotropic_path(cell_type):
    """``anisotropy`` = isotropic D per unit E (same nu) gives the isotropic kernel's matrix."""
    mesh = distorted_box(cell_type, amplitude=0.3, seed=4)
    mat = MaterialMap(E=np.random.default_rng(1).uniform(50, 500, mesh.n_cells), nu=np.full(mesh.n_cells, 0.28))
    general = mat.replace(anisotropy=isotropic_D(1.0, 0.28))
    assert mat.isotropic and not general.isotropic
    K0, K1 = assemble_stiffness(mesh, mat), assemble_stiffness(mesh, general)
    assert abs(K0 - K1).max() <= 1e-12 * abs(K0).max()


@pytest.mark.parametrize("direction", [0, 2])
def test_uniaxial_stress_gives_transverse_and_axial_moduli(cell_type, direction):
    """Boundary nodes follow the exact uniaxial-stress field of the QCT ratios: sigma is 1 MPa along
    ``direction`` and zero otherwise in every cell, and the strain along it is 1/E_t (x) or 1/E_a (z)."""
    mesh = distorted_box(cell_type, divisions=(3, 3, 3), amplitude=0.25, seed=7)
    Ea = 300.0
    mat = MaterialMap.uniform(mesh.n_cells, Ea, QCT.nu_axial).replace(anisotropy=QCT.unit_stiffness())
    sigma = np.zeros(6)
    sigma[direction] = 1.0
    eps = np.linalg.solve(Ea * QCT.unit_stiffness(), sigma)
    expected_modulus = Ea * (QCT.transverse if direction == 0 else 1.0)
    assert 1.0 / eps[direction] == pytest.approx(expected_modulus, rel=1e-12)
    # the lateral contraction follows the law's Poisson's ratios
    if direction == 2:
        assert -eps[0] / eps[2] == pytest.approx(QCT.nu_axial, rel=1e-12)
    else:
        assert -eps[1] / eps[0] == pytest.approx(QCT.nu_transverse, rel=1e-12)
    A = np.diag(eps[:3])
    exact = mesh.points @ A.T
    boundary = np.unique(np.concatenate([mesh.node_sets[k] for k in ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")]))
    res = solve_static(mesh, mat, load_case("uniaxial", fixed=[fixed(mesh, boundary, value=exact[boundary])]))
    assert np.abs(res.displacement - exact).max() < 1e-10 * np.abs(exact).max()
    np.testing.assert_allclose(res.stress, np.broadcast_to(sigma, res.stress.shape), atol=1e-9)


def test_transversely_isotropic_bar_stiffness_is_axial_modulus():
    """A potted hex8 bar with zero Poisson coupling: platen stiffness E_axial A / L exactly, and a bar
    lying along x (same constants) gives E_transverse A / L."""
    L, a, Ea = 20.0, 5.0, 300.0
    r = QCT
    one = np.ones(1)
    from vbfem.materials.laws import TransverseIsotropic

    unit = TransverseIsotropic(one, r.transverse * one, r.shear_axial * one, r.shear_transverse * one,
                               0.0, 0.0).stiffness()[0]
    bar = box_mesh((a, a, L), (2, 3, 5))
    mat = MaterialMap.uniform(bar.n_cells, Ea, 0.0).replace(anisotropy=unit)
    assert solve_static(bar, mat, platen_compression(bar, displacement=0.2)).stiffness("platen") == pytest.approx(
        Ea * a * a / L, rel=1e-6)
    # the same bar with its axis along x: swap coordinates x <-> z (a reflection: reorder the cell nodes)
    lying = box_mesh((L, a, a), (5, 3, 2))
    lying = lying.replace(node_sets={**lying.node_sets, "top": lying.node_sets["xmax"], "bottom": lying.node_sets["xmin"]})
    load = load_case("x", fixed=[fixed(lying, "xmin")],
                     platens=[rigid_platen(lying, "xmax", displacement=(-0.2, 0.0, 0.0), rotation=(0, 0, 0))])
    res = solve_static(lying, mat, load)
    assert -res.platen_reaction["platen"][0] / 0.2 == pytest.approx(r.transverse * Ea * a * a / L, rel=1e-6)


def test_engineering_constants_invert_the_ratios():
    c = engineering_constants(300.0 * QCT.unit_stiffness())
    E1, E2, E3, nu12, nu13, nu23, G12, G13, G23 = c
    assert (E1, E2, E3) == pytest.approx((100.0, 100.0, 300.0), rel=1e-12)
    assert (nu12, nu13, nu23) == pytest.approx((QCT.nu_transverse, QCT.nu_axial / 3, QCT.nu_axial / 3), rel=1e-12)
    assert (G12, G13, G23) == pytest.approx((300 * QCT.shear_transverse, 300 * QCT.shear_axial,
                                             300 * QCT.shear_axial), rel=1e-12)
    with pytest.raises(ValueError, match="not orthotropic"):
        engineering_constants(_random_spd(1))


def _ccx_case(cell_type):
    mesh = perturbed(box_mesh((10.0, 12.0, 16.0), (3, 3, 4), cell_type=cell_type), 0.6, seed=11)
    return mesh, _mixed(mesh, QCT.unit_stiffness(), seed=8)


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_transversely_isotropic_reaction_matches_ccx(ccx, cell_type, tmp_path):  # noqa: F811
    """ENGINEERING CONSTANTS in the deck: CalculiX's platen force and moment equal vbfem's to 1e-6,
    under compression and under a prescribed tilt (which loads the shear moduli)."""
    mesh, mat = _ccx_case(cell_type)
    for name, load in [
        ("compression", platen_compression(mesh, displacement=0.05)),
        ("tilt", load_case("tilt", fixed=[fixed(mesh, "bottom")],
                           platens=[rigid_platen(mesh, "top", displacement=(0.01, None, -0.02),
                                                 rotation=(0.002, -0.001, 0.0005))])),
    ]:
        res = solve_static(mesh, mat, load, solver="direct")
        ref_r = res.platen_reaction["platen"]
        out = ccx_platen_reaction(mesh, mat, load, "platen", tmp_path / name)
        assert np.linalg.norm(out.reaction[:3] - ref_r[:3]) < 1e-6 * np.linalg.norm(ref_r[:3]), name
        arm = np.ptp(mesh.points, axis=0).max()
        assert np.abs(out.reaction[3:] - ref_r[3:]).max() < 1e-6 * np.linalg.norm(ref_r[:3]) * arm, name
    # the deck really is anisotropic, and differs from the isotropic answer
    iso = solve_static(mesh, mat.replace(anisotropy=None), load, solver="direct").platen_reaction["platen"]
    assert np.linalg.norm(iso[:3] - ref_r[:3]) > 0.05 * np.linalg.norm(ref_r[:3])


def test_assign_bone_qct_law_is_transversely_isotropic():
    mesh = box_mesh((30.0, 40.0, 25.0), (6, 8, 5))
    mat = assign_bone(mesh, bmd="osteoporotic", law="qct_crawford2003")
    trab = mat.mask("trabecular")
    np.testing.assert_array_equal(mat.anisotropic_cells(), trab)
    c = transverse_isotropic_constants(mat.density[trab], density_type="apparent")
    S = np.linalg.inv(elasticity_matrices(mat)[trab])
    np.testing.assert_allclose(1.0 / S[:, 2, 2], c.E_axial, rtol=1e-12)
    np.testing.assert_allclose(1.0 / S[:, 0, 0], c.E_transverse, rtol=1e-12)
    np.testing.assert_allclose(1.0 / S[:, 1, 1], mat.E[trab] / 3.0, rtol=1e-12)
    np.testing.assert_allclose(1.0 / S[:, 5, 5], c.G_transverse, rtol=1e-12)
    np.testing.assert_allclose(mat.nu[trab], QCT.nu_axial)
    assert mat.params["anisotropy"]["E_transverse/E_axial"] == pytest.approx(1 / 3)
    assert assign_bone(mesh, law="morgan2003").isotropic


def test_anisotropy_follows_tissue_through_damage_and_cement():
    """Damaged bone keeps the architecture; composite (>= 50 % cement) cells become isotropic."""
    mesh = box_mesh((30.0, 40.0, 25.0), (6, 8, 5))
    mat = assign_bone(mesh, bmd="osteoporotic", law="qct_crawford2003")
    s = np.zeros(mesh.n_cells)
    s[:40] = 0.9
    s[40:60] = 0.2
    aug = with_cement(mat, SimpleNamespace(saturation=s))  # with_cement reads only the saturation
    aniso = aug.anisotropic_cells()
    assert not aniso[:40].any()
    np.testing.assert_array_equal(aniso[40:], mat.anisotropic_cells()[40:])
    D = elasticity_matrices(aug)
    np.testing.assert_allclose(D[:40], isotropic_D(aug.E[:40], aug.nu[:40]))
    damaged = mat.replace(tissue=np.where(mat.mask("trabecular"), TISSUES.index("damaged"), mat.tissue))
    np.testing.assert_array_equal(damaged.anisotropic_cells(), mat.anisotropic_cells())


def test_bad_anisotropy_and_plasticity_refusal():
    n = 4
    base = MaterialMap.uniform(n, 100.0, 0.3)
    with pytest.raises(ValueError, match="6, 6"):
        base.replace(anisotropy=np.eye(5))
    with pytest.raises(ValueError, match="symmetric"):
        base.replace(anisotropy=np.eye(6) + np.triu(np.ones((6, 6)), 1))
    with pytest.raises(ValueError, match="positive definite"):
        base.replace(anisotropy=-np.eye(6))
    with pytest.raises(ValueError, match="isotropic law"):
        plastic_material(base.replace(anisotropy=QCT.unit_stiffness()))
    # cells of a non-anisotropic tissue only: the map is isotropic and plasticity accepts it
    cortical = MaterialMap.uniform(n, 100.0, 0.3, tissue="cortical").replace(anisotropy=QCT.unit_stiffness())
    assert cortical.isotropic
    plastic_material(cortical)


def test_vtu_round_trip_keeps_anisotropy(tmp_path):
    from vbfem.output.vtu import read_vtu, to_vtu

    mesh = box_mesh((30.0, 40.0, 25.0), (3, 4, 3))
    mat = assign_bone(mesh, bmd="osteoporotic", law="qct_crawford2003")
    _, back = read_vtu(to_vtu(tmp_path / "m.vtu", mesh, materials=mat))
    np.testing.assert_array_equal(back.anisotropy, mat.anisotropy)
    np.testing.assert_array_equal(elasticity_matrices(back), elasticity_matrices(mat))
    _, iso = read_vtu(to_vtu(tmp_path / "i.vtu", mesh, materials=mat.replace(anisotropy=None)))
    assert iso.anisotropy is None


def test_vtu_round_trip_keeps_per_cell_stiffness(tmp_path):
    """Per-cell Voigt matrices (the annulus' fibres) survive a VTU round trip, NaN rows included."""
    from vbfem.output.vtu import read_vtu, to_vtu

    mesh = box_mesh((30.0, 40.0, 25.0), (3, 4, 3))
    C = np.full((mesh.n_cells, 6, 6), np.nan)
    own = np.arange(0, mesh.n_cells, 3)
    C[own] = [100.0 * _random_spd(k) for k in range(own.size)]
    mat = MaterialMap.uniform(mesh.n_cells, 100.0, 0.3).replace(stiffness=C)
    _, back = read_vtu(to_vtu(tmp_path / "c.vtu", mesh, materials=mat))
    np.testing.assert_array_equal(back.stiffness_cells(), mat.stiffness_cells())
    np.testing.assert_array_equal(elasticity_matrices(back), elasticity_matrices(mat))
    _, plain = read_vtu(to_vtu(tmp_path / "p.vtu", mesh, materials=mat.replace(stiffness=None)))
    assert plain.stiffness is None


def test_febio_export_refuses_anisotropic_maps(tmp_path):
    from vbfem.output.feb import to_feb

    mesh = box_mesh((30.0, 40.0, 25.0), (3, 4, 3))
    mat = assign_bone(mesh, bmd="osteoporotic", law="qct_crawford2003")
    with pytest.raises(ValueError, match="isotropic materials only"):
        to_feb(tmp_path / "m.feb", mesh, mat, platen_compression(mesh, displacement=0.1))
    assert not (tmp_path / "m.feb").exists()


def test_study_refuses_nonlinear_strength_with_anisotropic_law():
    from vbfem.study.schema import Study, StudyError

    with pytest.raises(StudyError, match="transversely isotropic"):
        Study(bone={"law": "qct_crawford2003"}, load={"strength": "nonlinear"})
    Study(bone={"law": "qct_crawford2003"}, load={"strength": "linear"})  # the linear screen is fine
