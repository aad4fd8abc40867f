"""Shear-thinning (power-law) cement in the two-phase Darcy flow (issue 5: "Newtonian by default,
optionally power-law shear-thinning"): kernels vs twins, the Newtonian limit, exact 1-D and
spherical solutions, rate scaling, mass balance, bad input."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import random_flow_graph

from vbfem.fem.cells import cell_centroids
from vbfem.fem.primitives import box_mesh
from vbfem.materials import porous
from vbfem.materials.cement import CEMENTS, Cement
from vbfem.records import MaterialMap
from vbfem.treatment import flow
from vbfem.treatment._kernels import flow as kf
from vbfem.treatment._kernels import flow_ref as kr
from vbfem.treatment.needles import Needle
from vbfem.treatment.network import flow_network
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty

PHI = 0.8


def _material(m, phi=PHI):
    return MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(
        density=np.full(m.n_cells, porous.TISSUE_DENSITY * (1 - phi)))


def _block(nd, L=40.0, **medium):
    m = box_mesh((L, L, L), (nd,) * 3, origin=(-L / 2, -L / 2, -L / 2))
    med = porous.porous_medium(m, _material(m), **medium)
    return m, flow_network(m, med, open_boundary=True)


def _centre(net):
    return int(np.argmin(np.linalg.norm(net.centroid - 1e-3, axis=1)))


def test_kernels_match_numpy_twins():
    rng = np.random.default_rng(5)
    n, nf, nd = 60, 150, 9
    fi, fj, flux, dflux, dcell, scell, sq, s, pv = random_flow_graph(rng, n, nf, nd, [4, 11], [0.7, 1.9])
    # shear rate and viscosity factor from the face fluxes
    geo = (rng.normal(size=(nf, 3)), rng.normal(size=(nd, 3)), rng.normal(size=(n, 3)), rng.random(n) + 0.5,
           rng.random((n, 3)) * 0.1 + 0.01, rng.random(n) * 0.5 + 0.4, rng.random(n) + 0.2)
    fcen, dcen, cen, vol, perm, phi, area = geo
    args = (fi, fj, flux, fcen, dcell, dflux, dcen, scell, sq, cen, vol, perm, phi, area,
            flow.shear_rate_factor(0.45), 0.45, 1.0, 0.01)
    g1, f1 = kf.shear_thinning(*args)
    g2, f2 = kr.shear_thinning(*args)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)
    np.testing.assert_allclose(f1, f2, rtol=1e-12)
    assert np.all(f1 <= 0.01 ** -0.55 * (1 + 1e-12))  # the floor caps the viscosity
    # transport with a viscosity per cell
    mu = 1e-4 * (0.5 + rng.random(n))
    a = (fi, fj, flux, dcell, dflux, scell, sq, s, mu, 1e-7, 2.0, 2.0)
    for x, y in zip(kf.transport_rates_cells(*a), kr.transport_rates_cells(*a)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(kf.fractional_flow_cells(s, mu, 1e-7, 2.0, 2.0),
                               kr.fractional_flow_cells(s, mu, 1e-7, 2.0, 2.0), rtol=1e-13)
    b = a[:8] + (pv,) + a[8:]
    assert kf.stable_dt_cells(*b) == pytest.approx(kr.stable_dt_cells(*b), rel=1e-9)
    # a uniform per-cell viscosity gives the scalar kernels bit for bit (the Newtonian path)
    u = np.full(n, 1e-4)
    bu = b[:9] + (u,) + b[10:]
    assert kf.stable_dt_cells(*bu) == kf.stable_dt(*b[:9], 1e-4, *b[10:])
    for x, y in zip(kf.transport_rates_cells(*a[:8], u, *a[9:]), kf.transport_rates(*a[:8], 1e-4, *a[9:])):
        np.testing.assert_array_equal(x, y)


def test_flow_index_one_is_the_newtonian_model_exactly():
    m, net = _block(8, heterogeneity=0.7, seed=2)
    c = _centre(net)
    inj = [flow.Injection(c, 40.0, 300.0, 315.0, 2.0), flow.Injection(c + 9, 20.0, 305.0, 320.0, 2.0)]
    curing = CEMENTS["pmma"].viscosity
    a = flow.run_impes(net, inj, cement_viscosity=curing)
    b = flow.run_impes(net, inj, cement_viscosity=curing, flow_index=1.0, shear_rate_reference=7.0,
                       shear_rate_min=0.5)
    for k in ("saturation", "needle_pressure", "times", "injected", "leaked_total", "pressure", "flux",
              "cement_viscosity"):
        np.testing.assert_array_equal(a[k], b[k])
    assert a["n_pressure"] == b["n_pressure"] and "shear_rate" not in b
    # the same through the public API: a Newtonian Cement with other shear-rate settings is "pmma"
    needle = Needle("n", (-19.0, 0.0, 0.0), (0.0, 0.0, 0.0), rate=3.0, volume=0.5)
    fp = simulate_vertebroplasty(m, _material(m), needles=needle, open_boundary=True)
    fn = simulate_vertebroplasty(m, _material(m), needles=needle, open_boundary=True,
                                 cement=Cement("pmma", flow_index=1.0, shear_rate_reference=3.0))
    np.testing.assert_array_equal(fp.saturation, fn.saturation)
    np.testing.assert_array_equal(fp.needle_pressure, fn.needle_pressure)
    # and the power-law scheme tends to it as n -> 1
    cl = flow.run_impes(net, inj, cement_viscosity=curing, flow_index=0.9999)
    np.testing.assert_allclose(cl["needle_pressure"][-1], a["needle_pressure"][-1], rtol=2e-3)
    assert np.abs(cl["saturation"] - a["saturation"]).max() < 1e-2
    assert Cement(flow_index=1.0).apparent_viscosity(400.0, 1e-6) == Cement().viscosity(400.0)


def test_one_dimensional_column_is_exact():
    """A column of cells full of cement, fed at one end, open at the other: steady power-law Darcy flow
    gives Δp = μ_ref (α u / (γ_ref sqrt(k φ)))^(n-1) u L / k, so Δp ∝ Q^n; the finite volumes reproduce
    it to round-off (the cell velocity reconstruction is exact for uniform flow, the source cell included)."""
    N, h = 16, 2.0
    m = box_mesh((N * h, h, h), (N, 1, 1))
    x = cell_centroids(m)[:, 0]
    med = porous.porous_medium(m, _material(m), outlets={"end": [int(np.argmax(x))]})
    net = flow_network(m, med)
    first = int(np.argmin(net.centroid[:, 0]))
    k, phi = net.perm[0, 0], net.pv[0] / net.volume[0]
    L = (net.cells.size - 0.5) * h  # first centroid to the outlet face
    for n in (0.4, 0.7, 1.0):
        dp = {}
        for q in (1.0, 8.0):
            r = flow.run_impes(net, [flow.Injection(first, q, 300.0, 301.0, 1.0)], cement_viscosity=lambda t: 100.0,
                               saturation=np.ones(net.cells.size), flow_index=n)
            u = q / h ** 2
            gamma = flow.pore_shear_rate(u, k, phi, flow_index=n)
            mu = 100.0e-6 * gamma ** (n - 1.0)  # MPa s, γ_ref = 1/s, above the floor
            exact = mu * u * L / k
            dp[q] = r["pressure"][first] - flow.VENOUS_PRESSURE
            assert dp[q] == pytest.approx(exact, rel=1e-10)
            if n < 1:
                np.testing.assert_allclose(r["shear_rate"], gamma, rtol=1e-10)
                np.testing.assert_allclose(r["cement_viscosity"], mu * 1e6, rtol=1e-10)
        assert dp[8.0] / dp[1.0] == pytest.approx(8.0 ** n, rel=1e-10)


def test_spherical_injection_pressure_and_rate_scaling():
    """Homogeneous block, one needle, the same 2 mL at 25 and 100 mm³/s (1.5 and 6 mL/min), cement 1000x
    more viscous than marrow: the needle pressure follows the steady spherical power-law solution
    (written out below) within 10 %, and the pressure ratio of the two rates is (Q2/Q1)^n within 3 % (Newtonian: Q2/Q1). Shear thinning therefore
    needs less than proportionally more pressure for the faster injection, and less than the Newtonian."""
    _, net = _block(16, permeability_si=4e-8, permeability_ap=4e-8)
    c = _centre(net)
    k = net.perm[c, 0]
    V, n = 2000.0, 0.5
    R = (3 * V / (4 * np.pi * PHI)) ** (1 / 3)
    dp = {}
    for idx in (1.0, n):
        for Q in (25.0, 100.0):
            r = flow.run_impes(net, [flow.Injection(c, Q, 0.0, V / Q, 2.0)], cement_viscosity=lambda t: 100.0,
                               flow_index=idx)
            assert r["mass_error"] < 1e-6
            dp[idx, Q] = r["needle_pressure"][-1, 0] - flow.VENOUS_PRESSURE
    # steady spherical flow u = Q / (4π r²): μ(r) = μ_ref (α u / sqrt(k φ))^(n-1), dp/dr = -μ u / k, so
    # Δp = Q/(4π k) μ_ref (α Q / (4π sqrt(k φ)))^(n-1) ∫_{r_b}^{R} r^(-2n) dr, = ln(R/r_b) at n = 1/2
    K = 100e-6 * (flow.shear_rate_factor(n) * 100.0 / (4 * np.pi * np.sqrt(k * PHI))) ** (n - 1)
    exact = 100.0 / (4 * np.pi * k) * K * np.log(R / 1.0)
    ratio, newtonian = dp[n, 100.0] / dp[n, 25.0], dp[1.0, 100.0] / dp[1.0, 25.0]
    print(f"power law n={n}: Δp {dp[n, 100.0]:.4g} MPa vs exact {exact:.4g}; ratio {ratio:.4f} vs 4^n = {4 ** n:.4f};"
          f" Newtonian ratio {newtonian:.4f}")
    assert abs(dp[n, 100.0] / exact - 1) < 0.10
    assert abs(ratio / 4 ** n - 1) < 0.03
    assert abs(newtonian / 4.0 - 1) < 0.01
    assert ratio < 0.6 * newtonian < 4.0  # less than proportionally more pressure at the higher rate


def test_mass_balance_and_bounds_with_curing_and_heterogeneity():
    """Curing cement (viscosity rising with time), seeded heterogeneous permeability, two needles with
    overlapping schedules, strong shear thinning: injected = in body + leaked to 1e-6 at every step,
    saturation within [0, 1]; the numba and numpy paths agree."""
    _, net = _block(10, heterogeneity=1.0, seed=4)
    c = _centre(net)
    inj = [flow.Injection(c, 50.0, 300.0, 330.0, 2.0), flow.Injection(c + 23, 25.0, 320.0, 350.0, 2.0)]
    runs = [flow.run_impes(net, inj, cement_viscosity=CEMENTS["pmma"].viscosity, flow_index=0.3,
                           use_numba=un) for un in (True, False)]
    for r in runs:
        bal = np.abs(r["injected"] - r["in_body"] - r["leaked_total"]) / np.maximum(r["injected"], 1e-30)
        assert bal.max() < 1e-6 and r["mass_error"] < 1e-6
        assert r["saturation"].min() >= -1e-10 and r["saturation"].max() <= 1 + 1e-10
        assert r["injected"][-1] == pytest.approx(50.0 * 30 + 25.0 * 30, rel=1e-9)
    np.testing.assert_allclose(runs[0]["saturation"], runs[1]["saturation"], atol=1e-8)
    np.testing.assert_allclose(runs[0]["needle_pressure"][-1], runs[1]["needle_pressure"][-1], rtol=1e-8)
    # the viscosity varies from cell to cell, the most where the cement moves fastest
    mu = runs[0]["cement_viscosity"][runs[0]["saturation"] > 0.5]
    assert mu.max() > 2 * mu.min()


def test_shear_thinning_through_the_public_api_and_the_study():
    from vbfem.study.schema import Study, TreatmentSpec, dumps_study

    m, _ = _block(8)
    needle = Needle("n", (-19.0, 0.0, 0.0), (0.0, 0.0, 0.0), rate=3.0, volume=0.5)
    f = simulate_vertebroplasty(m, _material(m), needles=needle, open_boundary=True, cement="pmma_shear_thinning")
    assert f.params["cement"]["flow_index"] == 0.5
    assert f.metrics["mass_error"] < 1e-6
    # a shear-thinning cement is chosen in a study by its preset name (schema version 1 unchanged)
    spec = TreatmentSpec(name="VP", cement="pmma_shear_thinning")
    study = Study(treatments=[spec.to_dict()])
    assert "pmma_shear_thinning" in dumps_study(study)
    assert CEMENTS[study.treatments[0].cement].flow_index == 0.5


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.2, 0.05, float("nan"), True, "0.5"])
def test_bad_flow_index(bad):
    with pytest.raises(ValueError, match=r"flow_index=.*must lie in \[0\.1, 1\.0\]"):
        Cement(flow_index=bad)
    _, net = _block(4)
    with pytest.raises(ValueError, match="flow_index"):
        flow.run_impes(net, [flow.Injection(0, 1.0, 0.0, 1.0, 2.0)], cement_viscosity=lambda t: 1.0, flow_index=bad)


def test_bad_shear_rates_and_network():
    with pytest.raises(ValueError, match="shear_rate_reference=0.0"):
        Cement(flow_index=0.5, shear_rate_reference=0.0)
    with pytest.raises(ValueError, match="shear_rate_min=-1.0"):
        Cement(flow_index=0.5, shear_rate_min=-1.0)
    with pytest.raises(ValueError, match="shear_rate_min=2.0 must not exceed shear_rate_reference=1.0"):
        Cement(flow_index=0.5, shear_rate_min=2.0)
    _, net = _block(4)
    bare = replace(net, face_center=None, face_area=None, dface_center=None, dface_area=None)
    with pytest.raises(ValueError, match="face geometry"):
        flow.run_impes(bare, [flow.Injection(0, 1.0, 0.0, 1.0, 2.0)], cement_viscosity=lambda t: 1.0, flow_index=0.5)
    with pytest.raises(ValueError, match="max_picard"):
        flow.run_impes(net, [flow.Injection(0, 1.0, 0.0, 1.0, 2.0)], cement_viscosity=lambda t: 1.0, flow_index=0.5,
                       max_picard=0)
