"""Off-screen pyvista pictures: conversion, camera conventions, reference images.

Reference images live in tests/data/images/; the comparison and how to regenerate them are in
tests/output/_images.py.
"""

import os

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from _images import ImageCheck

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.cells import cell_centroids, cell_volumes
from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.materials.bone import assign_bone
from vbfem.output import viz

check_image = ImageCheck()

SIZE = (400, 300)


@pytest.fixture(scope="module")
def vertebra():
    mesh = mesh_vertebra(build_vertebra("L1"), size=3.0)
    return mesh, assign_bone(mesh, seed=1)


@pytest.fixture(scope="module")
def cement(vertebra):
    mesh, _ = vertebra
    c = cell_centroids(mesh)
    left = np.clip(1.5 - np.linalg.norm(c - [2.0, 8.0, 0.0], axis=1) / 6.0, 0.0, 1.0)
    right = np.clip(1.5 - np.linalg.norm(c - [2.0, -8.0, 0.0], axis=1) / 6.0, 0.0, 1.0)
    arrival = np.linalg.norm(c - [2.0, 8.0, 0.0], axis=1)
    return left, right, arrival


def test_backend_renders_headless():
    name = viz.render_backend()
    assert name.startswith("vtk") and "RenderWindow" in name
    if not os.environ.get("DISPLAY"):
        assert "EGL" in name or "OSMesa" in name


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_to_pyvista_keeps_node_order(cell_type):
    """VTK measures the same (signed, positive) cell volumes as vbfem on a distorted mesh."""
    mesh = perturbed(box_mesh((2.0, 3.0, 4.0), (3, 2, 2), cell_type=cell_type), 0.08, seed=3)
    grid = viz.to_pyvista(mesh, cell_data={"f": np.arange(mesh.n_cells)}, point_data={"u": mesh.points}, sets=True)
    assert grid.n_cells == mesh.n_cells and grid.n_points == mesh.n_points
    vol = grid.compute_cell_sizes(length=False, area=False)["Volume"]
    np.testing.assert_allclose(vol, cell_volumes(mesh), rtol=1e-10)
    assert np.all(vol > 0)
    np.testing.assert_array_equal(grid.cell_data["f"], np.arange(mesh.n_cells))
    np.testing.assert_array_equal(grid.point_data["u"], mesh.points)


def test_lateral_view_has_anterior_on_the_right(tmp_path):
    """A field equal to x (anterior) is high on the right and low on the left of the lateral cut."""
    mesh = box_mesh((20.0, 10.0, 10.0), (10, 4, 4), origin=(-10.0, -5.0, -5.0))
    x = cell_centroids(mesh)[:, 0]
    path = viz.plot_field_on_cut(mesh, x, tmp_path / "x.png", label="x (mm)", cmap="coolwarm", window_size=SIZE)
    img = check_image.read(path)
    row = img[img.shape[0] // 2]
    coloured = np.flatnonzero(np.abs(row[:, 0] - row[:, 2]) > 60)  # strongly red or blue pixels
    assert coloured.size > 50
    left, right = row[coloured[:10]], row[coloured[-10:]]
    assert np.all(left[:, 2] > left[:, 0]), "left end should be blue (posterior, low x)"
    assert np.all(right[:, 0] > right[:, 2]), "right end should be red (anterior, high x)"


def test_cuts_are_oriented_and_outlined(tmp_path):
    """plot_cuts on a box: on the sagittal panel (left) a field equal to x (anterior) is low on the left and
    high on the right; on the frontal panel (right) a field equal to y (the patient's left) likewise; the
    cement outline adds black pixels inside the frontal cut."""
    mesh = box_mesh((20.0, 20.0, 10.0), (10, 10, 4), origin=(-10.0, -10.0, -5.0))
    c = cell_centroids(mesh)
    for axis, panel in ((0, 0), (1, 1)):
        path = viz.plot_cuts(mesh, c[:, axis], tmp_path / f"{axis}.png", label="coordinate (mm)", cmap="coolwarm",
                             window_size=(800, 500))
        img = check_image.read(path)
        half = img[:, panel * 400:(panel + 1) * 400]
        row = half[int(0.4 * img.shape[0])]
        coloured = np.flatnonzero(np.abs(row[:, 0] - row[:, 2]) > 60)
        assert coloured.size > 50, f"panel {panel} shows no cut"
        left, right = row[coloured[:5]], row[coloured[-5:]]
        assert np.all(left[:, 2] > left[:, 0]) and np.all(right[:, 0] > right[:, 2]), f"panel {panel} is mirrored"
    cement = (np.abs(c[:, 1]) < 4.0) & (np.abs(c[:, 2]) < 3.0)
    kw = {"label": "x (mm)", "cmap": "coolwarm", "clim": (-10.0, 10.0), "window_size": (800, 500)}
    a = check_image.read(viz.plot_cuts(mesh, c[:, 0], tmp_path / "a.png", **kw))
    b = check_image.read(viz.plot_cuts(mesh, c[:, 0], tmp_path / "b.png", cement=cement.astype(float), **kw))
    dark = lambda img: (img[: int(0.75 * img.shape[0]), 400:].max(axis=2) < 40).sum()
    assert dark(b) > dark(a) + 100


def test_scale_bar_is_true_to_scale(tmp_path):
    """On the sagittal cut of a box 20 mm long (x), the 10 mm bar is half as long as the cut is wide."""
    mesh = box_mesh((20.0, 12.0, 10.0), (10, 6, 5), origin=(-10.0, -6.0, -5.0))
    x = cell_centroids(mesh)[:, 0]
    path = viz.plot_cuts(mesh, x, tmp_path / "s.png", cuts=["sagittal"], label="x (mm)", cmap="coolwarm",
                         window_size=(600, 500))
    img = check_image.read(path)
    panel = img[: int(0.8 * img.shape[0])]  # above the strip of the colour bar
    coloured = np.abs(panel[..., 0] - panel[..., 2]) > 40
    rows = np.flatnonzero(coloured.any(axis=1))
    width = np.ptp(np.flatnonzero(coloured[rows[len(rows) // 2]])) + 1
    below = panel[rows.max() + 5:, 300:]  # under the cut, right half: the scale bar (the arrows are left)
    dark = below.max(axis=2) < 80
    bar = dark.sum(axis=1).max()
    assert bar / width == pytest.approx(0.5, rel=0.05), (bar, width)


def test_fill_summary_is_exact_on_a_box():
    """Half of every cell filled: half the volume; one cell of 64 full: its volume and 1/64 of the body."""
    mesh = box_mesh((10.0, 20.0, 40.0), (4, 4, 4))
    ml, pct = viz.fill_summary(mesh, np.full(mesh.n_cells, 0.5))
    assert ml == pytest.approx(4.0, rel=1e-12) and pct == pytest.approx(50.0, rel=1e-12)
    f = np.zeros(mesh.n_cells)
    f[7] = 1.0
    ml, pct = viz.fill_summary(mesh, f)
    assert ml == pytest.approx(8.0 / 64, rel=1e-12) and pct == pytest.approx(100.0 / 64, rel=1e-12)


def test_cuts_image(vertebra, cement, tmp_path):
    mesh, bone = vertebra
    left, right, _ = cement
    path = viz.plot_cuts(mesh, bone.E, tmp_path / "cuts.png", cement=np.maximum(left, right), label="E (MPa)",
                         cmap="viridis", title="L1, 3 mm: modulus", note="colours: full range", window_size=(700, 420))
    check_image(path, "viz_cuts.png")


def test_cell_sets_image(vertebra, tmp_path):
    mesh, _ = vertebra
    check_image(viz.plot_cell_sets(mesh, tmp_path / "sets.png", window_size=SIZE), "viz_cell_sets.png")


def test_overlay_image(vertebra, tmp_path):
    from vbfem.fracture.deformity import apply_fracture

    mesh, bone = vertebra
    fractured, _ = apply_fracture(mesh, bone, "wedge", grade=2)
    check_image(viz.plot_overlay(fractured, mesh, tmp_path / "ov.png", window_size=SIZE), "viz_overlay.png")


def test_cement_image(vertebra, cement, tmp_path):
    mesh, _ = vertebra
    left, right, arrival = cement
    path = viz.plot_cement(mesh, np.maximum(left, right), tmp_path / "c.png", arrival_time=arrival,
                           window_size=SIZE)
    check_image(path, "viz_cement.png")


def test_side_by_side_image(vertebra, cement, tmp_path):
    mesh, _ = vertebra
    left, right, _ = cement
    path = viz.plot_side_by_side(mesh, (left, np.maximum(left, right)), tmp_path / "s.png",
                                 cavities=(None, right > 0.95), shells=(None, (right > 0.3) & (right < 0.6)),
                                 window_size=(600, 250))
    check_image(path, "viz_side_by_side.png")


def test_field_on_cut_image(vertebra, tmp_path):
    mesh, bone = vertebra
    path = viz.plot_field_on_cut(mesh, bone.E, tmp_path / "cut.png", label="E (MPa)", window_size=SIZE)
    check_image(path, "viz_cut.png")


def test_deformed_image(vertebra, tmp_path):
    mesh, _ = vertebra
    z = mesh.points[:, 2]
    u = np.zeros_like(mesh.points)
    u[:, 2] = -0.02 * (z - z.min())
    u[:, 0] = 0.01 * (z - z.min())
    check_image(viz.plot_deformed(mesh, u, tmp_path / "d.png", window_size=SIZE), "viz_deformed.png")


def test_gallery_image(vertebra, tmp_path):
    from vbfem.fracture.deformity import apply_fracture

    mesh, bone = vertebra
    kinds = ["wedge", "biconcave", "crush"]
    meshes = [mesh] + [apply_fracture(mesh, bone, k, grade=2)[0] for k in kinds]
    path = viz.plot_gallery(meshes, ["intact"] + kinds, tmp_path / "g.png", ncols=2, panel_size=(200, 150))
    check_image(path, "viz_gallery.png")


def test_tolerance_separates_different_pictures():
    """The reference images are far apart under the tolerance used (it would catch a wrong picture)."""
    a = check_image.read(check_image.folder / "viz_cell_sets.png")
    b = check_image.read(check_image.folder / "viz_deformed.png")
    mean, tile = check_image.difference(a, b)
    assert mean > 2 * check_image.mean_tol and tile > 2 * check_image.tile_tol


def test_rendering_is_deterministic(vertebra, cement, tmp_path):
    mesh, _ = vertebra
    left = cement[0]
    a = viz.plot_cement(mesh, left, tmp_path / "a.png", window_size=(200, 150))
    b = viz.plot_cement(mesh, left, tmp_path / "b.png", window_size=(200, 150))
    np.testing.assert_array_equal(check_image.read(a), check_image.read(b))


def test_empty_cement_still_draws_vertebra(vertebra, tmp_path, caplog):
    mesh, _ = vertebra
    with caplog.at_level("WARNING"):
        path = viz.plot_cement(mesh, np.zeros(mesh.n_cells), tmp_path / "e.png", window_size=(200, 150))
    check_image.assert_not_blank(check_image.read(path))
    assert "no cell has a cement fraction" in caplog.text


def test_bad_input(vertebra, tmp_path):
    mesh, _ = vertebra
    f = np.zeros(mesh.n_cells)
    with pytest.raises(ValueError, match="view"):
        viz.plot_cement(mesh, f, tmp_path / "x.png", view="posterior")
    with pytest.raises(ValueError, match="window_size"):
        viz.plot_cement(mesh, f, tmp_path / "x.png", window_size=(4, 4))
    with pytest.raises(ValueError, match="fraction must have one value per cell"):
        viz.plot_cement(mesh, f[:-1], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"fraction must lie in \[0, 1\]"):
        viz.plot_cement(mesh, f + 2, tmp_path / "x.png")
    with pytest.raises(ValueError, match="threshold"):
        viz.plot_cement(mesh, f, tmp_path / "x.png", threshold=0.0)
    with pytest.raises(ValueError, match=".png"):
        viz.plot_cement(mesh, f, tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="arrival_time"):
        viz.plot_cement(mesh, f + 1, tmp_path / "x.png", arrival_time=np.full(mesh.n_cells, np.nan))
    with pytest.raises(KeyError, match="available"):
        viz.plot_cell_sets(mesh, tmp_path / "x.png", sets=["nucleus"])
    with pytest.raises(ValueError, match="does not cut"):
        viz.plot_field_on_cut(mesh, f, tmp_path / "x.png", origin=(0, 500, 0))
    with pytest.raises(ValueError, match="cuts must name"):
        viz.plot_cuts(mesh, f, tmp_path / "x.png", cuts=["axial"])
    with pytest.raises(ValueError, match="scale_bar"):
        viz.plot_cuts(mesh, f, tmp_path / "x.png", scale_bar=0.0)
    with pytest.raises(ValueError, match=r"cement must lie in \[0, 1\]"):
        viz.plot_cuts(mesh, f, tmp_path / "x.png", cement=f + 2)
    with pytest.raises(ValueError, match="cell_field must have one value per cell"):
        viz.plot_cuts(mesh, f[:-1], tmp_path / "x.png")
    with pytest.raises(ValueError, match="displacement"):
        viz.plot_deformed(mesh, np.zeros((3, 3)), tmp_path / "x.png")
    with pytest.raises(ValueError, match="titles"):
        viz.plot_gallery([mesh], ["a", "b"], tmp_path / "x.png")
    with pytest.raises(TypeError, match="Mesh"):
        viz.to_pyvista(np.zeros((3, 3)))
    assert not list(tmp_path.iterdir()), "a failed call left a file behind"


def test_legend_layout_wraps_rows_and_shrinks_the_font_to_fit():
    """Legend entries go on in rows within the width; when the rows do not fit the strip, the font shrinks
    (issue 23: the old legend dropped entries off the bottom of a short strip)."""
    from vbfem.output.viz import _CHAR_PX_PER_PT, _legend_layout

    texts = ["vertebra (translucent)", "cement", "balloon cavity (outline)", "compacted bone shell"]
    places, size = _legend_layout(texts, 800.0, 120.0, 10)  # 4 rows of 26 px fit? no: (120-12)//26 = 4
    assert size == 10 and len({y for _, y in places}) <= 4
    for (x, _), t in zip(places, texts):
        assert x + 24 + _CHAR_PX_PER_PT * size * len(t) <= 800.0
    places, size = _legend_layout(texts, 600.0, 55.0, 10)  # one row only: the font shrinks
    assert size < 10 and len({y for _, y in places}) == 1
    assert places[-1][0] + 24 + _CHAR_PX_PER_PT * size * len(texts[-1]) <= 600.0


def test_colour_bars_are_labelled_at_round_values():
    """The strain cuts' range (percentiles) is -8437 to -1055 microstrain: labels at -8000 ... -2000,
    not at the range's fifths (-8437, -6591, ...); every label inside the range, at most six."""
    from vbfem.output.viz import _tick_format, nice_ticks

    cases = {(-8437.0, -1055.0): [-8000, -6000, -4000, -2000], (240.0, 279.6): [240, 250, 260, 270],
             (0.0, 0.1002): [0, 0.02, 0.04, 0.06, 0.08, 0.1], (-3.2, 7.9): [-2, 0, 2, 4, 6]}
    for (lo, hi), want in cases.items():
        ticks = nice_ticks(lo, hi)
        assert ticks == pytest.approx(want) and lo <= ticks.min() and ticks.max() <= hi
    assert _tick_format(nice_ticks(-8437.0, -1055.0)) == "%.0f" and _tick_format(nice_ticks(0.0, 0.1)) == "%.2f"
    for lo, hi in np.random.default_rng(0).uniform(-1e4, 1e4, size=(200, 2)):
        lo, hi = min(lo, hi), max(lo, hi) + 1e-3
        ticks = nice_ticks(lo, hi)
        step = np.diff(ticks)
        assert 2 <= len(ticks) <= 6 and lo <= ticks[0] and ticks[-1] <= hi and np.allclose(step, step[0])
        mantissa = step[0] / 10 ** np.floor(np.log10(step[0]))
        assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5)) < 1e-9
    with pytest.raises(ValueError, match="lo < hi"):
        nice_ticks(1.0, 1.0)
