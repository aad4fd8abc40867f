"""Study schema: validation with key paths, TOML round trip, unknown keys."""

import pytest

from vbfem.study.schema import SCHEMA_VERSION, Study, StudyError, TreatmentSpec, dumps_study, load_study


def test_defaults_round_trip_through_toml(tmp_path):
    study = Study(name="rt", seed=7, fracture={"kind": "crush", "height_loss": 0.3})
    path = tmp_path / "s.toml"
    path.write_text(dumps_study(study))
    again = load_study(path)
    assert again == study
    assert again.to_dict() == study.to_dict()
    assert again.fracture.grade is None and again.fracture.height_loss == 0.3
    assert again.to_dict()["version"] == SCHEMA_VERSION
    # no treatments stays no treatments (not the defaults) after a round trip
    bare = Study(name="bare", fracture={"kind": "none"}, treatments=[])
    path.write_text(dumps_study(bare))
    assert load_study(path) == bare and load_study(path).treatments == ()


def test_kyphoplasty_balloon_volume_defaults_to_half_the_cement_per_balloon():
    kp = TreatmentSpec(kind="kyphoplasty", approach="bipedicular", volume=5.0)
    assert kp.balloon_volume_ml == 2.5 and kp.balloon_volume is None
    assert TreatmentSpec(kind="kyphoplasty", approach="unipedicular", volume=3.0).balloon_volume_ml == 3.0
    # a sweep over the cement volume moves the derived balloon volume along; a given one stays
    from vbfem.study.sweep import set_key

    s = set_key(Study(), "treatments[1].volume", 6.0)
    assert s.treatments[1].balloon_volume_ml == 3.0
    given = Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_volume": 1.5}])
    assert set_key(given, "treatments[0].volume", 6.0).treatments[0].balloon_volume_ml == 1.5


def test_resolved_toml_shows_the_derived_balloon_volume_and_cement_values(tmp_path):
    """The written study shows every value the run used (issue 23): KP's balloon volume and the cement
    preset's viscosity and flow index, as comments, so that they keep following what they derive from."""
    from vbfem.study.sweep import set_key

    text = dumps_study(Study())
    kp = text[text.index('name = "KP"'):]
    assert "# balloon_volume = 2.0  # mL per balloon" in kp and "# viscosity = 100.0  # Pa s" in kp
    assert "# flow_index = 1.0" in kp and "balloon_volume" not in text[:text.index('name = "KP"')]  # VP has none
    uni = Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "approach": "unipedicular", "volume": 3.0}])
    assert "# balloon_volume = 3.0  # mL per balloon; unset, it is the cement volume shared by the 1 balloon\n" \
        in dumps_study(uni)
    # read back, the study is the same (the key stays unset) and a sweep over the volume still moves it
    path = tmp_path / "s.toml"
    path.write_text(text)
    again = load_study(path)
    assert again == Study() and again.treatments[1].balloon_volume is None
    assert set_key(again, "treatments[1].volume", 6.0).treatments[1].balloon_volume_ml == 3.0
    assert "# balloon_volume = 3.0" in dumps_study(set_key(again, "treatments[1].volume", 6.0))
    # a value given is written as a key, not a comment
    given = dumps_study(Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_volume": 1.5,
                                           "viscosity": 250.0}]))
    assert "\nballoon_volume = 1.5\n" in given and "\nviscosity = 250.0\n" in given
    assert "# balloon_volume" not in given and "# viscosity" not in given


@pytest.mark.parametrize(
    "data, message",
    [
        ({"fracture": {"grade": 5}}, r"^fracture\.grade = 5: must be an integer in \[1, 3\]"),
        ({"fracture": {"grde": 2}}, r"^fracture\.grde: unknown key; allowed keys: grade, height_loss, kind"),
        ({"mesh": {"size": "fine"}}, r"^mesh\.size = 'fine': must be a number"),
        ({"mesh": {"cell_type": "hex20"}}, r"^mesh\.cell_type = 'hex20': must be one of 'hex8'"),
        ({"treatments": [{}, {"volume": -1}]}, r"^treatments\[1\]\.volume = -1\.0: must be a number in \(0\.0, 20\.0\] mL"),
        ({"treatments": {"volume": 1}}, r"^treatments: must be a list of tables"),
        ({"treatments": [{"name": "A"}, {"name": "A"}]}, r"name 'A' is used twice"),
        ({"bone": {"law": "hooke"}}, r"^bone\.law = 'hooke': must be one of 'morgan2003'"),
        ({"bone": {"bmd": 2.5}}, r"^bone\.bmd = 2\.5: must be a number in \(0\.0, 2\.0\] g/cm3"),
        ({"bone": {"bmd": "weak"}}, r"^bone\.bmd = 'weak': must be one of 'normal'"),
        ({"output": {"vtu": "yes"}}, r"^output\.vtu = 'yes': must be true/false"),
        ({"version": 2}, r"^version = 2: this vbfem reads study schema version 1"),
        ({"sed": 1}, r"^sed: unknown key; allowed top-level keys"),
        ({"seed": -1}, r"^seed = -1: must be an integer in \[0, inf\]"),
        ({"load": {"displacement": float("nan")}}, r"^load\.displacement = nan: must be finite"),
        ({"treatments": [{"flow_index": 1.5}]}, r"^treatments\[0\]\.flow_index = 1\.5: must be a number in \[0\.1, 1\.0\]"),
        ({"treatments": [{"viscosity": 0}]}, r"^treatments\[0\]\.viscosity = 0\.0: must be a number in \(0\.0, inf\]"),
    ],
)
def test_bad_values_name_the_key_path(data, message):
    with pytest.raises(StudyError, match=message):
        Study.from_dict(data)


def test_toml_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_study(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mesh\nsize = 2")
    with pytest.raises(StudyError, match="not valid TOML"):
        load_study(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("version = 1\n[fracture]\nkind = 'wedge'\ngrad = 2\n")
    with pytest.raises(StudyError, match=r"fracture\.grad: unknown key"):
        load_study(typo)


def test_python_object_uses_the_same_checks():
    with pytest.raises(StudyError, match=r"^mesh\.size = 0\.0"):
        Study(mesh={"size": 0.0})
    s = Study().replace(seed=3)
    assert s.seed == 3 and s.treatments[0].kind == "vertebroplasty"


def test_cement_viscosity_and_flow_index_override_the_preset(tmp_path):
    from vbfem.materials.cement import CEMENTS

    t = TreatmentSpec(cement="pmma", viscosity=250.0, flow_index=0.6)
    c = t.cement_record()
    assert (c.viscosity_ref, c.flow_index, c.E) == (250.0, 0.6, CEMENTS["pmma"].E)
    assert TreatmentSpec().cement_record() is CEMENTS["pmma"]
    study = Study(treatments=[{"name": "VP", "viscosity": 250.0, "flow_index": 0.6}])
    path = tmp_path / "s.toml"
    path.write_text(dumps_study(study))
    assert load_study(path).treatments[0].cement_record() == c


@pytest.mark.parametrize(("load", "message"), [
    ({"ultimate_strain": 0.01}, r"softening keys \['ultimate_strain'\] given without"),
    ({"ultimate_strain": 0.01, "softening_ratio": -0.05, "residual_ratio": 0.7, "strength": "linear"},
     r"nonlinear strength test only"),
    ({"softening_ratio": 0.1}, r"^load\.softening_ratio = 0\.1: must be a number in \[-1000000\.0, 0\.0\)"),
])
def test_softening_keys_come_together_and_with_the_nonlinear_test(load, message):
    with pytest.raises(StudyError, match=message):
        Study.from_dict({"load": load})


def test_softening_keys_give_the_law_and_stay_out_of_the_default_study():
    from vbfem.materials.strength import Softening

    assert "ultimate_strain" not in Study().to_dict()["load"]  # default studies keep their text and hash
    assert Study().load.softening() is None
    law = Study(load={"ultimate_strain": 0.01, "softening_ratio": -0.05, "residual_ratio": 0.7}).load.softening()
    assert law == Softening(ultimate_plastic_strain=0.01, softening_ratio=-0.05, residual_ratio=0.7)
