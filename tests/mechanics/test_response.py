"""Linear response: endplate pressure, load share, strain volume, linear strength and compare_states."""

import math

import numpy as np
import pytest

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.cells import cell_volumes
from vbfem.fem.primitives import box_mesh
from vbfem.fem.static import solve_static
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.compare import COLUMNS, compare_states
from vbfem.mechanics.loadcases import compression_test, physiological
from vbfem.mechanics.response import (
    endplate_pressure,
    linear_response,
    linear_strength,
    load_share,
    strain_volume,
    tributary_areas,
)
from vbfem.records import MaterialMap


@pytest.fixture(scope="module")
def l1():
    mesh = mesh_vertebra(build_vertebra("L1"), size=4.0)
    mat = assign_bone(mesh, seed=2)
    return mesh, mat, solve_static(mesh, mat, compression_test(mesh, force=800.0))


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_tributary_areas_sum_to_surface_area(cell_type):
    mesh = box_mesh((3.0, 4.0, 5.0), (3, 2, 4), cell_type=cell_type)
    a = tributary_areas(mesh, mesh.node_sets["top"])
    np.testing.assert_allclose(a.sum(), 12.0, rtol=1e-12)
    assert np.all(a[np.setdiff1d(np.arange(mesh.n_points), mesh.node_sets["top"])] == 0)


def test_uniform_pressure_on_a_homogeneous_block():
    # frictionless-free box with nu = 0 under a platen: uniform stress, so uniform pressure = F / A
    mesh = box_mesh((4.0, 4.0, 6.0), (4, 4, 6))
    mesh = mesh.replace(node_sets={**mesh.node_sets, "superior": mesh.node_sets["top"],
                                   "inferior": mesh.node_sets["bottom"]})
    mat = MaterialMap.uniform(mesh.n_cells, 500.0, 0.0)
    res = solve_static(mesh, mat, compression_test(mesh, force=160.0))
    ep = endplate_pressure(mesh, res)
    np.testing.assert_allclose(ep.pressure, 10.0, rtol=1e-8)
    np.testing.assert_allclose(ep.total_force, [0, 0, -160.0], atol=1e-8)
    share = load_share(mesh, mat, res)
    np.testing.assert_allclose(share["total"], 160.0, rtol=1e-10)


def test_load_share_sums_to_platen_force(l1):
    mesh, mat, res = l1
    share = load_share(mesh, mat, res)
    parts = sum(v for k, v in share.items() if k != "total")
    assert parts == pytest.approx(share["total"], rel=1e-12)
    assert share["total"] == pytest.approx(800.0, rel=0.03)  # the cut recovers the platen force
    assert set(share) >= {"cortical", "trabecular", "total"}
    assert 0 < share["cortical"] < 800 and 0 < share["trabecular"] < 800
    # moments do not change the net axial force through the cut
    flex = solve_static(mesh, mat, physiological(mesh, "flexion"))
    assert load_share(mesh, mat, flex)["total"] == pytest.approx(500.0, rel=0.03)
    with pytest.raises(ValueError, match="cut slab"):
        load_share(mesh, mat, res, thickness=100.0)


def test_endplate_pressure_on_vertebra(l1):
    mesh, _mat, res = l1
    ep = endplate_pressure(mesh, res)
    np.testing.assert_allclose(ep.total_force[2], -800.0, rtol=1e-8)
    assert ep.mean_pressure == pytest.approx(800.0 / ep.total_area)
    assert ep.peak_pressure > ep.mean_pressure
    with pytest.raises(ValueError, match="node set not in mesh"):
        endplate_pressure(mesh, res, nodes="cranial")


def test_strain_volume_and_strength_consistent(l1):
    mesh, mat, res = l1
    F = linear_strength(mesh, mat, res)
    assert 100.0 < F < 20000.0
    # at the estimated strength about 2 % of the bone is above 0.7 %
    at = strain_volume(mesh, mat, res, load=F * (1 + 1e-9))
    below = strain_volume(mesh, mat, res, load=F * (1 - 1e-9))
    assert below.fraction < 0.02 <= at.fraction
    assert strain_volume(mesh, mat, res, load=2 * F).fraction > at.fraction
    bone = cell_volumes(mesh).sum()
    assert at.bone_volume == pytest.approx(bone)  # no cement: all cells are bone
    # cement and already-damaged cells are not counted as bone
    from vbfem.records import tissue_code
    tissue = mat.tissue.copy()
    tissue[:10], tissue[10:20] = tissue_code("cement"), tissue_code("damaged")
    sv = strain_volume(mesh, mat.replace(tissue=tissue), res, load=F)
    assert sv.bone_volume == pytest.approx(bone - cell_volumes(mesh, np.arange(20)).sum())


def test_linear_strength_scales_with_modulus(l1):
    mesh, mat, _ = l1
    r1 = solve_static(mesh, mat, compression_test(mesh, displacement=0.05))
    mat3 = mat.replace(E=3.0 * mat.E)
    r3 = solve_static(mesh, mat3, compression_test(mesh, displacement=0.05))
    for measure in ("energy", "von_mises"):
        s1 = linear_strength(mesh, mat, r1, measure=measure)
        s3 = linear_strength(mesh, mat3, r3, measure=measure)
        assert s3 == pytest.approx(3.0 * s1, rel=1e-6)
    # and is independent of the load level of the solve (linearity)
    r2 = solve_static(mesh, mat, compression_test(mesh, displacement=0.2))
    assert linear_strength(mesh, mat, r2) == pytest.approx(linear_strength(mesh, mat, r1), rel=1e-6)


def test_strength_bad_input(l1):
    mesh, mat, res = l1
    with pytest.raises(ValueError, match="fraction must be in"):
        linear_strength(mesh, mat, res, fraction=1.5)
    with pytest.raises(ValueError, match="load must be a force magnitude > 0"):
        strain_volume(mesh, mat, res, load=-5.0)
    with pytest.raises(ValueError, match="measure='tresca'"):
        linear_strength(mesh, mat, res, measure="tresca")
    with pytest.raises(ValueError, match="platen='top' not in result"):
        linear_strength(mesh, mat, res, platen="top")


def test_compare_states(l1):
    mesh, mat, _ = l1
    soft = mat.replace(E=0.5 * mat.E)
    treated = mat.replace(E=0.8 * mat.E)
    states = {"intact": (mesh, mat), "fractured": (mesh, soft), "vertebroplasty": (mesh, treated)}
    table = compare_states(states, strength="linear")
    assert table.strength_method == "linear" and not table.curves
    i, f, t = table.rows
    assert i.stiffness_pct_intact == pytest.approx(100.0)
    assert f.stiffness_pct_intact == pytest.approx(50.0, rel=1e-6)
    assert f.strength_pct_intact == pytest.approx(50.0, rel=1e-6)
    assert t.stiffness_pct_restored == pytest.approx(60.0, rel=1e-6)  # (0.8 - 0.5) / (1 - 0.5)
    assert t.strength_pct_restored == pytest.approx(60.0, rel=1e-6)
    assert math.isnan(i.stiffness_pct_restored) and math.isnan(f.strength_pct_restored)
    lin = linear_response(mesh, mat, compression_test(mesh, force=500.0))
    assert i.stiffness == pytest.approx(lin.stiffness) and i.strength == pytest.approx(lin.strength)
    md = table.to_markdown()
    assert md.count("\n") == 5 and "| vertebroplasty |" in md and "60.0" in md
    csv = table.to_csv().splitlines()
    assert csv[0].split(",") == list(COLUMNS) and len(csv) == 4
    assert [d["state"] for d in table.as_dicts()] == ["intact", "fractured", "vertebroplasty"]
    # strength from elsewhere (e.g. the nonlinear model): a callable or given values
    given = compare_states(states, strength={"intact": 3000.0, "fractured": 2000.0, "vertebroplasty": 2900.0})
    assert given.row("vertebroplasty").strength_pct_restored == pytest.approx(90.0)
    called = compare_states({"intact": (mesh, mat)}, strength=lambda name, m, ma: float(ma.E.sum()))
    assert called.rows[0].strength == pytest.approx(mat.E.sum()) and called.strength_method == "callable"
    with pytest.raises(ValueError, match="unknown load case"):
        compare_states(states, load="bend")
    with pytest.raises(ValueError, match="strength='peak'"):
        compare_states(states, strength="peak")
    with pytest.raises(ValueError, match="strength mapping lacks states"):
        compare_states(states, strength={"intact": 1.0})
    with pytest.raises(TypeError, match=r"states\['x'\]"):
        compare_states({"x": (mesh,)})


def test_compare_states_reports_the_nonlinear_peak_by_default(l1):
    """The default strength is the peak of the elastic-plastic compression test, each state to the same
    travel; the curves stay on the table. Halving every modulus halves every stress at the same strains,
    yield stresses included (they follow the modulus), so the softer body's peak is half the intact one."""
    mesh, mat, _ = l1
    states = {"intact": (mesh, mat), "fractured": (mesh, mat.replace(E=0.5 * mat.E))}
    table = compare_states(states, strength_options={"n_steps": 4})
    assert table.strength_method == "nonlinear" and list(table.curves) == ["intact", "fractured"]
    for row in table.rows:
        assert row.strength == table.curves[row.state].peak_force
    assert table.curves["intact"].displacement[-1] == pytest.approx(table.curves["fractured"].displacement[-1])
    assert table.row("fractured").strength_pct_intact == pytest.approx(50.0, rel=1e-6)
    assert table.row("fractured").stiffness_pct_intact == pytest.approx(50.0, rel=1e-6)
