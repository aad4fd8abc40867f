"""Fluid-filled cavities (vbfem.fem.cavity): the volume-change vector, the analytic pressure of a confined
fluid layer, and the Sherman-Morrison-Woodbury solve against the assembled matrix with the rank-one terms."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from vbfem.fem.assembly import assemble_stiffness
from vbfem.fem.cavity import add_cavities, cavity, solve_static_cavities, volume_vector
from vbfem.fem.cells import cell_centroids, cell_volumes
from vbfem.fem.constraints import constraint_map
from vbfem.fem.loads import fixed, load_case, rigid_platen
from vbfem.fem.primitives import box_mesh
from vbfem.records import MaterialMap, Mesh

K_WATER = 2200.0


def _distorted_box(seed=0):
    mesh = box_mesh((10.0, 8.0, 12.0), (5, 5, 6))
    rng = np.random.default_rng(seed)
    pts = mesh.points + rng.uniform(-0.4, 0.4, mesh.points.shape)
    return Mesh(pts, mesh.cells, "hex8", node_sets=mesh.node_sets, cell_sets=mesh.cell_sets)


def _inner_cells(mesh):
    c = cell_centroids(mesh)
    return np.flatnonzero((np.abs(c[:, 0] - 5) < 3.5) & (np.abs(c[:, 1] - 4) < 2.5) & (np.abs(c[:, 2] - 6) < 3.5))


def test_volume_vector_is_the_first_variation_of_the_volume():
    """b^T u equals the derivative of the deformed cavity's volume (from the moved nodes) along u; b is zero
    at the nodes inside the cavity and sums to zero per component (a closed surface)."""
    mesh = _distorted_box()
    cells = _inner_cells(mesh)
    b, vol = volume_vector(mesh, cells)
    assert vol == pytest.approx(cell_volumes(mesh, cells).sum(), rel=1e-12)
    u = np.random.default_rng(1).normal(size=mesh.points.shape)
    eps = 1e-4

    def volume(s):
        moved = Mesh(mesh.points + s * u, mesh.cells, "hex8")
        return cell_volumes(moved, cells).sum()

    dv = (volume(eps) - volume(-eps)) / (2 * eps)
    assert b @ u.ravel() == pytest.approx(dv, rel=1e-7)
    # first order: the one-sided difference converges linearly to b^T u
    e1 = abs((volume(1e-3) - vol) / 1e-3 - b @ u.ravel())
    e2 = abs((volume(1e-4) - vol) / 1e-4 - b @ u.ravel())
    assert e2 < 0.2 * e1
    own = np.unique(mesh.cells[cells])
    outside = np.setdiff1d(np.arange(mesh.n_points), own)
    boundary = np.unique(np.concatenate([mesh.cells[c] for c in np.setdiff1d(np.arange(mesh.n_cells), cells)]))
    interior = np.setdiff1d(own, boundary)
    assert interior.size > 0
    scale = np.abs(b).max()
    assert np.abs(b.reshape(-1, 3)[interior]).max() < 1e-12 * scale
    assert np.abs(b.reshape(-1, 3)[outside]).max() == 0.0
    np.testing.assert_allclose(b.reshape(-1, 3).sum(axis=0), 0.0, atol=1e-12 * scale)


@pytest.mark.parametrize("solver", ["direct", "amg-cg"])
def test_confined_fluid_layer_carries_the_analytic_pressure(solver):
    """A laterally confined column: solid, a fluid-filled layer with a soft skeleton, solid; force F on top.
    Uniaxial strain: sigma_zz = -F/A in every layer, and in the fluid layer M_s eps + (-p) = -F/A with
    p = -K_f eps, so p = K_f F / (A (K_f + M_s)) (M_s the skeleton's constrained modulus), exactly."""
    a, h, F = 6.0, 4.0, 500.0
    mesh = box_mesh((a, a, 3 * h), (3, 3, 6))
    zc = cell_centroids(mesh)[:, 2]
    layer = np.flatnonzero((zc > h) & (zc < 2 * h))
    E = np.full(mesh.n_cells, 100.0)
    nu = np.full(mesh.n_cells, 0.3)
    E[layer], nu[layer] = 0.1, 0.2
    mat = MaterialMap(E=E, nu=nu, tissue=np.zeros(mesh.n_cells, np.int8), density=np.full(mesh.n_cells, np.nan))
    side = {s: np.setdiff1d(mesh.node_set(s), mesh.node_set("top")) for s in ("xmin", "xmax", "ymin", "ymax")}
    load = load_case("confined", fixed=[fixed(mesh, "bottom"), fixed(mesh, side["xmin"], components=(0,)),
                                       fixed(mesh, side["xmax"], components=(0,)),
                                       fixed(mesh, side["ymin"], components=(1,)),
                                       fixed(mesh, side["ymax"], components=(1,))],
                     platens=[rigid_platen(mesh, "top", displacement=(0.0, 0.0, None), force=(0.0, 0.0, -F))])
    cav = cavity(mesh, layer, bulk_modulus=K_WATER, name="layer")
    (res,), (p,) = solve_static_cavities(mesh, mat, [load], [cav], solver=solver)
    M_s = 0.1 * 0.8 / (1.2 * 0.6)
    expected = K_WATER * F / (a * a * (K_WATER + M_s))
    assert p["layer"] == pytest.approx(expected, rel=1e-7)
    assert cav.pressure(res.displacement) == pytest.approx(p["layer"], rel=1e-9)
    # the total stress carries the force through every layer, the fluid's pressure included
    np.testing.assert_allclose(res.stress[:, 2], -F / a**2, rtol=1e-6)
    assert res.platen_reaction["platen"][2] == pytest.approx(-F, rel=1e-8)
    # the top moves by the three layers' compliances
    M = 100.0 * 0.7 / (1.3 * 0.4)
    dz = F / a**2 * (2 * h / M + h / (M_s + K_WATER))
    assert res.platen_motion["platen"][2] == pytest.approx(-dz, rel=1e-6)
    # energy: half the work of the applied force
    assert res.strain_energy == pytest.approx(0.5 * F * dz, rel=1e-6)


def test_woodbury_solve_equals_the_assembled_rank_one_matrix():
    """Two cavities in a distorted block under a force and a moment through a free platen: the displacements
    and pressures of the Sherman-Morrison-Woodbury solve equal a direct solve of K + sum k b b^T to 1e-9."""
    mesh = _distorted_box(seed=3)
    c = cell_centroids(mesh)
    lower = np.flatnonzero((np.abs(c[:, 0] - 5) < 3.5) & (np.abs(c[:, 1] - 4) < 2.5) & (c[:, 2] > 2) & (c[:, 2] < 5))
    upper = np.flatnonzero((np.abs(c[:, 0] - 5) < 3.5) & (np.abs(c[:, 1] - 4) < 2.5) & (c[:, 2] > 7) & (c[:, 2] < 10))
    E = np.full(mesh.n_cells, 50.0)
    nu = np.full(mesh.n_cells, 0.3)
    E[lower], nu[lower] = 0.05, 0.0
    E[upper], nu[upper] = 0.5, 0.1
    mat = MaterialMap(E=E, nu=nu, tissue=np.zeros(mesh.n_cells, np.int8), density=np.full(mesh.n_cells, np.nan))
    cavs = [cavity(mesh, lower, bulk_modulus=K_WATER, name="lower"), cavity(mesh, upper, bulk_modulus=20.0, name="upper")]
    loads = [load_case("moment", fixed=[fixed(mesh, "bottom")],
                       platens=[rigid_platen(mesh, "top", displacement=(None, None, None), rotation=None,
                                             force=(10.0, 0.0, -300.0), moment=(500.0, -800.0, 100.0))]),
             load_case("pushed", fixed=[fixed(mesh, "bottom")],
                       platens=[rigid_platen(mesh, "top", displacement=(0.0, 0.0, -0.05))])]
    results, pressures = solve_static_cavities(mesh, mat, loads, cavs, solver="direct")
    K = add_cavities(assemble_stiffness(mesh, mat), cavs)
    for load, res, p in zip(loads, results, pressures):
        cmap = constraint_map(mesh, load)
        Kr, rhs = cmap.reduce(K)
        z = cmap.expand(spla.spsolve(Kr.tocsc(), rhs))
        u = z[:cmap.n_mesh_dofs].reshape(-1, 3)
        np.testing.assert_allclose(res.displacement, u, rtol=0, atol=1e-9 * np.abs(u).max())
        for cv in cavs:
            assert p[cv.name] == pytest.approx(cv.pressure(u), rel=1e-9)
        assert abs(p["lower"]) > 0 and abs(p["upper"]) > 0
        reaction = (K @ z[:cmap.n_mesh_dofs] - cmap.f[:cmap.n_mesh_dofs]).reshape(-1, 3)
        np.testing.assert_allclose(res.reaction, reaction, atol=1e-8 * np.abs(reaction).max())
        assert res.strain_energy == pytest.approx(0.5 * z[:cmap.n_mesh_dofs] @ (K @ z[:cmap.n_mesh_dofs]), rel=1e-9)


def test_bad_input():
    mesh = box_mesh((1.0, 1.0, 1.0), (2, 2, 2))
    with pytest.raises(ValueError, match="bulk_modulus"):
        cavity(mesh, [0], bulk_modulus=0.0)
    with pytest.raises(ValueError, match="at least one cell"):
        cavity(mesh, [], bulk_modulus=1.0)
    with pytest.raises(ValueError, match=r"cavity cells must be in \[0, 8\)"):
        cavity(mesh, [8], bulk_modulus=1.0)
    c = cavity(mesh, [0], bulk_modulus=1.0, name="a")
    with pytest.raises(ValueError, match="distinct"):
        solve_static_cavities(mesh, MaterialMap.uniform(8, 1.0, 0.3), [], [c, c])
