"""The project's one seeded correlated random field (bone density and permeability heterogeneity)."""

import numpy as np
import pytest

from vbfem.materials import bone
from vbfem.materials.random_field import correlated_field


def test_ensemble_covariance_is_the_stated_gaussian():
    """Over 400 seeds, E[g(x) g(x + r)] = exp(-r²/(2ℓ²)) at r = ℓ/2, ℓ, 2ℓ (module convention)."""
    ell, n_seeds = 5.0, 400
    base = np.random.default_rng(0).uniform(0.0, 100.0, (60, 3))  # domain ≫ ℓ: standardisation bias ~1e-3
    lags = (0.5 * ell, ell, 2.0 * ell)
    direction = np.array([1.0, 2.0, 2.0]) / 3.0
    pts = np.vstack([base] + [base + r * direction for r in lags])
    g = np.array([correlated_field(pts, correlation_length=ell, seed=s) for s in range(n_seeds)])
    g0 = g[:, :len(base)]
    assert np.mean(g0 ** 2) == pytest.approx(1.0, abs=0.03)
    for i, r in enumerate(lags, start=1):
        cov = np.mean(g0 * g[:, i * len(base):(i + 1) * len(base)])
        # standard error of the mean of 400 × 60 products (not independent in space): well below 0.03
        assert cov == pytest.approx(np.exp(-r ** 2 / (2 * ell ** 2)), abs=0.03), r


def test_reproducible_by_seed_and_a_function_of_position():
    pts = np.random.default_rng(1).uniform(0.0, 40.0, (500, 3))
    a = correlated_field(pts, correlation_length=4.0, seed=7)
    np.testing.assert_array_equal(a, correlated_field(pts, correlation_length=4.0, seed=7))
    assert abs(np.corrcoef(a, correlated_field(pts, correlation_length=4.0, seed=8))[0, 1]) < 0.2
    # the same seed on a different point set (another mesh of the same body) is the same field of position
    more = np.vstack([pts, np.random.default_rng(2).uniform(0.0, 40.0, (500, 3))])
    b = correlated_field(more, correlation_length=4.0, seed=7)[:500]
    assert np.corrcoef(a, b)[0, 1] > 0.95


def test_bone_uses_the_same_field():
    assert bone.correlated_field is correlated_field


@pytest.mark.parametrize("ell", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_correlation_length(ell):
    with pytest.raises(ValueError, match="correlation_length"):
        correlated_field(np.zeros((3, 3)), correlation_length=ell, seed=0)


def test_bad_points():
    with pytest.raises(ValueError, match="x must be"):
        correlated_field(np.zeros((3, 2)), correlation_length=1.0, seed=0)


def test_porous_medium_takes_the_field():
    from vbfem.fem.primitives import box_mesh
    from vbfem.materials.porous import porous_medium
    from vbfem.records import MaterialMap

    m = box_mesh((30.0, 30.0, 30.0), (15, 15, 15))
    mat = MaterialMap(E=np.full(m.n_cells, 100.0), nu=np.full(m.n_cells, 0.3), density=np.full(m.n_cells, 0.1))
    flat = porous_medium(m, mat)
    rough = porous_medium(m, mat, heterogeneity=0.37, seed=3, correlation_length=4.0)
    log_ratio = np.log(rough.permeability[:, 2] / flat.permeability[:, 2])
    assert log_ratio.std() == pytest.approx(0.37, rel=1e-9)  # standardised over the (equal-volume) flow cells
    # the same field as the bone's, scaled by σ
    g = correlated_field(rough.centroid, correlation_length=4.0, seed=3)
    np.testing.assert_allclose(log_ratio, 0.37 * g, atol=1e-12)
    # neighbours 2 mm apart are strongly correlated (exp(-2²/(2·4²)) = 0.88); white noise would give 0
    key = {tuple(np.round(x, 6)): i for i, x in enumerate(rough.centroid)}
    pairs = [(i, key[tuple(np.round(x + [2.0, 0.0, 0.0], 6))]) for i, x in enumerate(rough.centroid)
             if tuple(np.round(x + [2.0, 0.0, 0.0], 6)) in key]
    i, j = np.array(pairs).T
    assert np.corrcoef(log_ratio[i], log_ratio[j])[0, 1] > 0.75
    white = np.log(porous_medium(m, mat, heterogeneity=0.37, seed=3).permeability[:, 2] / flat.permeability[:, 2])
    assert abs(np.corrcoef(white[i], white[j])[0, 1]) < 0.1
    with pytest.raises(ValueError, match="correlation_length=-1"):
        porous_medium(m, mat, heterogeneity=0.37, seed=3, correlation_length=-1.0)
