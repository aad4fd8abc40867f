"""The pictures of the adjacent endplates of a study's states in their unit (endplate_pictures) and the
rows of unit solutions."""

import numpy as np
import pytest

pytest.importorskip("pyvista")

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.spinal_unit import assemble_unit, prepare_spine
from vbfem.mechanics.spine import solve_unit, unit_load_case, unit_response
from vbfem.study.spine import UnitSolution, endplate_pictures, unit_rows


def test_endplate_pictures_and_rows(tmp_path):
    from PIL import Image

    mesh = mesh_vertebra(build_vertebra("L3"), size=8.0)
    bone = assign_bone(mesh, seed=0)
    unit = assemble_unit(prepare_spine(mesh, level="L3", levels=3, size=8.0), mesh, bone)
    r = unit_response(unit, solve_unit(unit, unit_load_case(unit, "flexion"))[0])
    sols = [UnitSolution("intact", "flexion", r), UnitSolution("VP", "flexion", r)]
    files, captions = endplate_pictures(sols, tmp_path, load_text="flexion")
    assert set(files) == set(captions) == {"picture:spine:endplate_pressure", "picture:spine:endplate_strain"}
    for path in files.values():
        img = np.asarray(Image.open(path).convert("RGB"), float)
        assert img.shape[1] == 2 * 260 and img.std() > 10  # two states side by side
    rows = unit_rows(sols)
    assert [row["state"] for row in rows] == ["intact", "VP"]
    assert rows[0]["idp_L2_L3_MPa"] == r.intradiscal_pressure["L2_L3"]
    assert endplate_pictures([], tmp_path, load_text="x") == ({}, {})


def test_unit_load_text_names_the_units_force_and_moment():
    from vbfem.study.schema import Study
    from vbfem.study.spine import unit_load_text

    s = Study(name="u")
    assert unit_load_text(s.replace(load=dict(s.load.to_dict(), case="compression", force=500.0))) == \
        "compression in the unit, 500 N axial force"
    text = unit_load_text(s.replace(load=dict(s.load.to_dict(), case="flexion", force=500.0, moment=7500.0)))
    assert text == "flexion in the unit, 500 N axial force and 7.5 N m moment"
