import numpy as np
import pytest

from vbfem.cement import CEMENTS, Cement, with_cement
from vbfem.records import CementFill, MaterialMap


def test_viscosity_curve_and_setting():
    c = CEMENTS["pmma"]
    assert c.viscosity(300.0) == pytest.approx(100.0)
    assert 140 < c.viscosity(600.0) < 150  # Boger 2008 working-phase range 100-145 Pa s
    with pytest.raises(ValueError, match="setting time"):
        c.viscosity(1300.0)
    with pytest.raises(ValueError, match="E"):
        Cement(E=0.0)


def test_with_cement_rule():
    mat = MaterialMap.uniform(3, 100.0, 0.3)
    s = np.array([0.0, 0.5, 1.0])
    fill = CementFill(saturation=s, fraction=0.8 * s, arrival_time=np.full(3, np.nan), injected=1.0, leaked={},
                      times=[1.0], needle_pressure=[[0.0]], injected_history=[1.0], body_history=[1.0],
                      leaked_history=[0.0])
    out = with_cement(mat, fill, "low_modulus_pmma")
    np.testing.assert_allclose(out.E, [100.0, 550.0, 1000.0])
    assert out.mask("composite").tolist() == [False, True, True]
