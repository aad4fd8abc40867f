"""Leakage per outlet class, first leak and the per-outlet cement balance at every step (issue 19)."""

import numpy as np
import pytest

from vbfem.fem.primitives import box_mesh
from vbfem.materials import porous
from vbfem.records import MaterialMap
from vbfem.treatment import flow
from vbfem.treatment.network import flow_network
from vbfem.treatment.outlets import LEAK_DETECTION, leak_summary, outlet_class


def test_outlet_classes():
    assert outlet_class("outlet_basivertebral") == "venous"
    assert outlet_class("outlet_segmental_plexus") == "venous"
    assert outlet_class("outlet_breach_lateral_left") == "cortical"
    assert outlet_class("outlet_cleft") == "cortical"
    assert outlet_class("outlet_endplate_crack") == "disc"
    assert outlet_class("outlet_boundary") == "other"


def test_leak_summary_first_leak_and_classes():
    t = np.array([300.0, 310.0, 320.0, 330.0])
    names = ("outlet_basivertebral", "outlet_breach_anterior", "outlet_endplate_crack")
    L = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.0], [3.0, 9.0, 0.5], [4.0, 30.0, 2.0]])
    out = leak_summary(t, L, names, start=290.0)
    assert (out["leaked_venous"], out["leaked_cortical"], out["leaked_disc"], out["leaked_other"]) == (4.0, 30.0, 2.0, 0.0)
    assert out["leak"] and out["first_leak_time"] == 30.0 and out["first_leak_class"] == "cortical"
    none = leak_summary(t, L * 1e-3, names, start=290.0)
    assert not none["leak"] and np.isnan(none["first_leak_time"]) and none["first_leak_class"] == ""
    with pytest.raises(ValueError, match="detection"):
        leak_summary(t, L, names, start=0.0, detection=0.0)
    assert LEAK_DETECTION == 10.0


def test_per_outlet_balance_at_every_step():
    """A thin cement in a block drained by a venous, a cortical and a disc outlet: injected = in body + leaked
    per outlet at every recorded step, and every class takes cement."""
    L, nd = 30.0, 10
    m = box_mesh((L, L, L), (nd, nd, nd), origin=(-L / 2, -L / 2, -L / 2))
    from vbfem.fem.cells import cell_centroids

    c = cell_centroids(m)
    h = L / nd
    sets = {"outlet_basivertebral": np.flatnonzero(c[:, 0] < -L / 2 + h),
            "outlet_breach_lateral": np.flatnonzero(c[:, 1] > L / 2 - h),
            "outlet_endplate_crack": np.flatnonzero(c[:, 2] > L / 2 - h)}
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(density=np.full(m.n_cells, 0.1))
    med = porous.porous_medium(m, mat, outlets=sets)
    net = flow_network(m, med)
    cell = int(np.argmin(np.linalg.norm(net.centroid, axis=1)))
    inj = [flow.Injection(cell=cell, rate=50.0, start=100.0, stop=100.0 + 9000.0 / 50.0, bore=2.4)]
    r = flow.run_impes(net, inj, cement_viscosity=lambda t: 0.5)
    per = np.asarray(r["leaked_outlets"])
    assert per.shape == (r["times"].size, 3)
    np.testing.assert_allclose(per.sum(axis=1), r["leaked_total"], rtol=1e-12, atol=1e-12)
    balance = np.abs(r["injected"] - r["in_body"] - per.sum(axis=1)) / r["injected"]
    assert balance.max() < 1e-9
    out = leak_summary(r["times"], per, net.outlet_names, start=100.0)
    print(out)
    assert out["leak"] and 0 < out["first_leak_time"] < 180.0
    assert min(out["leaked_venous"], out["leaked_cortical"], out["leaked_disc"]) > 0
    total = out["leaked_venous"] + out["leaked_cortical"] + out["leaked_disc"]
    assert total == pytest.approx(r["leaked_total"][-1], rel=1e-12)


def _column(n=10, h=2.0, R=0.0):
    """A 1-D column of n cells (h mm) with an outlet cell set at its far end."""
    m = box_mesh((n * h, h, h), (n, 1, 1))
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(density=np.full(m.n_cells, 0.1))
    sets = {"outlet_basivertebral": np.array([n - 1])}
    med = porous.porous_medium(m, mat, outlets=sets)
    return med, flow_network(m, med, outlet_resistance={"outlet_basivertebral": R} if R else None)


def test_channel_between_two_reservoirs_is_darcy_then_poiseuille_in_series():
    """Injection at one end of a column, a vessel of resistance R = 8L/(πr⁴) after the outlet: the steady
    pressure drop is Q μ (Σ 1/T + R), the analytic series of the Darcy column and the Poiseuille vessel."""
    h, n, mu = 2.0, 10, 0.09
    r_v, L_v = 0.5, 20.0
    R = 8 * L_v / (np.pi * r_v ** 4)
    _, net0 = _column(n, h)
    med, net = _column(n, h, R)
    k = med.permeability[0, 0]  # mm², uniform
    T = k * h * h / h  # between two cells: harmonic mean of two halves k A/(h/2)
    T_half = k * h * h / (h / 2)
    assert net0.dtrans[0] == pytest.approx(T_half, rel=1e-12)
    assert 1 / net.dtrans[0] == pytest.approx(1 / T_half + R, rel=1e-12)
    Q = 10.0  # mm³/s
    # both phases of one viscosity and Corey exponents 1: the total mobility is 1/μ whatever the saturation
    inj = [flow.Injection(cell=0, rate=Q, start=0.0, stop=5.0, bore=2.4)]
    r = flow.run_impes(net, inj, cement_viscosity=lambda t: mu, marrow_viscosity=mu, corey=(1.0, 1.0),
                       outlet_pressure=0.0)
    mu_mpa = mu * 1e-6
    n_flow = net.cells.size  # the outlet cell is not a flow cell
    expected = Q * mu_mpa * ((n_flow - 1) / T + 1 / T_half + R)
    assert r["pressure"][0] == pytest.approx(expected, rel=1e-9)
    assert r["mass_error"] < 1e-9


@pytest.mark.parametrize("R, match", [(-1.0, r">= 0 mm\^-3"), (float("nan"), "finite"), (float("inf"), "finite")])
def test_bad_outlet_resistance(R, match):
    with pytest.raises(ValueError, match=match):
        _column(R=R)
    m = box_mesh((20.0, 2.0, 2.0), (10, 1, 1))
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(density=np.full(m.n_cells, 0.1))
    med = porous.porous_medium(m, mat, outlets={"outlet_basivertebral": np.array([9])})
    with pytest.raises(ValueError, match="'outlet_segmental' is not an outlet"):
        flow_network(m, med, outlet_resistance={"outlet_segmental": 1.0})
