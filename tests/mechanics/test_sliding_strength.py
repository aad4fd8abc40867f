"""The nonlinear strength test between sliding platens (vbfem.mechanics.failure, platens="sliding")."""

import numpy as np
import pytest

from vbfem.anatomy.ct import ct_mesh
from vbfem.anatomy.image import volume_from_array
from vbfem.fem.static import solve_static
from vbfem.materials.image import ct_materials
from vbfem.mechanics.failure import compression_curves
from vbfem.mechanics.sliding import sliding_comparison, sliding_compression, sliding_stiffness


@pytest.fixture(scope="module")
def block():
    """A homogeneous 6 x 6 x 6 mm voxel block (1.5 mm voxels, no caps) with its top and bottom faces as the
    loaded sets, and its per-voxel materials (one density: one modulus and one yield stress)."""
    lab = np.zeros((6, 6, 6), int)
    lab[1:5, 1:5, 1:5] = 1
    mesh, _ = ct_mesh(volume_from_array(np.full(lab.shape, 120.0), spacing=1.5, labels=lab), tissues={1: "body"},
                      caps=False)
    mesh = mesh.replace(node_sets={**mesh.node_sets, "superior": mesh.node_sets["top"],
                                   "inferior": mesh.node_sets["bottom"]})
    mat, _ = ct_materials(mesh)
    return mesh, mat


def test_perfectly_plastic_block_between_sliding_platens_carries_yield_stress_times_area(block):
    """Uniaxial stress: between frictionless platens a homogeneous, perfectly plastic block carries exactly its
    compressive yield stress times its cross-section; bonded platens confine it and carry more."""
    mesh, mat = block
    sy = float(mat.yield_stress[0])
    assert np.all(mat.yield_stress == sy)
    area = 6.0 ** 2
    c = sliding_comparison({"b": (mesh, mat)}, displacement=0.01, strength="nonlinear",
                           strength_options={"hardening_ratio": 0.0, "displacement": 0.12})
    sliding = c.curves["b"]
    assert c.strength_method == "nonlinear" and c.rows[0].strength == sliding.peak_force
    assert sliding.peak_force == pytest.approx(sy * area, rel=1e-9)
    assert sliding.displacement[-1] == pytest.approx(0.12, rel=1e-12)
    # the elastic part of the curve is the sliding stiffness test's
    k = sliding_stiffness(mesh, solve_static(mesh, mat, sliding_compression(mesh, displacement=0.01)),
                          displacement=0.01)
    assert c.rows[0].stiffness == pytest.approx(k, rel=1e-12)
    assert sliding.force[1] / sliding.displacement[1] == pytest.approx(k, rel=1e-6)
    bonded = compression_curves({"b": (mesh, mat)}, displacement=0.12, hardening_ratio=0.0)["b"]
    assert bonded.peak_force > 1.05 * sy * area  # lateral confinement by the bonded faces


def test_bad_platens_and_strength(block):
    mesh, mat = block
    with pytest.raises(ValueError, match="platens = 'rough'"):
        compression_curves({"b": (mesh, mat)}, displacement=0.1, platens="rough")
    with pytest.raises(ValueError, match="strength='peak'"):
        sliding_comparison({"intact": (mesh, mat)}, displacement=0.01, strength="peak")
    with pytest.raises(ValueError, match="strength_options: platens, workers"):
        sliding_comparison({"intact": (mesh, mat)}, displacement=0.01, strength="nonlinear",
                           strength_options={"workers": 2, "platens": "bonded"})
