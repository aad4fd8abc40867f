"""Units and readable headers of the results columns (issue 23)."""

import pytest

from vbfem.study.columns import SUMMARY, column_unit, column_units, summary_columns


def test_every_column_of_a_study_has_its_unit():
    units = column_units(["state", "stiffness", "strength", "stiffness_pct_restored", "yield_N", "curve_travel_mm",
                          "anterior_height_mm", "cement_ml", "fill_pct", "bridging", "leaked_ml",
                          "needle_pressure_kPa", "case", "case_id"])
    assert units == {"state": "", "stiffness": "N/mm", "strength": "N", "stiffness_pct_restored": "%",
                     "yield_N": "N", "curve_travel_mm": "mm", "anterior_height_mm": "mm", "cement_ml": "mL",
                     "fill_pct": "%", "bridging": "", "leaked_ml": "mL", "needle_pressure_kPa": "kPa", "case": "",
                     "case_id": ""}
    # swept study keys take the unit their schema declares
    assert column_unit("treatments[3].rate") == "mL/min" and column_unit("load.moment") == "N mm"
    assert column_unit("bone.bmd") == "g/cm3" and column_unit("seed") == "" and column_unit("mesh.cell_type") == ""


def test_summary_names_the_linear_screen_and_drops_strength_without_one():
    assert summary_columns("nonlinear") is SUMMARY
    linear = {k: h for k, h, _ in summary_columns("linear")}
    assert linear["strength"] == "lin. screen N" and linear["strength_pct_restored"] == "screen % restored"
    assert "strength" not in {k: h for k, h, _ in summary_columns("none")}
    with pytest.raises(ValueError, match=r"strength = 'nonlin': must be"):
        summary_columns("nonlin")
