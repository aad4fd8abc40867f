"""Cement in a wedge's intravertebral cleft reaches the disc through the endplate crack above it (issue 19).

Clinically a cleft raises intradiscal leakage (16.5 % vs 6.5 % of 139 matched pairs, PMC8449924) and an upper
endplate disruption is a risk factor of it (Zhang et al., BMC Musculoskelet Disord 2020;21:792): the crack of a
wedge lies in the anterior endplate (vbfem.fracture.defects.WEDGE_CRACK_POSITION), over the cleft.
"""

import pytest

from vbfem.fracture.deformity import apply_fracture
from vbfem.treatment.needles import Needle, bipedicular
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty


def _cleft_injection(g, fmat, volume):
    left = bipedicular(g, volume=volume, start=240.0)[0]
    return Needle(name="cleft", entry=left.entry, tip=tuple(fmat.params["fracture"]["cleft"]["center"]),
                  volume=volume, start=240.0)


def test_cement_injected_into_a_wedges_cleft_leaks_into_the_disc(l1_3mm):
    g, m, mat = l1_3mm
    fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches="typical", cleft=True)
    fill = simulate_vertebroplasty(fm, fmat, g, needles=_cleft_injection(g, fmat, 1.0))
    assert fill.metrics["leak"] and fill.metrics["first_leak_class"] == "disc"
    assert fill.metrics["leaked_disc"] > 100.0  # of 1000 mm³ (280 mm³ when written)
    assert fill.metrics["mass_error"] < 1e-6
    # the same cleft under a crack at the middle station (the old default) is walled off from it: no disc leak
    mid, y_c = fmat.params["fracture"]["stations_x"][1], fmat.params["fracture"]["mid_sagittal_y"]
    fm2, fmat2 = apply_fracture(m, mat, "wedge", grade=2, cleft=True,
                                breaches=("anterior", {"name": "endplate_crack", "point": (mid, y_c, 0.0)}))
    assert fmat2.params["fracture"]["outlets"]["outlet_endplate_crack"]["point"][0] == pytest.approx(mid)  # kept
    fill2 = simulate_vertebroplasty(fm2, fmat2, g, needles=_cleft_injection(g, fmat2, 1.0))
    assert fill2.metrics["leaked_disc"] < 1.0  # mm³: a numerical trace (6e-5 when written), no leak
