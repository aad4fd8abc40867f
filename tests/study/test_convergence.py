"""Discretization uncertainty: the least-squares procedure of Eça & Hoekstra (2014) against exact
power series, its reduction to the GCI, its fallbacks; the convergence table with four sizes."""

import math

import numpy as np
import pytest

from vbfem.study.convergence import least_squares_uncertainty, richardson
from vbfem.study.validation import CONVERGENCE_GRIDS, convergence_rows

H = np.array([2.31, 2.04, 1.43, 1.13])  # representative sizes of the 3 / 2.5 / 2 / 1.5 mm L1 meshes, about


@pytest.mark.parametrize("order", [0.7, 1.0, 1.6, 2.0])
def test_exact_power_series_recovers_order_limit_and_the_gci(order):
    phi = 10.0 + 2.0 * H**order
    ls = least_squares_uncertainty(H, phi)
    assert ls["fit"] == "free order" and ls["safety_factor"] == 1.25
    assert ls["observed_order"] == pytest.approx(order, rel=1e-6)
    assert ls["extrapolated"] == pytest.approx(10.0, rel=1e-8)
    assert ls["sigma"] < 1e-8
    # without scatter the uncertainty is Fs |phi_i - phi0|: Celik's GCI of the three finest meshes
    rich = richardson(H[1:], phi[1:])
    assert ls["uncertainty_pct"][-1] == pytest.approx(rich["gci_fine_pct"], rel=1e-6)
    assert ls["uncertainty_pct"][-2] == pytest.approx(rich["gci_medium_pct"], rel=1e-6)
    # and it bounds the true error of every mesh
    assert np.all(np.asarray(ls["uncertainty"]) >= np.abs(phi - 10.0) * (1 - 1e-9))


def test_an_order_out_of_range_falls_back_to_the_fixed_order_fits_with_fs_3():
    phi = 100.0 - 2.0 * H + 2.0 * H**2  # a first-and-second-order series: free order 2.4, out of range
    ls = least_squares_uncertainty(H, phi)
    assert ls["fit"].endswith("first and second order") and ls["order"] == 1.5
    assert ls["extrapolated"] == pytest.approx(100.0, rel=1e-10) and ls["sigma"] < 1e-8
    assert ls["observed_order"] > 2.1 and ls["safety_factor"] == 3.0
    slow = least_squares_uncertainty(H, 100.0 + 5.0 * H**0.2)
    assert slow["observed_order"] < 0.5 and slow["safety_factor"] == 3.0
    assert slow["fit"] != "free order"


def test_scatter_larger_than_the_data_range_inflates_the_uncertainty():
    phi = np.array([100.0, 100.4, 99.7, 100.2])  # no convergence to speak of: scatter only
    ls = least_squares_uncertainty(H, phi)
    assert ls["sigma"] >= ls["data_range"] and ls["safety_factor"] == 3.0
    # U = 3 sigma / range (eps + sigma + |phi - fit|) >= 3 sigma
    assert min(ls["uncertainty"]) >= 3.0 * ls["sigma"]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="four or more"):
        least_squares_uncertainty(H[:3], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="all different"):
        least_squares_uncertainty([2.0, 2.0, 1.0, 0.5], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="finite"):
        least_squares_uncertainty(H, [1.0, math.nan, 3.0, 4.0])


def test_convergence_table_with_four_sizes_holds_the_study_size_against_the_target():
    sizes = (3.0, 2.5, 2.0, 1.5)
    values = {("stiffness", "intact"): list(1000.0 + 0.5 * H**2),  # converged: well under 2 %
              ("strength", "VP"): list(4000.0 + 200.0 * H**0.8)}  # far from it
    rows = {r["state"]: r for r in convergence_rows(sizes, list(H), values, 2.0)}
    assert rows["intact"]["target met at 2 mm"] == "pass" and rows["intact"]["Fs"] == 1.25
    assert rows["VP"]["target met at 2 mm"] == "NO"
    assert rows["VP"]["uncertainty at 2 mm %"] == pytest.approx(
        least_squares_uncertainty(H, values[("strength", "VP")])["uncertainty_pct"][2])
    assert convergence_rows(sizes, list(H), values, 1.0)[0]["target met at 1 mm"].startswith("(1 mm not")


def test_convergence_table_with_five_sizes_estimates_from_the_finest_four():
    """The coarsest of five meshes is reported but not used (:data:`CONVERGENCE_GRIDS`): a value off the
    power series there does not change the estimate of the others."""
    sizes = (3.0, 2.5, 2.0, 1.5, 1.25)
    h5 = np.array([2.4, *H])
    good = 4000.0 + 30.0 * h5**1.5
    off = good.copy()
    off[0] -= 50.0  # outside the asymptotic range
    rows = {r["state"]: r for r in convergence_rows(sizes, list(h5), {("strength", "a"): list(good),
                                                                      ("strength", "b"): list(off)}, 2.0)}
    assert CONVERGENCE_GRIDS == 4
    assert "uncertainty at 3 mm %" not in rows["a"] and rows["a"]["at 3 mm (N)"] == good[0]
    for key in ("uncertainty at 2 mm %", "extrapolated", "observed order"):
        assert rows["a"][key] == rows["b"][key]
    assert rows["a"]["extrapolated"] == pytest.approx(4000.0, rel=1e-6)
    assert rows["a"]["target met at 2 mm"] == "pass"
    assert convergence_rows(sizes, list(h5), {("strength", "a"): list(good)}, 3.0)[0][
        "target met at 3 mm"].startswith("(3 mm not among the sizes of the estimate")
