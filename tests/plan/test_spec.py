"""Plan files: the records, and clear errors on bad input before any simulation."""

from pathlib import Path

import pytest

from vbfem.plan.spec import (
    STUDY_COLUMNS,
    DesignSpace,
    DesignVariable,
    Objective,
    PlanSettings,
    Target,
    UncertainInput,
    load_plan,
    plan_from_dict,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan" / "plan.toml"

BASE = {"version": 1, "name": "p", "mesh": {"size": 3.0}, "load": {"strength": "linear"},
        "treatments": [{"name": "VP", "kind": "vertebroplasty"}]}


def _plan(**changes):
    data = {"base": BASE, "design": {"treatments[0].volume": {"low": 2.0, "high": 4.0, "step": 1.0}},
            "uncertainty": {"bone.bmd": {"dist": "norm", "loc": 0.1, "scale": 0.01}},
            "targets": [{"column": "stiffness_pct_intact", "min": 90.0}]}
    data.update(changes)
    return data


def test_the_example_plan_loads_with_its_study():
    spec = load_plan(EXAMPLE)
    assert spec.state == "VP" and spec.study.mesh.size == 3.0
    assert spec.design.size == 5 * 2 * 3
    assert spec.columns == ("stiffness_pct_intact", "cement_ml", "leaked_ml")
    assert [u.key for u in spec.uncertainty] == ["bone.bmd", "fracture.height_loss", "treatments[0].viscosity"]


def test_design_levels_grid_and_unit_coordinates():
    v = DesignVariable.from_dict("treatments[0].volume", {"low": 2.0, "high": 6.0, "step": 1.0})
    assert v.values == (2.0, 3.0, 4.0, 5.0, 6.0) and v.numeric
    a = DesignVariable("treatments[0].approach", ("unipedicular", "bipedicular"))
    space = DesignSpace((v, a))
    assert space.size == 10 and len(space.candidates()) == 10
    c = {"treatments[0].volume": 5.0, "treatments[0].approach": "bipedicular"}
    assert list(space.encode(c)) == [0.75, 1.0]
    assert space.snap([0.7, 0.9]) == {"treatments[0].volume": 5.0, "treatments[0].approach": "bipedicular"}
    assert DesignVariable.from_dict("x", {"low": 0.0, "high": 0.3, "step": 0.1}).values == (0.0, 0.1, 0.2, 0.3)


def test_empty_design_space_is_refused():
    with pytest.raises(ValueError, match="design space is empty"):
        DesignSpace(())
    with pytest.raises(ValueError, match="design space is empty"):
        plan_from_dict(_plan(design={}))
    with pytest.raises(ValueError, match=r"design\.treatments\[0\]\.volume\.step = 0"):
        plan_from_dict(_plan(design={"treatments[0].volume": {"low": 2.0, "high": 4.0, "step": 0}}))
    with pytest.raises(ValueError, match=r"high = 1\.0: must be >= low = 2\.0"):
        plan_from_dict(_plan(design={"treatments[0].volume": {"low": 2.0, "high": 1.0, "step": 1.0}}))


@pytest.mark.parametrize("spec, match", [
    ({"dist": "norm", "loc": 0.1, "scale": -0.01}, r"invalid for scipy\.stats\.norm"),
    ({"dist": "lognorm", "s": -1.0}, r"invalid for scipy\.stats\.lognorm"),
    ({"dist": "norm", "mean": 0.1}, r"do not fit scipy\.stats\.norm"),
    ({"dist": "gauss", "loc": 0.1}, r"dist = 'gauss': must name a scipy\.stats distribution"),
    ({"dist": "uniform", "loc": 0.1, "scale": float("nan")}, r"scale = nan: must be a finite number"),
])
def test_invalid_distributions_are_refused(spec, match):
    with pytest.raises(ValueError, match=match):
        plan_from_dict(_plan(uncertainty={"bone.bmd": spec}))


def test_uncertain_values_map_through_the_inverse_cdf():
    u = UncertainInput("bone.bmd", "uniform", (("loc", 0.07), ("scale", 0.05)))
    assert list(u.from_unit([0.0, 0.5, 1.0])) == pytest.approx([0.07, 0.095, 0.12])
    g = UncertainInput("fracture.grade", "randint", (("low", 1), ("high", 4)))
    assert g.discrete and list(g.from_unit([0.1, 0.5, 0.9])) == [1, 2, 3]


def test_targets_on_unknown_columns_are_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"targets\.column = 'stifness': is not a results column; known columns: "):
        plan_from_dict(_plan(targets=[{"column": "stifness", "min": 1.0}]))
    with pytest.raises(ValueError, match=r"objective\.weights = 'cement'"):
        plan_from_dict(_plan(objective={"minimize": "cement"}))
    with pytest.raises(ValueError, match="needs min and/or max"):
        Target("stiffness")
    with pytest.raises(ValueError, match="targets: none given"):
        plan_from_dict(_plan(targets=[]))
    assert "leaked_ml" in STUDY_COLUMNS and "needle_pressure_kPa" in STUDY_COLUMNS


def test_keys_the_study_cannot_take_are_refused_before_any_simulation():
    with pytest.raises(ValueError, match=r"design\.treatments\[0\]\.colour = 'red'"):
        plan_from_dict(_plan(design={"treatments[0].colour": {"values": ["red"]}}))
    with pytest.raises(ValueError, match=r"design\.treatments\[0\]\.volume = 30\.0"):
        plan_from_dict(_plan(design={"treatments[0].volume": {"values": [2.0, 30.0]}}))
    with pytest.raises(ValueError, match=r"uncertainty\.bone\.bmd.*also a design variable"):
        plan_from_dict(_plan(uncertainty={"bone.bmd": {"dist": "norm", "loc": 0.1, "scale": 0.01}},
                             design={"bone.bmd": {"values": [0.1]}}))
    with pytest.raises(ValueError, match="state = 'KP'"):
        plan_from_dict(_plan(state="KP"))


def test_settings_and_objective_are_checked():
    with pytest.raises(ValueError, match=r"settings\.probability = 1\.5"):
        PlanSettings(probability=1.5)
    with pytest.raises(ValueError, match=r"settings\.n_verify = 0"):
        PlanSettings(n_verify=0)
    with pytest.raises(ValueError, match="settings"):
        plan_from_dict(_plan(settings={"nsamples": 3}))
    with pytest.raises(ValueError, match=r"objective\.weights\.cement_ml = -1"):
        Objective((("cement_ml", -1),))
    assert Objective.from_dict({"weights": {"cement_ml": 1.0, "leak_probability": 4.0}}).value(
        {"cement_ml": 3.0}, 0.25) == 4.0


def test_sweep_simulator_turns_invalid_points_into_failed_rows_without_running(tmp_path):
    from vbfem.plan.simulate import SweepSimulator
    from vbfem.study.schema import Study

    study = Study.from_dict(BASE)
    sim = SweepSimulator(study, "VP", tmp_path / "sims", workers=1)
    # 20 mL unipedicular at 3 mL/min from 900 s would end after the cement sets: not a valid study
    rows = sim([{"treatments[0].volume": 20.0, "treatments[0].approach": "unipedicular",
                 "treatments[0].start_time": 900.0}])
    assert len(rows) == 1 and "sets" in rows[0]["error"] and sim.computed == 0
    assert not (tmp_path / "sims").exists()
    with pytest.raises(ValueError, match="state = 'KP'"):
        SweepSimulator(study, "KP", tmp_path)
    with pytest.raises(ValueError, match="workers = 0"):
        SweepSimulator(study, "VP", tmp_path, workers=0)


def test_the_package_imports_without_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import vbfem.plan, vbfem.cli, vbfem.plan.report, vbfem.plan.simulate\n"
            "from vbfem.plan.surrogate import fit_surrogate\n"
            "try:\n    fit_surrogate([[0.0], [1.0]], {'y': [0.0, 1.0]})\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert "pip install 'vbfem[plan]'" in out.stdout
