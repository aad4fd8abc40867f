"""Needle-tip offsets and the balloon position as study keys (treatments.tip_offset_x/y/z, balloon_start)."""
import numpy as np
import pytest

from vbfem.anatomy.geometry import build_vertebra
from vbfem.study.pipeline import _balloons, _needles, build_base, check_inputs, check_placement, run_study
from vbfem.study.schema import Study, StudyError, TreatmentSpec, dumps_study, load_study
from vbfem.treatment.balloon import BALLOON_START
from vbfem.treatment.needles import core_margin, in_core

OFFSET = (2.0, -1.5, 1.0)


def _offset_keys(offset=OFFSET):
    return dict(zip(("tip_offset_x", "tip_offset_y", "tip_offset_z"), offset))


@pytest.mark.parametrize("approach", ["bipedicular", "unipedicular"])
def test_the_offset_moves_every_needle_tip_by_exactly_the_offset_and_keeps_the_entry(approach):
    g = build_vertebra("L1")
    base = _needles(TreatmentSpec(approach=approach, volume=3.0), g)
    moved = _needles(TreatmentSpec(approach=approach, volume=3.0, **_offset_keys()), g)
    assert len(base) == len(moved) == (2 if approach == "bipedicular" else 1)
    for a, b in zip(base, moved):
        assert np.array_equal(np.subtract(b.tip, a.tip), np.add(a.tip, OFFSET) - a.tip)
        assert np.allclose(np.subtract(b.tip, a.tip), OFFSET, rtol=0, atol=1e-12)
        assert b.entry == a.entry
    # unset and an explicit zero: the same needles, bit for bit (signed zeros included)
    zero = _needles(TreatmentSpec(approach=approach, volume=3.0, **_offset_keys((0.0, 0.0, 0.0))), g)
    for a, z in zip(base, zero):
        assert a.tip == z.tip and np.signbit(a.tip).tolist() == np.signbit(z.tip).tolist()


def test_balloons_move_with_the_tip_offset_and_along_their_path_with_balloon_start():
    g = build_vertebra("L1")
    kp = {"kind": "kyphoplasty", "volume": 3.0}
    base = _balloons(TreatmentSpec(**kp), g)
    moved = _balloons(TreatmentSpec(**kp, **_offset_keys()), g)
    deeper = _balloons(TreatmentSpec(**kp, balloon_start=BALLOON_START + 3.0), g)
    for a, b, c in zip(base, moved, deeper):
        assert np.allclose(np.subtract(b.start, a.start), OFFSET, atol=1e-12)
        assert np.allclose(np.subtract(b.end, a.end), OFFSET, atol=1e-12)
        axis = g.needle_axis(a.side) / np.linalg.norm(g.needle_axis(a.side))
        assert np.allclose(np.subtract(c.start, a.start), 3.0 * axis, atol=1e-12)
        assert np.allclose(np.subtract(c.end, a.end), 3.0 * axis, atol=1e-12)
    zero = _balloons(TreatmentSpec(**kp, balloon_start=BALLOON_START, **_offset_keys((0.0, 0.0, 0.0))), g)
    assert [(b.start, b.end) for b in zero] == [(b.start, b.end) for b in base]


@pytest.mark.parametrize("key, value, match", [
    ("tip_offset_x", 25.0, r"treatments\[0\]\.tip_offset_x = 25\.0: must be a number in \[-20\.0, 20\.0\] mm"),
    ("tip_offset_z", "up", r"treatments\[0\]\.tip_offset_z = 'up': must be a number"),
    ("tip_offset_y", float("nan"), r"treatments\[0\]\.tip_offset_y = nan: must be a number"),
    ("balloon_start", -1.0, r"treatments\[0\]\.balloon_start = -1\.0: must be a number in \[0\.0, 40\.0\] mm"),
])
def test_bad_placement_values_are_refused_naming_key_value_and_range(key, value, match):
    with pytest.raises(StudyError, match=match):
        Study(treatments=[{"name": "KP", "kind": "kyphoplasty", key: value}])


def test_studies_without_placement_keys_keep_their_text_and_hash():
    """Unset, the keys are not written (the resolved text, hence a sweep's case hashes, stay as they were);
    set, they are written and read back."""
    text = dumps_study(Study())
    assert "tip_offset" not in text and "balloon_start" not in text
    s = Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_start": 6.0, "tip_offset_y": -1.0}])
    text = dumps_study(s)
    assert "balloon_start = 6.0" in text and "tip_offset_y = -1.0" in text and "tip_offset_x" not in text


def test_a_balloon_position_on_a_vertebroplasty_is_refused():
    with pytest.raises(StudyError, match=r"treatments\[0\]\.balloon_start = 7\.0: a balloon position needs kind"):
        Study(treatments=[{"name": "VP", "balloon_start": 7.0}])


@pytest.mark.parametrize("treatment, match", [
    ({"name": "VP", "tip_offset_x": 12.0},
     (r"treatments\[0\]\.tip_offset_x = 12\.0: the tip of needle 'transpedicular_left' .* outside the vertebral "
      r"body's trabecular core")),
    ({"name": "VP", "approach": "unipedicular", "tip_offset_z": -17.0},
     r"treatments\[0\]\.tip_offset_z = -17\.0: the tip of needle 'unipedicular_left' .* trabecular core"),
    ({"name": "KP", "kind": "kyphoplasty", "balloon_start": 20.0},
     r"treatments\[0\]\.balloon_start = 20\.0: balloon 'left'.* runs out of the vertebral body"),
    ({"name": "KP", "kind": "kyphoplasty", "tip_offset_z": 8.0},
     (r"treatments\[0\]\.tip_offset_z = 8\.0, treatments\[0\]\.balloon_start = 5\.0: balloon 'left' of treatment "
      r"'KP' reaches .* outside the vertebral body's trabecular core")),
])
def test_a_tip_or_balloon_outside_the_trabecular_core_is_refused_before_any_computation(treatment, match):
    study = Study(mesh={"size": 3.0}, treatments=[treatment])
    with pytest.raises(StudyError, match=match):
        check_inputs(study)  # what run_study, sweeps and plans call first: no mesh is made
    with pytest.raises(StudyError, match=match):
        run_study(study)


def test_the_core_is_the_body_without_its_shell_and_endplates():
    g = build_vertebra("L1")
    m = core_margin(g)
    assert m == max(g.shell_thickness, g.endplate_thickness)
    top = g.z_superior(0.0, 0.0)
    pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, top - 0.5 * m], [0.0, 0.0, top - 1.5 * m]])
    assert in_core(g, pts).tolist() == [True, False, True]
    # every default placement of every level is in the core, and every balloon that fitted before
    # the offsets existed still does (e.g. T7's 20 mm balloon, whose distal end nears the wall)
    from vbfem.anatomy.morphometry import LEVELS
    from vbfem.treatment.balloon import BALLOON_CAPACITY, BALLOON_LENGTHS, place_balloons

    for level in LEVELS:
        gl = build_vertebra(level)
        check_placement(Study(geometry={"level": level}, treatments=[
            {"name": "VP"}, {"name": "VPu", "approach": "unipedicular"}]), gl)
        for approach in ("bipedicular", "unipedicular"):
            for length in BALLOON_LENGTHS:
                try:
                    place_balloons(gl, balloons=approach, length=length)
                except ValueError:
                    continue  # longer than this body along its path, as before
                check_placement(Study(geometry={"level": level}, treatments=[  # a volume the balloon holds
                    {"name": "KP", "kind": "kyphoplasty", "approach": approach, "balloon_length": length,
                     "balloon_volume": BALLOON_CAPACITY[length], "volume": BALLOON_CAPACITY[length]}]), gl)


def _study(**treatment_keys):
    return Study(name="placement", mesh={"size": 3.0}, load={"strength": "none"},
                 output={"vtu": False, "pictures": False, "report": False},
                 treatments=[{"name": "VP", "volume": 3.0},
                             {"name": "VPzero", "volume": 3.0, **_offset_keys((0.0, 0.0, 0.0))},
                             {"name": "VPoff", "volume": 3.0, **treatment_keys},
                             {"name": "KPoff", "kind": "kyphoplasty", "volume": 3.0, "balloon_start": 6.0,
                              **treatment_keys}])


def test_the_pipeline_places_needles_and_balloons_at_the_offset_and_writes_it(tmp_path):
    study = _study(**_offset_keys())
    base = build_base(study)
    res = run_study(study, base=base, out=tmp_path)
    st = {s.name: s for s in res.states}
    g = res.geometry

    def tips(state):
        return np.array([n["tip"] for n in state.treatment.params["needles"]])
    # the injection ran from the moved tips
    assert np.allclose(tips(st["VPoff"]) - tips(st["VP"]), OFFSET, rtol=0, atol=1e-12)
    # an explicit zero reproduces the default placement and its numbers bit for bit
    rows = {r["state"]: r for r in res.rows}
    for k, v in rows["VP"].items():
        if k != "state":
            assert repr(v) == repr(rows["VPzero"][k]), k
    # kyphoplasty: balloons at the offset and 1 mm deeper along the path, the fill needles at their middles
    kp = st["KPoff"].treatment
    default = _balloons(TreatmentSpec(kind="kyphoplasty", volume=3.0), g)
    for b, d in zip(kp.balloons, default):
        axis = g.needle_axis(b.side) / np.linalg.norm(g.needle_axis(b.side))
        assert np.allclose(np.subtract(b.start, d.start), np.add(OFFSET, axis), atol=1e-12)
    # in the results and in the resolved study
    assert [rows["VPoff"][f"tip_offset_{a}_mm"] for a in "xyz"] == list(OFFSET)
    assert [rows["VP"][f"tip_offset_{a}_mm"] for a in "xyz"] == [0.0, 0.0, 0.0]
    assert rows["KPoff"]["balloon_start_mm"] == 6.0
    # a plan may target every column of the treated rows (vbfem.plan.spec.STUDY_COLUMNS)
    from vbfem.plan.spec import STUDY_COLUMNS

    for name in ("VPoff", "KPoff"):
        assert set(rows[name]) - {"state"} <= set(STUDY_COLUMNS), name
    again = load_study(tmp_path / "study.toml")
    assert again.treatments[2].tip_offset == OFFSET and again.treatments[3].balloon_start == 6.0
    assert dumps_study(again) == dumps_study(study)
    import json

    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["study"]["treatments"][2]["tip_offset_y"] == OFFSET[1]


def test_a_tip_in_the_intact_core_but_not_in_the_fractured_bone_is_reported_with_its_keys():
    """A grade-2 wedge lowers the superior endplate: a tip 7 mm up passes the intact body's check and
    is refused, naming its key, before the injection starts."""
    from vbfem.study.pipeline import build_states

    study = Study(mesh={"size": 3.0}, load={"strength": "none"}, treatments=[{"name": "VP", "tip_offset_z": 7.0}])
    check_inputs(study)
    with pytest.raises(StudyError, match=r"tip_offset_z = 7\.0 of treatment 'VP': in the fractured body, needle "
                                         r"'transpedicular_left': tip .* is not in a flow cell"):
        build_states(study)
