"""Density-modulus laws (vbfem.materials.laws) and bone material maps (vbfem.materials.bone)."""

import logging

import numpy as np
import pytest

from vbfem.fem.cells import cell_centroids, cell_volumes
from vbfem.fem.primitives import box_mesh, convert, cylinder_mesh
from vbfem.materials import laws
from vbfem.materials.bone import (
    BONE_QUALITY,
    RegionalPattern,
    assign_bone,
    body_coordinates,
    bone_quality,
    correlated_field,
    tissue_labels,
)
from vbfem.materials.laws import (
    MODULUS_FLOOR,
    YIELD_STRAIN_COMPRESSION,
    YIELD_STRAIN_TENSION,
    DensityLaw,
    PowerLaw,
    get_law,
    modulus_from_density,
    register_law,
    strength_from_density,
    transverse_isotropic_constants,
)
from vbfem.records import tissue_code

RHO = np.array([0.10, 0.15, 0.20])


# ------------------------------------------------------------------ laws
def test_morgan2003_published_values():
    E = modulus_from_density(RHO)
    np.testing.assert_allclose(E, [130.0, 245.0, 384.0], atol=1.0)
    assert modulus_from_density(0.30) == pytest.approx(723.0, abs=1.0)
    assert isinstance(modulus_from_density(0.1), float)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("kopperdahl1998", -80.0 + 2100.0 * RHO),
        ("keller1994", 1890.0 * RHO**1.92),
        ("qct_crawford2003", -34.7 + 3230.0 * RHO),
    ],
)
def test_laws_reproduce_their_formula_in_native_density(name, expected):
    np.testing.assert_allclose(modulus_from_density(RHO, name), expected, rtol=1e-12)


def test_density_conversion_ash_and_qct_are_six_tenths_of_apparent():
    np.testing.assert_allclose(
        modulus_from_density(RHO, "keller1994", density_type="apparent"), 1890.0 * (0.6 * RHO) ** 1.92
    )
    E_qct = modulus_from_density(RHO, "qct_crawford2003", density_type="apparent")
    np.testing.assert_allclose(E_qct, -34.7 + 3230.0 * 0.6 * RHO)
    # the conversion makes the QCT law agree with Morgan 2003 within 25 %
    np.testing.assert_allclose(E_qct, modulus_from_density(RHO), rtol=0.25)


def test_strength_laws():
    np.testing.assert_allclose(strength_from_density(RHO), 50.3 * RHO**2.24)
    np.testing.assert_allclose(strength_from_density(RHO, "mosekilde1987"), 24.9 * RHO**1.80)


def test_yield_strains_kopperdahl1998():
    assert YIELD_STRAIN_COMPRESSION == 0.0084
    assert YIELD_STRAIN_TENSION == 0.0078


def test_linear_law_floored_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="vbfem.materials.laws"):
        E = modulus_from_density([0.01, 0.02, 0.15], "kopperdahl1998")
    np.testing.assert_allclose(E, [MODULUS_FLOOR, MODULUS_FLOOR, 235.0])
    assert "2 of 3 moduli" in caplog.text


def test_unknown_law_lists_valid_names():
    with pytest.raises(ValueError, match="morgan2003.*qct_crawford2003|qct_crawford2003.*morgan2003"):
        modulus_from_density(0.1, "carter1977")
    with pytest.raises(ValueError, match="hansson1987"):
        strength_from_density(0.1, "morgan2003")
    with pytest.raises(ValueError, match="gives strength"):
        get_law(get_law("hansson1987", quantity="strength"), quantity="modulus")


@pytest.mark.parametrize("bad", [0.0, -0.1, 2.5, np.nan])
def test_density_outside_range_names_value(bad):
    with pytest.raises(ValueError, match=r"\(0, 2\]") as err:
        modulus_from_density([0.1, bad, 0.2])
    assert str(bad) in str(err.value)
    assert "index 1" in str(err.value)


def test_register_custom_law():
    law = DensityLaw("test_power", "modulus", PowerLaw(1000.0, 2.0), "test", "apparent", (0.05, 0.4))
    register_law(law)
    try:
        assert modulus_from_density(0.2, "test_power") == pytest.approx(40.0)
        with pytest.raises(ValueError, match="exists"):
            register_law(law)
    finally:
        laws._MODULUS_LAWS.pop("test_power")


def test_transverse_isotropic_constants():
    c = transverse_isotropic_constants(RHO)
    Ea = -34.7 + 3230.0 * RHO
    np.testing.assert_allclose(c.E_axial, Ea)
    np.testing.assert_allclose(c.E_transverse, Ea / 3.0)
    np.testing.assert_allclose(c.G_transverse, 0.121 * Ea)
    C = c.stiffness()
    assert C.shape == (3, 6, 6)
    np.testing.assert_allclose(C, np.swapaxes(C, 1, 2), rtol=1e-12, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(C) > 0)
    # uniaxial axial stress gives E_axial back
    S = np.linalg.inv(C)
    np.testing.assert_allclose(1.0 / S[:, 2, 2], Ea)
    with pytest.raises(ValueError, match="isotropic"):
        transverse_isotropic_constants(0.1, "morgan2003")


# ------------------------------------------------------------------ bone
def _body(divisions=(10, 12, 8), cell_type="hex8"):
    """A 30 x 40 x 25 mm box with a one-cell cortex ring on its sides and endplate layers."""
    mesh = box_mesh((30.0, 40.0, 25.0), divisions)
    nx, ny, nz = divisions
    k, j, i = np.unravel_index(np.arange(mesh.n_cells), (nz, ny, nx))
    side = (i == 0) | (i == nx - 1) | (j == 0) | (j == ny - 1)
    ends = (k == 0) | (k == nz - 1)
    mesh = mesh.replace(
        cell_sets={"cortex": np.flatnonzero(side), "endplate": np.flatnonzero(ends & ~side)},
        node_sets={**mesh.node_sets, "superior": mesh.node_sets["zmax"],
                   "inferior": mesh.node_sets["zmin"], "posterior_wall": mesh.node_sets["xmin"]},
    )
    return convert(mesh, cell_type)


def test_cell_volumes_sum_to_box_volume():
    for cell_type in ("hex8", "tet4", "tet10"):
        mesh = box_mesh((3.0, 4.0, 5.0), (2, 3, 2), cell_type=cell_type)
        assert cell_volumes(mesh).sum() == pytest.approx(60.0, rel=1e-12)


def test_tissue_labels_from_cell_sets():
    mesh = _body()
    labels = tissue_labels(mesh)
    assert np.all(labels[mesh.cell_sets["cortex"]] == tissue_code("cortical"))
    assert np.all(labels[mesh.cell_sets["endplate"]] == tissue_code("endplate"))
    rest = np.setdiff1d(np.arange(mesh.n_cells), np.r_[mesh.cell_sets["cortex"], mesh.cell_sets["endplate"]])
    assert np.all(labels[rest] == tissue_code("trabecular"))
    split = mesh.replace(cell_sets={"superior_endplate": [0, 1], "inferior_endplate": [5]})
    assert np.flatnonzero(tissue_labels(split) == tissue_code("endplate")).tolist() == [0, 1, 5]
    assert np.all(tissue_labels(box_mesh()) == tissue_code("trabecular"))


@pytest.mark.parametrize("level", ["normal", "osteopenic", "osteoporotic"])
def test_assign_bone_levels(level):
    mesh = _body()
    m = assign_bone(mesh, bmd=level)
    q = BONE_QUALITY[level]
    trab = m.mask("trabecular")
    vol = cell_volumes(mesh)[trab]
    assert np.average(m.density[trab], weights=vol) == pytest.approx(q.trabecular_density, rel=1e-12)
    assert m.params["mean_density"] == pytest.approx(q.trabecular_density, rel=1e-12)
    np.testing.assert_allclose(m.E[trab], modulus_from_density(m.density[trab]))
    assert np.all(m.E[m.mask("cortical")] == q.cortical_E)
    assert np.all(m.nu[m.mask("cortical")] == 0.3)
    assert np.all(m.E[m.mask("endplate")] == q.endplate_E)
    assert np.all(m.nu[trab] == 0.315)
    assert np.all(np.isnan(m.density[~trab]))


def test_shell_moduli_published_set():
    assert [BONE_QUALITY[k].cortical_E for k in ("normal", "osteopenic", "osteoporotic")] == [12000, 8350, 4700]
    rho = [BONE_QUALITY[k].trabecular_density for k in ("normal", "osteopenic", "osteoporotic")]
    assert rho[0] > rho[1] > rho[2]
    assert 0.15 <= rho[0] <= 0.25 and 0.07 <= rho[2] <= 0.12


def test_float_bmd_and_errors():
    mesh = _body()
    m = assign_bone(mesh, bmd=0.13)
    assert m.params["mean_density"] == pytest.approx(0.13)
    assert m.params["level"] == "osteoporotic"  # 0.13 g/cm³ apparent ~ 78 mg/cm³ QCT < 80
    assert bone_quality(0.25).name == "normal" and bone_quality(0.15).name == "osteopenic"
    with pytest.raises(ValueError, match="normal, osteopenic, osteoporotic"):
        assign_bone(mesh, bmd="weak")
    with pytest.raises(ValueError, match="2.5"):
        assign_bone(mesh, bmd=2.5)
    with pytest.raises(ValueError, match="valid"):
        assign_bone(mesh, law="nope")


def test_all_trabecular_without_sets():
    m = assign_bone(cylinder_mesh(15.0, 20.0, n_radial=3, n_axial=4), bmd="normal")
    assert np.all(m.mask("trabecular"))
    assert m.params["n_cortical"] == 0 and m.params["n_endplate"] == 0


@pytest.mark.parametrize("cell_type", ["hex8", "tet4"])
def test_regional_variation_directions(cell_type):
    mesh = _body((12, 14, 12), cell_type)
    m = assign_bone(mesh, bmd="osteoporotic")
    trab = m.mask("trabecular")
    c = body_coordinates(mesh, cell_centroids(mesh)[trab])
    rho = m.density[trab]
    anterior_central = rho[(c["anterior"] > 0.6) & (c["endplate"] > 0.6)].mean()
    posterior = rho[c["anterior"] < 0.35].mean()
    near_endplate = rho[c["endplate"] < 0.35].mean()
    assert anterior_central < posterior
    assert anterior_central < near_endplate
    # posterior third / anterior third ~ posterior_ratio (times the same endplate profile)
    ratio = rho[c["anterior"] < 1 / 3].mean() / rho[c["anterior"] > 2 / 3].mean()
    assert ratio == pytest.approx(1.2, rel=0.05)


def test_regional_pattern_follows_node_sets_not_box():
    # posterior wall on the +x face instead: the gradient must flip
    mesh = _body()
    flipped = mesh.with_node_set("posterior_wall", mesh.node_sets["xmax"])
    x = cell_centroids(mesh)
    assert np.corrcoef(body_coordinates(mesh, x)["anterior"], x[:, 0])[0, 1] > 0.99
    assert np.corrcoef(body_coordinates(flipped, x)["anterior"], x[:, 0])[0, 1] < -0.99


def test_uniform_without_pattern():
    m = assign_bone(_body(), bmd="normal", pattern=None)
    trab = m.mask("trabecular")
    np.testing.assert_allclose(m.density[trab], 0.22)
    with pytest.raises(ValueError):
        RegionalPattern(posterior_ratio=0.0)


def test_heterogeneity_seeded_and_cv():
    mesh = box_mesh((40.0, 40.0, 30.0), (20, 20, 15))
    kw = {"bmd": "osteopenic", "heterogeneity": 0.25, "correlation_length": 4.0, "pattern": None}
    a = assign_bone(mesh, seed=7, **kw)
    b = assign_bone(mesh, seed=7, **kw)
    c = assign_bone(mesh, seed=8, **kw)
    np.testing.assert_array_equal(a.density, b.density)
    assert not np.allclose(a.density, c.density)
    vol = cell_volumes(mesh)
    for m in (a, c):
        mean = np.average(m.density, weights=vol)
        assert mean == pytest.approx(0.17, rel=1e-12)
        cv = np.sqrt(np.average((m.density - mean) ** 2, weights=vol)) / mean
        assert cv == pytest.approx(0.25, rel=0.1)
    assert a.params["seed"] == 7 and a.params["heterogeneity"] == 0.25


def test_heterogeneity_without_seed_records_a_reproducible_seed():
    mesh = box_mesh((20.0, 20.0, 20.0), (6, 6, 6))
    a = assign_bone(mesh, heterogeneity=0.2)
    assert isinstance(a.params["seed"], int)
    b = assign_bone(mesh, heterogeneity=0.2, seed=a.params["seed"])
    np.testing.assert_array_equal(a.density, b.density)


def test_correlated_field_is_spatially_correlated():
    x = cell_centroids(box_mesh((60.0, 6.0, 6.0), (120, 1, 1)))  # 0.5 mm spacing along x
    g = correlated_field(x, correlation_length=5.0, seed=1)
    assert np.mean(g) == pytest.approx(0.0, abs=1e-12) and np.std(g) == pytest.approx(1.0)
    lag1 = np.corrcoef(g[:-1], g[1:])[0, 1]      # 0.5 mm apart: nearly equal
    lag40 = np.corrcoef(g[:-40], g[40:])[0, 1]   # 20 mm apart: nearly independent
    assert lag1 > 0.95 and abs(lag40) < 0.5


def test_explicit_density_bypasses_field():
    mesh = _body()
    rho = np.linspace(0.08, 0.3, mesh.n_cells)
    m = assign_bone(mesh, density=rho, law="kopperdahl1998", heterogeneity=0.3, seed=1)
    trab = m.mask("trabecular")
    np.testing.assert_array_equal(m.density, rho)
    np.testing.assert_allclose(m.E[trab], -80.0 + 2100.0 * rho[trab])
    assert m.params["density_source"] == "explicit" and m.params["seed"] is None
    with pytest.raises(ValueError, match="shape"):
        assign_bone(mesh, density=rho[:-1])
    bad = rho.copy()
    bad[np.flatnonzero(trab)[3]] = 3.0
    with pytest.raises(ValueError, match="3.0"):
        assign_bone(mesh, density=bad)


def test_qct_law_in_assign_bone():
    mesh = _body()
    m = assign_bone(mesh, bmd="normal", law="qct_crawford2003")
    trab = m.mask("trabecular")
    c = transverse_isotropic_constants(m.density[trab], density_type="apparent")
    np.testing.assert_allclose(m.E[trab], c.E_axial)
    assert "anisotropy" in m.params


def test_provenance_params():
    m = assign_bone(_body(), bmd="osteopenic", heterogeneity=0.1, seed=3, correlation_length=6.0)
    p = m.params
    assert m.law == "morgan2003" and p["law"] == "morgan2003"
    assert "Morgan" in p["law_citation"] and "4730" in p["law_expression"]
    for key, value in {
        "level": "osteopenic", "bmd": "osteopenic", "seed": 3, "heterogeneity": 0.1,
        "correlation_length": 6.0, "cortical_E": 8350.0, "cortical_nu": 0.3, "endplate_E": 1000.0,
        "trabecular_nu": 0.315, "density_type": "apparent", "density_source": "field",
    }.items():
        assert p[key] == value, key
    assert p["mean_density"] == pytest.approx(0.17)
    assert p["pattern"]["posterior_ratio"] == 1.2


def test_regional_density_is_the_kd_tree_one_bit_for_bit(l1_3mm, monkeypatch):
    """The body coordinates come from an oriented-box tree (linear in the cells, issue 22) instead of scipy's
    k-d tree: the same nearest-node distances, so the same densities and moduli to the last bit."""
    from scipy.spatial import cKDTree

    from vbfem.materials import bone

    _, mesh, _ = l1_3mm
    new = assign_bone(mesh, heterogeneity=0.2, seed=4)
    monkeypatch.setattr(bone, "nearest_distance", lambda x, surface: cKDTree(surface).query(x)[0])
    old = assign_bone(mesh, heterogeneity=0.2, seed=4)
    np.testing.assert_array_equal(new.density, old.density)
    np.testing.assert_array_equal(new.E, old.E)
