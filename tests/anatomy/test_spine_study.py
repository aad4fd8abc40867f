"""The [spine] section of a study: defaults off (studies without it unchanged), round trip, bad input."""

import pytest

from vbfem.study.schema import Study, StudyError, dumps_study, load_study


def test_studies_without_a_unit_are_unchanged():
    assert "spine" not in Study().to_dict()
    assert "[spine]" not in dumps_study(Study())
    assert not Study().spine.on


def test_spine_section_round_trips(tmp_path):
    s = Study(geometry={"level": "L3"}, spine={"segments": ["L2", "L3", "L4"], "nucleus_nu": 0.45,
                                               "nucleus": "solid"})
    assert s.spine.segment_list() == ["L2", "L3", "L4"]
    path = tmp_path / "unit.toml"
    path.write_text(dumps_study(s))
    back = load_study(path)
    assert back.spine == s.spine and back.to_dict() == s.to_dict()


@pytest.mark.parametrize("kw, match", [
    ({"geometry": {"level": "L3"}, "spine": {"segments": ["L1", "L3"]}}, "neighbouring"),
    ({"geometry": {"level": "L5"}, "spine": {"levels": 3}}, "outside"),
    ({"spine": {"levels": 3}}, "no published height of the T12/L1 disc"),
    ({"geometry": {"level": "L3"}, "spine": {"levels": 3, "nucleus_nu": 0.5}}, "spine.nucleus_nu"),
    ({"geometry": {"level": "L3"}, "spine": {"levels": 3, "disc_height": 0.5}}, "thinner than half an element"),
    ({"geometry": {"level": "L3"}, "spine": {"levels": 3, "nucleus_fraction": 1.0}}, "spine.nucleus_fraction"),
    ({"geometry": {"level": "L3"}, "spine": {"levels": 4}}, "spine.levels"),
    ({"geometry": {"level": "L3"}, "spine": {"levels": 3, "nucleus": "gel"}}, "spine.nucleus"),
    ({"geometry": {"level": "L3"}, "spine": {"levels": 3, "nucleus_bulk": 0.0}}, "spine.nucleus_bulk"),
    ({"geometry": {"level": "L3"}, "mesh": {"cell_type": "tet4"}, "spine": {"levels": 2}}, "hex8"),
])
def test_bad_spine_input(kw, match):
    with pytest.raises(StudyError, match=match):
        Study(**kw)


def test_sweep_keys_reach_the_spine_section():
    from vbfem.study.columns import column_unit
    from vbfem.study.sweep import set_key

    s = set_key(Study(geometry={"level": "L3"}), "spine.levels", 3)
    assert s.spine.levels == 3
    assert set_key(s, "spine.disc_height", 9.0).spine.disc_height == 9.0
    assert column_unit("spine.disc_height") == "mm"


def test_example_study_with_a_unit_loads():
    from pathlib import Path

    study = load_study(Path(__file__).resolve().parents[2] / "examples" / "adjacent_level.toml")
    assert study.spine.levels == 3 and study.geometry.level == "L3"
