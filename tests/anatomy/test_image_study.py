"""Study files and the CLI on the image route."""

import pytest
from conftest import ct_example as example

from vbfem.study.schema import GeometrySpec, Study, StudyError, dumps_study, load_study


@pytest.mark.parametrize("data, message", [
    ({"image": "s.nii.gz"}, "geometry.image needs geometry.labels"),
    ({"image": "s.nii.gz", "labels": "l.nii.gz", "tissues": "1:bone"}, "must be one of 'body'"),
    ({"image": "s.nii.gz", "labels": "l.nii.gz", "tissues": "one:body"}, "each item must be 'label:tissue'"),
    ({"image": "s.nii.gz", "labels": "l.nii.gz", "tissues": "1:body", "surface": "v.stl"}, "exclude each other"),
    ({"labels": "l.nii.gz"}, "need geometry.image"),
    ({"image": "s.nii.gz", "labels": "l.nii.gz", "tissues": "1:body", "coarsen": 0}, "geometry.coarsen"),
])
def test_bad_image_geometry_names_the_key(data, message):
    with pytest.raises(StudyError, match=message):
        GeometrySpec(**data)


def test_image_study_round_trips_and_resolves_paths(tmp_path):
    (tmp_path / "s.toml").write_text('version = 1\ntreatments = []\n[fracture]\nkind = "none"\n[geometry]\n'
                                     'image = "scan.nii.gz"\nlabels = "seg/labels.nii.gz"\n'
                                     'tissues = "1:body, 2:posterior, 9:exclude"\ncalibration = "phantom.json"\n')
    study = load_study(tmp_path / "s.toml")
    g = study.geometry
    assert g.image == str(tmp_path / "scan.nii.gz") and g.labels == str(tmp_path / "seg" / "labels.nii.gz")
    assert g.calibration == str(tmp_path / "phantom.json")
    assert g.tissue_table() == {1: "body", 2: "posterior", 9: "exclude"}
    (tmp_path / "r.toml").write_text(dumps_study(study))
    assert load_study(tmp_path / "r.toml") == study
    assert Study().geometry.image is None and Study().geometry.calibration == "mg/cm3"


def test_image_study_refuses_treatments_without_a_fracture_and_missing_files(tmp_path):
    from vbfem.study.pipeline import build_states, check_inputs

    study = Study.from_dict({"geometry": {"image": str(tmp_path / "none.nii.gz"), "labels": "l.nii.gz",
                                          "tissues": "1:body"}, "fracture": {"kind": "none"}, "treatments": []})
    with pytest.raises(FileNotFoundError, match="geometry.image"):
        check_inputs(study)
    with pytest.raises(ValueError, match="needs a fractured body"):
        build_states(study.replace(treatments=[{"kind": "vertebroplasty"}]))
    with pytest.raises(FileNotFoundError):  # a fractured image study reads its scan first (no refusal any more)
        build_states(study.replace(fracture={"kind": "wedge", "grade": 1}))


def test_cli_mesh_image(tmp_path, capsys):
    pytest.importorskip("nibabel")
    from vbfem.cli import main

    mod = example()
    mod.write_ct(tmp_path, spacing=3.0)
    code = main(["mesh", "--image", str(tmp_path / "scan.nii.gz"), "--labels", str(tmp_path / "labels.nii.gz"),
                 "--tissues", "1:body, 2:cortex", "--calibration", str(tmp_path / "phantom.txt"),
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "node sets: bottom, inferior, superior" in out
    assert (tmp_path / "out" / "scan_voxels_x1.vtu").is_file()
    # a cut plane through the body: the voxels behind it become posterior elements (geometry.cut_x)
    code = main(["mesh", "--image", str(tmp_path / "scan.nii.gz"), "--labels", str(tmp_path / "labels.nii.gz"),
                 "--tissues", "1:body, 2:cortex", "--calibration", str(tmp_path / "phantom.txt"),
                 "--cut-x", "15", "--out", str(tmp_path / "cut")])
    assert code == 0
    from vbfem.output.vtu import read_vtu

    whole, cut = (read_vtu(tmp_path / d / "scan_voxels_x1.vtu")[0] for d in ("out", "cut"))
    moved = cut.cell_sets["posterior"].size - whole.cell_sets["posterior"].size
    assert moved > 0 and cut.cell_sets["body"].size == whole.cell_sets["body"].size - moved
    assert main(["mesh", "--level", "L1", "--cut-x", "20", "--out", str(tmp_path / "no")]) == 2
    assert "--cut-x 20: a cut plane applies to an image" in capsys.readouterr().err


def test_a_spinal_unit_on_an_image_model_is_refused_saying_why_and_what_to_use(tmp_path):
    from vbfem.study.schema import Study, StudyError

    geo = {"image": str(tmp_path / "scan.nii.gz"), "labels": str(tmp_path / "labels.nii.gz"), "tissues": "1:body",
           "level": "L2"}
    with pytest.raises(StudyError, match=r"spine: .*voxel grid.*not available with geometry.image.*with_discs"):
        Study(geometry=geo, spine={"levels": 3})
