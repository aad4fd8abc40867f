"""matplotlib figures: yield point by the offset rule, reproducible PNGs, reference images.

Reference images live in tests/data/images/; the comparison and how to regenerate them are in
tests/output/_images.py.
"""

import hashlib

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from _images import ImageCheck

from vbfem.output import plots

check_image = ImageCheck()


def _curves():
    d = np.linspace(0.0, 1.2, 61)
    k, dy = 2000.0, 0.3
    intact = np.where(d < dy, k * d, k * dy + 300.0 * (d - dy) - 400.0 * np.clip(d - 0.8, 0, None))
    return {"intact": (d, intact), "fractured": (d, 0.55 * intact), "VP": (d, 0.9 * intact)}


def test_yield_point_of_bilinear_curve_is_exact():
    """Elastic slope k up to d_y, then flat: the offset line k (d - s) meets it at d_y + s, force k d_y."""
    d = np.linspace(0.0, 1.0, 101)
    k, dy, height = 1500.0, 0.25, 30.0
    f = np.minimum(k * d, k * dy)
    s = 0.002 * height
    yd, yf = plots.yield_point(d, f, height=height)
    assert yd == pytest.approx(dy + s, rel=1e-12)
    assert yf == pytest.approx(k * dy, rel=1e-12)


def test_yield_point_absent_on_linear_curve():
    d = np.linspace(0, 1, 11)
    assert plots.yield_point(d, 3.0 * d) is None


def test_load_displacement_image_and_reproducible(tmp_path):
    a = plots.plot_load_displacement(_curves(), tmp_path / "a.png", height=30.0, title="L1 compression")
    b = plots.plot_load_displacement(_curves(), tmp_path / "b.png", height=30.0, title="L1 compression")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    from PIL import Image

    info = Image.open(a).info
    assert "Software" not in info and not any("time" in k.lower() for k in info)
    assert Image.open(a).size == (640, 420)
    check_image(a, "plot_load_displacement.png")


def test_injection_image(tmp_path):
    t = np.linspace(0.0, 120.0, 121)
    p = np.column_stack([2e5 + 1e4 * np.sqrt(t), 1.8e5 + 1.2e4 * np.sqrt(t)])
    v = 50.0 * t
    path = plots.plot_injection(t, p, v, tmp_path / "i.png", leaked=0.02 * v, title="bipedicular VP")
    check_image(path, "plot_injection.png")


def test_injection_with_a_constant_pressure_and_two_equal_needles_shows_both(tmp_path):
    """Issue 23: a kyphoplasty's nearly constant pressure (1.3892 kPa +- 1e-9) drew an offset axis
    "1e-6+1.3892" and no visible line; two equal needles hid one under the other, in the volume's colour."""
    import matplotlib.colors as mc

    t = np.linspace(240.0, 280.0, 41)
    p = np.full((t.size, 2), 1389.2) + 1e-9 * np.sin(t)[:, None]
    fig = plots.injection_figure(t, p, 100.0 * (t - 240.0), leaked=0 * t, title="KP")
    fig.canvas.draw()
    ax, ax2 = fig.axes
    assert ax.yaxis.get_offset_text().get_text() == ""
    lo, hi = ax.get_ylim()
    assert lo == 0.0 and hi == pytest.approx(1.1 * 1.3892, rel=1e-6)  # the line at 91 % of the axis height
    assert ax.get_yticklabels()[-1].get_text() != ""
    n1, n2 = ax.get_lines()
    volume_colours = {mc.to_hex(line.get_color()) for line in ax2.get_lines()}
    assert mc.to_hex(n1.get_color()) != mc.to_hex(n2.get_color())
    assert not {mc.to_hex(n1.get_color()), mc.to_hex(n2.get_color())} & volume_colours
    assert n1.get_linestyle() != n2.get_linestyle() and n1.get_linewidth() > n2.get_linewidth()
    # rendered: the pressure colours appear in the picture (the flat lines are visible)
    path = plots.plot_injection(t, p, 100.0 * (t - 240.0), tmp_path / "kp.png", leaked=0 * t)
    img = check_image.read(path)
    for colour in (n1.get_color(), n2.get_color()):
        rgb = 255 * np.array(mc.to_rgb(colour))
        assert (np.abs(img - rgb).max(axis=2) < 30).sum() > 100, colour


def test_injection_pressure_known_at_one_time_is_a_marker():
    """The demo's kyphoplasty: two times (start, end), the pressure NaN at the start; a line of one point
    draws nothing, so the value is marked (issue 23)."""
    t = np.array([240.0, 280.0])
    p = np.array([[np.nan, np.nan], [1389.228, 1389.234]])
    ax = plots.injection_figure(t, p, np.array([0.0, 4000.0])).axes[0]
    markers = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    assert len(markers) == 2 and all(list(m.get_xdata()) == [280.0] for m in markers)
    assert markers[0].get_ydata()[0] == pytest.approx(1.389228)


def test_restoration_and_tornado_images(tmp_path):
    vol = np.array([1, 2, 3, 4, 1, 2, 3, 4, 4], float)
    rest = np.array([40, 60, 75, 85, 50, 70, 88, 95, 99], float)
    groups = ["VP"] * 4 + ["KP"] * 5
    check_image(plots.plot_restoration(vol, rest, tmp_path / "r.png", groups=groups), "plot_restoration.png")
    path = plots.plot_tornado(["BMD", "cement modulus", "viscosity", "needle depth"], [55, 80, 84, 86],
                              [112, 92, 90, 89], 87.0, tmp_path / "t.png")
    check_image(path, "plot_tornado.png")


def test_balloon_curve(tmp_path):
    """The pressure-volume curve from the origin, its end in the legend; a rating far above it is named, a
    rating near it drawn."""
    v = np.linspace(0.25, 4.0, 60)
    p = 0.1 + 0.06 * v
    rated = 700 * 6.894757e-3
    check_image(plots.plot_balloon(v, p, tmp_path / "b.png", rated_pressure=rated, n_balloons=2, title="KP"),
                "plot_balloon.png")
    near = plots.balloon_figure(v, p, rated_pressure=0.4).axes[0]
    far = plots.balloon_figure(v, p, rated_pressure=rated).axes[0]
    assert near.get_ylim()[1] >= 0.4 and far.get_ylim()[1] < 1.0
    texts = [t.get_text() for t in far.get_legend().get_texts()]
    assert "rated pressure 4.83 MPa (700 psi), above the axis" in texts
    assert "end: 4.00 mL at 0.34 MPa (49 psi)" in texts
    xs = far.get_lines()[0].get_xdata()
    assert xs[0] == 0.0 and xs[-1] == pytest.approx(4.0)


def test_tolerance_separates_different_figures():
    a = check_image.read(check_image.folder / "plot_load_displacement.png")
    b = check_image.read(check_image.folder / "plot_injection.png")
    mean, tile = check_image.difference(a, b)
    assert mean > 2 * check_image.mean_tol and tile > 2 * check_image.tile_tol


def test_bad_input(tmp_path):
    d = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="curves is empty"):
        plots.plot_load_displacement([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels"):
        plots.plot_load_displacement([(d, d)], tmp_path / "x.png", labels=["a", "b"])
    with pytest.raises(ValueError, match="equal length"):
        plots.plot_load_displacement([(d, d[:-1])], tmp_path / "x.png")
    with pytest.raises(ValueError, match="finite"):
        plots.plot_load_displacement([(d, d * np.nan)], tmp_path / "x.png")
    with pytest.raises(ValueError, match="non-decreasing"):
        plots.plot_injection(d[::-1], d, d, tmp_path / "x.png")
    with pytest.raises(ValueError, match="pressure_unit"):
        plots.plot_injection(d, d, d, tmp_path / "x.png", pressure_unit="bar")
    with pytest.raises(ValueError, match="groups"):
        plots.plot_restoration(d, d, tmp_path / "x.png", groups=["a"])
    with pytest.raises(ValueError, match="same non-zero length"):
        plots.plot_tornado(["a"], [1, 2], [3], 0.0, tmp_path / "x.png")
    with pytest.raises(ValueError, match=".png"):
        plots.plot_tornado(["a"], [1], [3], 0.0, tmp_path / "x.svg")
    with pytest.raises(ValueError, match="non-decreasing"):
        plots.plot_balloon(d[::-1], d, tmp_path / "x.png")
    with pytest.raises(ValueError, match="equal length"):
        plots.plot_balloon(d, d[:-1], tmp_path / "x.png")
    with pytest.raises(ValueError, match="rated_pressure"):
        plots.plot_balloon(d, d, tmp_path / "x.png", rated_pressure=-1.0)
    assert not list(tmp_path.iterdir())
