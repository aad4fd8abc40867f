"""plot_endplate_maps: orientation (anterior up), one colour range over the panels, reference image, bad input."""

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from _images import ImageCheck

from vbfem.output import viz

check_image = ImageCheck()


def _grid(n=8, half=20.0, z=0.0):
    """Quads (n*n, 4, 3) of a square endplate of side 2*half at height z, and their centres."""
    t = np.linspace(-half, half, n + 1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    corners = np.stack([np.column_stack([t[a], t[b], np.full(a.size, z)])
                        for a, b in ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1))], axis=1)
    return corners, corners.mean(axis=1)


def test_anterior_is_up_and_states_share_one_colour_range(tmp_path):
    """A value equal to x (anterior) grows towards the top of a panel; the second state, the first plus 40,
    is drawn redder than the first everywhere (one colour range for both, coolwarm: blue low, red high)."""
    corners, c = _grid()
    maps = {"intact": {"L2:inferior": (corners, c[:, 0])}, "VP": {"L2:inferior": (corners, c[:, 0] + 40.0)}}
    path = viz.plot_endplate_maps(maps, tmp_path / "ep.png", label="x (mm)", cmap="coolwarm",
                                  panel_size=(200, 200))
    img = check_image.read(path)
    h, w = img.shape[:2]
    warmth = img[..., 0] - img[..., 2]  # red minus blue
    for k in (0, 1):  # the two panels' middle columns
        col = warmth[: int(0.75 * h), (2 * k + 1) * w // 4]
        drawn = np.flatnonzero(np.abs(img[: int(0.75 * h), (2 * k + 1) * w // 4] - 255).sum(axis=1) > 30)
        rows = drawn[(drawn > 0.2 * h)]  # below the panel title
        assert rows.size > 50
        assert col[rows[:10]].mean() > col[rows[-10:]].mean() + 20, "anterior (high x) should be at the top"
    left, right = (warmth[int(0.3 * h): int(0.7 * h), (2 * k + 1) * w // 4] for k in (0, 1))
    assert np.median(right - left) > 40 and np.median(right) > 30


def test_endplate_maps_image(tmp_path):
    corners, c = _grid()
    lower, _ = _grid(z=-40.0)
    p = 0.4 + 0.01 * c[:, 0] + 0.002 * c[:, 1]
    maps = {s: {"L2:inferior": (corners, f * p), "L4:superior": (lower, f * p[::-1])}
            for s, f in (("intact", 1.0), ("fractured", 1.1), ("VP", 0.95))}
    path = viz.plot_endplate_maps(maps, tmp_path / "ep.png", label="pressure (MPa)",
                                  title="flexion, 500 N axial force and 7.5 N m moment")
    check_image(path, "viz_endplate_maps.png")


@pytest.mark.parametrize("bad, match", [
    ({}, "at least one state"),
    ({"a": {}}, "no endplate"),
    ({"a": {"e": (np.zeros((2, 3, 3)), np.zeros(2))}}, "corners must be"),
    ({"a": {"e": (np.zeros((2, 4, 3)), np.zeros(3))}}, "corners must be"),
    ({"a": {"e": (np.zeros((2, 4, 3)), np.array([0.0, np.nan]))}}, "non-finite"),
    ({"a": {"e": (np.zeros((1, 4, 3)), np.zeros(1))}, "b": {"f": (np.zeros((1, 4, 3)), np.zeros(1))}}, "names endplates"),
])
def test_bad_maps_are_refused(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        viz.plot_endplate_maps(bad, tmp_path / "x.png", label="p")
