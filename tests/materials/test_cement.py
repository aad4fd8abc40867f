import numpy as np
import pytest

from vbfem.materials.cement import CEMENT_IN_BONE_FACTOR, CEMENTS, Cement, with_cement
from vbfem.records import CementFill, MaterialMap


def test_viscosity_curve_and_setting():
    c = CEMENTS["pmma"]
    assert c.viscosity(300.0) == pytest.approx(100.0)
    assert 140 < c.viscosity(600.0) < 150  # the default's anchors: Boger 2008's 100 and 145 Pa s (compositions)
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
    # series (Reuss) mix by the cemented fraction; a filled cell is the cement in bone (Kinzl 2011, 2012)
    Ec = CEMENT_IN_BONE_FACTOR * 1000.0
    np.testing.assert_allclose(out.E, [100.0, 1.0 / (0.5 / 100.0 + 0.5 / Ec), Ec])
    assert out.mask("composite").tolist() == [False, True, True]
    # strength does not follow the mixed modulus: a composite cell (s >= 0.5) yields at its cement volume
    # fraction of the cement's strength, a partly filled one (s < 0.5) at its bone's yield stress
    from vbfem.materials.strength import yield_stresses

    cement = CEMENTS["low_modulus_pmma"]
    sc, st = yield_stresses(out)
    np.testing.assert_allclose(sc, [0.0084 * 100.0, 0.4 * cement.strength, 0.8 * cement.strength])
    np.testing.assert_allclose(st[1:], 0.5 * sc[1:])  # the cement's tension/compression ratio
    partly = with_cement(mat, CementFill(saturation=np.array([0.0, 0.3, 0.49]), fraction=0.8 * np.array([0, 0.3, 0.49]),
                                         arrival_time=np.full(3, np.nan), injected=1.0, leaked={}, times=[1.0],
                                         needle_pressure=[[0.0]], injected_history=[1.0], body_history=[1.0],
                                         leaked_history=[0.0]), cement)
    assert np.all(partly.E[1:] > 100.0)
    np.testing.assert_allclose(yield_stresses(partly)[0], 0.0084 * 100.0)


def test_cavity_wall_cells_are_laminates_of_cavity_cement_and_bone():
    """Cells a kyphoplasty cavity's wall cuts: the cavity's share of the pore space fills first and lies
    as a layer beside the bone part across the wall's normal."""
    from vbfem.materials.bone import void_modulus
    from vbfem.materials.laminate import axial_modulus

    n = 6
    mat = MaterialMap(E=np.array([100.0, 100.0, 100.0, 100.0, 0.5, 100.0]), nu=np.full(n, 0.3),
                      tissue=np.array([0, 0, 0, 0, 5, 0], np.int8))
    cement = CEMENTS["low_modulus_pmma"]
    c = np.array([0.4, 0.4, 0.4, 0.4, 1.0, 0.0])  # cavity share of each cell's volume
    phi_b = 0.8  # the bone part's porosity
    P = c + (1.0 - c) * phi_b
    q = c / P
    s = np.array([q[0], q[1], 0.5 * q[2], q[3] + 0.5 * (1 - q[3]), 1.0, 0.3])
    normal = np.array([[0, 0, 1.0], [1.0, 0, 0], [0, 0, 1.0], [0, 0, 1.0], [0, 0, 0], [0, 0, 0]])
    fill = CementFill(saturation=s, fraction=s * P, arrival_time=np.full(n, np.nan), injected=1.0, leaked={},
                      times=[1.0], needle_pressure=[[0.0]], injected_history=[1.0], body_history=[1.0],
                      leaked_history=[0.0], cavity=c, cavity_normal=normal)
    out = with_cement(mat, fill, cement)
    # the cavity holds a bolus of cement (its own modulus), the bone cement in bone
    Ec, nuc = cement.E, cement.nu
    Eb = CEMENT_IN_BONE_FACTOR * cement.E
    # cavity full, bone empty: layers normal to the load (series-like) and along it (parallel-like)
    np.testing.assert_allclose(out.E[:2], axial_modulus([Ec, Ec], [nuc, nuc], [100.0, 100.0], [0.3, 0.3],
                                                        [0.4, 0.4], normal[:2]), rtol=1e-12)
    assert out.E[1] > 0.4 * Ec and out.E[0] < 2.0 / (0.4 / Ec + 0.6 / 100.0)
    # half-filled cavity: its layer is the series mix of cement and the void of the cavity's whole cells
    e_half = 1.0 / (0.5 / mat.E[4] + 0.5 / Ec)
    nu_half = 0.3 + 0.5 * (nuc - 0.3)
    assert out.E[2] == pytest.approx(axial_modulus(e_half, nu_half, 100.0, 0.3, 0.4, normal[2:3])[0], rel=1e-12)
    # full cavity and half-saturated bone: the bone layer is the series mix at s_bone = 0.5
    e_bone = 1.0 / (0.5 / 100.0 + 0.5 / Eb)
    nu_bone = 0.3 + 0.5 * (nuc - 0.3)
    assert out.E[3] == pytest.approx(axial_modulus(Ec, nuc, e_bone, nu_bone, 0.4, normal[3:4])[0], rel=1e-12)
    assert out.nu[3] == pytest.approx(0.4 * nuc + 0.6 * nu_bone)
    # a whole cavity cell and a cell without cavity keep the saturation rule
    assert out.E[4] == pytest.approx(Ec) and out.E[5] == pytest.approx(1.0 / (0.7 / 100.0 + 0.3 / Eb))
    # without whole cavity cells the cavity's void is void_modulus of the map
    only_wall = CementFill(saturation=s[:4], fraction=(s * P)[:4], arrival_time=np.full(4, np.nan), injected=1.0,
                           leaked={}, times=[1.0], needle_pressure=[[0.0]], injected_history=[1.0], body_history=[1.0],
                           leaked_history=[0.0], cavity=c[:4], cavity_normal=normal[:4])
    mat4 = MaterialMap(E=mat.E[:4], nu=mat.nu[:4], tissue=mat.tissue[:4])
    e_half = 1.0 / (0.5 / void_modulus(mat4) + 0.5 / Ec)
    assert with_cement(mat4, only_wall, cement).E[2] == pytest.approx(
        axial_modulus(e_half, nu_half, 100.0, 0.3, 0.4, normal[2:3])[0], rel=1e-12)
    # without a cavity the rule is the saturation rule everywhere
    plain = with_cement(mat, CementFill(saturation=s, fraction=s * P, arrival_time=np.full(n, np.nan), injected=1.0,
                                        leaked={}, times=[1.0], needle_pressure=[[0.0]], injected_history=[1.0],
                                        body_history=[1.0], leaked_history=[0.0]), cement)
    np.testing.assert_allclose(plain.E, 1.0 / ((1 - s) / mat.E + s / Eb))
    with pytest.raises(ValueError, match="cavity"):
        CementFill(saturation=s, fraction=s, arrival_time=s, injected=1.0, leaked={}, times=[1.0],
                   needle_pressure=[[0.0]], injected_history=[1.0], body_history=[1.0], leaked_history=[0.0],
                   cavity=c[:3])


def test_partial_cell_rule_converges_on_a_fixed_inclusion():
    """A cement inclusion that does not move with the mesh: the series rule of with_cement is within
    1 % at 4 mm of its 2.5 mm value, the parallel (Voigt) mix is several % stiff at 4 mm (first order)."""
    from vbfem.study.verification import inclusion_convergence

    rows = inclusion_convergence((4.0, 2.5))
    coarse, fine = rows
    assert fine["n_cells"] > 2.5 * coarse["n_cells"]
    series = abs(coarse["series"] - fine["series"]) / fine["series"]
    parallel = (coarse["parallel"] - fine["parallel"]) / fine["parallel"]
    assert series < 0.01
    assert parallel > 0.03 and parallel > 5 * series
    assert fine["series"] < fine["parallel"]  # the lower and the upper bound of the cell's modulus


def test_cell_fraction_inside_integrates_a_half_space():
    from vbfem.fem.primitives import box_mesh
    from vbfem.study.verification import cell_fraction_inside

    mesh = box_mesh((4.0, 1.0, 1.0), (4, 1, 1))
    frac = cell_fraction_inside(mesh, lambda p: p[:, 0] < 1.5, n=4)
    np.testing.assert_allclose(frac, [1.0, 0.5, 0.0, 0.0])


# ---------------------------------------------------------------- measured viscosity-time curves (issue 19)
def test_viscosity_curve_interpolates_log_linearly_and_refuses_outside():
    from vbfem.materials.cement import Cement, ViscosityCurve

    curve = ViscosityCurve((180.0, 300.0, 600.0), (40.0, 100.0, 900.0))
    c = Cement(viscosity_curve=curve)
    np.testing.assert_allclose(c.viscosity(np.array([180.0, 300.0, 600.0])), [40.0, 100.0, 900.0], rtol=1e-14)
    # exponential between points: the geometric mean halfway
    assert c.viscosity(450.0) == pytest.approx(np.sqrt(100.0 * 900.0), rel=1e-14)
    assert c.apparent_viscosity(450.0, 1.0) == pytest.approx(300.0, rel=1e-14)
    with pytest.raises(ValueError, match=r"t=100 s after mixing is outside the measured viscosity curve \[180, 600\]"):
        c.viscosity(100.0)
    with pytest.raises(ValueError, match="outside the measured viscosity curve"):
        c.viscosity(700.0)


@pytest.mark.parametrize("times, mus, match", [
    ((300.0,), (100.0,), "at least two"),
    ((300.0, 200.0), (100.0, 200.0), "strictly increasing"),
    ((300.0, 300.0), (100.0, 200.0), "strictly increasing"),
    ((200.0, 300.0), (0.0, 200.0), r"must be finite and > 0 Pa·s"),
    ((200.0, 300.0), (-5.0, 200.0), r"> 0 Pa·s"),
    ((200.0, 300.0, 400.0), (100.0, 200.0, 150.0), r"must increase in time .*150 Pa·s at 400 s after 200 Pa·s"),
    ((200.0, 300.0), (100.0, 100.0), "must increase in time"),
    ((-1.0, 300.0), (100.0, 200.0), ">= 0 s after mixing"),
])
def test_bad_viscosity_curve(times, mus, match):
    from vbfem.materials.cement import ViscosityCurve

    with pytest.raises(ValueError, match=match):
        ViscosityCurve(times, mus)


def test_cement_refuses_a_curve_that_is_not_a_record():
    from vbfem.materials.cement import Cement

    with pytest.raises(ValueError, match="viscosity_curve"):
        Cement(viscosity_curve=((200.0, 300.0), (1.0, 2.0)))


def test_cement_never_softens_the_bone_it_fills():
    """Cement in the pores cannot take away the skeleton's stiffness: the mix is never below the bone's E."""
    from vbfem.materials.cement import cement_mix

    soft = Cement("soft", E=500.0)  # 175 MPa in bone
    e_c = soft.E * CEMENT_IN_BONE_FACTOR
    E = np.array([100.0, 100.0, 1000.0, 1000.0])
    s = np.array([1.0, 0.5, 1.0, 0.5])
    out, _ = cement_mix(E, np.full(4, 0.3), s, soft)
    assert out[0] == pytest.approx(e_c)  # the softer bone takes the cement's modulus (Kinzl 2011)
    assert out[1] == pytest.approx(1.0 / (0.5 / 100.0 + 0.5 / e_c))
    assert out[2] == out[3] == 1000.0  # the stiffer bone keeps its own


def test_with_cement_keeps_a_dense_cells_modulus():
    """The floor holds through with_cement too: a cell stiffer than the cement in bone keeps its E."""
    mat = MaterialMap(E=np.array([100.0, 1500.0, 1500.0]), nu=0.3, density=np.full(3, 0.2))
    s = np.array([1.0, 1.0, 0.5])
    fill = CementFill(saturation=s, fraction=0.8 * s, arrival_time=np.full(3, np.nan), injected=1.0, leaked={},
                      times=[1.0], needle_pressure=[[0.0]], injected_history=[1.0], body_history=[1.0],
                      leaked_history=[0.0])
    out = with_cement(mat, fill, "pmma")
    np.testing.assert_allclose(out.E, [CEMENT_IN_BONE_FACTOR * CEMENTS["pmma"].E, 1500.0, 1500.0])
