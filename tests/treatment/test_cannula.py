"""The injection cannula (issue 19): pipe-flow pressure drop against the analytic formulas, syringe vs tip."""

import numpy as np
import pytest

from vbfem.treatment.cannula import GAUGE_INNER_DIAMETER, Cannula, pressure_drop, wall_shear_rate


@pytest.mark.parametrize("gauge", [8, 11, 13, 15])
@pytest.mark.parametrize("length", [50.0, 120.0, 200.0])
def test_newtonian_is_hagen_poiseuille(gauge, length):
    c = Cannula(gauge, length)
    R = GAUGE_INNER_DIAMETER[gauge] / 2
    Q = np.array([1.0, 16.7, 50.0, 250.0])  # mm³/s
    mu = np.array([20.0, 100.0, 145.0, 800.0])  # Pa·s
    expected = 8.0 * (mu * 1e-6) * length * Q / (np.pi * R ** 4)  # MPa
    np.testing.assert_allclose(c.pressure_drop(Q, mu), expected, rtol=1e-13)


@pytest.mark.parametrize("n", [0.2, 0.5, 0.8])
def test_power_law_pipe_formula(n):
    """With the shear-rate floor far below the wall shear rate, the pure power-law pipe formula to round-off."""
    c = Cannula(12, 150.0)
    R, L = c.radius, c.length
    Q, mu, g_ref = 50.0, 100.0, 1.0
    K = mu * 1e-6 * g_ref ** (1 - n)  # MPa·s^n
    expected = 2 * K * L / R * ((3 * n + 1) / n * Q / (np.pi * R ** 3)) ** n
    got = c.pressure_drop(Q, mu, flow_index=n, shear_rate_reference=g_ref, shear_rate_min=1e-12)
    assert got == pytest.approx(expected, rel=1e-12)
    # the wall stress of that drop is K γ_w^n with the Rabinowitsch–Mooney wall shear rate
    tau_w = got * R / (2 * L)
    assert tau_w == pytest.approx(K * wall_shear_rate(Q, R, flow_index=n) ** n, rel=1e-12)


def test_shear_rate_floor_newtonian_core():
    """Below the floor at the wall the cement is Newtonian at the floor's viscosity; above, the core only adds flow."""
    n, mu, g_ref, g_min = 0.5, 100.0, 1.0, 0.01
    R, L = 1.0, 100.0
    mu0 = mu * (g_min / g_ref) ** (n - 1)
    Q = 1e-4  # wall shear rate 4Q/(πR³) ≈ 1.3e-4 1/s < γ_min
    assert pressure_drop(Q, mu, radius=R, length=L, flow_index=n, shear_rate_min=g_min) == pytest.approx(
        8 * mu0 * 1e-6 * L * Q / (np.pi * R ** 4), rel=1e-13)
    # a rate that puts the floor inside the pipe: between the Newtonian-core answer's bounds and continuous
    Q = np.geomspace(1e-3, 10.0, 40)
    dp = pressure_drop(Q, mu, radius=R, length=L, flow_index=n, shear_rate_min=g_min)
    pure = 2 * mu * 1e-6 * L / R * ((3 * n + 1) / n * Q / (np.pi * R ** 3)) ** n
    assert np.all(dp <= pure * (1 + 1e-12)) and np.all(np.diff(dp) > 0)
    # exact check of the composite law: the flow the wall stress carries, by quadrature of Rabinowitsch–Mooney
    tau_w = dp * R / (2 * L)
    K, tau0 = mu * 1e-6, mu0 * 1e-6 * g_min
    for tw, q in zip(tau_w[::7], Q[::7]):
        tau = np.linspace(0.0, tw, 200001)
        gamma = np.where(tau <= tau0, tau / (mu0 * 1e-6), (tau / K) ** (1 / n))
        f = tau ** 2 * gamma
        integral = np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(tau))
        assert np.pi * R ** 3 * integral / tw ** 3 == pytest.approx(q, rel=1e-6)


def test_pressure_drop_scales_with_size():
    """Δp ∝ L and ∝ R^-4 (Newtonian): a 13 G cannula needs (2.388/1.803)^4 = 3.08 times an 11 G one's pressure."""
    a, b = Cannula(11, 120.0), Cannula(13, 120.0)
    assert b.pressure_drop(50.0, 100.0) / a.pressure_drop(50.0, 100.0) == pytest.approx((2.388 / 1.803) ** 4)
    assert Cannula(11, 200.0).pressure_drop(50.0, 100.0) / Cannula(11, 100.0).pressure_drop(50.0, 100.0) == \
        pytest.approx(2.0)


@pytest.mark.parametrize("kw, match", [
    ({"gauge": 7}, "gauge=7 must be an integer gauge in 8..15"),
    ({"gauge": 16}, "gauge=16"),
    ({"gauge": 11.5}, "gauge=11.5"),
    ({"gauge": True}, "gauge=True"),
    ({"length": 49.9}, r"length=49.9 must lie in \[50, 200\] mm"),
    ({"length": 250.0}, "length=250.0"),
    ({"length": float("nan")}, "length=nan"),
])
def test_bad_cannula(kw, match):
    with pytest.raises(ValueError, match=match):
        Cannula(**kw)


def test_bad_flow_input():
    c = Cannula()
    with pytest.raises(ValueError, match="rate"):
        c.pressure_drop(-1.0, 100.0)
    with pytest.raises(ValueError, match="viscosity"):
        c.pressure_drop(1.0, 0.0)
    with pytest.raises(ValueError, match="flow_index"):
        c.pressure_drop(1.0, 100.0, flow_index=1.5)


def test_needle_takes_a_cannula():
    from vbfem.treatment.needles import Needle

    nd = Needle("n", (0, 0, 0), (1, 0, 0))
    assert nd.cannula == Cannula(11, 120.0)
    with pytest.raises(TypeError, match="cannula"):
        Needle("n", (0, 0, 0), (1, 0, 0), cannula=(11, 120.0))
