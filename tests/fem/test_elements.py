import numpy as np
import pytest

from vbfem.fem.elements import ELEMENTS, element, isotropic_D, lame, quadrature


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_shape_functions_are_nodal_and_partition_unity(name):
    el = ELEMENTS[name]
    np.testing.assert_allclose(el.shape(el.nodes), np.eye(el.n_nodes), atol=1e-14)
    xi = np.random.default_rng(0).uniform(0.05, 0.3, (7, 3))
    np.testing.assert_allclose(el.shape(xi).sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(el.grad(xi).sum(axis=1), 0.0, atol=1e-13)


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_gradients_match_finite_differences(name):
    el = ELEMENTS[name]
    xi = np.random.default_rng(1).uniform(0.05, 0.3, (5, 3))
    h = 1e-6
    fd = np.stack([(el.shape(xi + h * e) - el.shape(xi - h * e)) / (2 * h) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(el.grad(xi), fd, atol=1e-8)


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_quadrature_weights_sum_to_reference_volume(name):
    el = ELEMENTS[name]
    vol = 8.0 if name == "hex8" else 1.0 / 6.0
    assert el.quad_weights.sum() == pytest.approx(vol, rel=1e-14)
    assert quadrature(name, 4)[1].sum() == pytest.approx(vol, rel=1e-13)


def test_tet10_rule_integrates_quadratics_exactly():
    el = element("tet10")
    # integral of x^2 over the reference tetrahedron = 1/60, of x*y = 1/120
    x = el.quad_points
    assert np.dot(el.quad_weights, x[:, 0] ** 2) == pytest.approx(1 / 60, rel=1e-13)
    assert np.dot(el.quad_weights, x[:, 0] * x[:, 1]) == pytest.approx(1 / 120, rel=1e-13)


def test_collapsed_tet_rule_is_exact_for_degree_five():
    p, w = quadrature("tet4", 4)
    # integral of x^a y^b z^c over the unit tet = a! b! c! / (a + b + c + 3)!
    assert np.dot(w, p[:, 0] ** 3 * p[:, 1] * p[:, 2]) == pytest.approx(6 / 40320, rel=1e-12)


def test_isotropic_D_matches_lame():
    D = isotropic_D(1000.0, 0.25)
    lam, mu = lame(1000.0, 0.25)
    assert D[0, 0] == pytest.approx(lam + 2 * mu) and D[0, 1] == pytest.approx(lam) and D[3, 3] == pytest.approx(mu)
    # uniaxial stress: compliance gives E back
    assert 1.0 / np.linalg.inv(D)[0, 0] == pytest.approx(1000.0)


def test_unknown_cell_type_is_named():
    with pytest.raises(ValueError, match="wedge6"):
        element("wedge6")
