"""Code-verification problems with known answers: patch test, manufactured
solution with convergence rates. Used by the tests and by ``vbfem validate``."""

from __future__ import annotations

import numpy as np

from .elements import element, lame, quadrature
from .loads import body_force, fixed, load_case
from .primitives import box_mesh, perturbed
from .records import MaterialMap, Mesh
from .static import solve_static


def l2_error(mesh: Mesh, displacement: np.ndarray, exact, *, order: int = 5) -> float:
    """``|| u_h - u ||_L2`` over the mesh (mm · mm^1.5), by a high-order rule."""
    el = element(mesh.cell_type)
    xi, w = quadrature(mesh.cell_type, order)
    N, dN = el.shape(xi), el.grad(xi)
    X = mesh.points[mesh.cells]
    det = np.linalg.det(np.einsum("mai,qaj->mqij", X, dN))
    x = np.einsum("qa,mai->mqi", N, X)
    uh = np.einsum("qa,mai->mqi", N, displacement[mesh.cells])
    ue = np.asarray(exact(x.reshape(-1, 3))).reshape(x.shape)
    return float(np.sqrt(np.einsum("mqi,mqi,mq,q->", uh - ue, uh - ue, det, w)))


class SineSolution:
    """Manufactured field ``u = (phi, phi, phi) · amplitude`` on the unit cube,
    ``phi = sin(pi x) sin(pi y) sin(pi z)``; zero on the boundary.

    The body force ``b = -((lam + mu) grad div u + mu lap u)`` makes it the exact
    solution of homogeneous isotropic elasticity with fixed boundary.
    """

    def __init__(self, E=1000.0, nu=0.3, amplitude=1e-3):
        self.E, self.nu, self.a = E, nu, amplitude
        self.lam, self.mu = (float(v) for v in lame(E, nu))

    def displacement(self, x):
        s = np.sin(np.pi * x)
        phi = s[:, 0] * s[:, 1] * s[:, 2]
        return self.a * np.repeat(phi[:, None], 3, axis=1)

    def body_force(self, x):
        s, c = np.sin(np.pi * x), np.cos(np.pi * x)
        phi = s[:, 0] * s[:, 1] * s[:, 2]
        p2 = np.pi**2
        # grad div u: component i = phi_ii + sum_{j != i} phi_ij
        cross = np.column_stack([
            c[:, 0] * c[:, 1] * s[:, 2] + c[:, 0] * s[:, 1] * c[:, 2],
            c[:, 0] * c[:, 1] * s[:, 2] + s[:, 0] * c[:, 1] * c[:, 2],
            c[:, 0] * s[:, 1] * c[:, 2] + s[:, 0] * c[:, 1] * c[:, 2],
        ])
        grad_div = p2 * (cross - phi[:, None])
        lap = -3.0 * p2 * phi[:, None] * np.ones(3)
        return -self.a * ((self.lam + self.mu) * grad_div + self.mu * lap)


def manufactured_errors(cell_type: str, divisions, *, distortion: float = 0.0, seed: int = 0):
    """L2 displacement errors of the :class:`SineSolution` on unit-cube meshes.

    Parameters
    ----------
    divisions : sequence of int
        Cells per side of each mesh (h = 1 / n).
    distortion : float, keyword-only
        Random interior node movement as a fraction of h.

    Returns
    -------
    h, errors : ndarray
        Mesh sizes and relative L2 errors ``||u_h - u|| / ||u||``.
    """
    sol = SineSolution()
    h, err = [], []
    for n in divisions:
        mesh = box_mesh((1.0, 1.0, 1.0), (n, n, n), cell_type=cell_type)
        if distortion:
            mesh = perturbed(mesh, distortion / n, seed=seed)
        boundary = np.unique(np.concatenate([mesh.node_sets[k] for k in ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")]))
        load = load_case("manufactured", fixed=[fixed(mesh, boundary)], forces=[body_force(mesh, sol.body_force)])
        res = solve_static(mesh, MaterialMap.uniform(mesh.n_cells, sol.E, sol.nu), load)
        norm = l2_error(mesh, np.zeros_like(res.displacement), sol.displacement)
        h.append(1.0 / n)
        err.append(l2_error(mesh, res.displacement, sol.displacement) / norm)
    return np.array(h), np.array(err)


def observed_rates(h, errors) -> np.ndarray:
    """Convergence rates ``log(e_i / e_{i+1}) / log(h_i / h_{i+1})`` between successive meshes."""
    h, e = np.asarray(h), np.asarray(errors)
    return np.log(e[:-1] / e[1:]) / np.log(h[:-1] / h[1:])
