"""The exact nearest-point search (vbfem.fem.nearest, issue 22): bit for bit brute force and scipy's k-d tree,
on the point sets it is made for (mesh surfaces seen from inside) and on degenerate ones (ties, planes,
lines, duplicates)."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from vbfem.fem._kernels import nearest_ref as ref
from vbfem.fem.nearest import build_tree, nearest_distance


def _grid(n, spacing=1.0):
    """A flat n x n lattice at z = 0: every query above a cell centre is equidistant to four points."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.column_stack([i.ravel() * spacing, j.ravel() * spacing, np.zeros(n * n)])


def _cap(n, radius=30.0, seed=0):
    """Points on a spherical cap (a concave endplate), jittered along the surface."""
    rng = np.random.default_rng(seed)
    u, v = rng.uniform(-0.5, 0.5, (2, n))
    return radius * np.column_stack([np.sin(u) * np.cos(v), np.sin(v), np.cos(u) * np.cos(v)])


def _cases():
    rng = np.random.default_rng(1)
    grid = _grid(12)
    lattice_queries = np.column_stack([rng.integers(0, 12, (400, 2)) + 0.5, rng.integers(1, 9, 400).astype(float)])
    cap = _cap(1500)
    return {
        "random cloud": (rng.normal(size=(500, 3)), rng.normal(size=(2000, 3)) * 2.0),
        "lattice, exact ties": (grid, lattice_queries),
        "lattice, queries on it": (grid, grid[rng.permutation(len(grid))] + 0.0),
        "cap seen from inside": (cap, rng.uniform([-8, -8, 5], [8, 8, 29], (1500, 3))),
        "collinear": (np.column_stack([np.linspace(0, 10, 97), np.zeros(97), np.zeros(97)]),
                      rng.uniform(-3, 13, (500, 3))),
        "duplicates": (np.repeat(rng.normal(size=(20, 3)), 7, axis=0), rng.normal(size=(300, 3))),
        "one point": (np.array([[1.0, 2.0, 3.0]]), rng.normal(size=(50, 3))),
        "far from the origin": (rng.normal(size=(400, 3)) + 1e4, rng.normal(size=(400, 3)) * 3 + 1e4),
    }


@pytest.mark.parametrize("name", list(_cases()))
@pytest.mark.parametrize("leaf_size", [1, 16, 10_000])
def test_equals_brute_force_and_the_kd_tree_bit_for_bit(name, leaf_size):
    points, queries = _cases()[name]
    d, i = nearest_distance(queries, tree=build_tree(points, leaf_size=leaf_size), return_index=True)
    d2_ref, _ = ref.nearest_sq(queries, points)
    np.testing.assert_array_equal(d, np.sqrt(d2_ref))
    np.testing.assert_array_equal(d, cKDTree(points).query(queries)[0])
    # the index names a point at that distance (one of the tied ones)
    diff = queries - points[i]
    np.testing.assert_array_equal((diff * diff).sum(axis=1), d2_ref)


def test_query_order_does_not_change_the_answer():
    """Each query starts from the previous answer: any order gives the same bits."""
    points, queries = _cases()["cap seen from inside"]
    base = nearest_distance(queries, points)
    perm = np.random.default_rng(3).permutation(len(queries))
    np.testing.assert_array_equal(nearest_distance(queries[perm], points)[np.argsort(perm)], base)
    np.testing.assert_array_equal(nearest_distance(queries[::-1], points)[::-1], base)


def test_boxes_hold_their_points_and_the_tree_is_balanced():
    points = _cap(5000, seed=2)
    tree = build_tree(points, leaf_size=16)
    assert sorted(tree.order) == list(range(len(points)))
    np.testing.assert_array_equal(tree.points, points[tree.order])
    for k in range(tree.n_nodes):  # every point inside its node's box (per node: a few hundred nodes)
        x = tree.points[tree.start[k]:tree.stop[k]]
        proj = np.abs((x - tree.centre[k]) @ tree.axes[k].T)
        assert (proj <= tree.half[k]).all()
        np.testing.assert_allclose(tree.axes[k] @ tree.axes[k].T, np.eye(3), atol=1e-12)
    leaves = tree.child[:, 0] < 0
    sizes = (tree.stop - tree.start)[leaves]
    assert sizes.max() <= 16 and sizes.min() >= 8 and sizes.sum() == len(points)
    # a surface patch's box is thin: the leaves of a 30 mm cap are far thinner than wide
    assert np.median(tree.half[leaves, 0] / tree.half[leaves, 2]) < 0.05


@pytest.mark.parametrize("call, match", [
    (lambda: build_tree(np.zeros((0, 3))), "points must hold at least one point"),
    (lambda: build_tree(np.zeros((4, 2))), r"points must have shape \(n, 3\), got \(4, 2\)"),
    (lambda: build_tree([[0.0, np.nan, 1.0]]), "points must be finite; 1 rows are not"),
    (lambda: build_tree(np.zeros((4, 3)), leaf_size=0), "leaf_size must be an integer >= 1, got 0"),
    (lambda: nearest_distance([[np.inf, 0.0, 0.0]], np.zeros((2, 3))), "queries must be finite"),
    (lambda: nearest_distance(np.zeros((1, 3))), "not neither"),
    (lambda: nearest_distance(np.zeros((1, 3)), np.zeros((2, 3)), tree=build_tree(np.zeros((2, 3)))), "not both"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_no_queries_give_no_distances():
    assert nearest_distance(np.zeros((0, 3)), np.zeros((3, 3))).shape == (0,)


def test_mesh_surfaces_from_inside_equal_the_kd_tree(l1_3mm):
    """The use it is made for: every cell centroid of the 3 mm L1 against its endplate and wall nodes."""
    from vbfem.fem.cells import cell_centroids

    _, mesh, _ = l1_3mm
    x = cell_centroids(mesh)
    for name in ("superior", "inferior", "posterior_wall"):
        surface = mesh.points[mesh.node_sets[name]]
        np.testing.assert_array_equal(nearest_distance(x, surface), cKDTree(surface).query(x)[0])
