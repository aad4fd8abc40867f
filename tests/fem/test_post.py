"""Post-processing measures against closed-form values (vbfem.fem.post)."""

import numpy as np
import pytest

from vbfem.fem.post import effective_strain, principal_strains, principal_stresses, tensor_from_voigt, von_mises


def _rotation(seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    return q if np.linalg.det(q) > 0 else -q


def _voigt(t, *, engineering_shear):
    s = 2.0 if engineering_shear else 1.0
    return np.array([t[0, 0], t[1, 1], t[2, 2], s * t[1, 2], s * t[0, 2], s * t[0, 1]])


def test_von_mises_of_uniaxial_shear_and_hydrostatic_stress():
    s = np.array([[-3.0, 0, 0, 0, 0, 0],       # uniaxial: |sigma|
                  [0, 0, 0, 2.0, 0, 0],        # pure shear: sqrt(3) tau
                  [5.0, 5.0, 5.0, 0, 0, 0]])   # hydrostatic: 0
    np.testing.assert_allclose(von_mises(s), [3.0, 2.0 * np.sqrt(3.0), 0.0], atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_principal_values_and_invariants_are_frame_independent(seed):
    Q = _rotation(seed)
    diag = np.array([-0.004, 0.001, 0.0025])
    eps = Q @ np.diag(diag) @ Q.T
    e_voigt = _voigt(eps, engineering_shear=True)[None]
    np.testing.assert_allclose(tensor_from_voigt(e_voigt, engineering_shear=True)[0], eps, atol=1e-17)
    np.testing.assert_allclose(principal_strains(e_voigt)[0], np.sort(diag), atol=1e-15)
    sig = Q @ np.diag([-6.0, 1.0, 2.0]) @ Q.T
    s_voigt = _voigt(sig, engineering_shear=False)[None]
    np.testing.assert_allclose(principal_stresses(s_voigt)[0], [-6.0, 1.0, 2.0], atol=1e-12)
    # von Mises in principal values: sqrt(((s1-s2)^2 + (s2-s3)^2 + (s3-s1)^2) / 2)
    assert von_mises(s_voigt)[0] == pytest.approx(np.sqrt((49 + 1 + 64) / 2))
    # effective strain of a deviatoric diag(e, -e/2, -e/2) (incompressible uniaxial) is e
    e = 0.003
    uni = Q @ np.diag([e, -e / 2, -e / 2]) @ Q.T
    assert effective_strain(_voigt(uni, engineering_shear=True)[None])[0] == pytest.approx(e, rel=1e-12)
