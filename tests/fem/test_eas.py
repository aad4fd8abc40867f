"""Enhanced-assumed-strain (incompatible-mode) hex8: kernel == numpy twin, patch test, condensed tangent,
bending against the beam solution, homogeneous plastic compression."""

import numba
import numpy as np
import pytest

from vbfem.fem._kernels import eas as ke
from vbfem.fem._kernels import eas_ref as kr
from vbfem.fem._kernels import plasticity as kp
from vbfem.fem.eas import mode_gradients
from vbfem.fem.elements import element
from vbfem.fem.loads import fixed, load_case
from vbfem.fem.nonlinear import elastoplastic_curve
from vbfem.fem.pattern import sparsity_plan
from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.materials.strength import Softening, plastic_material
from vbfem.records import MaterialMap


def _eas(mesh, pm, u, epn, kn, an, want_K=True, consistent=True):
    """The numba kernel: ``fint, K (CSR), epnew, knew, anew, n_plastic``."""
    el = element("hex8")
    dM, dN0 = mode_gradients()
    plan = sparsity_plan(mesh)
    fint, data = np.empty(3 * mesh.n_points), np.empty(plan.nnz)
    epnew, knew, anew = np.empty_like(epn), np.empty_like(kn), np.empty_like(an)
    npl = ke.assemble_eas(mesh.points, mesh.cells, el.quad_gradients(), dM, dN0, el.quad_weights, pm.G, pm.K,
                          pm.alpha, pm.k0, pm.hardening(), np.ascontiguousarray(u), epn, kn, an, epnew, knew, anew,
                          plan.order, plan.colour_ptr, plan.pos, plan.nptr, fint, data, want_K,
                          8 * numba.get_num_threads(), consistent)
    return fint, plan.matrix(data.copy()), epnew, knew, anew, npl


def _plain(mesh, pm, u):
    """The plain (no B-bar) hex8 of the plasticity kernel at an elastic, virgin state: ``fint, K``."""
    el = element("hex8")
    plan = sparsity_plan(mesh)
    m = mesh.n_cells
    fint, data = np.empty(3 * mesh.n_points), np.empty(plan.nnz)
    ep, kn = np.zeros((m, 8, 6)), np.zeros((m, 8))
    kp.assemble_plastic(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, pm.G, pm.K, pm.alpha, pm.k0,
                        pm.hardening(), np.ascontiguousarray(u), ep, kn, np.empty_like(ep), np.empty_like(kn),
                        plan.order, plan.colour_ptr, plan.pos, plan.nptr, fint, data, True,
                        8 * numba.get_num_threads(), False, True)
    return fint, plan.matrix(data.copy())


@pytest.fixture(scope="module")
def plastic_block():
    """A distorted 2 x 2 x 2 block in a mostly plastic trial state with a random plastic history and
    random start-of-step enhanced parameters."""
    mesh = perturbed(box_mesh((2.0, 2.0, 2.0), (2, 2, 2)), 0.15, seed=1, fixed=[])
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    rng = np.random.default_rng(3)
    u = 0.02 * rng.standard_normal((mesh.n_points, 3))
    epn = 0.002 * rng.standard_normal((mesh.n_cells, 8, 6))
    kn = np.abs(0.002 * rng.standard_normal((mesh.n_cells, 8)))
    an = 0.005 * rng.standard_normal((mesh.n_cells, 3, 3))
    return mesh, pm, u, epn, kn, an, rng


def test_kernel_matches_numpy_twin(plastic_block):
    mesh, pm, u, epn, kn, an, _ = plastic_block
    f, K, ep, kap, a, npl = _eas(mesh, pm, u, epn, kn, an)
    el = element("hex8")
    dM, dN0 = mode_gradients()
    f2, K2, ep2, kap2, a2, npl2 = kr.assemble_eas(mesh.points, mesh.cells, el.quad_gradients(), dM, dN0,
                                                  el.quad_weights, pm.G, pm.K, pm.alpha, pm.k0, pm.hardening(), u,
                                                  epn, kn, an)
    assert npl == npl2 > 0.8 * mesh.n_cells * 8
    np.testing.assert_allclose(f, f2, rtol=0, atol=1e-12 * np.abs(f).max())
    np.testing.assert_allclose(K.toarray(), K2.toarray(), rtol=0, atol=1e-12 * abs(K).max())
    np.testing.assert_allclose(ep, ep2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(kap, kap2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(a, a2, rtol=0, atol=1e-14)
    assert np.abs(a).max() > 1e-3  # the enhanced parameters do work here


def test_kernel_matches_numpy_twin_softening_modified_tangent(plastic_block):
    """A softening law and the tangent with softening slopes 0 (the global Newton's one with softening).
    Half the block's displacement: at the full one the local Newton of one element cycles between the
    pieces of this steep law (-0.5 E) and the element's force is NaN, in kernel and twin alike (the
    curve then cuts the step back)."""
    mesh, _, u, epn, kn, an, _ = plastic_block
    u = 0.5 * u
    law = Softening(ultimate_plastic_strain=0.002, softening_ratio=-0.5, residual_ratio=0.6)
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3), softening=law)
    f, K, ep, kap, a, npl = _eas(mesh, pm, u, epn, kn, an, consistent=False)
    el = element("hex8")
    dM, dN0 = mode_gradients()
    f2, K2, ep2, kap2, a2, npl2 = kr.assemble_eas(mesh.points, mesh.cells, el.quad_gradients(), dM, dN0,
                                                  el.quad_weights, pm.G, pm.K, pm.alpha, pm.k0, pm.hardening(), u,
                                                  epn, kn, an, consistent=False)
    assert npl == npl2 > 0.8 * mesh.n_cells * 8
    assert (kap > law.ultimate_plastic_strain).any()  # points on the softening piece
    assert np.isfinite(f).all()
    fref = np.abs(f).max()
    np.testing.assert_allclose(f, f2, rtol=0, atol=1e-10 * fref)
    np.testing.assert_allclose(K.toarray(), K2.toarray(), rtol=0, atol=1e-12 * abs(K).max())
    np.testing.assert_allclose(a, a2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(ep, ep2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(kap, kap2, rtol=0, atol=1e-14)
    # the stresses (hence forces) do not depend on the tangent option
    np.testing.assert_allclose(f, _eas(mesh, pm, u, epn, kn, an)[0], rtol=0, atol=1e-10 * fref)


def test_condensed_tangent_is_the_derivative_of_the_condensed_force(plastic_block):
    """Central difference of the condensed internal force (the local equations re-solved at each
    perturbed u, from the same start-of-step state) against the condensed consistent tangent."""
    mesh, pm, u, epn, kn, an, rng = plastic_block
    _, K, _, _, _, npl = _eas(mesh, pm, u, epn, kn, an)
    assert npl > 0.8 * mesh.n_cells * 8
    h = 1e-7
    for _ in range(3):
        v = rng.standard_normal(u.shape)
        fp = _eas(mesh, pm, u + h * v, epn, kn, an, want_K=False)[0]
        fm = _eas(mesh, pm, u - h * v, epn, kn, an, want_K=False)[0]
        Kv = K @ v.ravel()
        assert np.linalg.norm((fp - fm) / (2 * h) - Kv) / np.linalg.norm(Kv) < 1e-6


def test_local_equations_solved_from_any_start(plastic_block):
    """The condensed state depends on u and the plastic history only, not on the local Newton's start."""
    mesh, pm, u, epn, kn, an, _ = plastic_block
    f1, _, _, _, a1, _ = _eas(mesh, pm, u, epn, kn, an, want_K=False)
    f0, _, _, _, a0, _ = _eas(mesh, pm, u, epn, kn, np.zeros_like(an), want_K=False)
    np.testing.assert_allclose(f0, f1, rtol=0, atol=1e-10 * np.abs(f1).max())
    np.testing.assert_allclose(a0, a1, rtol=0, atol=1e-10 * np.abs(a1).max())


def test_patch_test_on_a_distorted_patch():
    """A linear displacement field on a distorted 2 x 2 x 2 patch: solving with the boundary nodes
    prescribed gives the linear field inside, every enhanced parameter is zero and the internal forces
    at the inner node vanish (elastic, strain 2e-5; and plastic, strain 2e-2)."""
    mesh = box_mesh((2.0, 2.0, 2.0), (2, 2, 2))
    pts = mesh.points.copy()
    inner = np.flatnonzero(np.all(np.abs(pts - 1.0) < 1e-9, axis=1))
    assert inner.size == 1
    pts[inner] += [0.23, -0.17, 0.11]
    rng = np.random.default_rng(7)
    boundary = np.setdiff1d(np.arange(mesh.n_points), inner)
    pts[boundary] += rng.uniform(-0.1, 0.1, (boundary.size, 3))
    mesh = mesh.with_points(pts)
    A = 2e-5 * np.array([[1.0, 0.4, -0.3], [0.2, -0.8, 0.5], [-0.6, 0.1, 0.7]])
    b = np.array([1e-4, -2e-4, 3e-4])
    u_lin = pts @ A.T + b
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    m = mesh.n_cells
    f, _, _, _, a, npl = _eas(mesh, pm, u_lin, np.zeros((m, 8, 6)), np.zeros((m, 8)), np.zeros((m, 3, 3)))
    assert npl == 0
    assert np.abs(a).max() < 1e-12 * np.abs(A).max()
    fi = f.reshape(-1, 3)
    assert np.abs(fi[inner]).max() < 1e-12 * np.abs(fi).max()
    # past yield (strain 1000 times larger, every point plastic): the stress is still the same at every
    # point, so the enhanced parameters stay zero and the inner node in equilibrium
    fp, _, _, kap, ap, npl = _eas(mesh, pm, 1000 * u_lin, np.zeros((m, 8, 6)), np.zeros((m, 8)), np.zeros((m, 3, 3)))
    assert npl == m * 8 and kap.min() > 0
    assert np.abs(ap).max() < 1e-12 * 1000 * np.abs(A).max()
    fp = fp.reshape(-1, 3)
    assert np.abs(fp[inner]).max() < 1e-12 * np.abs(fp).max()
    # the same through the curve: boundary nodes prescribed, the inner node free
    from vbfem.records import LoadCase

    dofs = (3 * boundary[:, None] + np.arange(3)).ravel()
    load = LoadCase("patch", fixed_dofs=dofs, fixed_values=u_lin[boundary].ravel())
    c = elastoplastic_curve(mesh, pm, load, platen=None, n_steps=1, eas=True, solver="direct")
    assert c.plastic_fraction.max() == 0.0
    np.testing.assert_allclose(c.u, u_lin, rtol=0, atol=1e-10 * np.abs(u_lin).max())


def _beam_tip_deflection(kind, n_long):
    """Cantilever 10 x 1 x 1 mm (one element through the depth and width), clamped at x = 0, under an end
    moment (nodal couple at x = 10), nu = 0, E = 100 MPa: mean tip deflection (mm), linear elastic."""
    L, h = 10.0, 1.0
    mesh = box_mesh((L, h, h), (n_long, 1, 1))
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.0))
    u0 = np.zeros((mesh.n_points, 3))
    m = mesh.n_cells
    if kind == "eas":
        K = _eas(mesh, pm, u0, np.zeros((m, 8, 6)), np.zeros((m, 8)), np.zeros((m, 3, 3)))[1]
    else:
        K = _plain(mesh, pm, u0)[1]
    x, z = mesh.points[:, 0], mesh.points[:, 2]
    M = 1e-3  # N mm: far below yield
    f = np.zeros((mesh.n_points, 3))
    tip = np.flatnonzero(np.isclose(x, L))
    f[tip, 0] = np.where(np.isclose(z[tip], h), -1.0, 1.0) * M / (h * tip.size / 2)
    free = np.flatnonzero(~np.repeat(np.isclose(x, 0.0), 3))
    u = np.zeros(3 * mesh.n_points)
    import scipy.sparse.linalg as spla

    u[free] = spla.spsolve(K.tocsc()[free][:, free], f.ravel()[free])
    return float(u.reshape(-1, 3)[tip, 2].mean()), M * L**2 / (2 * 100.0 * h**4 / 12)


def test_bending_of_a_coarse_beam():
    """Pure bending of a coarse cantilever (elements 2.5 x 1 x 1 mm): the EAS hex8 gives the beam
    solution ``M L^2 / (2 E I)`` (exact for rectangular elements), the plain hex8 locks in shear."""
    w_eas, w_beam = _beam_tip_deflection("eas", 4)
    w_plain, _ = _beam_tip_deflection("plain", 4)
    assert w_eas == pytest.approx(w_beam, rel=1e-6)
    assert w_plain < 0.3 * w_beam  # parasitic shear of the plain hex8


def _uniaxial(mesh, d):
    return load_case("uniaxial", fixed=[fixed(mesh, "bottom", components=(2,)), fixed(mesh, "xmin", components=(0,)),
                                        fixed(mesh, "ymin", components=(1,)),
                                        fixed(mesh, "top", components=(2,), value=d)])


def test_homogeneous_plastic_compression_as_hex8():
    """A cube compressed to 2 % between frictionless supports: homogeneous strain, so the enhanced
    parameters stay zero and the curve is the plain and B-bar hex8's one, past yield."""
    L = 10.0
    mesh = box_mesh((L, L, L), (2, 2, 2))
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    load = _uniaxial(mesh, -0.02 * L)
    ce = elastoplastic_curve(mesh, pm, load, platen=None, n_steps=20, eas=True)
    cb = elastoplastic_curve(mesh, pm, load, platen=None, n_steps=20)
    cp = elastoplastic_curve(mesh, pm, load, platen=None, n_steps=20, bbar=False)
    assert ce.plastic_fraction[-1] == 1.0 and ce.converged.all()
    np.testing.assert_allclose(ce.force, cb.force, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ce.force, cp.force, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ce.kappa, cb.kappa, rtol=0, atol=1e-12)


def test_homogeneous_softening_compression_as_hex8():
    """With a softening law (modified Newton) the EAS cube follows the B-bar hex8's curve past its peak."""
    L = 10.0
    mesh = box_mesh((L, L, L), (2, 2, 2))
    law = Softening(ultimate_plastic_strain=0.004, softening_ratio=-0.2, residual_ratio=0.7)
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3), softening=law)
    load = _uniaxial(mesh, -0.04 * L)
    ce = elastoplastic_curve(mesh, pm, load, platen=None, n_steps=40, eas=True, max_iter=40)
    cb = elastoplastic_curve(mesh, pm, load, platen=None, n_steps=40, max_iter=40)
    assert ce.peak_reached and ce.converged.all()
    np.testing.assert_allclose(ce.force, cb.force, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kw, match", [({"bbar": True}, "bbar"), ({"cell_type": "tet4"}, "eas=True needs")])
def test_bad_eas_options(kw, match):
    mesh = box_mesh((2.0, 2.0, 2.0), (1, 1, 1), cell_type=kw.pop("cell_type", "hex8"))
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    with pytest.raises(ValueError, match=match):
        elastoplastic_curve(mesh, pm, _uniaxial(mesh, -0.1), platen=None, eas=True, **kw)


def test_eas_must_be_a_boolean():
    mesh = box_mesh((2.0, 2.0, 2.0), (1, 1, 1))
    pm = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    with pytest.raises(ValueError, match="eas='yes' must be True or False"):
        elastoplastic_curve(mesh, pm, _uniaxial(mesh, -0.1), platen=None, eas="yes")
