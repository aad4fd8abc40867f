"""The ex vivo protocol's heights: elastic recovery on unloading, recovery at rest, the injection lift bound,
height restored."""

import numpy as np
import pytest

import vbfem
from vbfem.anatomy.heights import measure_heights
from vbfem.fem.primitives import box_mesh
from vbfem.mechanics.protocol import crush_history, endplate_area, height_restored_pct, injection_lift


@pytest.fixture(scope="module")
def bodies():
    mesh = vbfem.mesh_vertebra(vbfem.build_vertebra("L1"), size=4.0)
    bone = vbfem.assign_bone(mesh, bmd="osteoporotic")
    fm, fb = vbfem.apply_fracture(mesh, bone, "wedge", grade=2)
    return mesh, fm, fb


def test_unloading_recovers_the_elastic_travel_of_the_crushing_force(bodies):
    """The recovery is the platen travel of the crushed body under the crushing force (linear: twice the
    force, twice the recovery), the same at every station; the crushed heights are the fractured geometry."""
    mesh, fm, fb = bodies
    h1 = crush_history(mesh, fm, fb, crush_force=1500.0)
    h2 = crush_history(mesh, fm, fb, crush_force=3000.0)
    assert h2.recovery == pytest.approx(2 * h1.recovery, rel=1e-9)
    assert h1.recovery == pytest.approx(1500.0 / h1.stiffness)
    assert h1.crushed.anterior == pytest.approx(measure_heights(fm).anterior)
    assert h1.intact.anterior == pytest.approx(measure_heights(mesh).anterior)
    d = h1.unloaded.as_array() - h1.crushed.as_array()
    assert np.allclose(d, h1.recovery)
    # unloading alone restores recovery / loss of the anterior height
    loss = h1.intact.anterior - h1.crushed.anterior
    assert height_restored_pct(h1, h1.unloaded) == pytest.approx(100.0 * h1.recovery / loss)
    assert height_restored_pct(h1, h1.intact) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="crush_force"):
        crush_history(mesh, fm, fb, crush_force=0.0)


def test_the_rest_recovers_the_measured_share_of_each_stations_loss(bodies):
    """After the rest each station has regained ``recovery_fraction`` of its own height loss (Wegrzyn's
    31 % by default), never less than the elastic recovery; with no rest only the elastic part."""
    from vbfem.mechanics.protocol import RECOVERY_FRACTION

    mesh, fm, fb = bodies
    h = crush_history(mesh, fm, fb, crush_force=1500.0)
    assert h.recovery_fraction == RECOVERY_FRACTION == 0.31
    loss = h.intact.as_array() - h.crushed.as_array()
    gained = h.rested.as_array() - h.crushed.as_array()
    assert np.allclose(gained, np.maximum(RECOVERY_FRACTION * np.maximum(loss, 0.0), h.recovery))
    assert height_restored_pct(h, h.rested) == pytest.approx(100.0 * RECOVERY_FRACTION)
    # the wedge lost most anteriorly: the anterior station gains most
    assert gained[0] > gained[2]
    none = crush_history(mesh, fm, fb, crush_force=1500.0, recovery_fraction=0.0, stiffness=h.stiffness)
    assert none.rested == none.unloaded
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="recovery_fraction"):
            crush_history(mesh, fm, fb, crush_force=1500.0, stiffness=h.stiffness, recovery_fraction=bad)


def test_endplate_area_and_injection_lift():
    """A 10 x 6 mm box's top face has 60 mm²; the lift bound is pressure x area / stiffness."""
    box = box_mesh((10.0, 6.0, 4.0), (5, 3, 2))
    assert endplate_area(box, superior="top") == pytest.approx(60.0)

    class _H:
        stiffness = 2000.0

    assert injection_lift(_H(), 0.5, 60.0) == pytest.approx(0.5 * 60.0 / 2000.0)
    with pytest.raises(ValueError, match="pressure"):
        injection_lift(_H(), -1.0, 60.0)


def test_treated_heights_keep_the_larger_of_lift_and_recovery(bodies):
    """VP: the rested heights raised by the injection lift; KP: each station the larger of the balloon's
    height and the recovered one, at the balloon's stations."""
    from dataclasses import replace

    from vbfem.mechanics.protocol import treated_heights

    mesh, fm, fb = bodies
    h = crush_history(mesh, fm, fb, crush_force=2000.0)
    assert np.allclose(treated_heights(h, lift=0.1).as_array(), h.rested.as_array() + 0.1)
    balloon = replace(h.crushed, anterior=h.intact.anterior, posterior=h.crushed.posterior - 1.0)
    kp = treated_heights(h, balloon=balloon)
    assert kp.anterior == balloon.anterior and kp.posterior == h.rested.posterior
    assert kp.x_anterior == balloon.x_anterior


def test_a_known_stiffness_gives_the_same_history_without_a_solve(bodies):
    mesh, fm, fb = bodies
    solved = crush_history(mesh, fm, fb, crush_force=1500.0)
    given = crush_history(mesh, fm, fb, crush_force=1500.0, stiffness=solved.stiffness)
    assert given.recovery == solved.recovery and given.unloaded == solved.unloaded and given.rested == solved.rested
    with pytest.raises(ValueError, match="stiffness"):
        crush_history(mesh, fm, fb, crush_force=1500.0, stiffness=0.0)
