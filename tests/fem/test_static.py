"""Verification of solve_static against analytic solutions."""

import numpy as np
import pytest
from conftest import distorted_box, random_materials

from vbfem import (
    LoadCase,
    MaterialMap,
    fixed,
    load_case,
    nodal_force,
    platen_compression,
    rigid_platen,
    solve_static,
)
from vbfem.fem.constraints import RigidBodyError
from vbfem.fem.primitives import box_mesh, cylinder_mesh, perturbed
from vbfem.study.verification import manufactured_errors, observed_rates


def test_patch_test_reproduces_linear_field(cell_type):
    """Boundary nodes follow u = A x + c; interior nodes of a distorted mesh must too."""
    mesh = distorted_box(cell_type, divisions=(3, 3, 3), amplitude=0.25, seed=7)
    A = np.array([[1.0, 0.3, -0.2], [0.1, -0.5, 0.4], [0.25, 0.2, 0.8]]) * 1e-3
    c = np.array([0.01, -0.02, 0.03])
    exact = mesh.points @ A.T + c
    boundary = np.unique(np.concatenate([mesh.node_sets[k] for k in ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")]))
    interior = np.setdiff1d(np.arange(mesh.n_points), boundary)
    assert interior.size > 0
    load = load_case("patch", fixed=[fixed(mesh, boundary, value=exact[boundary])])
    # one material: with cell-wise different E a uniform strain is not in equilibrium
    res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, 730.0, 0.27), load)
    assert np.abs(res.displacement - exact).max() < 1e-10 * np.abs(exact).max()
    eps = np.array([A[0, 0], A[1, 1], A[2, 2], A[1, 2] + A[2, 1], A[0, 2] + A[2, 0], A[0, 1] + A[1, 0]])
    np.testing.assert_allclose(res.strain, np.broadcast_to(eps, res.strain.shape), atol=1e-12)


def test_bar_under_platen_compression_gives_EA_over_L_hex8():
    L, a, E = 20.0, 5.0, 350.0
    mesh = box_mesh((a, a, L), (2, 3, 5))
    # nu = 0: the potted bar is in uniaxial stress, stiffness E A / L exactly
    res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, E, 0.0), platen_compression(mesh, displacement=0.2))
    assert res.stiffness("platen") == pytest.approx(E * a * a / L, rel=1e-6)


@pytest.mark.parametrize("cell_type", ["tet4", "tet10"])
def test_tet_bar_stiffness_converges(cell_type):
    L, a, E = 20.0, 5.0, 350.0
    exact = E * a * a / L
    errs = []
    for n in (1, 2, 4):
        mesh = perturbed(box_mesh((a, a, L), (n, n, 4 * n), cell_type=cell_type), 0.15 * a / n, seed=2)
        res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, E, 0.3), platen_compression(mesh, displacement=0.1))
        errs.append(abs(res.stiffness("platen") / exact - 1.0))
    assert errs[2] < errs[1] < errs[0]


@pytest.mark.parametrize("cell_type, divisions, rate", [("hex8", (4, 8, 16), 2), ("tet4", (4, 8, 16), 2), ("tet10", (2, 4, 8), 3)])
def test_manufactured_solution_converges_at_theoretical_rate(cell_type, divisions, rate):
    h, err = manufactured_errors(cell_type, divisions, distortion=0.2)
    rates = observed_rates(h, err)
    assert rates[-1] > rate - 0.2, (err, rates)
    assert np.all(np.diff(err) < 0)


def test_platen_reaction_moment_equals_applied_moment(cell_type):
    mesh = box_mesh((10.0, 8.0, 20.0), (2, 2, 4), cell_type=cell_type)
    M = np.array([300.0, -7500.0, 120.0])  # N·mm
    platen = rigid_platen(mesh, "top", displacement=(None, None, None), rotation=(None, None, None),
                          force=(0.0, 0.0, -500.0), moment=M)
    res = solve_static(mesh, random_materials(mesh.n_cells, seed=9), load_case("bend", fixed=[fixed(mesh, "bottom")],
                                                                                  platens=[platen]))
    np.testing.assert_allclose(res.platen_reaction["platen"], np.r_[0, 0, -500.0, M], atol=1e-8 * 7500)
    # global equilibrium: the fixed base carries the opposite force
    base = res.reaction[mesh.node_sets["bottom"]].sum(axis=0)
    np.testing.assert_allclose(base, [0, 0, 500.0], atol=1e-7)


def test_prescribed_platen_rotation_moves_nodes_rigidly():
    mesh = box_mesh((10.0, 8.0, 20.0), (2, 2, 4))
    theta = np.array([0.0, 0.01, 0.0])
    platen = rigid_platen(mesh, "top", displacement=(0.0, 0.0, 0.0), rotation=theta)
    res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, 100.0, 0.3),
                       load_case("tilt", fixed=[fixed(mesh, "bottom")], platens=[platen]))
    top = mesh.node_sets["top"]
    expected = np.cross(theta, mesh.points[top] - platen.ref_point)
    np.testing.assert_allclose(res.displacement[top], expected, atol=1e-14)
    assert res.platen_reaction["platen"][4] != 0


def test_direct_and_amg_agree_and_report_statistics():
    mesh = cylinder_mesh(10.0, 20.0, n_radial=3, n_axial=6)
    mat = random_materials(mesh.n_cells)
    load = platen_compression(mesh, displacement=0.1)
    a = solve_static(mesh, mat, load, solver="direct")
    b = solve_static(mesh, mat, load, solver="amg-cg", rtol=1e-10)
    assert a.solver.method == "direct" and b.solver.method == "amg-cg"
    assert b.solver.iterations > 0 and b.solver.residual < 1e-10
    assert b.stiffness("platen") == pytest.approx(a.stiffness("platen"), rel=1e-8)
    assert a.strain_energy == pytest.approx(0.5 * a.platen_reaction["platen"][2] * a.platen_motion["platen"][2], rel=1e-9)


def test_nodal_forces_and_equilibrium():
    mesh = box_mesh((4.0, 4.0, 8.0), (2, 2, 4), cell_type="tet10")
    load = load_case("pull", fixed=[fixed(mesh, "bottom")], forces=[nodal_force(mesh, "top", (10.0, 0.0, 40.0))])
    res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, 100.0, 0.3), load)
    np.testing.assert_allclose(res.reaction[mesh.node_sets["bottom"]].sum(axis=0), [-10.0, 0.0, -40.0], atol=1e-9)


def test_unheld_model_names_the_free_modes():
    mesh = box_mesh((4.0, 4.0, 8.0), (2, 2, 2))
    mat = MaterialMap.uniform(mesh.n_cells, 100.0, 0.3)
    with pytest.raises(RigidBodyError, match="translation x, translation y, rotation about z"):
        solve_static(mesh, mat, load_case("roller", fixed=[fixed(mesh, "bottom", components=(2,))]))
    with pytest.raises(RigidBodyError, match="6 of 6 modes are free"):
        solve_static(mesh, mat, LoadCase("nothing"))
    corner = int(np.flatnonzero(np.all(mesh.points == 0.0, axis=1))[0])
    with pytest.raises(RigidBodyError, match=r"3 of 6 modes are free \(rotation about any axis through the held "
                                             r"point \[0\.0, 0\.0, 0\.0\] mm\)"):
        solve_static(mesh, mat, load_case("pin", fixed=[fixed(mesh, [corner])]))
    edge = np.flatnonzero((mesh.points[:, 1] == 0.0) & (mesh.points[:, 2] == 0.0))  # nodes on the x axis
    with pytest.raises(RigidBodyError, match=r"1 of 6 modes are free \(rotation about axis \[-?1\.0, 0\.0, 0\.0\]"):
        solve_static(mesh, mat, load_case("hinge", fixed=[fixed(mesh, edge)]))


def test_bad_inputs_raise_clear_errors():
    from vbfem import Mesh
    mesh = box_mesh((1.0, 1.0, 1.0), (1, 1, 1))
    with pytest.raises(ValueError, match="non-finite"):
        Mesh(np.where(mesh.points == 1.0, np.nan, mesh.points), mesh.cells, "hex8")
    with pytest.raises(ValueError, match="cell_type='wedge6' is not supported"):
        Mesh(mesh.points, mesh.cells, "wedge6")
    with pytest.raises(ValueError, match=r"shape \(m, 4\)"):
        Mesh(mesh.points, mesh.cells, "tet4")
    with pytest.raises(ValueError, match="E must be finite and > 0"):
        MaterialMap(E=[100.0, -1.0], nu=0.3)
    with pytest.raises(ValueError, match=r"nu must be in \(-1, 0.5\)"):
        MaterialMap(E=[100.0], nu=[0.5])
    with pytest.raises(ValueError, match="E and nu must be 1-D of equal length"):
        MaterialMap(E=[100.0, 1.0], nu=[0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="solver='lu' is not known"):
        solve_static(mesh, MaterialMap.uniform(1, 1.0, 0.3), platen_compression(mesh, displacement=0.1), solver="lu")
    with pytest.raises(ValueError, match="displacement must be a magnitude > 0"):
        platen_compression(mesh, displacement=-0.1)
    with pytest.raises(KeyError, match="node set 'superior' not in mesh"):
        platen_compression(mesh, top="superior", displacement=0.1)
