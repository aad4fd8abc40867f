"""split_hex: the uniform refinement of hex8 meshes (children tile their parent; nodes shared by corners)."""

import numpy as np
import pytest

from vbfem.fem.assembly import assemble_stiffness
from vbfem.fem.cells import cell_centroids, cell_volumes
from vbfem.fem.primitives import box_mesh
from vbfem.fem.refine import split_hex
from vbfem.records import MaterialMap, tissue_code


def _distorted(seed=0):
    """A 2 x 2 x 2 box of 2 mm with its inner nodes moved by up to 0.3 mm (cells stay valid)."""
    box = box_mesh((2.0, 2.0, 2.0), (2, 2, 2))
    rng = np.random.default_rng(seed)
    p = box.points.copy()
    inner = np.all((p > 1e-9) & (p < 2.0 - 1e-9), axis=1)
    p[inner] += rng.uniform(-0.3, 0.3, (int(inner.sum()), 3))
    return box.replace(points=p)


def test_the_split_of_a_structured_box_is_the_box_at_half_the_size():
    coarse, fine = box_mesh((1.0, 2.0, 3.0), (2, 3, 2)), box_mesh((1.0, 2.0, 3.0), (4, 6, 4))
    split, _, parent = split_hex(coarse)
    assert split.n_cells == 8 * coarse.n_cells and split.n_points == fine.n_points
    assert np.array_equal(split.points[: coarse.n_points], coarse.points)  # the parent's nodes keep their indices
    order = np.lexsort(split.points.T)
    assert np.allclose(split.points[order], fine.points[np.lexsort(fine.points.T)], atol=1e-12)
    assert np.allclose(cell_volumes(split), 1.0 * 2.0 * 3.0 / fine.n_cells)
    assert np.array_equal(parent, np.repeat(np.arange(coarse.n_cells), 8))
    c = cell_centroids(split)[:8] - cell_centroids(coarse)[0]  # a parent's children: x fastest, then y, then z
    assert np.array_equal(np.sign(c), [[x, y, z] for z in (-1, 1) for y in (-1, 1) for x in (-1, 1)])
    for name in ("xmin", "top", "ymax"):  # a surface's node set is the surface of the split mesh
        assert np.allclose(np.sort(split.points[split.node_sets[name]], axis=0),
                           np.sort(fine.points[fine.node_sets[name]], axis=0))


def test_a_node_set_gains_the_inner_nodes_of_a_part_one_cell_thick():
    # the documented limit: every corner of a one-cell column lies on its surface, so its inner nodes join
    column = box_mesh((1.0, 1.0, 2.0), (1, 1, 2))
    column = column.replace(node_sets={"surface": np.arange(column.n_points)})
    split, _, _ = split_hex(column)
    p = split.points[split.node_sets["surface"]]
    inner = np.all((p > 1e-9) & (p < np.array([1.0, 1.0, 2.0]) - 1e-9), axis=1)
    assert np.allclose(np.sort(p[inner][:, 2]), [0.5, 1.0, 1.5])


def test_children_tile_a_distorted_parent_and_share_their_nodes():
    mesh = _distorted()
    split, _, parent = split_hex(mesh)
    v, vc = cell_volumes(mesh), cell_volumes(split)
    assert np.all(vc > 0)  # the parent's orientation is kept
    assert np.allclose(np.bincount(parent, weights=vc), v, rtol=1e-12)  # exact tiling of each parent
    # patch test: a linear displacement leaves no force at the inner nodes, which holds only if the
    # children's nodes are shared (a duplicated edge or face node would carry one side's force)
    mat = MaterialMap(E=np.full(split.n_cells, 1000.0), nu=np.full(split.n_cells, 0.3))
    A = np.array([[1e-3, 2e-4, 0.0], [0.0, -5e-4, 3e-4], [1e-4, 0.0, 2e-3]])
    u = split.points @ A.T
    r = (assemble_stiffness(split, mat) @ u.ravel()).reshape(-1, 3)
    p = split.points
    inner = np.all((p > 1e-9) & (p < 2.0 - 1e-9), axis=1)
    assert inner.sum() == 27 and np.abs(r[inner]).max() < 1e-9 * np.abs(r).max()


def test_children_inherit_materials_cell_data_and_sets():
    mesh = _distorted(1)
    mesh = mesh.replace(cell_sets={"core": np.array([0, 5])}, cell_data={"phi": np.arange(8.0)})
    E = np.arange(1.0, 9.0) * 100.0
    ys = np.where(np.arange(8) % 2 == 0, 2.5, np.nan)
    mat = MaterialMap(E=E, nu=np.full(8, 0.3), tissue=np.full(8, tissue_code("damaged"), np.int8),
                      density=np.linspace(0.1, 0.2, 8), yield_stress=ys)
    split, smat, parent = split_hex(mesh, mat)
    assert np.array_equal(smat.E, E[parent]) and np.array_equal(smat.tissue, mat.tissue[parent])
    assert np.array_equal(smat.yield_stress, ys[parent], equal_nan=True)
    assert np.array_equal(smat.density, mat.density[parent])
    assert np.array_equal(split.cell_sets["core"], np.r_[np.arange(0, 8), np.arange(40, 48)])
    assert np.array_equal(split.cell_data["phi"], np.repeat(np.arange(8.0), 8))


def test_split_hex_refuses_other_cells_and_mismatched_materials():
    with pytest.raises(ValueError, match="hex8"):
        split_hex(box_mesh(cell_type="tet4"))
    mesh = box_mesh((1.0, 1.0, 1.0), (2, 2, 2))
    with pytest.raises(ValueError, match="materials has 3 cells"):
        split_hex(mesh, MaterialMap(E=np.ones(3), nu=np.full(3, 0.3)))
