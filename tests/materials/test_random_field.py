"""Seeded correlated random field of the permeability (issue 19)."""

import numpy as np
import pytest

from vbfem.materials.random_field import gaussian_random_field


@pytest.fixture(scope="module")
def cloud():
    return np.random.default_rng(0).uniform(0.0, 100.0, (20000, 3))


def test_unit_variance_and_gaussian_covariance(cloud):
    ell = 5.0
    shifted = {r: cloud + [r, 0.0, 0.0] for r in (2.5, 5.0, 10.0)}
    g = gaussian_random_field(np.vstack([cloud, *shifted.values()]), correlation_length=ell, seed=1)
    base = g[:cloud.shape[0]]
    assert abs(base.mean()) < 0.05 and base.var() == pytest.approx(1.0, abs=0.06)
    for k, r in enumerate(shifted, start=1):
        other = g[k * cloud.shape[0]:(k + 1) * cloud.shape[0]]
        assert np.corrcoef(base, other)[0, 1] == pytest.approx(np.exp(-(r / ell) ** 2), abs=0.04)


def test_reproducible_by_seed_only(cloud):
    a = gaussian_random_field(cloud[:500], correlation_length=4.0, seed=7)
    b = gaussian_random_field(cloud[:500], correlation_length=4.0, seed=7)
    c = gaussian_random_field(cloud[:500], correlation_length=4.0, seed=8)
    np.testing.assert_array_equal(a, b)
    assert np.corrcoef(a, c)[0, 1] < 0.2


@pytest.mark.parametrize("ell", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_correlation_length(ell):
    with pytest.raises(ValueError, match="correlation_length"):
        gaussian_random_field(np.zeros((3, 3)), correlation_length=ell, seed=0)


def test_porous_medium_takes_the_field():
    from vbfem.fem.primitives import box_mesh
    from vbfem.materials.porous import porous_medium
    from vbfem.records import MaterialMap

    m = box_mesh((30.0, 30.0, 30.0), (15, 15, 15))
    mat = MaterialMap(E=np.full(m.n_cells, 100.0), nu=np.full(m.n_cells, 0.3), density=np.full(m.n_cells, 0.1))
    flat = porous_medium(m, mat)
    rough = porous_medium(m, mat, heterogeneity=0.37, seed=3, correlation_length=6.0)
    log_ratio = np.log(rough.permeability[:, 2] / flat.permeability[:, 2])
    assert log_ratio.std() == pytest.approx(0.37, rel=0.35)  # one realisation of a 30 mm box, ℓ = 6 mm
    # neighbours 2 mm apart are strongly correlated (exp(-(2/6)²) = 0.89); white noise would give 0
    key = {tuple(np.round(x, 6)): i for i, x in enumerate(rough.centroid)}
    pairs = [(i, key[tuple(np.round(x + [2.0, 0.0, 0.0], 6))]) for i, x in enumerate(rough.centroid)
             if tuple(np.round(x + [2.0, 0.0, 0.0], 6)) in key]
    i, j = np.array(pairs).T
    assert np.corrcoef(log_ratio[i], log_ratio[j])[0, 1] > 0.75
    white = np.log(porous_medium(m, mat, heterogeneity=0.37, seed=3).permeability[:, 2] / flat.permeability[:, 2])
    assert abs(np.corrcoef(white[i], white[j])[0, 1]) < 0.1
    with pytest.raises(ValueError, match="correlation_length=-1"):
        porous_medium(m, mat, heterogeneity=0.37, seed=3, correlation_length=-1.0)
