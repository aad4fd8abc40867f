"""The fluid-filled fracture line: cubic-law permeability, and the leak depends on which cortex is broken."""

import numpy as np
import pytest

from vbfem.fracture.deformity import apply_fracture
from vbfem.treatment.fracture_line import fracture_line_permeability
from vbfem.treatment.needles import bipedicular
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty


def test_cubic_law_flux_is_carried_by_the_band():
    """k · π a² (the band's Darcy conductance) equals the slit's 2a · w³/12 (cubic law) for any w, a."""
    for w, a in [(0.1, 1.0), (1.0, 2.0), (3.0, 2.0), (0.5, 0.25)]:
        k = fracture_line_permeability(w, a)
        assert k * np.pi * a ** 2 == pytest.approx(2 * a * w ** 3 / 12.0, rel=1e-14)
    assert fracture_line_permeability(2.0, 2.0) / fracture_line_permeability(1.0, 2.0) == pytest.approx(8.0)


@pytest.mark.parametrize("w, a", [(0.0, 2.0), (-1.0, 2.0), (1.0, 0.0), (float("nan"), 1.0), (5.0, 2.0)])
def test_bad_aperture(w, a):
    with pytest.raises(ValueError, match="aperture|half_width"):
        fracture_line_permeability(w, a)


def test_the_leak_depends_on_which_cortex_is_broken(l1_3mm):
    """Same wedge, same 3 mL bipedicular injection: a lateral breach fed by a 3 mm fracture line leaks,
    the posterior one does not; without the line's permeability the lateral leak is much smaller."""
    g, m, mat = l1_3mm
    needles = bipedicular(g, volume=3.0, start=240.0)
    leaked = {}
    for side in ("lateral_left", "posterior"):
        fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches=side, fracture_line=True)
        f = simulate_vertebroplasty(fm, fmat, g, needles=needles, fracture_line_aperture=3.0)
        leaked[side] = f.leaked[f"outlet_breach_{side}"]
        if side == "lateral_left":
            plain = simulate_vertebroplasty(fm, fmat, g, needles=needles).leaked["outlet_breach_lateral_left"]
    assert leaked["lateral_left"] > 20.0  # mm³
    assert leaked["posterior"] < 1.0
    assert plain < 0.2 * leaked["lateral_left"]
    with pytest.raises(ValueError, match="fracture_line"):
        simulate_vertebroplasty(m, mat, g, needles=needles, fracture_line_aperture=1.0)
