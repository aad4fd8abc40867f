"""Functional spinal units: levels, bad input, conforming discs, the patch test across the shared
endplate interface and CalculiX on a two-level unit with its per-cell anisotropic annulus and a solid or
fluid-filled nucleus."""

import dataclasses

import numpy as np
import pytest

from vbfem import MaterialMap, solve_static
from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.assembly import check_mesh
from vbfem.fem.cells import cell_volumes
from vbfem.fem.loads import load_case
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.spinal_unit import DiscOptions, assemble_unit, prepare_spine, unit_levels
from vbfem.mechanics.spine import solve_unit, unit_load_case

SIZE = 6.0


@pytest.fixture(scope="module")
def l2():
    mesh = mesh_vertebra(build_vertebra("L2"), size=SIZE)
    return mesh, assign_bone(mesh, bmd="osteoporotic", seed=0)


@pytest.fixture(scope="module")
def unit2(l2):
    model = prepare_spine(l2[0], level="L2", levels=2, size=SIZE)
    return assemble_unit(model, *l2)


def test_unit_levels():
    assert unit_levels("L3") == ("L2", "L3", "L4")
    assert unit_levels("l3", levels=2) == ("L2", "L3")
    assert unit_levels("L3", segments=["L4", "L3"]) == ("L3", "L4")
    with pytest.raises(ValueError, match="neighbouring"):
        unit_levels("L3", segments=["L1", "L3"])
    with pytest.raises(ValueError, match="must contain"):
        unit_levels("L3", segments=["L1", "L2"])
    with pytest.raises(ValueError, match="outside"):
        unit_levels("L5", levels=3)
    with pytest.raises(ValueError, match="2 or 3"):
        unit_levels("L3", levels=4)


@pytest.mark.parametrize("kw, match", [
    ({"disc": DiscOptions(height=2.0)}, "thinner than half an element"),
    ({"disc": DiscOptions(height=-2.0)}, "must be > 0"),
    ({"disc": DiscOptions(nucleus_fraction=1.0)}, "larger than the disc"),
    ({"nucleus_nu": 0.5}, "mixed or penalty"),
    ({"nucleus_E": 0.0}, "nucleus skeleton E"),
    ({"nucleus_E": 0.0, "nucleus": "solid"}, "nucleus E"),
    ({"nucleus": "gel"}, "'fluid'"),
    ({"nucleus_bulk": 0.0}, "nucleus_bulk"),
    ({"annulus": {"fibre_angle": 120.0}}, "fibre_angle"),
    ({"segments": ["L1", "L3"]}, "neighbouring"),
])
def test_bad_input_is_refused_before_meshing(l2, kw, match, monkeypatch):
    from vbfem.anatomy import mesher

    def boom(*a, **k):
        raise AssertionError("meshed before checking")

    monkeypatch.setattr(mesher, "mesh_vertebra", boom)
    with pytest.raises(ValueError, match=match):
        prepare_spine(l2[0], level="L2", size=SIZE, **kw)


def test_no_published_thoracolumbar_disc_height(l2):
    mesh = mesh_vertebra(build_vertebra("L1"), size=SIZE)
    with pytest.raises(ValueError, match="T12/L1"):
        prepare_spine(mesh, level="L1", levels=2, size=SIZE)


def test_disc_shares_the_endplate_nodes(unit2, l2):
    mesh = unit2.mesh
    check_mesh(mesh)  # no inverted cell
    assert unit2.levels == ("L1", "L2") and unit2.discs == ("L1_L2",)
    disc = mesh.cell_set("disc_L1_L2")
    bottom = np.unique(mesh.cells[disc][:, :4])
    top = np.unique(mesh.cells[disc][:, 4:])
    assert set(mesh.node_set("L2:superior")) <= set(np.unique(mesh.cells[disc]))
    assert set(mesh.node_set("L1:inferior")) <= set(np.unique(mesh.cells[disc]))
    assert np.isin(mesh.node_set("L2:superior"), bottom).all() and np.isin(mesh.node_set("L1:inferior"), top).all()
    # conforming: no two distinct nodes at one place
    key = np.round(mesh.points / 1e-6).astype(np.int64)
    assert np.unique(key, axis=0).shape[0] == mesh.n_points
    # the treated body is the given one, unmoved
    body = mesh.cell_set("body_L2")
    np.testing.assert_array_equal(mesh.points[mesh.cells[body]], l2[0].points[l2[0].cells])
    np.testing.assert_array_equal(unit2.materials.E[body], l2[1].E)
    # the nucleus share of the area, to one cell
    v = cell_volumes(mesh)
    share = v[mesh.cell_set("nucleus_L1_L2")].sum() / v[disc].sum()
    assert abs(share - DiscOptions().nucleus_fraction) < 0.05
    assert np.isin(unit2.materials.stiffness_cells(), [True])[mesh.cell_set("annulus")].all()
    # the disc height at the rim is the published one
    rim_gap = mesh.points[mesh.node_set("L1:inferior"), 2] - mesh.points[mesh.node_set("L2:superior"), 2]
    assert rim_gap.min() > 0


def test_patch_test_across_the_shared_interface(unit2):
    """A uniform material, a linear displacement on the unit's whole boundary: the interior (the disc's
    nodes shared with the endplates among them) reproduces it and every cell has the same stress."""
    mesh = unit2.mesh
    faces = np.sort(np.concatenate([mesh.cells[:, f] for f in
                                    ([0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6],
                                     [3, 0, 4, 7])]), axis=1)
    u, count = np.unique(faces, axis=0, return_counts=True)
    boundary = np.unique(u[count == 1])
    G = np.array([[1.0, 2.0, -1.0], [0.5, -1.5, 0.3], [-0.7, 0.2, -2.0]]) * 1e-3
    exact = mesh.points @ G.T + np.array([0.01, -0.02, 0.03])
    fx = [((3 * boundary[:, None] + np.arange(3)).ravel(), exact[boundary].ravel())]  # (dofs, values) as vbfem.fixed returns
    mat = MaterialMap.uniform(mesh.n_cells, 50.0, 0.3)
    res = solve_static(mesh, mat, load_case("patch", fixed=fx), solver="direct")
    interior = np.setdiff1d(np.arange(mesh.n_points), boundary)
    assert interior.size > 100
    np.testing.assert_allclose(res.displacement, exact, atol=1e-10)
    assert np.ptp(res.stress, axis=0).max() < 1e-8 * np.abs(res.stress).max()


def test_unit_matches_calculix(ccx, tmp_path):
    """Two-level unit (6 mm) with its bone, solid nucleus (nu = 0.49) and per-cell anisotropic annulus, flexion
    with 500 N: the top platen's motion agrees to 1e-6 (the fluid nucleus: the next test)."""
    from vbfem.output.ccx import ccx_platen_reaction

    mesh = mesh_vertebra(build_vertebra("L2"), size=6.0)
    unit = assemble_unit(prepare_spine(mesh, level="L2", levels=2, size=6.0, nucleus="solid"), mesh,
                         assign_bone(mesh, seed=0))
    load = unit_load_case(unit, "flexion")
    res = solve_static(unit.mesh, unit.materials, load, solver="direct")
    out = ccx_platen_reaction(unit.mesh, unit.materials, load, "platen", tmp_path)
    ref = res.platen_motion["platen"]
    assert np.linalg.norm(out.motion - ref) / np.linalg.norm(ref) < 1e-6



def test_unit_with_fluid_nucleus_matches_calculix(ccx, unit2, tmp_path):
    """The two-level unit (6 mm) with its default fluid-filled nucleus, exported as it is (the material map
    declares the cavity: an auxiliary volume-change node, its equation and a K_f / V spring), flexion with
    500 N: the top platen's motion and force and the intradiscal pressure (CalculiX's spring force, and
    -K_f dV / V of its volume change) agree with vbfem's Woodbury solve to 1e-6."""
    from vbfem.mechanics.spine import intradiscal_pressure
    from vbfem.output.ccx import ccx_platen_reaction

    (cav,) = unit2.cavities
    load = unit_load_case(unit2, "flexion")
    (res,) = solve_unit(unit2, load, solver="direct")
    out = ccx_platen_reaction(unit2.mesh, unit2.materials, load, "platen", tmp_path)
    ref = res.platen_motion["platen"]
    assert np.linalg.norm(out.motion - ref) / np.linalg.norm(ref) < 1e-6
    np.testing.assert_allclose(out.reaction[:3], res.platen_reaction["platen"][:3], atol=1e-6 * 500.0)
    (idp,) = intradiscal_pressure(unit2, res.stress, displacement=res.displacement).values()
    assert set(out.cavities) == {cav.name} == set(unit2.discs)
    assert out.cavities[cav.name].pressure == pytest.approx(idp, rel=1e-6)
    assert -cav.stiffness * out.cavities[cav.name].volume_change == pytest.approx(idp, rel=1e-6)
    # the fluid matters at this tolerance: the skeleton alone moves the platen by far more than 1e-6
    (dry,) = solve_unit(dataclasses.replace(unit2, cavities=()), load)
    assert np.linalg.norm(dry.platen_motion["platen"] - ref) / np.linalg.norm(ref) > 1e-3


@pytest.mark.slow
def test_unit_with_fluid_nucleus_matches_calculix_at_4mm(ccx, tmp_path):
    """The same at 4 mm (4500 cells, 936 wall dofs in the cavity's equation) in four load directions, vbfem by
    AMG-CG (rtol 1e-9): measured motion 5e-8-3e-7, pressure 3e-8-9e-8 (about 40 s)."""
    from vbfem.mechanics.spine import intradiscal_pressure
    from vbfem.output.ccx import ccx_platen_reaction

    mesh = mesh_vertebra(build_vertebra("L2"), size=4.0)
    unit = assemble_unit(prepare_spine(mesh, level="L2", levels=2, size=4.0), mesh, assign_bone(mesh, seed=0))
    loads = [unit_load_case(unit, c) for c in ("compression", "flexion", "lateral_bending", "axial_rotation")]
    for load, res in zip(loads, solve_unit(unit, loads, rtol=1e-9)):
        out = ccx_platen_reaction(unit.mesh, unit.materials, load, "platen", tmp_path / load.name)
        ref = res.platen_motion["platen"]
        assert np.linalg.norm(out.motion - ref) / np.linalg.norm(ref) < 1e-6
        (idp,) = intradiscal_pressure(unit, res.stress, displacement=res.displacement).values()
        (got,) = out.cavities.values()
        assert got.pressure == pytest.approx(idp, rel=1e-6)


@pytest.mark.slow
def test_unit_from_the_real_lumbar_surfaces():
    """L2-L4 of the shared mean-shape surfaces (../shared/data/lumbar_ssm), each fitted by
    vbfem.anatomy.surface.from_surface and stacked with the published disc heights (about 15 s)."""
    import os
    from pathlib import Path

    from vbfem.anatomy.surface import from_surface

    # the repository's sibling ../shared/data (as tests/anatomy/test_surface.py), or VBFEM_SHARED_DATA
    folder = Path(os.environ.get("VBFEM_SHARED_DATA", Path(__file__).parents[2] / ".." / "shared" / "data")) / "lumbar_ssm"
    if not (folder / "L3.stl").exists():
        pytest.skip(f"no {folder}")
    geoms = {lv: from_surface(str(folder / f"{lv}.stl"), level=lv) for lv in ("L2", "L3", "L4")}
    mesh = mesh_vertebra(geoms["L3"], size=SIZE)
    unit = assemble_unit(prepare_spine(mesh, level="L3", levels=3, size=SIZE, geometries=geoms), mesh,
                         assign_bone(mesh, seed=0))
    check_mesh(unit.mesh)
    assert unit.discs == ("L2_L3", "L3_L4")
    (res,) = solve_unit(unit, unit_load_case(unit, "compression"))
    assert res.platen_reaction["platen"][2] == pytest.approx(-500.0)
