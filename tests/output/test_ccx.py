"""Cross-code check: vbfem.solve_static against CalculiX (ccx) on the same deck.

When ``ccx`` is missing these tests skip with the install hint on a user's
machine, and FAIL when ``VBFEM_REQUIRE_CCX=1`` is set: ``.ci/run`` installs
CalculiX (``apt-get install calculix-ccx``) and sets it, so a broken CI
installation can never hide behind a silent skip.

Precision: ccx prints seven significant digits to the ``.dat`` file. The
platen force is ccx's double-precision total (rounding <= 5e-7), the platen
moment is summed from per-node reactions that are each rounded to seven
digits, and the reference-point motion is printed directly.
"""


import numpy as np
import pytest

from vbfem import MaterialMap, fixed, load_case, nodal_force, platen_compression, rigid_platen, solve_static
from vbfem.fem.primitives import box_mesh, cylinder_mesh, perturbed
from vbfem.output.ccx import ccx_platen_reaction, read_dat, run_ccx
from vbfem.output.inp import FIXED_NODES, inp_text, platen_nodes, to_inp

RTOL = 1e-6

def _mesh(cell_type):
    """A few hundred cells with randomly moved interior nodes."""
    if cell_type == "hex8":  # 216 hexes
        mesh = cylinder_mesh(8.0, 16.0, n_radial=3, n_axial=6, cell_type="hex8")
    elif cell_type == "tet4":  # 270 tets
        mesh = box_mesh((10.0, 12.0, 20.0), (3, 3, 5), cell_type="tet4")
    else:  # 288 tets
        mesh = cylinder_mesh(8.0, 16.0, n_radial=2, n_axial=3, cell_type="tet10")
    return perturbed(mesh, 0.6, seed=11)


def _materials(n_cells, seed):
    """Every cell its own (E, nu)."""
    rng = np.random.default_rng(seed)
    return MaterialMap(E=rng.uniform(50.0, 5000.0, n_cells), nu=rng.uniform(0.05, 0.45, n_cells))


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_platen_compression_reaction_matches_ccx(ccx, cell_type, tmp_path):
    mesh = _mesh(cell_type)
    materials = _materials(mesh.n_cells, seed=3)
    assert np.unique(materials.E).size == mesh.n_cells
    load = platen_compression(mesh, displacement=0.05)

    res = solve_static(mesh, materials, load, solver="direct")
    ref = res.platen_reaction["platen"]
    out = ccx_platen_reaction(mesh, materials, load, "platen", tmp_path)

    assert ref[2] < 0 and out.reaction[2] < 0  # the platen pushes down
    assert _rel(out.reaction[:3], ref[:3]) < RTOL
    # the small moment of a heterogeneous specimen, on the scale |F| x platen radius
    arm = np.linalg.norm(mesh.points[load.platen("platen").nodes] - load.platen("platen").ref_point, axis=1).max()
    assert np.abs(out.reaction[3:] - ref[3:]).max() < RTOL * np.linalg.norm(ref[:3]) * arm
    np.testing.assert_array_equal(out.motion, res.platen_motion["platen"])
    # potting reaction: ccx total over the fixed nodes
    tables = read_dat(tmp_path / "vbfem_platen.dat")
    fixed_total = res.reaction[np.unique(load.fixed_dofs // 3)].sum(axis=0)
    assert _rel(tables[("total force", FIXED_NODES)], fixed_total) < RTOL


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_bending_platen_force_moment_and_motion_match_ccx(ccx, cell_type, tmp_path):
    """Prescribed rotation about x, applied moment about y, free sliding under shear, nodal loads."""
    mesh = _mesh(cell_type)
    materials = _materials(mesh.n_cells, seed=4)
    top = mesh.node_sets["top"]
    loose = np.setdiff1d(np.arange(mesh.n_points), np.concatenate([top, mesh.node_sets["bottom"]]))
    plate = rigid_platen(mesh, "top", name="plate", ref_point=(1.0, -0.5, mesh.points[:, 2].max() + 2.0),
                         displacement=(None, None, -0.02), rotation=(0.003, None, 0.0),
                         force=(5.0, -3.0, 0.0), moment=(0.0, 400.0, 0.0))
    forces = [nodal_force(mesh, top[:3], (1.0, 2.0, -4.0)), nodal_force(mesh, loose[:2], (3.0, 0.0, 1.0))]
    load = load_case("bending", fixed=[fixed(mesh, "bottom")], platens=[plate], forces=forces)

    res = solve_static(mesh, materials, load, solver="direct")
    ref, motion = res.platen_reaction["plate"], res.platen_motion["plate"]
    out = ccx_platen_reaction(mesh, materials, load, "plate", tmp_path)

    # applied components come back as applied, the rest is the platen's reaction
    np.testing.assert_allclose(ref[[0, 1, 4]], [5.0, -3.0, 400.0], rtol=1e-9)
    assert abs(ref[3]) > 100.0  # the prescribed tilt needs a real moment
    assert _rel(out.reaction[:3], ref[:3]) < RTOL
    assert _rel(out.reaction[3:], ref[3:]) < RTOL
    # free translations (x, y) and rotation (about y) of the reference point
    assert np.all(np.abs(motion[[0, 1, 4]]) > 1e-4)
    assert _rel(out.motion[:3], motion[:3]) < RTOL
    assert _rel(out.motion[3:], motion[3:]) < RTOL


def test_inp_deck_structure(tmp_path):
    mesh = box_mesh((2.0, 2.0, 4.0), (1, 1, 2), cell_type="tet10").with_cell_set("upper half", np.arange(6, 12))
    E = np.where(np.arange(mesh.n_cells) < 6, 100.0, 250.0)
    materials = MaterialMap(E=E, nu=0.3)
    load = platen_compression(mesh, force=50.0)
    path = to_inp(tmp_path / "job.inp", mesh, materials, load, title="*deck\ntest", reaction_sets=["bottom"])
    text = path.read_text()
    assert not list(tmp_path.glob("*.part"))
    assert text == inp_text(mesh, materials, load, title="*deck\ntest", reaction_sets=["bottom"])
    lines = text.splitlines()
    assert lines[:2] == ["*HEADING", "deck test"]
    assert "*ELEMENT, TYPE=C3D10, ELSET=VBFEM_EALL" in lines
    assert "*ELSET, ELSET=UPPER_HALF" in lines and "*NSET, NSET=TOP" in lines
    assert text.count("*MATERIAL,") == 2 and text.count("*SOLID SECTION,") == 2
    pn = platen_nodes(mesh, load)["platen"]
    assert (pn.ref_node, pn.rot_node) == (mesh.n_points + 1, mesh.n_points + 2)
    assert text.count("*EQUATION") == 3 * load.platen("platen").nodes.size
    assert f"{pn.ref_node}, 3, -50.0" in lines  # compressive force on the free z translation
    assert f"{pn.rot_node}, 1, 1, 0.0" in lines  # platen cannot tilt
    assert max(map(len, lines)) <= 132


def test_inp_rejects_inconsistent_input(tmp_path):
    mesh = box_mesh((1.0, 1.0, 1.0), (1, 1, 1))
    materials = MaterialMap.uniform(mesh.n_cells, 100.0, 0.3)
    with pytest.raises(ValueError, match="clashes"):
        to_inp(tmp_path / "a.inp", mesh.with_node_set("vbfem_p1_ref", [0]), materials,
               platen_compression(mesh, displacement=0.1))
    both = load_case("bad", fixed=[fixed(mesh, "top")], platens=[rigid_platen(mesh, "top", displacement=(0, 0, 0))])
    with pytest.raises(ValueError, match="prescribed"):
        to_inp(tmp_path / "b.inp", mesh, materials, both)
    with pytest.raises(ValueError, match="both become"):
        to_inp(tmp_path / "c.inp", mesh.with_node_set("a b", [0]).with_node_set("A_B", [1]), materials,
               platen_compression(mesh, displacement=0.1))
    assert not list(tmp_path.iterdir())


def test_read_dat_parses_node_element_and_total_tables(tmp_path):
    dat = tmp_path / "x.dat"
    dat.write_text(
        "\n                        S T E P       1\n\n\n                                INCREMENT     1\n\n"
        " displacements (vx,vy,vz) for set REF and time  0.1000000E+01\n\n"
        "         9  1.000000E+00 -2.500000E-01 -1.234567-100\n\n"
        " forces (fx,fy,fz) for set TOP and time  0.1000000E+01\n\n"
        "         5  4.440892E-16  4.176347E-16 -3.391670E+00\n"
        "         6 -5.238865E-16  0.000000E+00 -3.391670E+00\n\n"
        " total force (fx,fy,fz) for set TOP and time  0.1000000E+01\n\n"
        "       -1.491862E-16 -3.577867E-16 -6.783340E+00\n\n"
        " stresses (elem, integ.pnt.,sxx,syy,szz,sxy,sxz,syz) for set EALL and time  0.1000000E+01\n\n"
        "         1   1  1.0E+00  2.0E+00  3.0E+00  4.0E+00  5.0E+00  6.0E+00\n"
    )
    t = read_dat(dat)
    assert t[("displacements", "REF")]["node"].tolist() == [9]
    np.testing.assert_array_equal(t[("displacements", "REF")]["value"], [[1.0, -0.25, -1.234567e-100]])
    np.testing.assert_array_equal(t[("forces", "TOP")]["node"], [5, 6])
    np.testing.assert_array_equal(t[("forces", "TOP")]["value"][:, 2], [-3.39167, -3.39167])
    np.testing.assert_array_equal(t[("total force", "TOP")], [-1.491862e-16, -3.577867e-16, -6.78334])
    assert t[("stresses", "EALL")]["value"].shape == (1, 6)


def test_run_ccx_reports_missing_executable(tmp_path):
    deck = tmp_path / "job.inp"
    deck.write_text("*HEADING\nx\n")
    with pytest.raises(FileNotFoundError, match="apt-get install calculix-ccx"):
        run_ccx(deck, executable="ccx-that-does-not-exist")


def test_run_ccx_raises_with_output_tail_on_bad_deck(ccx, tmp_path):
    deck = tmp_path / "bad.inp"
    deck.write_text("*NODE\n1, 0, 0, 0\n*ELEMENT, TYPE=C3D4, ELSET=E\n1, 1, 2, 3, 4\n*STEP\n*STATIC\n*END STEP\n")
    with pytest.raises(RuntimeError, match=r"(?s)ccx failed.*exit code 201.*no material was assigned"):
        run_ccx(deck, workdir=tmp_path / "run", timeout=60)
