"""The reference-image comparison (_images.py) lets a picture drawn on another machine pass and a broken
picture fail. Stored references and recorded curves only: no study is run here (the demo's own broken
pictures, which need its states, are in test_demo_pictures.py)."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")

from _images import ImageCheck

check_image = ImageCheck()
DEMO = check_image.folder / "demo"
CURVES = Path(__file__).parents[1] / "data" / "load_displacement_demo_3mm.csv"


def _curves(shift_mm: float = 0.0):
    data = np.genfromtxt(CURVES, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return {str(n): (data["displacement_mm"][data["state"] == n] + shift_mm, data["force_N"][data["state"] == n])
            for n in dict.fromkeys(data["state"])}


def _load_displacement(path, *, shift_mm: float = 0.0, rc=None):
    import matplotlib

    from vbfem.output import plots

    with matplotlib.rc_context(rc or {}):
        return plots.plot_load_displacement(_curves(shift_mm), path, title="compression to failure")


def _fails(img, ref) -> bool:
    mean, tile = check_image.difference(img, ref)
    return mean >= check_image.mean_tol or tile >= check_image.tile_tol


def test_text_drawn_by_another_freetype_setting_passes(tmp_path):
    """matplotlib's text without FreeType hinting has other glyph shapes and widths (as another FreeType
    build draws it); the load-displacement plot still matches its reference. With the legend at "best",
    the wider text moved the legend to the other corner (a difference of 50 grey levels)."""
    ref = check_image.read(DEMO / "load_displacement.png")
    plain = check_image.read(_load_displacement(tmp_path / "a.png"))
    other = check_image.read(_load_displacement(tmp_path / "b.png", rc={"text.hinting": "none"}))
    assert np.abs(other - plain).max() > 100  # the text did change
    mean, tile = check_image.difference(other, ref)
    assert mean < check_image.mean_tol and tile < check_image.tile_tol / 2, (mean, tile)


@pytest.mark.parametrize("name", ["stress_VP.png", "load_displacement.png"])
def test_a_picture_moved_by_a_few_pixels_passes(name):
    """A layout a few pixels off (another font's widths, another renderer's rounding) is not a defect."""
    ref = check_image.read(DEMO / name)
    for dy, dx in ((2, 0), (0, -2), (2, 2), (-3, 1)):
        moved = np.full_like(ref, 255.0)
        src = ref[max(0, -dy):ref.shape[0] - max(0, dy), max(0, -dx):ref.shape[1] - max(0, dx)]
        moved[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
        mean, tile = check_image.difference(moved, ref)
        assert mean < check_image.mean_tol and tile < check_image.tile_tol, (name, dy, dx, mean, tile)


@pytest.mark.parametrize("name, box", [
    ("stress_VP.png", (130, 400, 660, 1090)),  # the mid-frontal cut (rows, columns from-to, px)
    ("cement.png", (40, 330, 780, 1080)),  # the KP panel
    ("load_displacement.png", (40, 360, 85, 620)),  # the axes' inside: curves, markers, legend, grid
])
def test_an_empty_panel_fails(name, box):
    ref = check_image.read(DEMO / name)
    r0, r1, c0, c1 = box
    empty = ref.copy()
    empty[r0:r1, c0:c1] = 255.0
    assert np.any(ref[r0:r1, c0:c1] < 200), "the box holds part of the picture"
    assert _fails(empty, ref)
    check_image.assert_not_blank(empty)  # the blank check alone would not have caught it


def test_a_shifted_axis_fails(tmp_path):
    """Curves drawn 0.02 mm (about 18 px) off their displacement axis, as with a wrong origin, fail."""
    ref = check_image.read(DEMO / "load_displacement.png")
    shifted = check_image.read(_load_displacement(tmp_path / "b.png", shift_mm=0.02))
    mean, tile = check_image.difference(shifted, ref)
    assert tile > check_image.tile_tol, (mean, tile)


def test_a_missing_curve_fails(tmp_path):
    from vbfem.output import plots

    ref = check_image.read(DEMO / "load_displacement.png")
    curves = {k: v for k, v in _curves().items() if k != "KP"}
    path = plots.plot_load_displacement(curves, tmp_path / "b.png", title="compression to failure")
    assert _fails(check_image.read(path), ref)
