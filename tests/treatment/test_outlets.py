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
