"""Validation rows of the functional spinal unit (issue 20): the table and the model values."""

import math

import pytest

from vbfem.study.schema import Study
from vbfem.study.validation import PUBLISHED, SPINE_PUBLISHED, spine_validation, validation_table


def test_spine_rows_are_judged_against_their_ranges_and_only_with_unit_values():
    without = validation_table([])
    assert not {r["quantity"] for r in without} & {ref["quantity"] for ref in SPINE_PUBLISHED}
    inside = {ref["key"][1]: 0.5 * (ref["low"] + ref["high"]) for ref in SPINE_PUBLISHED}
    table = {r["quantity"]: r for r in validation_table([], spine=inside)}
    for ref in SPINE_PUBLISHED:
        assert table[ref["quantity"]]["in range"] == "yes"
        assert table[ref["quantity"]]["source"] == ref["source"]
    outside = {ref["key"][1]: ref["high"] + 1.0 for ref in SPINE_PUBLISHED}
    table = {r["quantity"]: r for r in validation_table([], spine=outside)}
    assert all(table[ref["quantity"]]["in range"] == "NO (outside)" for ref in SPINE_PUBLISHED)
    assert {ref["quantity"] for ref in SPINE_PUBLISHED}.isdisjoint(ref["quantity"] for ref in PUBLISHED)
    assert all(ref["key"][0] == "spine" and ref["low"] < ref["high"] for ref in SPINE_PUBLISHED)


@pytest.mark.parametrize("kw", [{"size": 0.0}, {"size": math.nan}, {"force": -500.0}])
def test_spine_validation_refuses_bad_input_before_meshing(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        spine_validation(Study(name="v"), **kw)


@pytest.mark.slow
def test_spine_validation_values_on_coarse_units():
    v = spine_validation(Study(name="v"), size=6.0)
    assert 0.1 < v["idp_intact_L4_L5_MPa"] < 1.0  # a nucleus pressure of the order of F / A (A ~ 1500 mm²)
    # the adjacent disc's pressure is the same disc's in both states: a small change, either sign allowed
    assert abs(v["idp_adjacent_vp_vs_fractured_pct"]) < 20.0
    assert v["idp_L1_L2_fractured_MPa"] > 0 and v["idp_L1_L2_VP_MPa"] > 0
    # linear: twice the force, twice the pressure
    v2 = spine_validation(Study(name="v", treatments=[]), size=6.0, force=1000.0)
    assert v2["idp_intact_L4_L5_MPa"] == pytest.approx(2 * v["idp_intact_L4_L5_MPa"], rel=1e-6)
    assert "idp_adjacent_vp_vs_fractured_pct" not in v2
    # the pillar of cement props up the augmented endplate; linear: the same ratio, twice the bulge
    assert 0.0 < v["endplate_bulge_pillar_pct"] < 50.0
    assert v["endplate_bulge_L4_inferior_unfilled_mm"] > v["endplate_bulge_L4_inferior_filled_mm"] > 0.0
    assert v2["endplate_bulge_pillar_pct"] == pytest.approx(v["endplate_bulge_pillar_pct"], rel=1e-6)
    assert v2["endplate_bulge_L4_inferior_unfilled_mm"] == pytest.approx(
        2 * v["endplate_bulge_L4_inferior_unfilled_mm"], rel=1e-6)
    assert 0.0 < v["endplate_bulge_vp_vs_fractured_pct"] < 200.0
    assert v["endplate_bulge_L1:inferior_fractured_mm"] > 0.0
    # pure moments: rotations of a few degrees, the same with or without the other rows' force
    for case in ("flexion", "extension"):
        assert 1.0 < v[f"rom_{case}_L4_L5_deg"] < 30.0
        assert v2[f"rom_{case}_L4_L5_deg"] == pytest.approx(v[f"rom_{case}_L4_L5_deg"], rel=1e-6)
