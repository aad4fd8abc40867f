"""Elastic–plastic load–displacement curves: homogeneous cube against the analytic solution."""

import numpy as np
import pytest

from vbfem.fem.loads import fixed, load_case, platen_compression
from vbfem.fem.nonlinear import NonlinearSolveError
from vbfem.fem.primitives import box_mesh
from vbfem.fem.static import solve_static
from vbfem.materials.laws import YIELD_STRAIN_COMPRESSION, YIELD_STRAIN_TENSION
from vbfem.materials.strength import Softening, plastic_material
from vbfem.mechanics.failure import load_displacement
from vbfem.records import MaterialMap

L = 10.0  # cube edge, mm
E = 100.0


@pytest.fixture(scope="module")
def cube():
    return box_mesh((L, L, L), (2, 2, 2))


def _uniaxial(mesh, d):
    """Frictionless supports (symmetry planes) and a prescribed top displacement d (mm, + = tension)."""
    return load_case("uniaxial", fixed=[fixed(mesh, "bottom", components=(2,)), fixed(mesh, "xmin", components=(0,)),
                                        fixed(mesh, "ymin", components=(1,)),
                                        fixed(mesh, "top", components=(2,), value=d)])


def _analytic(eps, mat, compression):
    """Uniaxial Drucker–Prager stress magnitude with linear hardening (derivation in the test docstring)."""
    sy = mat.sigma_c[0] if compression else mat.sigma_t[0]
    a = (1 - mat.alpha[0]) if compression else (1 + mat.alpha[0])
    H = mat.H[0]
    el = E * eps
    return np.where(eps <= sy / E, el, (E * eps + E * a**2 * sy / H) / (1 + E * a**2 / H))


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_cube_yields_at_prescribed_strain(cube, sign):
    """Compression (sign -1) and tension (+1) of a homogeneous cube under uniaxial stress.

    Drucker–Prager in uniaxial stress ``sigma``: ``f = |sigma| (1 -+ alpha) - k0 - H kappa``, plastic
    axial strain ``kappa (1 -+ alpha)``, hence after yield
    ``|sigma| = (E eps + E a^2 sigma_y / H) / (1 + E a^2 / H)`` with ``a = 1 -+ alpha``.
    """
    mat = MaterialMap.uniform(cube.n_cells, E, 0.3)
    n_steps = 40
    c = load_displacement(cube, mat, _uniaxial(cube, sign * 0.02 * L), platen=None, n_steps=n_steps)
    assert c.converged.all() and c.displacement.size == n_steps + 1
    eps = c.displacement / L
    ey = YIELD_STRAIN_COMPRESSION if sign < 0 else YIELD_STRAIN_TENSION
    # linear exactly up to the yield strain, plastic from the first step beyond it
    elastic = eps <= ey + 1e-12
    np.testing.assert_allclose(c.force[elastic], E * L * eps[elastic] * L, rtol=1e-9)
    first = np.flatnonzero(c.plastic_fraction > 0)[0]
    assert eps[first - 1] <= ey < eps[first]
    assert c.plastic_fraction[first:].min() == 1.0
    assert c.force[first] < E * eps[first] * L * L * (1 - 1e-6)
    # whole curve equals the analytic uniaxial response
    pm = plastic_material(mat)
    np.testing.assert_allclose(c.force, _analytic(eps, pm, sign < 0) * L * L, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(c.stiffness, E * L, rtol=1e-9)
    # 0.2 % offset yield force on the analytic curve: E (eps - 0.002) = sigma(eps)
    assert c.first_yield_displacement == pytest.approx(eps[first - 1] * L)
    assert c.yield_force > E * ey * L * L
    assert c.peak_force == pytest.approx(c.force[-1])  # hardening: the peak is the last point
    assert c.iterations[first:].max() <= 3


def test_compression_tension_asymmetry(cube):
    mat = MaterialMap.uniform(cube.n_cells, E, 0.3)
    cc = load_displacement(cube, mat, _uniaxial(cube, -0.015 * L), platen=None, n_steps=30)
    ct = load_displacement(cube, mat, _uniaxial(cube, 0.015 * L), platen=None, n_steps=30)
    ratio = cc.yield_force / ct.yield_force
    # offset yield forces differ by about the ratio of the yield strains (0.84 / 0.78)
    assert 1.03 < ratio < 1.12
    np.testing.assert_allclose(cc.force[cc.displacement <= 0.0078 * L], ct.force[ct.displacement <= 0.0078 * L])


def test_elastic_limit_equals_linear_solve(cube):
    mesh = box_mesh((L, L, 2 * L), (2, 2, 4), cell_type="tet4")
    mat = MaterialMap(E=np.linspace(80, 120, mesh.n_cells), nu=0.3)
    load = platen_compression(mesh, displacement=0.001 * 2 * L)
    c = load_displacement(mesh, mat, load, n_steps=3)
    assert c.plastic_fraction.max() == 0.0
    lin = solve_static(mesh, mat, load)
    np.testing.assert_allclose(c.u, lin.displacement, rtol=0, atol=1e-10 * np.abs(lin.displacement).max())
    assert c.force[-1] == pytest.approx(-lin.platen_reaction["platen"][2], rel=1e-9)
    np.testing.assert_allclose(c.force, c.stiffness * c.displacement, rtol=1e-9)


def test_platen_compression_cube_hex(cube):
    """Rigid platen on a potted cube: curve departs from linearity near the yield strain and converges."""
    mat = MaterialMap.uniform(cube.n_cells, E, 0.0)
    c = load_displacement(cube, mat, platen_compression(cube, displacement=0.015 * L), n_steps=15)
    first = np.flatnonzero(c.plastic_fraction > 0)[0]
    assert c.displacement[first - 1] / L <= YIELD_STRAIN_COMPRESSION < c.displacement[first] / L
    assert c.converged.all()


def test_nonconvergence_keeps_partial_curve(cube):
    mat = MaterialMap.uniform(cube.n_cells, E, 0.3)
    with pytest.raises(NonlinearSolveError, match="load step") as exc:
        load_displacement(cube, mat, _uniaxial(cube, -0.02 * L), platen=None, n_steps=20, max_iter=1,
                          tol=1e-10, max_cutbacks=2)
    err = exc.value
    part = err.partial
    assert err.residual > 1e-10 and err.step >= 9
    assert part.displacement.size >= 9 and part.converged.all()
    assert part.displacement[-1] / L <= YIELD_STRAIN_COMPRESSION + 1e-12
    np.testing.assert_allclose(part.force, E * part.displacement * L, rtol=1e-9)


@pytest.mark.parametrize("kw, match", [({"n_steps": 0}, "n_steps"), ({"max_displacement": -1.0}, "max_displacement"),
                                       ({"tol": 2.0}, "tol"), ({"max_cutbacks": -1}, "max_cutbacks"),
                                       ({"solver": "magic"}, "solver"), ({"hardening_ratio": 2.0}, "hardening_ratio")])
def test_bad_input(cube, kw, match):
    mat = MaterialMap.uniform(cube.n_cells, E, 0.3)
    with pytest.raises(ValueError, match=match):
        load_displacement(cube, mat, platen_compression(cube, displacement=0.1), **kw)


def test_missing_platen(cube):
    mat = MaterialMap.uniform(cube.n_cells, E, 0.3)
    with pytest.raises(KeyError, match="nope"):
        load_displacement(cube, mat, platen_compression(cube, displacement=0.1), platen="nope")


def test_vertebra_curve_with_reused_multigrid():
    """A coarse osteoporotic L1 to 3 % strain: AMG-CG Newton corrections (inexact, one hierarchy reused)
    converge to the Newton tolerance; the curve starts on the linear stiffness (B-bar's elastic
    stiffness within 1 % of the fully integrated one; without B-bar the same to 1e-4), then yields."""
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.fem.solvers import DIRECT_MAX_DOFS
    from vbfem.fem.static import solve_static
    from vbfem.materials.bone import assign_bone
    from vbfem.mechanics.loadcases import compression_test

    mesh = mesh_vertebra(build_vertebra("L1"), size=4.0)
    mat = assign_bone(mesh, bmd="osteoporotic")
    assert mesh.n_dofs > DIRECT_MAX_DOFS  # the AMG path
    h = float(np.ptp(mesh.points[:, 2]))
    load = compression_test(mesh, displacement=0.03 * h)
    c = load_displacement(mesh, mat, load, n_steps=6)
    assert c.converged.all() and np.all(c.residual[1:] <= 1e-6)
    k_lin = solve_static(mesh, mat, load).stiffness("platen")
    assert c.stiffness == pytest.approx(k_lin, rel=1e-2) and c.stiffness < k_lin
    full = load_displacement(mesh, mat, load, n_steps=1, max_displacement=0.001, bbar=False)
    assert full.stiffness == pytest.approx(k_lin, rel=1e-4)
    assert np.all(np.diff(c.force) > 0)
    assert c.plastic_fraction[-1] > 0.3
    assert c.first_yield_force <= c.yield_force <= c.peak_force
    assert c.peak_force < 0.8 * k_lin * c.displacement[-1]  # well below the elastic line


def test_bbar_needs_a_hex8_mesh():
    mesh = box_mesh((2.0, 2.0, 2.0), (1, 1, 1), cell_type="tet4")
    mat = plastic_material(MaterialMap.uniform(mesh.n_cells, 100.0, 0.3))
    with pytest.raises(ValueError, match="bbar"):
        from vbfem.fem.nonlinear import elastoplastic_curve

        elastoplastic_curve(mesh, mat, _uniaxial(mesh, -0.1), platen=None, bbar=True)


def _analytic_softening(eps, pm, law):
    """Uniaxial compressive stress of the hardening–softening law: on each piece
    ``sigma = sigma_a + h (eps_p - eps_pa)`` with ``eps_p = eps - sigma / E``, ``h`` the slope against
    plastic strain (hardening ``H / (1 - alpha)^2``, softening ``E s / (1 - s)``), up to the piece's end."""
    a = 1 - pm.alpha[0]
    sy = pm.sigma_c[0]
    h1, h2 = pm.H[0] / a**2, E * law.softening_ratio / (1 - law.softening_ratio)
    su = sy + h1 * law.ultimate_plastic_strain
    sr = law.residual_ratio * su
    epr = law.ultimate_plastic_strain + (sr - su) / h2
    pieces = [(sy, 0.0, h1, law.ultimate_plastic_strain), (su, law.ultimate_plastic_strain, h2, epr), (sr, epr, 0.0, np.inf)]
    out = np.minimum(E * eps, sy)
    for s_a, e_a, h, e_b in pieces:
        sig = (s_a + h * (eps - e_a)) / (1 + h / E)
        ep = eps - sig / E
        out = np.where((eps > sy / E) & (ep >= e_a) & (ep <= e_b), sig, out)
    return out


@pytest.mark.parametrize("solver", ["direct", "amg-cg"])
def test_cube_softens_past_its_ultimate_point(cube, solver):
    """With a softening law the homogeneous cube follows it exactly: hardening to the ultimate stress,
    softening, residual plateau; the peak force is an interior point of the curve. Both solvers get the
    tangent with the softening slope set to 0 (modified Newton; the consistent one is checked against
    finite differences in test_plasticity): same curve."""
    mat = MaterialMap.uniform(cube.n_cells, E, 0.3)
    law = Softening(ultimate_plastic_strain=0.004, softening_ratio=-0.2, residual_ratio=0.7)
    pm = plastic_material(mat, softening=law)
    c = load_displacement(cube, mat, _uniaxial(cube, -0.04 * L), platen=None, n_steps=80, plastic=pm,
                          solver=solver, max_iter=40)
    eps = c.displacement / L
    expected = _analytic_softening(eps, pm, law) * L * L
    np.testing.assert_allclose(c.force, expected, rtol=1e-7, atol=1e-9)
    assert c.peak_reached and 0 < c.peak_displacement < c.displacement[-1]
    su = pm.sigma_c[0] + pm.H[0] / (1 - pm.alpha[0]) ** 2 * law.ultimate_plastic_strain
    assert c.peak_force == pytest.approx(su * L * L, rel=0.01)  # sampled every 0.05 % strain
    assert c.force[-1] == pytest.approx(law.residual_ratio * su * L * L, rel=1e-7)
