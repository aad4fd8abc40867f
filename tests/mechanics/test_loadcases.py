"""Load cases: reaction moments equal applied moments, sign conventions, registry and bad input."""

import numpy as np
import pytest

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.cells import cell_centroids
from vbfem.fem.primitives import cylinder_mesh
from vbfem.fem.static import solve_static
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.loadcases import (
    DEFAULT_MOMENT,
    DISC_E,
    PMMA_E,
    compression_test,
    load_case_names,
    make_load_case,
    physiological,
    superior_reference_point,
    with_discs,
    with_potting,
)
from vbfem.records import MaterialMap


@pytest.fixture(scope="module")
def l1():
    mesh = mesh_vertebra(build_vertebra("L1"), size=4.0)
    return mesh, assign_bone(mesh, seed=1)


@pytest.mark.parametrize("case, axis, sign", [
    ("flexion", 1, 1.0), ("extension", 1, -1.0),
    ("lateral_bending_left", 0, -1.0), ("lateral_bending_right", 0, 1.0),
])
def test_reaction_moment_equals_applied(l1, case, axis, sign):
    mesh, mat = l1
    load = physiological(mesh, case)
    res = solve_static(mesh, mat, load)
    r = res.platen_reaction["platen"]
    applied = np.zeros(3)
    applied[axis] = sign * DEFAULT_MOMENT
    # the platen's reaction is the force it exerts on the bone = the applied load
    np.testing.assert_allclose(r[3:], applied, atol=1e-6 * DEFAULT_MOMENT)
    np.testing.assert_allclose(r[:3], [0.0, 0.0, -500.0], atol=1e-6 * 500.0)
    # the platen tilts the way the moment turns it
    assert sign * res.platen_motion["platen"][3 + axis] > 0
    np.testing.assert_allclose(load.platen("platen").ref_point, superior_reference_point(mesh))


def _mean_szz(mesh, res, front):
    c = cell_centroids(mesh)
    zmid = 0.5 * (c[:, 2].max() + c[:, 2].min())
    x0 = superior_reference_point(mesh)[0]
    band = np.abs(c[:, 2] - zmid) < 3.0
    sel = band & ((c[:, 0] > x0) if front else (c[:, 0] < x0))
    return res.stress[sel, 2].mean()


def test_flexion_loads_anterior_extension_posterior(l1):
    mesh, mat = l1
    flex = solve_static(mesh, mat, physiological(mesh, "flexion"))
    ext = solve_static(mesh, mat, physiological(mesh, "extension"))
    # sigma_zz < 0 is compression: flexion compresses the anterior half more, extension the posterior
    assert _mean_szz(mesh, flex, True) < _mean_szz(mesh, flex, False)
    assert _mean_szz(mesh, ext, True) > _mean_szz(mesh, ext, False)
    assert flex.platen_motion["platen"][0] > 0  # the top moves anteriorly in flexion


def test_compression_test_displacement_and_force_agree(l1):
    mesh, mat = l1
    rd = solve_static(mesh, mat, compression_test(mesh, displacement=0.05))
    rf = solve_static(mesh, mat, compression_test(mesh, force=500.0))
    np.testing.assert_allclose(rd.platen_motion["platen"][2], -0.05)
    np.testing.assert_allclose(rf.platen_reaction["platen"][2], -500.0, rtol=1e-8)
    np.testing.assert_allclose(rd.stiffness("platen"), rf.stiffness("platen"), rtol=1e-6)


def test_potted_cylinder_stiffness_between_bounds():
    # homogeneous cylinder, bottom fixed in all dofs, top platen: between the
    # uniaxial-stress E A / L and the laterally confined (oedometric) stiffness
    r, h, E, nu = 5.0, 20.0, 1000.0, 0.3
    mesh = cylinder_mesh(r, h, n_radial=3, n_axial=10)
    mat = MaterialMap.uniform(mesh.n_cells, E, nu)
    res = solve_static(mesh, mat, compression_test(mesh, displacement=0.1, superior="top", inferior="bottom"))
    area = np.pi * r**2
    k_free = E * area / h
    k_conf = E * (1 - nu) / ((1 + nu) * (1 - 2 * nu)) * area / h
    k = res.stiffness("platen")
    assert k_free < k < k_conf
    assert k < 1.10 * k_free  # end constraint affects a slender (L/D = 2) column by a few % only
    # nu = 0: no end effect, the uniaxial value exactly (up to the polygonal cross-section area)
    mat0 = MaterialMap.uniform(mesh.n_cells, E, 0.0)
    res0 = solve_static(mesh, mat0, compression_test(mesh, force=100.0, superior="top", inferior="bottom"))
    from vbfem.fem.cells import cell_volumes
    np.testing.assert_allclose(res0.stiffness("platen"), E * cell_volumes(mesh).sum() / h**2, rtol=1e-8)


def test_registry(l1):
    mesh, _ = l1
    names = load_case_names()
    assert {"compression_test", "flexion", "extension", "lateral_bending_left", "lateral_bending_right",
            "compression", "axial_rotation_left"} <= set(names)
    lc = make_load_case(mesh, "compression_test")
    assert lc.platen("platen").load[2] == -500.0
    lc = make_load_case(mesh, "flexion", moment=1000.0)
    np.testing.assert_allclose(lc.platen("platen").load, [0, 0, -500.0, 0, 1000.0, 0])
    assert physiological(mesh, "lateral_bending").name == "lateral_bending_left"


def test_bad_input(l1):
    mesh, _ = l1
    with pytest.raises(ValueError, match="force must be a finite magnitude > 0"):
        compression_test(mesh, force=-100.0)
    with pytest.raises(ValueError, match="displacement"):
        compression_test(mesh, displacement=-0.1)
    with pytest.raises(ValueError, match="exactly one"):
        compression_test(mesh)
    with pytest.raises(ValueError, match="moment must be"):
        physiological(mesh, "flexion", moment=-7500.0)
    with pytest.raises(ValueError, match="valid: compression, flexion, extension"):
        physiological(mesh, "twist")
    with pytest.raises(ValueError, match="unknown load case 'bend'; valid: compression_test"):
        make_load_case(mesh, "bend")
    with pytest.raises(ValueError, match="node set 'cranial' not in mesh; available"):
        compression_test(mesh, force=1.0, superior="cranial")
    with pytest.raises(ValueError, match="potting='cement'.*allowed: fixed, pmma"):
        compression_test(mesh, force=1.0, potting="cement")
    with pytest.raises(ValueError, match="potting='pmma' needs node set 'potting_base'"):
        compression_test(mesh, force=1.0, potting="pmma")
    with pytest.raises(ValueError, match="thickness must be a finite magnitude > 0"):
        with_potting(mesh, assign_bone(mesh, seed=1), thickness=-2.0)
    with pytest.raises(ValueError, match="applies no load"):
        physiological(mesh, "compression", force=0.0)


def test_pmma_potting_layer_is_a_spring_in_series():
    # nu = 0 cylinder on a flat PMMA layer: k = A / (L / E_bone + t / E_pmma) exactly
    r, h, E, t = 5.0, 20.0, 300.0, 4.0
    mesh = cylinder_mesh(r, h, n_radial=3, n_axial=8)
    mat = MaterialMap.uniform(mesh.n_cells, E, 0.0)
    pm, pmat = with_potting(mesh, mat, thickness=t, nu=0.0, inferior="bottom")
    assert pm.n_cells == mesh.n_cells + 2 * (mesh.n_cells // 8)
    assert np.all(pmat.E[mesh.n_cells:] == PMMA_E) and np.all(pmat.mask("potting")[mesh.n_cells:])
    np.testing.assert_allclose(pm.points[pm.node_sets["potting_base"], 2], -t)
    res = solve_static(pm, pmat, compression_test(pm, force=100.0, potting="pmma", superior="top"))
    from vbfem.fem.cells import cell_volumes
    area = cell_volumes(mesh).sum() / h
    np.testing.assert_allclose(res.stiffness("platen"), area / (h / E + t / PMMA_E), rtol=1e-8)


def test_vertebra_on_pmma_and_through_discs(l1):
    mesh, mat = l1
    pm, pmat = with_potting(mesh, mat)
    k_fixed = solve_static(mesh, mat, compression_test(mesh, displacement=0.05)).stiffness("platen")
    k_pmma = solve_static(pm, pmat, compression_test(pm, displacement=0.05, potting="pmma")).stiffness("platen")
    assert 0.5 * k_fixed < k_pmma < k_fixed  # a 2 GPa layer is compliant compared with a rigid fixture
    dm, dmat = with_discs(mesh, mat)
    assert np.all(dmat.E[mesh.n_cells:] == DISC_E)
    res = solve_static(dm, dmat, physiological(dm, "flexion", superior="disc_superior_top",
                                               inferior="disc_inferior_bottom"))
    np.testing.assert_allclose(res.platen_reaction["platen"][3:], [0, DEFAULT_MOMENT, 0], atol=1e-3)
    np.testing.assert_allclose(res.platen_reaction["platen"][2], -500.0, rtol=1e-8)
    # a soft disc moves load from the cortical rim to the centre: trabecular share and central endplate
    # stress rise compared with the rigid platen (the reason to offer disc loading at all)
    from vbfem.mechanics.response import load_share
    kw = {"superior": "disc_superior_top", "inferior": "disc_inferior_bottom"}
    rd = solve_static(dm, dmat, physiological(dm, "compression", **kw))
    rp = solve_static(mesh, mat, physiological(mesh, "compression"))
    sd, sp = load_share(dm, dmat, rd), load_share(mesh, mat, rp)
    assert sd["total"] == pytest.approx(500.0, rel=0.03) and sp["total"] == pytest.approx(500.0, rel=0.03)
    assert sd["trabecular"] > 1.2 * sp["trabecular"]
    ep = mesh.cell_sets["superior_endplate"]
    c, ref = cell_centroids(mesh, ep), superior_reference_point(mesh)
    rr = np.hypot(c[:, 0] - ref[0], c[:, 1] - ref[1])
    inner = rr < np.median(rr)
    assert rd.stress[ep[inner], 2].mean() < 1.5 * rp.stress[ep[inner], 2].mean()  # more compressive
