"""Drucker–Prager material and kernels: return mapping, consistent tangent, numba == numpy."""

import numpy as np
import pytest

from vbfem.fem._kernels import plasticity_ref as kr
from vbfem.fem.elements import element
from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.materials.laws import YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION
from vbfem.materials.strength import Softening, plastic_material
from vbfem.records import MaterialMap, tissue_code
from vbfem.study.verification import plastic_state, plastic_tangent_error


def _assemble(mesh, mat, u, epn, kn, want_K=True):
    return plastic_state(mesh, mat, u, epn, kn, want_tangent=want_K)


def _state(mesh, scale, seed, history=0.002):
    rng = np.random.default_rng(seed)
    nq = element(mesh.cell_type).n_quad
    u = scale * rng.standard_normal((mesh.n_points, 3))
    epn = history * rng.standard_normal((mesh.n_cells, nq, 6))
    kn = np.abs(history * rng.standard_normal((mesh.n_cells, nq)))
    return u, epn, kn, rng


def test_parameters_reproduce_uniaxial_yield_stresses():
    mesh = box_mesh((1, 1, 1), (1, 1, 2))
    mats = MaterialMap(E=[100.0, 2000.0], nu=[0.3, 0.35], tissue=[tissue_code("trabecular"), tissue_code("cement")])
    pm = plastic_material(mats)
    # uniaxial: sigma (1 + alpha) = k0 in tension, sigma (1 - alpha) = k0 in compression
    np.testing.assert_allclose(pm.sigma_c[0], 100.0 * YIELD_STRAIN_COMPRESSION)
    np.testing.assert_allclose(pm.k0 / (1 - pm.alpha), pm.sigma_c)
    np.testing.assert_allclose(pm.k0 / (1 + pm.alpha), pm.sigma_t)
    np.testing.assert_allclose(pm.sigma_t[0], 100.0 * YIELD_STRAIN_TENSION)
    assert pm.sigma_c[1] == 80.0 and pm.sigma_t[1] == 40.0
    del mesh


@pytest.mark.parametrize("bad", [-0.5, 1.0, np.nan])
def test_bad_hardening_ratio(bad):
    with pytest.raises(ValueError, match="hardening_ratio"):
        plastic_material(MaterialMap.uniform(2, 100.0, 0.3), hardening_ratio=bad)


def test_bad_yield_strain():
    with pytest.raises(ValueError, match="yield_strain_tension"):
        plastic_material(MaterialMap.uniform(2, 100.0, 0.3), yield_strain_tension=-0.01)


#: hardening-softening laws (H, kappa_u, H_s, k_res) of the material-point tests: linear hardening, and
#: hardening to kappa_u = 0.0015, softening at -10 MPa to a residual 0.6 MPa (reached at kappa 0.02225)
LAWS = {"linear": (5.0, np.inf, 0.0, 0.0), "softening": (5.0, 0.0015, -10.0, 0.6)}


@pytest.mark.parametrize("law", sorted(LAWS))
@pytest.mark.parametrize("mode_scale", [0.002, 0.006, 0.02, "apex"])
def test_material_point_tangent_is_derivative(mode_scale, law):
    """Consistent tangent == central difference of the stress, in elastic, cone and apex returns, with
    linear hardening and on every piece of the softening law."""
    rng = np.random.default_rng(1)
    G, K, k0 = 40.0, 80.0, 0.8
    H = np.asarray(LAWS[law])
    alpha = 0.037 if mode_scale != "apex" else 0.4
    n_pts = 50
    if mode_scale == "apex":
        eps = 0.05 * np.array([1.0, 1.0, 1.0, 0, 0, 0]) + 1e-4 * rng.standard_normal((n_pts, 6))
    else:
        eps = mode_scale * rng.standard_normal((n_pts, 6))
    epn = 0.1 * mode_scale * rng.standard_normal((n_pts, 6)) if mode_scale != "apex" else np.zeros((n_pts, 6))
    kn = np.full(n_pts, 0.001)
    sig, _, knew, C, mode = kr.return_map(eps, epn, kn, G, K, alpha, k0, H)
    expected = {0.002: 0, 0.006: None, 0.02: 1, "apex": 2}[mode_scale]
    if expected == 1:
        assert np.count_nonzero(mode == 1) > 0.8 * n_pts
    elif expected is not None:
        assert np.all(mode == expected)
    else:
        assert 0 < np.count_nonzero(mode) < n_pts
    # yield condition holds after the return
    s = sig.copy()
    p = s[:, :3].mean(1)
    s[:, :3] -= p[:, None]
    q = np.sqrt(1.5 * ((s[:, :3] ** 2).sum(1) + 2 * (s[:, 3:] ** 2).sum(1)))
    f = q + 3 * alpha * p - kr.radius(knew, k0, np.broadcast_to(H, knew.shape + (4,)))[0]
    np.testing.assert_allclose(f[mode > 0], 0.0, atol=1e-12)
    assert np.all(f[mode == 0] <= 1e-12)
    h = 1e-7
    for j in range(6):
        e = np.zeros(6)
        e[j] = h
        sp_ = kr.return_map(eps + e, epn, kn, G, K, alpha, k0, H)[0]
        sm_ = kr.return_map(eps - e, epn, kn, G, K, alpha, k0, H)[0]
        fd = (sp_ - sm_) / (2 * h)
        err = np.abs(fd - C[:, :, j]).max() / max(np.abs(C).max(), K)  # C = 0 on a perfectly plastic apex
        assert err < 1e-6, (j, err)
    np.testing.assert_allclose(C, np.swapaxes(C, 1, 2), atol=1e-12 * np.abs(C).max())


@pytest.mark.parametrize(("cell_type", "bbar", "softening", "consistent"),
                         [("hex8", True, False, True), ("hex8", False, False, True), ("tet4", False, False, True),
                          ("tet10", False, False, True), ("hex8", True, True, True), ("hex8", True, True, False),
                          ("tet4", False, True, False)])
def test_kernel_equals_numpy_twin(cell_type, bbar, softening, consistent):
    mesh = perturbed(box_mesh((2.0, 2.0, 3.0), (2, 2, 3), cell_type=cell_type), 0.15, seed=5, fixed=[])
    mats = MaterialMap(E=np.linspace(50, 150, mesh.n_cells), nu=0.3)
    law = Softening(ultimate_plastic_strain=0.0004, softening_ratio=-0.5, residual_ratio=0.6) if softening else None
    pm = plastic_material(mats, softening=law)
    history = 0.0006 if softening else 0.0003  # past the ultimate point in some cells
    u, epn, kn, _ = _state(mesh, 0.004, 2, history=history)
    f, Kt, ep, kk, npl = plastic_state(mesh, pm, u, epn, kn, bbar=bbar, consistent=consistent)
    el = element(cell_type)
    f2, Kt2, ep2, kk2, npl2 = kr.assemble_plastic(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights,
                                                  pm.G, pm.K, pm.alpha, pm.k0, pm.hardening(), u, epn, kn,
                                                  bbar=bbar, consistent=consistent)
    assert npl == npl2 and 0 < npl < mesh.n_cells * el.n_quad  # mixed elastic / plastic points
    np.testing.assert_allclose(f, f2, rtol=0, atol=1e-12 * np.abs(f2).max())
    assert abs(Kt - Kt2).max() <= 1e-12 * abs(Kt2).max()
    np.testing.assert_allclose(ep, ep2, atol=1e-15)
    np.testing.assert_allclose(kk, kk2, atol=1e-15)


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_assembled_tangent_is_derivative_of_internal_force(cell_type):
    """Assembled consistent tangent vs central difference of f_int, mostly plastic state."""
    mesh = box_mesh((2.0, 2.0, 2.0), (2, 2, 2), cell_type=cell_type)
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    u, epn, kn, rng = _state(mesh, 0.02, 3)
    _, Kt, _, _, npl = _assemble(mesh, pm, u, epn, kn)
    assert npl > 0.9 * mesh.n_cells * element(cell_type).n_quad
    assert abs(Kt - Kt.T).max() <= 1e-12 * abs(Kt).max()
    h = 1e-7
    for _ in range(3):
        v = rng.standard_normal(u.shape)
        fp = _assemble(mesh, pm, u + h * v, epn, kn, False)[0]
        fm = _assemble(mesh, pm, u - h * v, epn, kn, False)[0]
        fd = (fp - fm) / (2 * h)
        an = Kt @ v.ravel()
        assert np.linalg.norm(fd - an) / np.linalg.norm(an) < 1e-6


@pytest.mark.parametrize("bbar", [True, False])
@pytest.mark.parametrize("softening", [False, True])
def test_plastic_tangent_error_of_the_report(bbar, softening):
    err, plastic = plastic_tangent_error("hex8", bbar=bbar, softening=softening)
    assert err < 1e-6 and plastic > 0.9


def test_bbar_is_the_full_integration_under_a_uniform_strain():
    """B-bar only replaces the volumetric strain by its element mean: a uniform strain field on a
    distorted mesh (the patch test) gives the same forces, tangent and history as full integration,
    and a non-uniform field does not."""
    mesh = perturbed(box_mesh((2.0, 2.0, 2.0), (2, 2, 2)), 0.2, seed=2)
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    strain = np.array([[-0.01, 0.002, 0.001], [0.002, 0.004, -0.003], [0.001, -0.003, 0.003]])
    u = mesh.points @ strain.T
    nq = element("hex8").n_quad
    epn, kn = np.zeros((mesh.n_cells, nq, 6)), np.zeros((mesh.n_cells, nq))
    f1, K1, ep1, _, n1 = plastic_state(mesh, pm, u, epn, kn, bbar=True)
    f0, K0, ep0, _, n0 = plastic_state(mesh, pm, u, epn, kn, bbar=False)
    assert n1 == n0 == mesh.n_cells * nq  # plastic everywhere
    np.testing.assert_allclose(f1, f0, atol=1e-10 * np.abs(f0).max())
    np.testing.assert_allclose(ep1, ep0, atol=1e-13)
    u2 = u + 0.01 * np.sin(mesh.points)
    assert np.abs(plastic_state(mesh, pm, u2, epn, kn, bbar=True)[0]
                  - plastic_state(mesh, pm, u2, epn, kn, bbar=False)[0]).max() > 1e-3 * np.abs(f0).max()
    del K0, K1


def _plane_strain_block_force(n, bbar):
    """Force per mm of thickness at 3 % compression of a 10 x 10 mm perfectly plastic block in plane
    strain between bonded platens, n x n hex8 cells."""
    from vbfem.fem.loads import fixed, load_case
    from vbfem.fem.nonlinear import elastoplastic_curve

    mesh = box_mesh((10.0, 1.0, 10.0), (n, 1, n))
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3), hardening_ratio=0.0)
    lc = load_case("plane strain", fixed=[fixed(mesh, np.arange(mesh.n_points), components=(1,)),
                                          fixed(mesh, "bottom", components=(0, 2)), fixed(mesh, "top", components=(0,)),
                                          fixed(mesh, "top", components=(2,), value=-0.3)])
    return elastoplastic_curve(mesh, pm, lc, platen=None, n_steps=10, bbar=bbar, solver="direct").force.max()


def test_bbar_relieves_the_volumetric_locking_of_plastic_flow():
    """Plane-strain compression of a bonded block: plastic flow is nearly isochoric, so a fully
    integrated hex8 locks and overestimates the collapse load on coarse meshes. With B-bar every mesh
    gives a lower load, the 2 x 2 mesh is within a third of full integration's error of the 16 x 16
    B-bar value, and no load is below the frictionless plane-strain limit 2 / sqrt(3) sigma_y L."""
    sigma_y = 100.0 * YIELD_STRAIN_COMPRESSION
    lower = 2.0 / np.sqrt(3.0) * sigma_y * 10.0  # N per mm of thickness
    full = {n: _plane_strain_block_force(n, False) for n in (2, 4, 16)}
    bbar = {n: _plane_strain_block_force(n, True) for n in (2, 4, 16)}
    for n, value in full.items():
        assert lower < bbar[n] < value
    ref = bbar[16]
    assert abs(bbar[2] - ref) < abs(full[2] - ref) / 3
    assert abs(bbar[4] - ref) < abs(full[4] - ref) / 2


def test_element_tangent_is_derivative_single_hex():
    """Per element: one hex8, every column of the 24 x 24 tangent against a finite difference."""
    mesh = box_mesh((1.0, 1.5, 2.0), (1, 1, 1))
    pm = plastic_material(MaterialMap.uniform(1, 100.0, 0.25))
    u, epn, kn, _ = _state(mesh, 0.02, 4)
    _, Kt, _, _, npl = _assemble(mesh, pm, u, epn, kn)
    assert npl == 8
    Kd = Kt.toarray()
    h = 1e-7
    for j in range(24):
        e = np.zeros(24)
        e[j] = h
        fp = _assemble(mesh, pm, u + e.reshape(-1, 3), epn, kn, False)[0]
        fm = _assemble(mesh, pm, u - e.reshape(-1, 3), epn, kn, False)[0]
        col = (fp - fm) / (2 * h)
        assert np.linalg.norm(col - Kd[:, j]) / np.linalg.norm(Kd[:, j]) < 1e-6


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"ultimate_plastic_strain": 0.0, "softening_ratio": -0.1, "residual_ratio": 0.5}, "ultimate_plastic_strain"),
    ({"ultimate_plastic_strain": 0.01, "softening_ratio": 0.1, "residual_ratio": 0.5}, "softening_ratio"),
    ({"ultimate_plastic_strain": 0.01, "softening_ratio": -0.1, "residual_ratio": 1.5}, "residual_ratio"),
    ({"ultimate_plastic_strain": 0.01, "softening_ratio": -0.1, "residual_ratio": 0.5, "tissues": ("cement",)},
     "tissues"),
])
def test_bad_softening_law_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Softening(**kwargs)


def test_any_softening_slope_keeps_the_cone_return_unique():
    """|H_s| < E <= 3 G for every post-ultimate tangent ratio < 0: the return's denominator stays > 0."""
    mats = MaterialMap(E=[100.0, 100.0], nu=[0.0, 0.499])
    for s in (-1e-3, -1.0, -1e6):
        pm = plastic_material(mats, softening=Softening(ultimate_plastic_strain=0.01, softening_ratio=s,
                                                        residual_ratio=0.5))
        assert np.all(3 * pm.G + 9 * pm.alpha**2 * pm.K + pm.H_soft > 0)


def test_softening_applies_to_its_tissues_only():
    mats = MaterialMap(E=[100.0, 100.0, 2000.0], nu=0.3,
                       tissue=[tissue_code("trabecular"), tissue_code("composite"), tissue_code("cement")])
    pm = plastic_material(mats, softening=Softening(ultimate_plastic_strain=0.01, softening_ratio=-0.1,
                                                    residual_ratio=0.5))
    assert pm.softens
    assert np.isfinite(pm.kappa_u[0]) and pm.H_soft[0] < 0
    assert np.isinf(pm.kappa_u[1:]).all() and (pm.H_soft[1:] == 0).all()
    assert not plastic_material(mats).softens
