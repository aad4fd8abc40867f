"""The cement-modulus comparisons with Kosmopoulos & Keller 2004 (issue 18): their setups, not the model's."""

import numpy as np
import pytest

from vbfem.materials.cement import CEMENTS, with_cement
from vbfem.materials.porous import porous_medium
from vbfem.records import TISSUES
from vbfem.study.published import PUBLISHED
from vbfem.study.validation import KOSMOPOULOS_MODULI, KOSMOPOULOS_PARTIAL_FILL, KOSMOPOULOS_PMMA, _stiffness, core_fill


def test_core_fill_replaces_the_whole_marrow_and_nothing_else(l1_3mm):
    _, mesh, bone = l1_3mm
    fill = core_fill(mesh, bone)
    medium = porous_medium(mesh, bone)
    flow = np.asarray(medium.flow, bool)
    assert flow.any() and not flow.all()  # the cortex and the endplates hold no marrow
    assert np.array_equal(fill.saturation, flow.astype(float))
    np.testing.assert_allclose(fill.fraction, np.where(flow, medium.porosity, 0.0))
    assert fill.injected == pytest.approx(float(medium.pore_volume.sum()))
    assert fill.leaked_total == 0.0
    filled = with_cement(bone, fill, CEMENTS["pmma"])
    assert np.all(filled.tissue[flow] == TISSUES.index("composite"))
    np.testing.assert_array_equal(filled.E[~flow], bone.E[~flow])  # cortex, endplates untouched


def test_filling_the_whole_marrow_stiffens_more_with_a_stiffer_cement(l1_3mm):
    import dataclasses

    _, mesh, bone = l1_3mm
    fill = core_fill(mesh, bone)
    k0 = _stiffness(mesh, bone)
    k = [_stiffness(mesh, with_cement(bone, fill, dataclasses.replace(CEMENTS["pmma"], E=e)))
         for e in (KOSMOPOULOS_PMMA, KOSMOPOULOS_MODULI[1])]
    assert k0 < k[0] < k[1]


def _row(key):
    return next(r for r in PUBLISHED if r["key"][1] == key)


def test_kosmopoulos_rows_are_the_abstracts_numbers():
    # the abstract: 39 % of the marrow, 1 to 9 GPa, PMMA 2.16 GPa; complete fill +82 % (PMMA) and +158 % (9 GPa)
    assert KOSMOPOULOS_PARTIAL_FILL == 0.39 and KOSMOPOULOS_MODULI == (1000.0, 9000.0) and KOSMOPOULOS_PMMA == 2160.0
    effect = 100.0 * (2.58 / 1.82 - 1.0)  # +41.8 % from 2.16 to 9 GPa
    full = _row("full_fill_cement_modulus_effect_pct")
    assert full["low"] == pytest.approx(effect / 1.5, abs=0.5) and full["high"] == pytest.approx(effect * 1.5, abs=0.5)
    pmma = _row("full_fill_stiffness_pct_intact")
    assert pmma["key"][2] == -100.0 and pmma["low"] == pytest.approx(82 / 1.5, abs=0.5)
    assert pmma["high"] == pytest.approx(82 * 1.5, abs=0.5)
    partial = _row("partial_fill_cement_modulus_effect_pct")
    assert (partial["low"], partial["high"]) == (-10.0, 10.0)
    assert all(r["evidence"] == "independent" for r in (full, pmma, partial))
    # the old row (8 mL, the model's own setup) is gone
    assert not any(r["key"][1] == "vp8_cement_modulus_effect_pct" for r in PUBLISHED)
