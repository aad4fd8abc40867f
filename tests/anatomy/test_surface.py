import os

import numpy as np
import pytest

from vbfem.anatomy.geometry import Geometry
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.anatomy.quality import scaled_jacobian
from vbfem.anatomy.surface import fit_quality, fit_surface, from_surface, read_surface, voxelize_surface
from vbfem.fem.assembly import check_mesh

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "..", "shared", "data", "lumbar_ssm")
L3 = os.path.normpath(os.path.join(DATA, "L3.stl"))
needs_l3 = pytest.mark.skipif(not os.path.exists(L3), reason=f"real vertebra surface not found at {L3}")


@pytest.fixture(scope="module")
def l3_fit():
    return fit_surface(L3)


def write_stl(path, points, tris):
    import meshio

    meshio.write_points_cells(str(path), np.asarray(points, float), [("triangle", np.asarray(tris))], binary=True)


def box_surface(a=(2.0, 3.0, 4.0)):
    x, y, z = a
    pts = np.array([[0, 0, 0], [x, 0, 0], [x, y, 0], [0, y, 0], [0, 0, z], [x, 0, z], [x, y, z], [0, y, z]], float)
    quads = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]
    tris = [[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads]
    return pts, np.array(tris)


def test_voxelize_box_volume_exact(tmp_path):
    pts, tris = box_surface((6.0, 5.0, 4.0))
    path = tmp_path / "box.stl"
    write_stl(path, pts, tris)
    p, t = read_surface(path)
    assert p.shape == (8, 3) and t.shape == (12, 3)  # STL duplicates merged
    inside, _ = voxelize_surface(p, t, spacing=0.25)
    assert inside.sum() * 0.25**3 == pytest.approx(120.0, rel=0.05)


@needs_l3
def test_l3_solid_volume_matches_readme():
    p, t = read_surface(L3)
    assert p.shape[0] == 16911 and t.shape[0] == 33822  # README: vertices, triangles
    inside, _ = voxelize_surface(p, t, spacing=0.5)
    assert inside.sum() * 0.125 == pytest.approx(63267.0, rel=0.005)  # README enclosed volume


@needs_l3
def test_l3_fit_is_anatomical(l3_fit):
    g = l3_fit.geometry
    assert isinstance(g, Geometry) and g.level == "L3"
    # Panjabi 1992 / Zhou 2000 lumbar body ranges (mm)
    assert 40 < g.width < 56 and 28 < g.depth < 40
    assert 24 < g.anterior_height < 34 and 24 < g.posterior_height < 34
    assert 0 <= g.concavity_superior < 3 and 0 <= g.concavity_inferior < 3
    # pedicles: on their sides, behind the body, lumbar-sized; canal wider than 15 mm
    left, right = l3_fit.pedicle_centroids["left"], l3_fit.pedicle_centroids["right"]
    assert left[1] > 5 and right[1] < -5 and left[0] < l3_fit.cut_x and right[0] < l3_fit.cut_x
    assert 6 < g.pedicle_width < 18 and 10 < g.pedicle_height < 20
    assert 15 < g.canal_width < 30
    # lumbar pedicles converge medially by about 10-20 degrees (Zindrick 1987; table L3: 14 degrees)
    assert 5 < g.pedicle_transverse_angle < 25
    assert abs(g.pedicle_sagittal_angle) < 20
    assert from_surface(L3).width == g.width
    assert from_surface(L3, depth=30.0).depth == 30.0


@needs_l3
def test_l3_fitted_geometry_meshes_and_matches_surface(l3_fit):
    mesh = mesh_vertebra(l3_fit.geometry, size=2.0)
    check_mesh(mesh)
    assert scaled_jacobian(mesh).min() > 0.2
    q = fit_quality(l3_fit, mesh, L3)
    assert abs(q["volume_error"]) < 0.10  # measured -6.5 %
    assert q["distance_mean"] < 2.0 and q["distance_p95"] < 4.0  # measured 1.3 and 2.6 mm
    assert l3_fit.geometry_volume == pytest.approx(q["volume_mesh"], rel=0.01)


@pytest.mark.parametrize("ext", [".ply", ".obj", ".vtk", ".vtu"])
def test_other_formats(tmp_path, ext):
    import meshio

    pts, tris = box_surface((6.0, 5.0, 4.0))
    path = tmp_path / f"box{ext}"
    meshio.write_points_cells(str(path), pts, [("triangle", tris)])
    p, t = read_surface(path)
    assert t.shape == (12, 3)
    inside, _ = voxelize_surface(p, t, spacing=0.25)
    assert inside.sum() * 0.25**3 == pytest.approx(120.0, rel=0.05)


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.stl"):
        from_surface(tmp_path / "missing.stl")
    with pytest.raises(ValueError, match="unsupported extension"):
        from_surface(tmp_path / "x.xyz")
    pts, tris = box_surface()
    open_path = tmp_path / "open.stl"
    write_stl(open_path, pts, tris[:-1])  # one triangle missing: a hole
    with pytest.raises(ValueError, match="not a closed manifold.*exactly two"):
        from_surface(open_path)
    nonman = tmp_path / "nonmanifold.stl"
    extra = np.vstack([pts, [[1.0, -1.0, 2.0]]])
    write_stl(nonman, extra, np.vstack([tris, [[0, 1, 8]]]))  # a fin on an edge
    with pytest.raises(ValueError, match="more than two"):
        read_surface(nonman)
