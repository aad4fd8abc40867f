"""The model's known limits sit on the result cells they qualify (issue 23)."""

import math

import pytest

from vbfem.study.limits import KNOWN_LIMITS, limit_marks

KINDS = {"intact": "intact", "fractured": "fractured", "VP": "vertebroplasty", "KP": "kyphoplasty"}


def _rows():
    common = {"stiffness": 1.0, "strength": 1.0, "stiffness_pct_intact": 1.0, "strength_pct_intact": 1.0,
              "stiffness_pct_restored": math.nan, "strength_pct_restored": math.nan}
    treated = {**common, "stiffness_pct_restored": 1.0, "strength_pct_restored": 1.0, "height_restored_pct": 6.0}
    return [{"state": "intact", **common}, {"state": "fractured", **common}, {"state": "VP", **treated},
            {"state": "KP", **treated}]


def test_nonlinear_study_marks():
    marks, notes = limit_marks(_rows(), KINDS, strength="nonlinear")
    assert set(notes) == {lim.key for lim in KNOWN_LIMITS}
    assert marks[(2, "height_restored_pct")] == ["vp_height"]  # VP's height is the protocol's recovery
    assert (3, "height_restored_pct") not in marks  # KP's balloon lift is not that limit's
    assert marks[(2, "strength")] == ["strength_travel", "vp_strength_mesh", "recompression", "residual_strength"]
    assert marks[(3, "strength")] == ["strength_travel", "kp_strength_mesh", "recompression", "residual_strength"]
    assert marks[(1, "strength")] == ["strength_travel", "residual_strength"]
    assert marks[(1, "stiffness")] == ["fractured_stiffness_mesh"]
    assert marks[(2, "stiffness")] == ["cement_modulus"]
    assert marks[(3, "stiffness_pct_restored")] == ["cement_modulus", "kp_stiffness_mesh"]
    assert marks[(2, "stiffness_pct_intact")] == ["cement_modulus", "vp_stiffness_edge"]
    # the intact body under the nonlinear test: only its strength's definition (force at the end of the travel)
    assert {k[1] for k in marks if k[0] == 0} == {"strength", "strength_pct_intact"}
    assert marks[(0, "strength")] == ["strength_travel"]
    assert (1, "strength_pct_restored") not in marks  # NaN cells are not marked


def test_linear_screen_marks_every_strength_and_unknown_states_are_left_alone():
    marks, _ = limit_marks(_rows() + [{"state": "other", "strength": 1.0}], KINDS, strength="linear")
    assert all(marks[(i, "strength")] == ["linear_screen"] for i in (0, 1))
    assert marks[(2, "strength")] == ["linear_screen"]  # the nonlinear-only caveats do not apply
    assert not [k for k in marks if k[0] == 4]
    with pytest.raises(ValueError, match="strength"):
        limit_marks(_rows(), KINDS, strength="fast")


def test_spine_rotations_carry_the_missing_posterior_elements():
    rows = [{"state": "VP", "spine_rotation_x_deg": 1.5, "spine_rotation_y_deg": math.nan, "spine_idp_L1_L2_MPa": 0.3}]
    marks, notes = limit_marks(rows, KINDS, strength="none")
    assert marks[(0, "spine_rotation_x_deg")] == ["spine_posterior"]
    assert (0, "spine_rotation_y_deg") not in marks and (0, "spine_idp_L1_L2_MPa") not in marks
    assert "facet" in notes["spine_posterior"]
