"""The basivertebral venous network as smeared Poiseuille channels (vbfem.treatment.veins, issue 19)."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.cells import cell_centroids, cell_volumes
from vbfem.fem.faces import mesh_faces
from vbfem.fem.primitives import box_mesh
from vbfem.fracture.deformity import apply_fracture
from vbfem.materials import porous
from vbfem.materials.bone import assign_bone
from vbfem.records import MaterialMap, tissue_code
from vbfem.treatment import flow
from vbfem.treatment.needles import bipedicular
from vbfem.treatment.network import flow_network
from vbfem.treatment.veins import CANAL_DEPTH, branch_radius, venous_network, vessel_permeability
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty


def test_a_vessel_in_a_column_of_bone_carries_poiseuille_flow_in_parallel_with_darcy():
    """A column of bone (h x h cross-section) with a vessel of radius r along it, outlet at the far end: the
    steady pressure at the inlet is Q μ L / (k h² + π r⁴/8), the Darcy and Hagen-Poiseuille conductances in
    parallel, to round-off."""
    n, h, mu, r = 12, 3.0, 0.09, 1.2
    m = box_mesh((n * h, h, h), (n, 1, 1))
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(density=np.full(m.n_cells, 0.1))
    med = porous.porous_medium(m, mat, outlets={"outlet_vein_anterior": np.array([n - 1])})
    k_bone = med.permeability[0, 0]
    k_v = vessel_permeability(r, h * h)
    assert k_v * h * h == pytest.approx(np.pi * r ** 4 / 8, rel=1e-14)
    perm = med.permeability + k_v * med.flow[:, None]
    net = flow_network(m, dataclasses.replace(med, permeability=perm))
    Q = 5.0  # mm³/s
    inj = [flow.Injection(cell=0, rate=Q, start=0.0, stop=2.0, bore=2.4)]
    res = flow.run_impes(net, inj, cement_viscosity=lambda t: mu, marrow_viscosity=mu, corey=(1.0, 1.0),
                         outlet_pressure=0.0)
    L = (n - 2) * h + h / 2  # centre of the inlet cell to the outlet face
    expected = Q * mu * 1e-6 * L / (k_bone * h * h + np.pi * r ** 4 / 8)
    assert res["pressure"][0] == pytest.approx(expected, rel=1e-9)
    assert res["mass_error"] < 1e-9


@pytest.fixture(scope="module")
def wedge():
    g = build_vertebra("L1")
    m = mesh_vertebra(g, size=3.0)
    mat = assign_bone(m, heterogeneity=0.0)
    fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches=("anterior", "endplate_crack"))
    return g, fm, fmat


def test_the_network_runs_from_the_foramen_to_venous_openings_on_the_front_and_sides(wedge):
    g, fm, fmat = wedge
    net = venous_network(fm, g, fmat.tissue, radius=1.0)
    p, q, _ = net.vessels["trunk"]
    np.testing.assert_allclose(p, g.basivertebral_foramen)
    assert np.linalg.norm(q - p) == pytest.approx(CANAL_DEPTH * g.depth, rel=1e-12)  # Tzika 2021's canal depth
    flow_codes = [tissue_code(t) for t in ("trabecular", "damaged", "void")]
    assert np.isin(fmat.tissue[net.cells], flow_codes).all()
    cortex = set(fm.cell_sets["cortex"].tolist())
    f = mesh_faces(fm)
    band = np.zeros(fm.n_cells, bool)
    band[net.cells] = True
    assert set(net.outlets) == {"outlet_vein_anterior", "outlet_vein_left", "outlet_vein_right"}
    for name, cells in net.outlets.items():
        assert set(cells.tolist()) <= cortex
        ends = _end(net, name)
        # the opening sits where its branch leaves the body, and a band cell touches it
        assert np.min(np.linalg.norm(cell_centroids(fm, cells) - ends, axis=1)) < 3.0
        touch = np.isin(f.inner_i, cells) & band[f.inner_j] | np.isin(f.inner_j, cells) & band[f.inner_i]
        assert touch.any(), name
    for name, (_, _, cells) in net.vessels.items():  # each vessel's band is one face-connected channel
        keep = np.isin(f.inner_i, cells) & np.isin(f.inner_j, cells)
        loc = {c: i for i, c in enumerate(cells.tolist())}
        g_ = sp.coo_matrix((np.ones(keep.sum()), ([loc[c] for c in f.inner_i[keep]], [loc[c] for c in f.inner_j[keep]])),
                           shape=(cells.size,) * 2)
        assert connected_components(g_, directed=False)[0] == 1, name
    # a wider vessel, a larger added permeability (r⁴ over the band's area)
    assert venous_network(fm, g, fmat.tissue, radius=1.0).permeability.max() > \
        venous_network(fm, g, fmat.tissue, radius=0.5).permeability.max()


def _end(net, outlet):
    return net.vessels[outlet.removeprefix("outlet_vein_")][1]


def test_cement_that_reaches_a_venous_opening_leaks_as_venous_with_the_balance_kept(wedge):
    """Bipedicular 4 mL into the wedge: the clouds reach the sides of the body; with the venous network the
    cement leaves through the side openings (venous class), without it through nothing."""
    g, fm, fmat = wedge
    needles = bipedicular(g, volume=4.0, start=240.0)
    with_veins = simulate_vertebroplasty(fm, fmat, g, needles=needles, vein_radius=1.0)
    without = simulate_vertebroplasty(fm, fmat, g, needles=needles)
    m = with_veins.metrics
    assert m["leak"] and m["first_leak_class"] == "venous"
    assert m["leaked_venous"] > 10.0 and m["leaked_cortical"] < 1e-6
    assert with_veins.leaked["outlet_vein_left"] > 1.0 and with_veins.leaked["outlet_vein_right"] > 1.0
    assert m["mass_error"] < 1e-6
    balance = with_veins.injected_history - with_veins.body_history - with_veins.leaked_history
    assert np.max(np.abs(balance)) < 1e-6 * with_veins.injected
    assert not without.metrics["leak"]
    assert with_veins.params["veins"]["radius_mm"] == 1.0
    assert with_veins.params["veins"]["branch_radius_mm"] == pytest.approx(3 ** (-1 / 3))


def test_the_branches_take_murrays_radius_unless_given(wedge):
    """Murray 1926: r_trunk³ = sum of the daughters' r³; each branch's band carries π r_b⁴ / (8 A) over its own
    cross-section A (band volume / length), the trunk's band π r⁴ / (8 A)."""
    g, fm, fmat = wedge
    assert branch_radius(2.7, 3) ** 3 * 3 == pytest.approx(2.7 ** 3, rel=1e-12)
    assert branch_radius(1.0, 1) == 1.0
    vol = cell_volumes(fm)
    for given, rb in ((None, 1.5 * 2 ** (-1 / 3)), (0.4, 0.4)):
        net = venous_network(fm, g, fmat.tissue, radius=1.5, branches=("left", "right"), branch_radius=given)
        assert net.branch_radius == pytest.approx(rb, rel=1e-12) and net.radius == 1.5
        for name, r in (("trunk", 1.5), ("left", rb), ("right", rb)):
            p, q, cells = net.vessels[name]
            k = vessel_permeability(r, vol[cells].sum() / np.linalg.norm(q - p))
            only = np.setdiff1d(cells, np.concatenate([c for n, (_, _, c) in net.vessels.items() if n != name]))
            assert only.size > 0
            np.testing.assert_allclose(net.permeability[only], k, rtol=1e-9)


@pytest.mark.parametrize("radius, match", [(-1.0, "radius"), (float("nan"), "radius"), (True, "radius"),
                                           (5.0, "does not fit")])
def test_bad_vein_radius_is_refused_before_the_flow(wedge, radius, match):
    g, fm, fmat = wedge
    with pytest.raises(ValueError, match=match):
        venous_network(fm, g, fmat.tissue, radius=radius, half_width=3.0)


def test_the_network_needs_the_geometry_and_known_branches(wedge):
    g, fm, fmat = wedge
    with pytest.raises(ValueError, match="needs the geometry"):
        simulate_vertebroplasty(fm, fmat, None, needles=bipedicular(g, volume=1.0), vein_radius=1.0)
    with pytest.raises(ValueError, match="branches"):
        venous_network(fm, g, fmat.tissue, radius=1.0, branches=("posterior",))
    with pytest.raises(ValueError, match="canal_depth"):
        venous_network(fm, g, fmat.tissue, radius=1.0, canal_depth=0.9)
    for bad in (1.5, 0.0, -0.2, float("nan"), True):  # a branch wider than its trunk, or none
        with pytest.raises(ValueError, match="branch_radius"):
            venous_network(fm, g, fmat.tissue, radius=1.0, branch_radius=bad)
    with pytest.raises(ValueError, match="branches=0"):
        branch_radius(1.0, 0)
    for bad in ("1", True, -1.0):
        with pytest.raises(ValueError, match="radius="):
            branch_radius(bad, 3)
