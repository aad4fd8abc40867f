"""The VP pressure rows in their papers' protocols (vbfem.study.protocols; issue 19)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from vbfem.fem import cell_volumes
from vbfem.study.protocols import (
    KREBS_EARLY_START,
    KREBS_LATE_START,
    LI_FILL,
    body_volume,
    krebs_syringe_pressure,
    li_tip_pressure,
    pressure_comparisons,
)
from vbfem.study.schema import TreatmentSpec
from vbfem.treatment.cannula import Cannula


def test_krebs_injections_start_at_the_papers_times_and_add_the_cannula(l1_3mm):
    g, m, mat = l1_3mm
    body = SimpleNamespace(mesh=m, materials=mat)
    spec = TreatmentSpec()  # the study's VP: bipedicular 4 mL, 3 mL/min per needle, 11 G x 120 mm, PMMA
    out = krebs_syringe_pressure(body, g, spec, seed=0)
    cement, cannula = spec.cement_record(), Cannula(spec.cannula_gauge, spec.cannula_length)
    q = spec.rate * 1000.0 / 60.0  # mm³/s per needle
    duration = 60.0 * 0.5 * spec.volume / spec.rate
    for label, start in (("early", KREBS_EARLY_START), ("late", KREBS_LATE_START)):
        # the peak is reached at the end of the injection: the cannula's Hagen-Poiseuille drop at the viscosity
        # of that time plus the tip pressure (a few kPa): between the drop alone and the drop + 50 kPa
        drop = 1e3 * cannula.pressure_drop(q, cement.viscosity(start + duration))
        assert drop < out[f"{label}_kPa"] < drop + 50.0
    # the study's own start (240 s) would give less: the cement is younger
    assert out["early_kPa"] > 1e3 * cannula.pressure_drop(q, cement.viscosity(spec.start_time + duration)) + 1.0
    assert out["late_kPa"] > out["early_kPa"]
    assert out["mean_kPa"] == pytest.approx(0.5 * (out["early_kPa"] + out["late_kPa"]))


def test_li_injects_a_fifth_of_the_body_through_one_needle(l1_3mm):
    g, m, mat = l1_3mm
    body = SimpleNamespace(mesh=m, materials=mat)
    out = li_tip_pressure(body, g, TreatmentSpec(), seed=0)
    assert out["volume_ml"] == pytest.approx(LI_FILL * body_volume(m, mat) / 1000.0)
    assert out["fill_pct"] == pytest.approx(100.0 * LI_FILL, rel=1e-3)  # nothing leaks, mass is kept
    assert 0.0 < out["tip_kPa"] < 100.0
    assert body_volume(m, mat) == pytest.approx(float(np.sum(cell_volumes(m))), rel=1e-9)  # the whole body


def test_pressure_protocols_refuse_a_kyphoplasty_and_leave_rows_empty_without_a_vp(l1_3mm):
    g, m, mat = l1_3mm
    body = SimpleNamespace(mesh=m, materials=mat)
    kp = TreatmentSpec(name="KP", kind="kyphoplasty")
    with pytest.raises(ValueError, match="vertebroplasty"):
        krebs_syringe_pressure(body, g, kp)
    with pytest.raises(ValueError, match="vertebroplasty"):
        li_tip_pressure(body, g, kp)
    out = pressure_comparisons(body, body, g, None)
    assert math.isnan(out["vp_syringe_pressure_krebs_kPa"]) and math.isnan(out["vp_tip_pressure_li_kPa"])


def test_the_pressure_rows_read_the_protocol_values():
    from vbfem.study.validation import validation_table

    table = {r["quantity"]: r for r in validation_table([], {"vp_syringe_pressure_krebs_kPa": 926.0,
                                                             "vp_tip_pressure_li_kPa": 9.1})}
    krebs = table["VP peak syringe (injection) pressure, Krebs 2005 protocol (kPa)"]
    assert krebs["model"] == 926.0 and krebs["in range"] == "NO (outside)" and "300 s and at 500 s" in krebs["source"]
    li = table["VP intravertebral (tip) pressure, Li 2015 protocol (kPa)"]
    assert li["model"] == 9.1 and li["in range"] == "yes" and "unipedicular" in li["source"]
    # without a VP the rows stay empty, not compared
    empty = {r["quantity"]: r for r in validation_table([], {"vp_syringe_pressure_krebs_kPa": math.nan})}
    assert empty["VP peak syringe (injection) pressure, Krebs 2005 protocol (kPa)"]["in range"] == "-"
