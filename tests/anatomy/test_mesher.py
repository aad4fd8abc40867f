import time

import numpy as np
import pytest

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.anatomy.morphometry import LEVELS
from vbfem.anatomy.quality import mesh_quality, scaled_jacobian
from vbfem.fem.assembly import check_mesh
from vbfem.fem.cells import cell_volumes
from vbfem.fem.primitives import box_mesh
from vbfem.records import Mesh, tissue_code

HEX_FACES = np.array([[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]])
TET_FACES = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])


@pytest.fixture(scope="module")
def l1():
    return build_vertebra("L1")


@pytest.fixture(scope="module")
def l1_mesh(l1):
    return mesh_vertebra(l1)


def on_lateral_surface(g, points, tol=1e-9):
    x, y = points[:, 0], points[:, 1]
    r_wall = g.radius(np.arctan2(y, x)) * g.waist_scale(g.zeta(points))
    return np.abs(np.hypot(x, y) - r_wall) < tol


def n_boundary_faces(cells, faces):
    f = np.sort(cells[:, faces].reshape(-1, faces.shape[1]), axis=1)
    _, count = np.unique(f, axis=0, return_counts=True)
    assert count.max() <= 2, "a face is shared by more than two cells"
    return int((count == 1).sum())


# ---------------------------------------------------------------- validity
def test_l1_default_mesh_size_time_and_validity(l1):
    t0 = time.perf_counter()
    mesh = mesh_vertebra(l1)
    elapsed = time.perf_counter() - t0
    assert mesh.cell_type == "hex8"
    assert 8_000 <= mesh.n_cells <= 30_000
    assert elapsed < 5.0
    check_mesh(mesh)
    q = mesh_quality(mesh, l1)
    assert q.min_scaled_jacobian > 0.5
    assert abs(q.volume_error) < 0.01


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_meshes_validly(level):
    g = build_vertebra(level)
    mesh = mesh_vertebra(g, size=2.5)
    check_mesh(mesh)
    q = mesh_quality(mesh, g)
    assert q.min_scaled_jacobian > 0.4
    assert abs(q.volume_error) < 0.02


def test_volume_converges_with_refinement(l1):
    errors = [abs(mesh_quality(mesh_vertebra(l1, size=s), l1).volume_error) for s in (4.0, 2.0, 1.0)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


def test_deterministic(l1):
    a, b = mesh_vertebra(l1, size=3.0), mesh_vertebra(l1, size=3.0)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.cells, b.cells)


# ---------------------------------------------------------- boundary fit
def test_all_nodes_inside_and_endplate_nodes_on_surfaces(l1, l1_mesh):
    p = l1_mesh.points
    assert l1_mesh.n_points == len(p) and l1.contains(p, tol=1e-9).all()
    sup = p[l1_mesh.node_set("superior")]
    inf = p[l1_mesh.node_set("inferior")]
    assert np.allclose(sup[:, 2], l1.z_superior(sup[:, 0], sup[:, 1]), atol=1e-9)
    assert np.allclose(inf[:, 2], l1.z_inferior(inf[:, 0], inf[:, 1]), atol=1e-9)


def test_wall_nodes_on_lateral_surface(l1, l1_mesh):
    wall = l1_mesh.points[l1_mesh.node_set("lateral_wall")]
    assert on_lateral_surface(l1, wall).all()
    # boundary faces of the mesh are exactly endplate faces + wall faces: no staircase
    f = np.sort(l1_mesh.cells[:, HEX_FACES].reshape(-1, 4), axis=1)
    uniq, count = np.unique(f, axis=0, return_counts=True)
    boundary = uniq[count == 1]
    on_ep = np.zeros(l1_mesh.n_points, bool)
    on_ep[l1_mesh.node_set("superior")] = True
    on_ep[l1_mesh.node_set("inferior")] = True
    on_wall = np.zeros(l1_mesh.n_points, bool)
    on_wall[on_lateral_surface(l1, l1_mesh.points)] = True
    assert (on_ep[boundary].all(axis=1) | on_wall[boundary].all(axis=1)).all()


@pytest.mark.parametrize("thickness", [0.38, 1.0])
def test_shell_layer_has_exact_thickness(thickness):
    g = build_vertebra("L2", shell_thickness=thickness)
    mesh = mesh_vertebra(g, size=3.0)
    cortex = mesh.cells[mesh.cell_set("cortex")]
    outer = on_lateral_surface(g, mesh.points)
    bottom = cortex[:, :4]
    a, b = bottom, np.roll(bottom, -1, axis=1)
    radial = outer[a] != outer[b]  # edges from the inner offset curve to the outline
    assert radial.sum() == 2 * len(cortex)
    d = mesh.points[a[radial]] - mesh.points[b[radial]]
    assert np.allclose(np.hypot(d[:, 0], d[:, 1]), thickness, rtol=1e-6)


def test_endplate_layers_have_real_thickness(l1, l1_mesh):
    p = l1_mesh.points
    for name, surface, sign in (("superior_endplate", l1.z_superior, -1), ("inferior_endplate", l1.z_inferior, 1)):
        cells = l1_mesh.cells[l1_mesh.cell_set(name)]
        inner_face = cells[:, :4] if sign < 0 else cells[:, 4:]
        q = p[np.unique(inner_face)]
        assert np.allclose(q[:, 2], surface(q[:, 0], q[:, 1]) + sign * l1.endplate_thickness, atol=1e-9)
        dz = np.abs(p[cells[:, 4:], 2] - p[cells[:, :4], 2])
        assert np.allclose(dz, l1.endplate_thickness, atol=0.01 * l1.endplate_thickness)


@pytest.mark.parametrize("level, anterior_taller", [("T8", False), ("L5", True)])
def test_wedge_heights(level, anterior_taller):
    g = build_vertebra(level)
    mesh = mesh_vertebra(g)
    sup, inf = mesh.points[mesh.node_set("superior")], mesh.points[mesh.node_set("inferior")]

    def rim_height(sign):
        s = sup[np.argmax(sign * sup[:, 0])]
        i = inf[np.argmax(sign * inf[:, 0])]
        return s[2] - i[2], s[0]

    h_ant, x_ant = rim_height(1)
    h_post, _ = rim_height(-1)
    assert (h_ant > h_post) == anterior_taller
    assert h_ant == pytest.approx(float(g.height(x_ant)), abs=1e-9)
    assert h_ant == pytest.approx(g.anterior_height, abs=0.3)


# ------------------------------------------------------------------- sets
def test_cell_sets_partition_and_region(l1_mesh):
    m = l1_mesh
    cortex, ep, trab = m.cell_set("cortex"), m.cell_set("endplate"), m.cell_set("trabecular")
    sup, inf = m.cell_set("superior_endplate"), m.cell_set("inferior_endplate")
    for s in (cortex, ep, trab, sup, inf):
        assert s.size > 0
    assert np.array_equal(np.sort(np.concatenate([cortex, ep, trab])), np.arange(m.n_cells))
    assert np.array_equal(np.sort(np.concatenate([sup, inf])), ep)
    region = m.cell_data["region"]
    assert (region[cortex] == tissue_code("cortical")).all()
    assert (region[ep] == tissue_code("endplate")).all()
    assert (region[trab] == tissue_code("trabecular")).all()
    # endplate cells are the top and bottom layers
    zc = m.points[m.cells].mean(axis=1)[:, 2]
    assert zc[sup].min() > zc[trab].max() - 1.0 and zc[inf].max() < zc[trab].min() + 1.0


def test_node_sets(l1, l1_mesh):
    m = l1_mesh
    names = ("superior", "inferior", "lateral_wall", "posterior_wall", "pedicle_entry_left", "pedicle_entry_right")
    for name in names:
        assert m.node_set(name).size > 0, name
    sup, inf, wall, post = (set(m.node_set(n).tolist()) for n in names[:4])
    assert not sup & inf and not sup & wall and not inf & wall
    assert post <= wall
    p = m.points
    assert (p[m.node_set("posterior_wall"), 0] < 0).all()
    left, right = p[m.node_set("pedicle_entry_left")], p[m.node_set("pedicle_entry_right")]
    assert (left[:, 1] > 0).all() and (right[:, 1] < 0).all() and (left[:, 0] < 0).all()
    entry = l1.pedicle_entry("left")
    assert np.abs(left[:, 1] - entry[1]).max() <= 0.5 * l1.pedicle_width + 1e-9
    assert not set(m.node_set("pedicle_entry_left").tolist()) & set(m.node_set("pedicle_entry_right").tolist())


def test_basivertebral_foramen_sets(l1, l1_mesh):
    from vbfem.anatomy.mesher import FORAMEN_RADIUS

    m = l1_mesh
    nodes = m.node_set("basivertebral_foramen")
    assert nodes.size > 1
    assert set(nodes.tolist()) <= set(m.node_set("posterior_wall").tolist())
    d = np.linalg.norm(m.points[nodes] - l1.basivertebral_foramen, axis=1)
    assert d.max() <= FORAMEN_RADIUS
    # midline, mid-height, posterior
    c = m.points[nodes].mean(axis=0)
    assert abs(c[1]) < 1e-6 and abs(c[2]) < 1.0 and c[0] < -0.4 * l1.depth
    outlet = m.cell_set("outlet_basivertebral")
    assert outlet.size > 0
    assert set(outlet.tolist()) <= set(m.cell_set("cortex").tolist())
    # every outlet cell touches a foramen node and every foramen node is in an outlet cell
    assert np.isin(m.cells[outlet], nodes).any(axis=1).all()
    assert np.isin(nodes, m.cells[outlet]).all()
    # every outlet_* set is a leakage outlet: only this one in the intact mesh
    assert [k for k in m.cell_sets if k.startswith("outlet_")] == ["outlet_basivertebral"]
    # a coarse mesh still gets a foramen node and outlet cells
    coarse = mesh_vertebra(l1, size=6.0)
    assert coarse.node_set("basivertebral_foramen").size >= 1
    assert coarse.cell_set("outlet_basivertebral").size >= 1


def test_small_pedicle_still_gets_nodes():
    g = build_vertebra("T4", pedicle_width=0.5, pedicle_height=0.5)
    mesh = mesh_vertebra(g, size=4.0)
    assert mesh.node_set("pedicle_entry_left").size >= 1


# ------------------------------------------------------------------- tets
@pytest.mark.parametrize("cell_type", ["tet4", "tet10"])
def test_tets_are_valid_and_conforming(l1, cell_type):
    hexes = mesh_vertebra(l1, size=3.0)
    tets = mesh_vertebra(l1, size=3.0, cell_type=cell_type)
    check_mesh(tets)
    assert tets.cell_type == cell_type and tets.n_cells == 6 * hexes.n_cells
    # conforming Kuhn split: each boundary quad becomes exactly two boundary triangles
    assert n_boundary_faces(tets.cells[:, :4], TET_FACES) == 2 * n_boundary_faces(hexes.cells, HEX_FACES)
    assert cell_volumes(tets).sum() == pytest.approx(cell_volumes(hexes).sum(), rel=1e-3)
    assert scaled_jacobian(tets).min() > 0
    for name in ("cortex", "endplate", "trabecular"):
        assert tets.cell_set(name).size == 6 * hexes.cell_set(name).size
    assert np.array_equal(tets.node_set("superior")[: hexes.node_set("superior").size], hexes.node_set("superior"))


# ------------------------------------------------------------------ input
def test_bad_inputs(l1):
    with pytest.raises(ValueError, match=r"size=0.0 mm is outside the allowed element sizes \[0.3, 10\] mm"):
        mesh_vertebra(l1, size=0.0)
    with pytest.raises(ValueError, match="cell_type='quad'.*hex8"):
        mesh_vertebra(l1, cell_type="quad")
    with pytest.raises(TypeError, match="Geometry"):
        mesh_vertebra("L1")
    with pytest.raises(TypeError):
        mesh_vertebra(l1, 2.0)  # keyword-only


def test_unmeshable_shell_is_rejected_with_its_limit():
    g = build_vertebra("T4", shell_thickness=6.0)  # a valid geometry, but the offset would fold
    with pytest.raises(ValueError, match=r"shell_thickness=6 mm is too thick.*0 < shell_thickness < \d"):
        mesh_vertebra(g)


def test_extreme_valid_geometry_still_meshes():
    g = build_vertebra("T1", shell_thickness=2.0, endplate_thickness=3.0, concavity_superior=2.5,
                       concavity_inferior=2.5, waist=1.3, posterior_concavity=3.5)
    mesh = mesh_vertebra(g, size=1.5)
    check_mesh(mesh)
    q = mesh_quality(mesh, g)
    assert q.min_scaled_jacobian > 0.3 and abs(q.volume_error) < 0.02


def test_resolution_overrides(l1):
    mesh = mesh_vertebra(l1, size=3.0, n_layers=4, n_circumferential=40)
    # 4 trabecular layers + 2 endplate layers; 40 around = 10 per side of the inner block
    assert mesh.cell_set("cortex").size == 40 * 6


# ---------------------------------------------------------------- quality
def test_quality_reference_values():
    q = mesh_quality(box_mesh((2.0, 1.0, 1.0), (2, 1, 1)))
    assert q.min_scaled_jacobian == pytest.approx(1.0) and q.max_aspect_ratio == pytest.approx(1.0)
    assert q.volume == pytest.approx(2.0) and q.volume_error is None
    regular = Mesh([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0], [0.5, np.sqrt(3) / 6, np.sqrt(2 / 3)]],
                   [[0, 1, 2, 3]], "tet4")
    assert mesh_quality(regular).min_scaled_jacobian == pytest.approx(1.0)
    flat = box_mesh((1.0, 1.0, 1.0), (1, 1, 1))
    inverted = flat.with_points(flat.points * [1, 1, -1])
    assert scaled_jacobian(inverted).max() < 0
    assert set(q.as_dict()) >= {"min_scaled_jacobian", "mean_aspect_ratio", "volume_error"}


@pytest.mark.slow
def test_compression_stiffness_converges(l1):
    """Intact osteoporotic L1 under a rigid platen: < 2 % change between the two finest sizes.

    The full table (sizes 3 ... 1.25 mm, Richardson extrapolation) is in benchmarks/bench_mesh.py.
    """
    from vbfem.fem.loads import platen_compression
    from vbfem.fem.static import solve_static
    from vbfem.materials.bone import assign_bone

    k = []
    for size in (2.5, 2.0, 1.5):
        mesh = mesh_vertebra(l1, size=size)
        mat = assign_bone(mesh, bmd="osteoporotic")
        res = solve_static(mesh, mat, platen_compression(mesh, top="superior", bottom="inferior",
                                                          displacement=0.1))
        k.append(res.stiffness("platen"))
    assert 5e3 < k[-1] < 5e4  # N/mm, order of measured vertebral-body stiffness
    assert abs(k[-1] - k[-2]) / k[-2] < 0.02
