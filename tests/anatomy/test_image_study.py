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


def _block_study(d, **kw):
    """A study on a small homogeneous voxel block written as NIfTI (scan in mg/cm3 and its label image)."""
    nib = pytest.importorskip("nibabel")
    import numpy as np

    lab = np.zeros((10, 8, 6), np.int16)
    lab[1:9, 1:7, 1:5] = 1
    aff = np.diag([1.5, 1.5, 1.5, 1.0])
    nib.save(nib.Nifti1Image(np.full(lab.shape, 150.0, np.float32), aff), str(d / "scan.nii"))
    nib.save(nib.Nifti1Image(lab, aff), str(d / "seg.nii"))
    return Study(geometry={"image": str(d / "scan.nii"), "labels": str(d / "seg.nii"), "tissues": "1:body"},
                 fracture={"kind": "none"}, treatments=[], **kw)


def _block_model(study):
    from vbfem.anatomy.ct import ct_mesh
    from vbfem.anatomy.image import read_volume
    from vbfem.materials.image import ct_materials

    mesh, _ = ct_mesh(read_volume(study.geometry.image, labels=study.geometry.labels), tissues={1: "body"})
    return mesh, ct_materials(mesh)[0]


def test_bending_cases_of_an_image_study_are_those_of_the_api(tmp_path):
    from vbfem.mechanics.compare import compare_states
    from vbfem.study.pipeline import run_study

    for case, name in (("flexion", "flexion"), ("lateral_bending", "lateral_bending_left")):
        study = _block_study(tmp_path, load={"case": case, "strength": "linear", "force": 500.0, "moment": 7500.0})
        row = run_study(study).rows[0]
        mesh, mat = _block_model(study)
        ref = compare_states({"intact": (mesh, mat)}, load=name, load_options={"force": 500.0, "moment": 7500.0},
                             strength="linear").rows[0]
        assert row["stiffness"] == pytest.approx(ref.stiffness, rel=1e-9)
        assert row["strength"] == pytest.approx(ref.strength, rel=1e-9)


def test_sliding_platens_with_the_nonlinear_strength_in_an_image_study(tmp_path, monkeypatch):
    from vbfem.mechanics import failure
    from vbfem.mechanics.failure import STRENGTH_STRAIN, endplate_height
    from vbfem.mechanics.sliding import sliding_comparison
    from vbfem.study.pipeline import run_study

    asked = []
    start = failure.start_compression_curves

    def spy(states, **kw):
        asked.append(kw.get("platens"))
        return start(states, **kw)

    monkeypatch.setattr(failure, "start_compression_curves", spy)
    study = _block_study(tmp_path, load={"platens": "sliding", "strength": "nonlinear", "displacement": 0.02})
    res = run_study(study)
    assert asked == ["sliding"]  # the strength curves between the study's sliding platens
    row = res.rows[0]
    mesh, mat = _block_model(study)
    ref = sliding_comparison({"intact": (mesh, mat)}, displacement=0.02, strength="linear").rows[0]
    assert row["stiffness"] == pytest.approx(ref.stiffness, rel=1e-9)  # the sliding stiffness test
    # the strength test's curve between the same sliding platens, to 3 % of the height
    assert row["curve_travel_mm"] == pytest.approx(STRENGTH_STRAIN * endplate_height(mesh), rel=1e-9)
    assert row["yield_N"] < row["strength"] < ref.stiffness * row["curve_travel_mm"]


def test_the_run_header_reports_the_image_its_axes_and_the_clipped_voxels(tmp_path):
    from vbfem.cli.common import describe_run
    from vbfem.study.pipeline import run_study

    study = _block_study(tmp_path, load={"strength": "linear"})
    res = run_study(study)
    head = describe_run(study, res, command="vbfem run")[0]
    assert f"image {tmp_path / 'scan.nii'} (axes RAS)" in head  # a diagonal affine: stored in RAS order
    assert "calibrated (mg/cm3; 0 voxels clipped)" in head and "voxel hex8 mesh x1" in head
