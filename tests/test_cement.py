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
    # series (Reuss) mix by the cemented fraction; a filled cell is pure cement (Kinzl 2011)
    np.testing.assert_allclose(out.E, [100.0, 1.0 / (0.5 / 100.0 + 0.5 / 1000.0), 1000.0])
    assert out.mask("composite").tolist() == [False, True, True]


def test_partial_cell_rule_converges_on_a_fixed_inclusion():
    """A cement inclusion that does not move with the mesh: the series rule of with_cement is within
    1 % at 4 mm of its 2.5 mm value, the parallel (Voigt) mix is several % stiff at 4 mm (first order)."""
    from vbfem.verification import inclusion_convergence

    rows = inclusion_convergence((4.0, 2.5))
    coarse, fine = rows
    assert fine["n_cells"] > 2.5 * coarse["n_cells"]
    series = abs(coarse["series"] - fine["series"]) / fine["series"]
    parallel = (coarse["parallel"] - fine["parallel"]) / fine["parallel"]
    assert series < 0.01
    assert parallel > 0.03 and parallel > 5 * series
    assert fine["series"] < fine["parallel"]  # the lower and the upper bound of the cell's modulus


def test_cell_fraction_inside_integrates_a_half_space():
    from vbfem.primitives import box_mesh
    from vbfem.verification import cell_fraction_inside

    mesh = box_mesh((4.0, 1.0, 1.0), (4, 1, 1))
    frac = cell_fraction_inside(mesh, lambda p: p[:, 0] < 1.5, n=4)
    np.testing.assert_allclose(frac, [1.0, 0.5, 0.0, 0.0])
