"""Sobol indices: the Ishigami function's known values, the brute-force definition, S1 <= ST."""

import math

import numpy as np
import pytest

from vbfem.plan.sensitivity import brute_force_first_order, sobol_indices

A, B = 7.0, 0.1


def ishigami(u):
    x = -math.pi + 2 * math.pi * np.asarray(u)
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_exact():
    """Analytic indices (Ishigami & Homma 1990; e.g. Saltelli et al. 2008, Global Sensitivity Analysis, Wiley)."""
    v1 = 0.5 * (1 + B * math.pi ** 4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = 8 * B ** 2 * math.pi ** 8 / 225
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_indices_match_the_analytic_values_within_their_intervals():
    s1, st = ishigami_exact()
    ind = sobol_indices(ishigami, 3, n=2 ** 14, seed=3)
    assert np.all(np.abs(ind["S1"] - s1) <= np.maximum(ind["S1_conf"], 0.01))
    assert np.all(np.abs(ind["ST"] - st) <= np.maximum(ind["ST_conf"], 0.01))
    assert np.all(ind["S1"] <= ind["ST"] + 1e-9 + np.hypot(ind["S1_conf"], ind["ST_conf"]))
    assert ind["consistent"].all()
    assert ind["S1"].sum() <= 1.0 + ind["S1_conf"].max()  # first-order indices sum to at most 1


def test_estimator_agrees_with_the_brute_force_double_loop():
    # a small case with an interaction: y = x0 + 2 x1 + 3 x0 x2 on the unit cube
    def f(u):
        u = np.asarray(u)
        return u[:, 0] + 2 * u[:, 1] + 3 * u[:, 0] * u[:, 2]

    ind = sobol_indices(f, 3, n=2 ** 13, seed=1)
    brute = brute_force_first_order(f, 3, outer=200, inner=400, seed=2)
    assert np.allclose(ind["S1"], brute, atol=0.02)
    # analytic: V0 = Var(x0 (1 + 1.5)) , V1 = 4/12, V2 = Var(1.5 x2), V02 = 9 Var(x0) Var(x2)
    var = 1 / 12
    v0, v1, v2, v02 = 2.5 ** 2 * var, 4 * var, 1.5 ** 2 * var, 9 * var * var
    total = v0 + v1 + v2 + v02
    assert np.allclose(brute, np.array([v0, v1, v2]) / total, atol=0.02)
    assert np.allclose(ind["ST"], np.array([v0 + v02, v1, v2 + v02]) / total, atol=0.02)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="dim = 0"):
        sobol_indices(ishigami, 0)
    with pytest.raises(ValueError, match="n = 4"):
        sobol_indices(ishigami, 3, n=4)


def test_a_large_mean_does_not_blow_up_the_intervals():
    # Ishigami shifted by 1000: same indices, and the bootstrap intervals stay as narrow as unshifted
    base = sobol_indices(ishigami, 3, n=2 ** 12, seed=5)
    shifted = sobol_indices(lambda u: ishigami(u) + 1000.0, 3, n=2 ** 12, seed=5)
    assert np.allclose(shifted["S1"], base["S1"], atol=1e-6) and np.allclose(shifted["ST"], base["ST"], atol=1e-9)
    assert np.all(shifted["S1_conf"] < 0.1)


def test_agrees_with_salib_when_installed():
    salib_sample = pytest.importorskip("SALib.sample.sobol")
    salib_analyze = pytest.importorskip("SALib.analyze.sobol")
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0.0, 1.0]] * 3}
    u = salib_sample.sample(problem, 2 ** 13, calc_second_order=False, seed=4)
    ref = salib_analyze.analyze(problem, ishigami(u), calc_second_order=False, seed=4)
    ours = sobol_indices(ishigami, 3, n=2 ** 13, seed=4)
    assert np.allclose(ours["S1"], ref["S1"], atol=0.03) and np.allclose(ours["ST"], ref["ST"], atol=0.03)
