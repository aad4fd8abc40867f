"""The reference meshes in meshes/ read back and match what the code makes now."""

import importlib.util
from pathlib import Path

import numpy as np

from vbfem.anatomy.heights import measure_heights
from vbfem.fem.primitives import box_mesh
from vbfem.output.vtu import read_vtu, to_vtu
from vbfem.records import MaterialMap

MESHES = Path(__file__).parents[2] / "meshes"


def _script():
    spec = importlib.util.spec_from_file_location("make_meshes", MESHES / "make_meshes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_read_vtu_round_trips_sets_cell_data_and_materials(tmp_path):
    mesh = box_mesh((2.0, 3.0, 4.0), (2, 3, 4), cell_type="tet10").with_cell_data("region", np.arange(144) % 3)
    mat = MaterialMap(E=np.linspace(50, 500, mesh.n_cells), nu=0.3, density=np.full(mesh.n_cells, 0.1))
    back, bmat = read_vtu(to_vtu(tmp_path / "m.vtu", mesh, materials=mat))
    assert back.cell_type == "tet10" and np.array_equal(back.cells, mesh.cells)
    assert np.array_equal(back.points, mesh.points)
    assert set(back.node_sets) == set(mesh.node_sets)
    for k in mesh.node_sets:
        assert np.array_equal(back.node_sets[k], np.sort(mesh.node_sets[k]))
    assert np.array_equal(back.cell_data["region"], mesh.cell_data["region"])
    assert np.array_equal(bmat.E, mat.E) and np.array_equal(bmat.density, mat.density)


def test_reference_meshes_are_current_and_fractured_as_named(capsys):
    assert _script().main(["--check"]) == 0, capsys.readouterr().out
    intact, _ = read_vtu(MESHES / "L1_intact.vtu")
    wedge, bone = read_vtu(MESHES / "L1_wedge_grade2.vtu")
    h0, h1 = measure_heights(intact), measure_heights(wedge)
    # grade 2 wedge: anterior/posterior ratio falls by the grade's representative 32.5 %
    assert abs(h1.wedge_ratio / h0.wedge_ratio - (1 - 0.325)) < 0.01
    assert bone.mask("damaged").any() and "damaged" in wedge.cell_sets


def test_read_mesh_imports_other_formats_through_meshio(tmp_path):
    import meshio

    from vbfem.output.vtu import read_mesh

    mesh = box_mesh((2.0, 3.0, 4.0), (2, 2, 3), cell_type="tet4")
    meshio.write(tmp_path / "m.msh", meshio.Mesh(mesh.points, [("tetra", mesh.cells)]), file_format="gmsh22")
    back, mats = read_mesh(tmp_path / "m.msh")
    assert back.cell_type == "tet4" and np.array_equal(back.cells, mesh.cells) and mats is None
    assert np.allclose(back.points, mesh.points)


def test_read_mesh_skips_boundary_blocks_and_reports_unreadable_files(tmp_path):
    import meshio
    import pytest

    from vbfem.output.vtu import read_mesh

    mesh = box_mesh((2.0, 3.0, 4.0), (2, 2, 3), cell_type="tet4")
    tri = np.array([[0, 1, 2], [1, 2, 3]])
    m = meshio.Mesh(mesh.points, [("triangle", tri), ("tetra", mesh.cells)],
                    cell_data={"gmsh:physical": [np.ones(2, int), np.full(mesh.n_cells, 2)],
                               "gmsh:geometrical": [np.ones(2, int), np.full(mesh.n_cells, 2)]})
    meshio.write(tmp_path / "b.msh", m, file_format="gmsh22")
    back, _ = read_mesh(tmp_path / "b.msh")
    assert np.array_equal(back.cells, mesh.cells)
    (tmp_path / "junk.vtu").write_text("not a mesh")
    with pytest.raises(ValueError, match="is not a mesh file meshio can read"):
        read_mesh(tmp_path / "junk.vtu")


def test_table_with_text_and_numbers_in_one_column_writes_parquet(tmp_path):
    import pytest

    from vbfem.output.atomic import write_table

    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"bone.bmd": "osteoporotic", "stiffness": 1.0}, {"bone.bmd": 0.1, "stiffness": 2.0}]
    csv_path, pq_path = write_table(rows, tmp_path)
    assert pq.read_table(pq_path).column("bone.bmd").to_pylist() == ["osteoporotic", "0.1"]
