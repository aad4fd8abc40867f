"""Damaged trabecular bone: residual modulus and strength after an overload, and a reloaded cube."""

import numpy as np
import pytest

from vbfem.fem.loads import fixed, load_case
from vbfem.fem.primitives import box_mesh
from vbfem.materials.damage import (
    DAMAGE_ONSET_STRAIN,
    DAMAGE_SATURATION_STRAIN,
    MODULUS_LOSS_MAX,
    STRENGTH_LOSS_MAX,
    damaged_bone,
    residual_modulus_fraction,
    residual_strength_fraction,
)
from vbfem.materials.laws import YIELD_STRAIN_COMPRESSION
from vbfem.materials.strength import yield_stresses
from vbfem.mechanics.failure import load_displacement
from vbfem.records import MaterialMap

L, E = 10.0, 200.0  # cube edge (mm), intact modulus (MPa)


def test_residual_fractions_follow_the_material_data():
    e = np.array([0.0, DAMAGE_ONSET_STRAIN, 0.5 * (DAMAGE_ONSET_STRAIN + DAMAGE_SATURATION_STRAIN),
                  DAMAGE_SATURATION_STRAIN, 0.25, np.inf])
    fe, fs = residual_modulus_fraction(e), residual_strength_fraction(e)
    np.testing.assert_allclose(fe, [1, 1, 1 - MODULUS_LOSS_MAX / 2, 1 - MODULUS_LOSS_MAX, 0.14, 0.14])
    np.testing.assert_allclose(fs, [1, 1, 1 - STRENGTH_LOSS_MAX / 2, 0.85, 0.85, 0.85])
    # Wolfram 2011: up to 86 % modulus loss in compression; strength falls far less than modulus
    assert fe.min() == pytest.approx(0.14) and np.all(fs >= fe)
    with pytest.raises(ValueError, match="NaN"):
        residual_modulus_fraction(np.nan)


def test_damaged_bone_keeps_strength_not_modulus():
    mat = MaterialMap.uniform(4, E, 0.3)
    dmg = damaged_bone(mat, 0.03, cells=[1, 3])
    np.testing.assert_allclose(dmg.E, [E, 0.14 * E, E, 0.14 * E])
    sc, _ = yield_stresses(dmg)
    np.testing.assert_allclose(sc, np.array([1, 0.85, 1, 0.85]) * YIELD_STRAIN_COMPRESSION * E)
    assert np.isnan(dmg.yield_stress[[0, 2]]).all()
    with pytest.raises(ValueError, match="strain"):
        damaged_bone(mat, -0.01)


def _uniaxial(mesh, d):
    return load_case("uniaxial", fixed=[fixed(mesh, "bottom", components=(2,)), fixed(mesh, "xmin", components=(0,)),
                                        fixed(mesh, "ymin", components=(1,)),
                                        fixed(mesh, "top", components=(2,), value=d)])


@pytest.mark.parametrize("overload", [0.015, 0.03])
def test_cube_loaded_past_yield_reloads_with_the_measured_modulus_and_strength(overload):
    """Load an intact cube past yield to ``overload``, then reload it with the damage that overload leaves.

    The first curve yields at the measured yield strain (0.84 %) and reaches the overload; the
    reloading curve of the damaged cube has the residual modulus (Keaveny 1999, Wolfram 2011) and
    yields at the residual strength, far later in strain than the intact bone did (the reloading
    curve climbs back towards the intact envelope).
    """
    cube = box_mesh((L, L, L), (2, 2, 2))
    intact = MaterialMap.uniform(cube.n_cells, E, 0.3)
    first = load_displacement(cube, intact, _uniaxial(cube, -overload * L), platen=None, n_steps=30)
    eps1 = first.displacement / L
    yielded = eps1[np.flatnonzero(first.plastic_fraction > 0)[0]]
    assert YIELD_STRAIN_COMPRESSION < yielded <= YIELD_STRAIN_COMPRESSION + overload / 30 + 1e-12
    assert first.displacement[-1] == pytest.approx(overload * L)

    damaged = damaged_bone(intact, overload)
    fe, fs = residual_modulus_fraction(overload), residual_strength_fraction(overload)
    travel = 1.5 * fs / fe * YIELD_STRAIN_COMPRESSION  # past the damaged bone's yield strain
    again = load_displacement(cube, damaged, _uniaxial(cube, -travel * L), platen=None, n_steps=60)
    assert again.stiffness / L == pytest.approx(fe * E, rel=1e-9)  # reloading modulus, MPa
    eps2 = again.displacement / L
    k = np.flatnonzero(again.plastic_fraction > 0)[0]
    sigma_y = fs * YIELD_STRAIN_COMPRESSION * E  # residual yield stress, MPa
    assert again.force[k - 1] / L**2 <= sigma_y + 1e-9 < fe * E * eps2[k]
    assert again.first_yield_force / L**2 == pytest.approx(sigma_y, rel=travel / 60 / (sigma_y / (fe * E)))
    # strength kept, modulus lost: the damaged bone carries 85 % of the intact stress at 5.1x the strain
    assert fs / fe > 5.0 if overload >= 0.03 else fs / fe > 1.5


@pytest.mark.parametrize("cell_type", ["hex8", "tet10"])
def test_plastic_tangent_is_consistent_with_damaged_bone(cell_type):
    """The consistent tangent equals a central difference of the internal force with damaged and intact
    bone side by side (modulus and yield stress no longer in the intact ratio)."""
    from vbfem.study.verification import plastic_tangent_error

    err, plastic = plastic_tangent_error(cell_type, damaged=True)
    assert err < 1e-6 and plastic > 0.3
