"""Round trip of the image route on the synthetic QCT of examples/ct_vertebra."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from vbfem.anatomy.calibration import Calibration
from vbfem.anatomy.ct import ct_mesh
from vbfem.anatomy.image import volume_from_array
from vbfem.fem.static import solve_static
from vbfem.materials.image import ct_materials
from vbfem.mechanics.loadcases import compression_test

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ct_vertebra"


def _example():
    spec = importlib.util.spec_from_file_location("synthetic_ct", EXAMPLE / "synthetic_ct.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ct():
    return _example().synthetic_ct("L1", spacing=2.0)


def test_known_density_field_gives_back_its_moduli(ct):
    mod = _example()
    cal = Calibration(unit="HU", slope=mod.PHANTOM[0], intercept=mod.PHANTOM[1])
    vol = volume_from_array(ct["hu"], spacing=ct["spacing"], labels=ct["labels"])
    mesh, info = ct_mesh(vol, tissues={1: "body", 2: "cortex"}, calibration=cal)
    mat, rep = ct_materials(mesh, calibration=cal, law=ct["law"])
    assert rep.n_low == rep.n_high == 0
    bone = mesh.cell_sets["body"]
    pad = np.asarray(info.caps.pad)
    ijk = np.column_stack(np.unravel_index(mesh.cell_data["voxel"][bone],
                                           tuple(np.asarray(ct["labels"].shape) + 2 * pad))) - pad
    truth = ct["modulus"][tuple(ijk.T)]
    assert np.allclose(mat.E[bone], truth, rtol=1e-9)
    assert np.allclose(mat.density[bone], ct["apparent"][tuple(ijk.T)], rtol=1e-9)
    # the shell voxels carry the level's cortical modulus back
    from vbfem.materials.bone import BONE_QUALITY
    assert np.allclose(mat.E[mesh.cell_sets["cortex"]], BONE_QUALITY["osteoporotic"].cortical_E, rtol=1e-9)


def test_study_file_runs_the_image_route(tmp_path):
    pytest.importorskip("nibabel")
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import load_study

    _example().write_ct(tmp_path, spacing=2.0, noise_hu=10.0)
    (tmp_path / "study.toml").write_text((EXAMPLE / "study.toml").read_text())
    study = load_study(tmp_path / "study.toml")
    assert study.geometry.image == str(tmp_path / "scan.nii.gz")
    assert study.geometry.tissue_table() == {1: "body", 2: "cortex"}
    res = run_study(study)
    k = res.rows[0]["stiffness"]
    # the same model built by hand from the files
    from vbfem.anatomy.calibration import read_calibration
    from vbfem.anatomy.image import read_volume

    cal = read_calibration(tmp_path / "phantom.txt")
    mesh, _ = ct_mesh(read_volume(tmp_path / "scan.nii.gz", labels=tmp_path / "labels.nii.gz"),
                      tissues={1: "body", 2: "cortex"}, calibration=cal)
    mat, rep = ct_materials(mesh, calibration=cal)
    assert rep.n_high == 0
    direct = solve_static(mesh, mat, compression_test(mesh, displacement=study.load.displacement))
    assert k == pytest.approx(direct.stiffness("platen"), rel=1e-6)
