"""Disc materials: the fibre tensor against its tensor definition, the per-cell stiffness path of
MaterialMap, and a nucleus/annulus disc under axial strain against the analytic composite cylinder."""

import numpy as np
import pytest

from vbfem import MaterialMap, solve_static
from vbfem.fem.assembly import assemble_stiffness, elasticity_matrices
from vbfem.fem.cells import cell_centroids, cell_volumes
from vbfem.fem.elements import isotropic_D, lame
from vbfem.fem.loads import fixed, load_case
from vbfem.fem.primitives import cylinder_mesh
from vbfem.materials.disc import annulus_stiffness, check_disc_material, fibre_stiffness
from vbfem.records import tissue_code

VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def _strain_tensor(e):
    t = np.zeros((3, 3))
    for k, (i, j) in enumerate(VOIGT):
        t[i, j] = t[j, i] = e[k] if i == j else 0.5 * e[k]
    return t


def test_fibre_stiffness_is_the_uniaxial_fibre_tensor():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 3))
    C = fibre_stiffness(a, np.full(5, 7.0))
    for c, d in zip(C, a / np.linalg.norm(a, axis=1, keepdims=True)):
        e = rng.normal(size=6)
        # sigma = E (a . eps . a) a (x) a
        s = 7.0 * (d @ _strain_tensor(e) @ d) * np.outer(d, d)
        np.testing.assert_allclose(c @ e, [s[i, j] for i, j in VOIGT], rtol=1e-12, atol=1e-12)


def test_annulus_fibres_lie_at_the_angle_and_add_stiffness_along_them():
    circ = np.array([[0.0, 1.0, 0.0]])
    ground = annulus_stiffness(circ, fibre_fraction=0.0)[0]
    np.testing.assert_allclose(ground, isotropic_D(4.2, 0.45), rtol=1e-14)
    D = annulus_stiffness(circ, fibre_E=500.0, fibre_fraction=0.2, fibre_angle=30.0)[0]
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    for sign in (1, -1):
        a = np.array([0.0, c, sign * s])
        e = np.array([a[0] ** 2, a[1] ** 2, a[2] ** 2, 2 * a[1] * a[2], 2 * a[0] * a[2], 2 * a[0] * a[1]])
        extra = e @ (D - ground) @ e  # 2 x energy of a unit strain along one fibre
        cos2 = np.dot(a, [0.0, c, -sign * s]) ** 2  # the other family sees cos² of the angle between them
        assert extra == pytest.approx(500.0 * 0.1 * (1.0 + cos2 ** 2), rel=1e-12)
    # radial direction carries no fibre stiffness
    assert (D - ground)[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert np.linalg.eigvalsh(D).min() > 0


@pytest.mark.parametrize("nu", [0.5, 0.6, -1.0])
def test_incompressible_nucleus_is_refused(nu):
    with pytest.raises(ValueError, match="nu"):
        check_disc_material("nucleus", 1.0, nu)


def test_materialmap_stiffness_rows_override_and_validate():
    n = 4
    D = np.full((n, 6, 6), np.nan)
    D[1] = isotropic_D(100.0, 0.3)
    m = MaterialMap(E=np.full(n, 5.0), nu=np.full(n, 0.2), stiffness=D)
    assert not m.isotropic and m.stiffness_cells().tolist() == [False, True, False, False]
    np.testing.assert_allclose(elasticity_matrices(m)[1], isotropic_D(100.0, 0.3))
    np.testing.assert_allclose(elasticity_matrices(m)[0], isotropic_D(5.0, 0.2))
    assert MaterialMap(E=[1.0], nu=[0.2]).stiffness is None  # backward compatible default
    again = m.replace(E=np.full(n, 7.0))  # a map with its own matrices can be replaced (read-only arrays)
    np.testing.assert_array_equal(again.stiffness, m.stiffness)
    bad = D.copy()
    bad[1, 0, 1] += 1.0
    with pytest.raises(ValueError, match="symmetric"):
        MaterialMap(E=np.full(n, 5.0), nu=np.full(n, 0.2), stiffness=bad)
    bad = D.copy()
    bad[2, 0, 0] = 1.0
    with pytest.raises(ValueError, match="all finite or all NaN"):
        MaterialMap(E=np.full(n, 5.0), nu=np.full(n, 0.2), stiffness=bad)
    with pytest.raises(ValueError, match="shape"):
        MaterialMap(E=np.full(n, 5.0), nu=np.full(n, 0.2), stiffness=D[:2])
    neg = D.copy()
    neg[1] = -neg[1]
    with pytest.raises(ValueError, match="positive definite"):
        MaterialMap(E=np.full(n, 5.0), nu=np.full(n, 0.2), stiffness=neg)


def test_stiffness_rows_equal_to_isotropic_give_the_same_matrix():
    mesh = cylinder_mesh(5.0, 4.0, n_radial=2, n_axial=2)
    iso = MaterialMap(E=np.linspace(1.0, 9.0, mesh.n_cells), nu=np.full(mesh.n_cells, 0.45))
    own = iso.replace(stiffness=isotropic_D(iso.E, iso.nu), E=np.ones(mesh.n_cells))
    K1 = assemble_stiffness(mesh, iso)
    K2 = assemble_stiffness(mesh, own)
    assert abs(K1 - K2).max() < 1e-12 * abs(K1).max()


# ------------------------------------------------------------------ composite cylinder
def _circular_cylinder(R, H, n_radial, n_axial):
    """cylinder_mesh with every square ring of the cross-section put on a circle (ring k at radius R k / n)."""
    mesh = cylinder_mesh(R, H, n_radial=n_radial, n_axial=n_axial)
    p = mesh.points.copy()
    n = 2 * n_radial
    # the box coordinates: the cylinder's square grid has spacing 2 / n in u and v
    phi = np.arctan2(p[:, 1], p[:, 0])
    # recover the ring index from the mapped point: ring = max(|u|, |v|); invert the map numerically
    x, y = p[:, 0] / R, p[:, 1] / R
    u, v = x.copy(), y.copy()
    for _ in range(60):  # fixed point of x = u sqrt(1 - v²/2), y = v sqrt(1 - u²/2)
        u = x / np.sqrt(1.0 - v ** 2 / 2.0)
        v = y / np.sqrt(1.0 - u ** 2 / 2.0)
    ring = np.round(np.maximum(np.abs(u), np.abs(v)) * n / 2) * 2 / n
    p[:, 0], p[:, 1] = R * ring * np.cos(phi), R * ring * np.sin(phi)
    return mesh.with_points(p), ring


def _composite_cylinder_pressure(a, b, eps, En, nun, Ea, nua):
    """Nucleus hydrostatic pressure of a nucleus (r < a) in an annulus (a < r < b), axial strain ``eps``,
    free outer surface, frictionless ends (generalised plane strain; u_r = A r in the nucleus,
    A' r + B / r in the annulus, continuity of u_r and sigma_rr at a, sigma_rr(b) = 0)."""
    ln, mn = lame(En, nun)
    la, ma = lame(Ea, nua)
    # unknowns A, A', B
    M = np.array([[a, -a, -1.0 / a],
                  [2 * ln + 2 * mn, -(2 * la + 2 * ma), 2 * ma / a ** 2],
                  [0.0, 2 * la + 2 * ma, -2 * ma / b ** 2]])
    rhs = np.array([0.0, (la - ln) * eps, -la * eps])
    A = np.linalg.solve(M, rhs)[0]
    srr = ln * (2 * A + eps) + 2 * mn * A
    szz = ln * (2 * A + eps) + 2 * mn * eps
    return -(2 * srr + szz) / 3.0


def _fe_nucleus_pressure(n_radial):
    R, H, a_frac, eps = 20.0, 10.0, 0.5, -0.01
    mesh, _ = _circular_cylinder(R, H, n_radial, 2)
    rc = np.hypot(*cell_centroids(mesh)[:, :2].T)
    # the nucleus: cells inside ring a_frac (the ring radii are exact)
    nucleus = rc < a_frac * R
    E = np.where(nucleus, 1.0, 4.2)
    nu = np.where(nucleus, 0.49, 0.45)
    C = np.full((mesh.n_cells, 6, 6), np.nan)
    centres = cell_centroids(mesh)[~nucleus]
    C[~nucleus] = annulus_stiffness(np.column_stack([-centres[:, 1], centres[:, 0], 0 * centres[:, 0]]),
                                    fibre_fraction=0.0)
    mat = MaterialMap(E=E, nu=nu, tissue=np.full(mesh.n_cells, tissue_code("disc"), np.int8), stiffness=C)
    pts = mesh.points
    centre = np.flatnonzero((np.hypot(pts[:, 0], pts[:, 1]) < 1e-9) & (pts[:, 2] == 0))
    xaxis = np.flatnonzero((np.abs(pts[:, 1]) < 1e-9) & (pts[:, 0] > R - 1e-6) & (pts[:, 2] == 0))
    load = load_case("axial", fixed=[fixed(mesh, mesh.node_sets["bottom"], components=(2,)),
                                     fixed(mesh, mesh.node_sets["top"], components=(2,), value=eps * H),
                                     fixed(mesh, centre, components=(0, 1)),
                                     fixed(mesh, xaxis, components=(1,))])
    res = solve_static(mesh, mat, load, solver="direct")
    v = cell_volumes(mesh)
    p = -res.stress[:, :3].sum(axis=1) / 3.0
    fe = float((p[nucleus] * v[nucleus]).sum() / v[nucleus].sum())
    return fe, _composite_cylinder_pressure(a_frac * R, R, eps, 1.0, 0.49, 4.2, 0.45)


def test_disc_under_axial_strain_matches_the_composite_cylinder():
    """The nucleus pressure converges to the analytic composite-cylinder value (a polygonal interface
    inscribed in the circle and the annulus's 1/r field are the discretisation errors)."""
    errors = []
    for n in (4, 8):
        fe, exact = _fe_nucleus_pressure(n)
        assert exact > 0  # compression pressurises the nucleus
        errors.append(abs(fe - exact) / exact)
    assert errors[1] < 0.01
    assert errors[1] < 0.5 * errors[0]


def test_aniso_deck_lines_fit_calculix():
    """CalculiX reads 132 characters of a line: long constants (round-off terms like -1.2e-15 of a rotated
    fibre tensor) once cut the third constant of a line off and moved a unit's answer by 0.2 %."""
    from vbfem.output.inp import _LINE, ANISO_ORDER, _aniso_text

    t = np.radians(37.0)
    D = annulus_stiffness([[np.cos(t), np.sin(t), 1e-9]])[0]
    D[0, 3] = D[3, 0] = -1.234567890123456e-15
    text = _aniso_text(D).splitlines()
    assert text[0] == "*ELASTIC, TYPE=ANISO" and len(text) == 4
    assert max(len(line) for line in text[1:]) <= _LINE
    values = [float(x) for line in text[1:] for x in line.split(",")]
    np.testing.assert_allclose(values, [D[i, j] for i, j in ANISO_ORDER], rtol=1e-8, atol=1e-12 * np.abs(D).max())
