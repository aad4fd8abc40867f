"""The keys the issue names for the design space and the uncertainty, and the adjacent-level columns a
target may read: each accepted by a plan over the study route (checked before any simulation)."""

import pytest

from vbfem.plan.spec import STUDY_COLUMNS, plan_from_dict, study_columns
from vbfem.study.schema import Study

KP = {"version": 1, "name": "p", "mesh": {"size": 3.0}, "load": {"strength": "linear"},
      "treatments": [{"name": "KP", "kind": "kyphoplasty"}]}


def _plan(base, **changes):
    data = {"base": base, "design": {"treatments[0].volume": {"low": 2.0, "high": 4.0, "step": 1.0}},
            "targets": [{"column": "stiffness_pct_intact", "min": 90.0}]}
    data.update(changes)
    return data


def test_balloon_volume_and_position_and_tip_offsets_are_design_variables():
    spec = plan_from_dict(_plan(KP, design={
        "treatments[0].balloon_volume": {"low": 1.0, "high": 3.0, "step": 1.0},
        "treatments[0].balloon_start": {"values": [4.0, 5.0, 6.0]},
        "treatments[0].tip_offset_z": {"values": [-2.0, 0.0, 2.0]},
        "treatments[0].approach": {"values": ["unipedicular", "bipedicular"]}}))
    assert spec.design.size == 3 * 3 * 3 * 2
    with pytest.raises(ValueError, match=r"design\.treatments\[0\]\.balloon_start = 20\.0: .*balloon 'left'"):
        plan_from_dict(_plan(KP, design={"treatments[0].balloon_start": {"values": [5.0, 20.0]}}))


def test_the_uncertain_inputs_the_issue_names_are_accepted():
    """BMD, fracture grade (an integer distribution), permeability (the seeded random field's scatter and
    its realisation, the study seed), viscosity scatter, placement error."""
    base = {**KP, "treatments": [{"name": "KP", "kind": "kyphoplasty", "permeability_sd": 0.37}]}
    spec = plan_from_dict(_plan(base, uncertainty={
        "bone.bmd": {"dist": "uniform", "loc": 0.07, "scale": 0.05},
        "fracture.grade": {"dist": "randint", "low": 1, "high": 4},
        "treatments[0].permeability_sd": {"dist": "uniform", "loc": 0.2, "scale": 0.3},
        "seed": {"dist": "randint", "low": 0, "high": 1000},
        "treatments[0].viscosity": {"dist": "lognorm", "s": 0.294, "scale": 95.8},
        "treatments[0].tip_offset_x": {"dist": "norm", "loc": 0.0, "scale": 1.57}}))
    grade = spec.uncertainty[1]
    assert grade.discrete and sorted(set(grade.from_unit([0.1, 0.5, 0.9]).tolist())) == [1, 2, 3]


def test_adjacent_level_measures_are_target_columns_of_a_study_with_a_spinal_unit():
    study = Study(name="unit", geometry={"level": "L3"}, mesh={"size": 6.0}, fracture={"kind": "none"},
                  treatments=[], load={"strength": "none"}, spine={"levels": 2})
    cols = study_columns(study)
    assert cols[: len(STUDY_COLUMNS)] == STUDY_COLUMNS and study_columns(Study()) == STUDY_COLUMNS
    assert {"spine_idp_L2_L3_MPa", "spine_endplate_L2:inferior_mean_MPa", "spine_risk_ratio_L2"} <= set(cols)
    base = {"version": 1, "name": "p", "geometry": {"level": "L3"}, "mesh": {"size": 3.0}, "spine": {"levels": 3},
            "load": {"strength": "linear"}, "treatments": [{"name": "VP"}]}
    spec = plan_from_dict(_plan(base, targets=[{"column": "spine_idp_L2_L3_MPa", "max": 1.0},
                                               {"column": "spine_risk_ratio_L4", "max": 1.0}]))
    assert [t.column for t in spec.targets] == ["spine_idp_L2_L3_MPa", "spine_risk_ratio_L4"]
    with pytest.raises(ValueError, match="spine_idp_L1_L2_MPa"):
        plan_from_dict(_plan(base, targets=[{"column": "spine_idp_L1_L2_MPa", "max": 1.0}]))


def test_the_spine_columns_are_those_a_real_run_writes():
    """Intact L3 in a two-level unit at 6 mm (as tests/mechanics/test_spine_outputs.py)."""
    from vbfem.study.pipeline import run_study

    study = Study(name="unit", geometry={"level": "L3"}, mesh={"size": 6.0}, fracture={"kind": "none"},
                  treatments=[], load={"strength": "none"}, spine={"levels": 2})
    row = run_study(study).rows[0]
    assert {k for k in row if k.startswith("spine_")} == {c for c in study_columns(study) if c.startswith("spine_")}
