import dataclasses
import math

import numpy as np
import pytest

from vbfem.anatomy.geometry import POSTERIOR_EXPONENT, Geometry, build_vertebra
from vbfem.anatomy.morphometry import (
    CONCAVITY_INFERIOR,
    CONCAVITY_SUPERIOR,
    LEVELS,
    MORPHOMETRY,
    SHELL_THICKNESS,
    morphometry,
)


def monte_carlo_volume(g, n=400_000, seed=0):
    rng = np.random.default_rng(seed)
    hz = 0.5 * max(g.anterior_height, g.posterior_height) + 1.0
    lo = np.array([-(0.5 * g.depth + g.posterior_concavity + 0.5), -0.5 * g.width - 0.5, -hz])
    hi = np.array([0.5 * g.depth + 0.5, 0.5 * g.width + 0.5, hz])
    p = lo + (hi - lo) * rng.random((n, 3))
    return np.prod(hi - lo) * g.contains(p).mean()


# ------------------------------------------------------------------ table
def test_table_covers_t1_to_l5_with_sources():
    assert LEVELS[0] == "T1" and LEVELS[-1] == "L5" and len(LEVELS) == 17
    for lvl in ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"):
        row = MORPHOMETRY[lvl]
        assert row.level == lvl
        assert "Panjabi" in row.source and "approximate" in row.source
        numbers = [v for k, v in row.as_dict().items() if k not in ("level", "source")]
        assert all(np.isfinite(numbers))


def test_table_trends():
    widths = [MORPHOMETRY[lvl].endplate_width for lvl in LEVELS]
    assert np.all(np.diff(widths) > 0), "bodies widen caudally"
    for lvl in ("T4", "T8", "T12"):  # thoracic kyphotic wedge
        assert MORPHOMETRY[lvl].anterior_height < MORPHOMETRY[lvl].posterior_height
    assert MORPHOMETRY["L5"].anterior_height > MORPHOMETRY["L5"].posterior_height  # lordotic


def test_unknown_level_lists_valid_ones():
    with pytest.raises(ValueError, match=r"level='L6'.*T1, T2.*L5"):
        build_vertebra("L6")
    assert morphometry("l1") is MORPHOMETRY["L1"]


# ------------------------------------------------------------------ build
@pytest.mark.parametrize("level", LEVELS)
def test_every_level_builds(level):
    g = build_vertebra(level)
    row = MORPHOMETRY[level]
    assert g.width == row.endplate_width and g.depth == row.endplate_depth
    assert g.shell_thickness == SHELL_THICKNESS
    assert g.volume() > 0.5 * g.endplate_area() * min(g.anterior_height, g.posterior_height)
    assert g.contains(np.zeros(3))
    # the table heights are the rim-to-rim heights at the anterior and posterior walls
    for x, h in ((0.5 * g.depth, row.anterior_height), (-0.5 * g.depth, row.posterior_height)):
        assert g.z_superior(x, 0.0) - g.z_inferior(x, 0.0) == pytest.approx(h, abs=1e-12)


def test_body_volume_grows_caudally():
    v = [build_vertebra(lvl).volume() for lvl in ("T1", "T6", "T12", "L1", "L5")]
    assert np.all(np.diff(v) > 0)


def test_overrides():
    base = build_vertebra("L1")
    g = build_vertebra("L1", width=45.0, shell_thickness=0.6, posterior_concavity=0.0)
    assert (g.width, g.shell_thickness, g.posterior_concavity) == (45.0, 0.6, 0.0)
    assert g.depth == base.depth
    assert g.volume() > base.volume()
    assert "overridden" in g.source and "width=45.0" in g.source
    assert g.replace(width=40.0).width == 40.0
    with pytest.raises(TypeError, match="unknown dimension.*wdith"):
        build_vertebra("L1", wdith=45.0)


@pytest.mark.parametrize(
    "name, value",
    [
        ("width", -1.0),
        ("depth", 0.0),
        ("anterior_height", -5.0),
        ("shell_thickness", 0.0),
        ("shell_thickness", 20.0),  # thicker than half the body
        ("endplate_thickness", 8.0),  # thicker than a quarter of the height
        ("concavity_superior", -0.1),
        ("concavity_inferior", 9.0),
        ("waist", 10.0),
        ("posterior_concavity", 12.0),
        ("concave_fraction", 1.2),
        ("canal_width", 60.0),
        ("pedicle_transverse_angle", 90.0),
        ("pedicle_width", 0.0),
    ],
)
def test_bad_dimension_names_parameter_value_and_range(name, value):
    with pytest.raises(ValueError, match=rf"{name}={value:g}.*allowed range"):
        build_vertebra("L1", **{name: value})


def test_non_finite_and_non_numeric():
    with pytest.raises(ValueError, match="width=nan"):
        build_vertebra("L1", width=float("nan"))
    with pytest.raises(TypeError, match="depth must be a number"):
        build_vertebra("L1", depth="deep")


def test_inconsistent_wedge_names_heights():
    with pytest.raises(ValueError, match="anterior_height=.*posterior_height=.*inconsistent"):
        build_vertebra("L1", anterior_height=60.0, posterior_height=8.0, posterior_concavity=7.0)


# ------------------------------------------------------------------ shape
def test_outline_midsagittal_depth_and_width():
    g = build_vertebra("L2")
    assert g.radius(0.0) == pytest.approx(0.5 * g.depth)
    assert g.radius(np.pi) == pytest.approx(0.5 * g.depth)  # posterior dent at the midline
    assert g.radius(0.5 * np.pi) == pytest.approx(0.5 * g.width)
    # the posterolateral corners reach behind the midline: a concave posterior wall
    phi = np.linspace(0.6 * np.pi, 1.4 * np.pi, 2001)
    x = g.outline(phi)[:, 0]
    assert x.min() < -0.5 * g.depth - 0.5 * g.posterior_concavity
    flat = g.replace(posterior_concavity=0.0)
    assert flat.outline(phi)[:, 0].min() == pytest.approx(-0.5 * g.depth, abs=1e-9)


def test_outline_normals_are_unit_and_outward():
    g = build_vertebra("T12", waist=0.0)  # mid-height section = endplate outline
    phi = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    n = g.outline_normal(phi)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0)
    p = g.outline(phi)
    z = np.zeros((phi.size, 1))
    assert not g.contains(np.hstack([p + 0.05 * n, z])).any()
    assert g.contains(np.hstack([p - 0.05 * n, z])).all()


def test_curvature():
    circle = build_vertebra("L1", depth=40.0, width=40.0, posterior_concavity=0.0)
    assert np.allclose(circle.curvature(np.linspace(-1.2, 1.2, 7)), 1.0 / 20.0, rtol=1e-5)
    g = build_vertebra("L1")
    assert g.curvature(np.pi) < 0  # the posterior dent is concave


def test_endplates_concave_inferior_deeper():
    g = build_vertebra("L3")
    # Wang et al. 2012: the endplate cranial to the disc (= this vertebra's inferior) is deeper
    assert g.concavity_inferior == CONCAVITY_INFERIOR > g.concavity_superior == CONCAVITY_SUPERIOR
    h0 = 0.5 * (g.anterior_height + g.posterior_height)
    assert g.z_superior(0.0, 0.0) == pytest.approx(0.5 * h0 - g.concavity_superior)
    assert g.z_inferior(0.0, 0.0) == pytest.approx(-0.5 * h0 + g.concavity_inferior)
    # flat rim outside the central 70 %
    x_rim = 0.8 * 0.5 * g.depth
    assert g.z_superior(x_rim, 0.0) == pytest.approx(0.5 * g.height(x_rim))


def test_waist_narrows_mid_height():
    g = build_vertebra("L1")
    y_edge = 0.5 * g.width
    assert g.contains([0.0, y_edge - 0.01, 0.5 * g.height(0.0) - 0.01])
    assert not g.contains([0.0, y_edge - 0.01, 0.0])
    assert g.contains([0.0, y_edge * (1 - g.waist_fraction) - 0.01, 0.0])


def test_volume_closed_form_prism():
    # no waist, no dents, no wedge: an extruded ellipse/superellipse of known area
    a, b, h = 15.0, 20.0, 25.0
    g = build_vertebra("L1", depth=2 * a, width=2 * b, anterior_height=h, posterior_height=h, waist=0.0,
                       posterior_concavity=0.0, concavity_superior=0.0, concavity_inferior=0.0)
    n = POSTERIOR_EXPONENT
    superellipse = 4 * a * b * math.gamma(1 + 1 / n) ** 2 / math.gamma(1 + 2 / n)
    area = 0.5 * math.pi * a * b + 0.5 * superellipse
    assert g.endplate_area() == pytest.approx(area, rel=1e-9)
    assert g.volume() == pytest.approx(area * h, rel=1e-9)


@pytest.mark.parametrize("level", ["T4", "L1", "L5"])
def test_volume_matches_monte_carlo(level):
    g = build_vertebra(level, waist=2.0)  # exaggerate the waist to test its term
    v_mc = monte_carlo_volume(g)
    assert g.volume() == pytest.approx(v_mc, rel=0.01)


# -------------------------------------------------------------- landmarks
def test_pedicle_entries_on_posterior_wall_and_symmetric():
    g = build_vertebra("L1")
    left, right = g.pedicle_entry("left"), g.pedicle_entry("right")
    assert left[1] > 0 > right[1]
    assert np.allclose(left * [1, -1, 1], right)
    assert left[0] < 0  # posterior half
    for p in (left, right):
        assert g.contains(p + [1e-6, 0, 0]) and not g.contains(p - [1e-6, 0, 0])
    assert 0.0 <= left[2] < 0.5 * g.height(left[0]) - g.endplate_thickness


@pytest.mark.parametrize("level", ["T8", "L1", "L5"])
def test_needle_axes_point_anteromedially_into_the_body(level):
    g = build_vertebra(level)
    for side in ("left", "right"):
        e, a = g.pedicle_entry(side), g.needle_axis(side)
        assert np.linalg.norm(a) == pytest.approx(1.0)
        assert a[0] > 0 and np.sign(a[1]) == -np.sign(e[1])
        assert math.degrees(math.atan2(abs(a[1]), a[0])) == pytest.approx(g.pedicle_transverse_angle)
        assert g.contains(e + 5.0 * a)
    with pytest.raises(ValueError, match="side='up'"):
        g.needle_axis("up")


def test_foramen_and_canal_side():
    g = build_vertebra("T12")
    f = g.basivertebral_foramen
    assert f[1] == 0.0 and f[2] == pytest.approx(0.0)
    assert g.contains(f + [1e-6, 0, 0]) and not g.contains(f - [1e-6, 0, 0])
    assert np.array_equal(g.canal_direction, [-1.0, 0.0, 0.0])
    marks = g.landmarks()
    assert set(marks) >= {"pedicle_entry_left", "needle_axis_right", "basivertebral_foramen", "canal_direction"}


def test_geometry_is_frozen():
    g = build_vertebra("L1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.width = 3.0
    assert isinstance(g, Geometry)


def test_lumbar_rows_hold_the_cited_means():
    """Panjabi 1992 (EPWu, SCW, mean PDW) and Bonczar 2024 pooled heights, as cited in each row's source."""
    cited = {  # EPWu, SCW, PDW (Panjabi 1992 Tables 2-4); VBHa, VBHp (Bonczar 2024)
        "L1": (41.2, 23.7, 8.6, 24.54, 26.57), "L2": (42.6, 23.8, 8.25, 25.75, 27.02),
        "L3": (44.1, 24.3, 10.15, 26.83, 26.67), "L4": (46.6, 25.4, 14.05, 26.86, 25.76),
        "L5": (47.3, 27.1, 18.6, 27.44, 24.11),
    }
    for lvl, (epw, scw, pdw, ha, hp) in cited.items():
        row = MORPHOMETRY[lvl]
        assert (row.endplate_width, row.canal_width, row.pedicle_width) == (epw, scw, pdw), lvl
        assert (row.anterior_height, row.posterior_height) == (ha, hp), lvl
        assert "Panjabi et al. 1992" in row.source and "Bonczar" in row.source
    assert MORPHOMETRY["T12"].canal_width == 22.2 and MORPHOMETRY["T11"].canal_width == 19.4
