"""Leakage risk over seeded permeability realisations (issue 19)."""

import math

import numpy as np
import pytest

from vbfem.fem.cells import cell_centroids
from vbfem.fem.primitives import box_mesh
from vbfem.records import MaterialMap
from vbfem.treatment.leakage import leakage_risk, leakage_table, wilson_interval
from vbfem.treatment.needles import Needle


def test_wilson_interval():
    lo, hi = wilson_interval(5, 20)
    assert lo == pytest.approx(0.1119, abs=1e-4) and hi == pytest.approx(0.4687, abs=1e-4)
    assert wilson_interval(0, 50) == (0.0, pytest.approx(0.0713, abs=1e-4))
    assert wilson_interval(50, 50)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35  # 0.2775 (Wilson 1927)
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    lo, hi = wilson_interval(50, 100, confidence=0.5)  # a narrower interval at a lower level
    assert 0.4038 < lo < 0.5 < hi < 0.5962
    for bad in (11, 2.5, True):
        with pytest.raises(ValueError, match="successes = "):
            wilson_interval(bad, 10)


def test_leakage_table_per_state():
    rows = [{"state": "intact"}, {"state": "VP", "leak": True, "leaked_venous_ml": 0.2, "leaked_cortical_ml": 0.0,
                                  "leaked_disc_ml": 0.0, "first_leak_s": 40.0},
            {"state": "VP", "leak": False, "leaked_venous_ml": 0.0, "leaked_cortical_ml": 0.0, "leaked_disc_ml": 0.0,
             "first_leak_s": math.nan},
            {"state": "KP", "leak": False, "leaked_venous_ml": 0.0, "leaked_cortical_ml": 0.0, "leaked_disc_ml": 0.0,
             "first_leak_s": math.nan}]
    t = {r["state"]: r for r in leakage_table(rows)}
    assert set(t) == {"VP", "KP"}
    assert t["VP"]["leak_probability"] == 0.5 and t["VP"]["leaked_venous_ml"] == pytest.approx(0.1)
    assert t["VP"]["first_leak_s"] == 40.0 and math.isnan(t["KP"]["first_leak_s"]) and t["KP"]["leaks"] == 0


@pytest.fixture(scope="module")
def block():
    L, nd = 24.0, 8
    m = box_mesh((L, L, L), (nd, nd, nd), origin=(-L / 2, -L / 2, -L / 2))
    c = cell_centroids(m)
    m = m.replace(cell_sets={"outlet_breach_lateral": np.flatnonzero(c[:, 1] > L / 2 - L / nd)})
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(density=np.full(m.n_cells, 0.1))
    return m, mat


def test_realisations_reproducible_by_seed_and_the_field_matters(block):
    """The same seeds give the same leaks; a thin cement beside a breach leaks in some fields and not in others."""
    m, mat = block
    nd = Needle("n", (-6.0, 3.0, 0.0), (0.0, 3.0, 0.0), volume=1.5, rate=3.0, start=60.0)
    from vbfem.materials.cement import Cement

    kw = {"needles": nd, "cement": Cement(viscosity_ref=0.3, tau=1e9), "heterogeneity": 1.5,
          "correlation_length": 6.0}
    a = leakage_risk(m, mat, None, n=6, seed=3, **kw)
    b = leakage_risk(m, mat, None, n=3, seed=3, **kw)
    np.testing.assert_array_equal(a.leak[:3], b.leak)
    np.testing.assert_array_equal(a.leaked["cortical"][:3], b.leaked["cortical"])
    assert np.ptp(a.leaked["cortical"]) > 0.1 * a.leaked["cortical"].max() > 0  # leakage varies with the field
    s = a.summary()
    assert s["realisations"] == 6 and 0.0 <= s["leak_probability"] <= 1.0
    assert s["leak_probability_low"] <= s["leak_probability"] <= s["leak_probability_high"]
    with pytest.raises(ValueError, match="kind="):
        leakage_risk(m, mat, None, kind="vp", heterogeneity=1.0, correlation_length=5.0, needles=nd)
    with pytest.raises(ValueError, match="n=0"):
        leakage_risk(m, mat, None, n=0, heterogeneity=1.0, correlation_length=5.0, needles=nd)
