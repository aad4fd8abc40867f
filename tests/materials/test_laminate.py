"""The laminate closure of cut cells (vbfem.materials.laminate) and the interface normals it uses."""

import numpy as np
import pytest

from vbfem.fem.elements import cell_phase, isotropic_D, lame
from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.materials.laminate import axial_modulus, isotropic_tensor, laminate_tensor, to_voigt


def _rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _phases(rng, m):
    E1, E2 = rng.uniform(10.0, 3000.0, m), rng.uniform(10.0, 3000.0, m)
    nu1, nu2 = rng.uniform(0.0, 0.45, m), rng.uniform(0.0, 0.45, m)
    return E1, nu1, E2, nu2, rng.uniform(0.05, 0.95, m)


def test_layers_normal_to_z_give_backus_averages():
    """Backus (1962) closed forms for isotropic layers normal to z (an independent derivation)."""
    rng = np.random.default_rng(3)
    E1, nu1, E2, nu2, f = _phases(rng, 20)
    D = to_voigt(laminate_tensor(isotropic_tensor(E1, nu1), isotropic_tensor(E2, nu2), f,
                                 np.tile([0.0, 0.0, 1.0], (20, 1))))
    (l1, m1), (l2, m2) = lame(E1, nu1), lame(E2, nu2)

    def avg(a, b):
        return f * a + (1.0 - f) * b

    c33 = 1.0 / avg(1.0 / (l1 + 2 * m1), 1.0 / (l2 + 2 * m2))
    c13 = avg(l1 / (l1 + 2 * m1), l2 / (l2 + 2 * m2)) * c33
    c11 = avg(4 * m1 * (l1 + m1) / (l1 + 2 * m1), 4 * m2 * (l2 + m2) / (l2 + 2 * m2)) \
        + avg(l1 / (l1 + 2 * m1), l2 / (l2 + 2 * m2)) ** 2 * c33
    c44 = 1.0 / avg(1.0 / m1, 1.0 / m2)
    c66 = avg(m1, m2)
    expected = np.zeros_like(D)
    expected[:, 0, 0] = expected[:, 1, 1] = c11
    expected[:, 0, 1] = expected[:, 1, 0] = c11 - 2 * c66
    expected[:, [0, 1, 2, 2], [2, 2, 0, 1]] = c13[:, None]
    expected[:, 2, 2] = c33
    expected[:, 3, 3] = expected[:, 4, 4] = c44
    expected[:, 5, 5] = c66
    np.testing.assert_allclose(D, expected, rtol=1e-10, atol=1e-9 * c33.max())


def test_voigt_order_and_shear_positions():
    """Layers normal to x: the in-layer shear (yz) is the mean of the shear moduli, the two shears across
    the layers (xz, xy) their harmonic mean; isotropic tensors give the project's isotropic_D."""
    E, nu, f = np.array([100.0, 2000.0]), np.array([0.3, 0.35]), np.array([0.4])
    np.testing.assert_allclose(to_voigt(isotropic_tensor(E, nu)), isotropic_D(E, nu), rtol=1e-14)
    D = to_voigt(laminate_tensor(isotropic_tensor(E[:1], nu[:1]), isotropic_tensor(E[1:], nu[1:]), f,
                                 np.array([[1.0, 0.0, 0.0]])))[0]
    mu = E / (2 * (1 + nu))
    assert D[3, 3] == pytest.approx(0.4 * mu[0] + 0.6 * mu[1], rel=1e-12)
    assert D[4, 4] == pytest.approx(1.0 / (0.4 / mu[0] + 0.6 / mu[1]), rel=1e-12) == D[5, 5]


def test_laminate_is_objective_and_has_the_right_limits():
    rng = np.random.default_rng(5)
    m = 12
    E1, nu1, E2, nu2, f = _phases(rng, m)
    C1, C2 = isotropic_tensor(E1, nu1), isotropic_tensor(E2, nu2)
    R = np.array([_rotation(rng) for _ in range(m)])
    ez = np.tile([0.0, 0.0, 1.0], (m, 1))
    rotated = laminate_tensor(C1, C2, f, np.einsum("mij,mj->mi", R, ez))
    expected = np.einsum("mia,mjb,mkc,mld,mabcd->mijkl", R, R, R, R, laminate_tensor(C1, C2, f, ez))
    np.testing.assert_allclose(rotated, expected, rtol=1e-10, atol=1e-9 * np.abs(expected).max())
    np.testing.assert_allclose(laminate_tensor(C1, C2, np.ones(m), R[:, 0]), C1, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(laminate_tensor(C1, C2, np.zeros(m), R[:, 0]), C2, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(laminate_tensor(C1, C1, f, R[:, 0]), C1, rtol=1e-12, atol=1e-9)


def test_axial_modulus_spans_series_to_parallel_with_the_layer_angle():
    E1, E2, f = 50.0, 2000.0, 0.3
    series, parallel = 1.0 / (f / E1 + (1 - f) / E2), f * E1 + (1 - f) * E2
    angles = np.linspace(0.0, 0.5 * np.pi, 7)
    normals = np.column_stack([np.sin(angles), np.zeros(7), np.cos(angles)])
    one = np.ones(7)
    # shared Poisson's ratio 0: the series mix along the normal, the parallel one along the layers
    E = axial_modulus(E1 * one, 0.0 * one, E2 * one, 0.0 * one, f * one, normals)
    assert E[0] == pytest.approx(series, rel=1e-12) and E[-1] == pytest.approx(parallel, rel=1e-12)
    assert np.all(np.diff(E) > 0)
    # shared nu > 0: the layers' lateral constraint stiffens the normal direction; still within the bounds
    E = axial_modulus(E1 * one, 0.3 * one, E2 * one, 0.3 * one, f * one, normals)
    assert series < E[0] < parallel and E[-1] == pytest.approx(parallel, rel=1e-12)
    # no direction known: the series mix
    assert axial_modulus([E1], [0.3], [E2], [0.3], [f], [[0.0, 0.0, 0.0]])[0] == pytest.approx(series, rel=1e-14)
    # the transversely isotropic directional modulus at every angle (engineering constants of the laminate)
    D = to_voigt(laminate_tensor(isotropic_tensor([E1], [0.3]), isotropic_tensor([E2], [0.3]), [f],
                                 np.array([[0.0, 0.0, 1.0]])))[0]
    S = np.linalg.inv(D)
    c, s_ = np.cos(angles), np.sin(angles)
    expected = 1.0 / (c**4 * S[2, 2] + s_**4 * S[0, 0] + s_**2 * c**2 * (2 * S[0, 2] + S[4, 4]))
    np.testing.assert_allclose(E, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="normal must have shape"):
        axial_modulus(E1 * one, 0.3 * one, E2 * one, 0.3 * one, f * one, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("cell_type, length", [("hex8", 8.0), ("tet4", 2.0)])
def test_cell_phase_finds_the_plane_that_cuts_the_cells(cell_type, length):
    """A plane cutting distorted cells (hexahedra 4 : 1 : 1): the normal of the cut cells is the
    plane's within a few degrees, and converges to it as the faces are sampled more finely."""
    mesh = perturbed(box_mesh((length, 2.0, 2.0), (2, 2, 2), cell_type=cell_type), 0.1, seed=2)
    n_true = np.array([1.0, 1.0, 1.0]) / np.sqrt(3.0)
    centre = mesh.points.mean(axis=0) + 0.13

    def above(cells, N):
        x = np.einsum("pa,mai->mpi", N, mesh.points[cells])
        return (x - centre) @ n_true > 0.0

    frac, normal = cell_phase(mesh, above, 4)
    cut = (frac > 0) & (frac < 1)
    assert np.all(np.linalg.norm(normal[~cut], axis=1) == 0)
    np.testing.assert_allclose(np.linalg.norm(normal[cut], axis=1), 1.0)
    angle = np.degrees(np.arccos(np.clip(normal @ n_true, -1, 1)))
    well_cut = (frac > 0.1) & (frac < 0.9)  # a corner clipped by a few % is sampled on few face points
    assert well_cut.sum() >= 2 and angle[well_cut].max() < 6.0, angle[well_cut]  # 8 points per face direction
    assert np.all(angle[cut] < 90.0)  # always into the region where the condition holds
    exact = cell_phase(mesh, above, 4, n_face=24)[1]
    np.testing.assert_array_equal(cell_phase(mesh, above, 4, normals=False)[0], frac)
    assert np.degrees(np.arccos(np.clip(exact[well_cut] @ n_true, -1, 1))).max() < 3.0


def test_a_slab_through_a_cell_gives_no_direction():
    """Two interfaces in one cell (a slab thinner than the cell) cancel in the face integral up to
    round-off, which must not be taken for a direction."""
    mesh = box_mesh((6.0, 6.0, 2.0), (3, 3, 1))

    def slab(cells, N):
        z = np.einsum("pa,ma->mp", N, mesh.points[cells, 2])
        return np.abs(z - 1.0) < 0.3

    frac, normal = cell_phase(mesh, slab, 6)
    assert np.all((frac > 0.0) & (frac < 1.0)) and np.all(normal == 0.0)


def test_cell_phase_on_tet10():
    mesh = perturbed(box_mesh((2.0, 2.0, 2.0), (2, 2, 2), cell_type="tet10"), 0.05, seed=4)
    n_true = np.array([0.2, -0.5, 1.0]) / np.linalg.norm([0.2, -0.5, 1.0])

    def above(cells, N):
        return (np.einsum("pa,mai->mpi", N, mesh.points[cells]) - 1.05) @ n_true > 0.0

    frac, normal = cell_phase(mesh, above, 4, n_face=24)
    well_cut = (frac > 0.1) & (frac < 0.9)
    assert well_cut.sum() >= 4
    assert np.degrees(np.arccos(np.clip(normal[well_cut] @ n_true, -1, 1))).max() < 5.0
