"""Regular vs low-modulus PMMA after Boger et al. 2007 (issue 18): the share of the stiffening, and its row."""

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from vbfem.materials.cement import CEMENTS, with_cement
from vbfem.study.published import PUBLISHED
from vbfem.study.validation import BOGER_MODULI, _stiffness, core_fill, low_modulus_share, validation_table

KEYS = ("boger_regular_stiffness_change_pct", "boger_low_modulus_stiffness_change_pct", "boger_low_modulus_share_pct")


def _row():
    return next(r for r in PUBLISHED if r["key"][1] == "boger_low_modulus_share_pct")


def _half_core(mesh, bone):
    """The whole-marrow fill cut to the cells below the body's mid-height: a fill not bridging the endplates."""
    from vbfem.fem.cells import cell_centroids

    fill = core_fill(mesh, bone)
    z = cell_centroids(mesh)[:, 2]
    low = z < np.median(z)
    return dataclasses.replace(fill, saturation=np.where(low, fill.saturation, 0.0),
                               fraction=np.where(low, fill.fraction, 0.0))


def test_share_is_the_low_cements_stiffening_over_the_regular_cements(l1_3mm):
    _, mesh, bone = l1_3mm
    fill = _half_core(mesh, bone)
    k0 = _stiffness(mesh, bone)
    out = low_modulus_share(mesh, bone, fill, k0=k0)
    assert set(out) == set(KEYS)
    # recomputed here from the composite rule, cement by cement
    k = [_stiffness(mesh, with_cement(bone, fill, dataclasses.replace(CEMENTS["pmma"], E=e))) for e in BOGER_MODULI]
    assert out["boger_regular_stiffness_change_pct"] == pytest.approx(100 * (k[0] / k0 - 1), rel=1e-9)
    assert out["boger_low_modulus_stiffness_change_pct"] == pytest.approx(100 * (k[1] / k0 - 1), rel=1e-9)
    assert 0 < out["boger_low_modulus_stiffness_change_pct"] < out["boger_regular_stiffness_change_pct"]
    assert out["boger_low_modulus_share_pct"] == pytest.approx(
        100 * out["boger_low_modulus_stiffness_change_pct"] / out["boger_regular_stiffness_change_pct"])
    assert 0 < out["boger_low_modulus_share_pct"] < 100
    # k0 computed when not given: the same values
    assert low_modulus_share(mesh, bone, fill) == pytest.approx(out)


def test_equal_cements_would_share_everything_and_no_cement_gives_no_share(l1_3mm):
    _, mesh, bone = l1_3mm
    fill = _half_core(mesh, bone)
    near = low_modulus_share(mesh, bone, fill, moduli=(1937.0, 1936.0))
    assert near["boger_low_modulus_share_pct"] == pytest.approx(100.0, abs=0.2)
    empty = dataclasses.replace(fill, saturation=np.zeros_like(fill.saturation), fraction=np.zeros_like(fill.fraction))
    none = low_modulus_share(mesh, bone, empty)
    assert none["boger_regular_stiffness_change_pct"] == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(none["boger_low_modulus_share_pct"])


@pytest.mark.parametrize("moduli", [(954.0, 1937.0), (1937.0, 0.0), (1937.0, 1937.0), (math.nan, 954.0)])
def test_moduli_must_be_regular_above_low_above_zero(l1_3mm, moduli):
    _, mesh, bone = l1_3mm
    with pytest.raises(ValueError, match="moduli"):
        low_modulus_share(mesh, bone, core_fill(mesh, bone), moduli=moduli, k0=1.0)


def test_boger_row_is_the_abstracts_reading():
    row = _row()
    assert row["evidence"] == "independent" and row["key"] == ("comparisons", "boger_low_modulus_share_pct", 0.0)
    assert "Boger" in row["source"] and "2007;16:2118" in row["source"]
    # n = 11 a group (fracture counts 3:8, 4:7, 10:1), df 20: the low-modulus effect within its 95 % interval,
    # the regular effect at least the size significant at p = 0.003
    bound = 100 * stats.t.ppf(0.975, 20) / stats.t.ppf(1 - 0.003 / 2, 20)
    assert (row["low"], row["high"]) == (-round(bound), round(bound)) == (-62.0, 62.0)
    # the moduli measured by the same group (Kolb et al. 2013, abstract)
    assert BOGER_MODULI == (1937.0, 954.0)


def test_boger_row_is_judged_on_the_share():
    table = {r["quantity"]: r for r in validation_table([], {"boger_low_modulus_share_pct": 58.0})}
    assert table[_row()["quantity"]]["in range"] == "yes"
    table = {r["quantity"]: r for r in validation_table([], {"boger_low_modulus_share_pct": 70.0})}
    assert table[_row()["quantity"]]["in range"] == "NO (outside)"
