"""Code-verification problems with known answers: patch test, manufactured
solution with convergence rates. Used by the tests and by ``vbfem validate``."""

from __future__ import annotations

import numpy as np

from ..fem.elements import cell_fraction, element, lame, quadrature
from ..fem.loads import body_force, fixed, load_case
from ..fem.primitives import box_mesh, perturbed
from ..fem.static import solve_static
from ..records import MaterialMap, Mesh


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


# ------------------------------------------------------------ plastic tangent
def plastic_state(mesh: Mesh, material, u, epn, kn, *, want_tangent: bool = True, bbar: bool | None = None,
                  consistent: bool = True):
    """Internal force, consistent tangent (CSR) and updated history of the Drucker–Prager model.

    ``material`` from :func:`vbfem.materials.strength.plastic_material`; ``u`` (n, 3) mm,
    ``epn`` (m, nq, 6) and ``kn`` (m, nq) the plastic history; ``bbar`` as in
    :func:`vbfem.fem.nonlinear.elastoplastic_curve` (default: its choice for the cell type);
    ``consistent=False``: the tangent with softening slopes set to 0 (the iterative solvers' one).
    Returns ``(f_int, K_t, ep_new, kappa_new, n_plastic_points)``.
    """
    import numba

    from ..fem._kernels import plasticity as kp
    from ..fem.nonlinear import BBAR_CELL_TYPES
    from ..fem.pattern import sparsity_plan

    if bbar is None:
        bbar = mesh.cell_type in BBAR_CELL_TYPES

    el = element(mesh.cell_type)
    plan = sparsity_plan(mesh)
    fint = np.empty(3 * mesh.n_points)
    data = np.empty(plan.nnz)
    epnew, knew = np.empty_like(epn), np.empty_like(kn)
    npl = kp.assemble_plastic(mesh.points, mesh.cells, el.quad_gradients(), el.quad_weights, material.G, material.K,
                              material.alpha, material.k0, material.hardening(), np.ascontiguousarray(u), epn, kn, epnew,
                              knew, plan.order, plan.colour_ptr, plan.pos, plan.nptr, fint, data, want_tangent,
                              8 * numba.get_num_threads(), bool(bbar), bool(consistent))
    return fint, plan.matrix(data.copy()), epnew, knew, npl


def plastic_tangent_error(cell_type: str = "hex8", *, scale: float = 0.02, seed: int = 3, h: float = 1e-7,
                          damaged: bool = False, softening: bool = False, bbar: bool | None = None):
    """Largest relative difference ``|K_t v - (f(u + h v) - f(u - h v)) / 2h| / |K_t v|`` over three
    random directions ``v``, in a mostly plastic state of a small block; and the plastic point fraction.

    ``damaged``: every other cell is bone damaged by a 3 % overload
    (:func:`vbfem.materials.damage.damaged_bone`: its modulus and yield stress no longer in the
    intact ratio), so the block mixes intact and damaged bone. ``softening``: the bone softens past
    an ultimate point inside the sampled plastic history (a test law, not a material value: ultimate at
    0.2 % plastic strain, post-ultimate tangent -0.5 E, residual 60 % of the ultimate stress), so points harden,
    soften and sit on the residual plateau. ``bbar``: see :func:`plastic_state`.
    """
    from ..materials.damage import damaged_bone
    from ..materials.strength import Softening, plastic_material

    mesh = box_mesh((2.0, 2.0, 2.0), (2, 2, 2), cell_type=cell_type)
    materials = MaterialMap.uniform(mesh.n_cells, 100.0, 0.3)
    if damaged:
        materials = damaged_bone(materials, 0.03, cells=np.arange(0, mesh.n_cells, 2))
    law = Softening(ultimate_plastic_strain=0.002, softening_ratio=-0.5, residual_ratio=0.6) if softening else None
    pm = plastic_material(materials, softening=law)
    rng = np.random.default_rng(seed)
    nq = element(cell_type).n_quad
    u = scale * rng.standard_normal((mesh.n_points, 3))
    epn = 0.002 * rng.standard_normal((mesh.n_cells, nq, 6))
    kn = np.abs(0.002 * rng.standard_normal((mesh.n_cells, nq)))
    _, Kt, _, _, npl = plastic_state(mesh, pm, u, epn, kn, bbar=bbar)
    worst = 0.0
    for _ in range(3):
        v = rng.standard_normal(u.shape)
        fp = plastic_state(mesh, pm, u + h * v, epn, kn, want_tangent=False, bbar=bbar)[0]
        fm = plastic_state(mesh, pm, u - h * v, epn, kn, want_tangent=False, bbar=bbar)[0]
        an = Kt @ v.ravel()
        worst = max(worst, float(np.linalg.norm((fp - fm) / (2 * h) - an) / np.linalg.norm(an)))
    return worst, npl / (mesh.n_cells * nq)


# -------------------------------------------------------------------- flow
def spherical_injection(divisions: int, *, volume: float = 2000.0, rate: float = 50.0, viscosity: float = 100.0,
                        porosity: float = 0.8, permeability: float = 4e-8, size: float = 40.0,
                        tip=None) -> dict:
    """A viscous injection at the centre of a homogeneous, isotropic block, against the analytic solution.

    ``tip`` (mm, optional) places the needle tip off the central cell's
    centre; its source is then spread by :func:`vbfem.treatment.source.spread_source`.

    The filled region is a ball of radius ``R = (3 V / (4 π φ))^(1/3)``; the
    needle pressure is the steady spherical Darcy solution
    ``p = p_out + Q μ / (4 π k) (1 / r_b - 1 / R)`` (bore radius ``r_b`` = 1 mm,
    outlet at the front). Units: mm³, mm³/s, Pa·s, m².

    Returns
    -------
    dict
        ``h`` (mm), ``R_fill`` and ``R`` (mm), ``pressure`` and ``pressure_exact``
        (MPa), ``pressure_error`` (relative to the pressure rise), ``mass_error``
        (largest ``|injected - in body - leaked| / injected`` over the steps).
    """
    from ..materials import porous
    from ..treatment import flow, source
    from ..treatment.network import flow_network

    L = float(size)
    m = box_mesh((L, L, L), (divisions,) * 3, origin=(-L / 2, -L / 2, -L / 2))
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(
        density=np.full(m.n_cells, porous.TISSUE_DENSITY * (1 - porosity)))
    med = porous.porous_medium(m, mat, permeability_si=permeability, permeability_ap=permeability)
    net = flow_network(m, med, open_boundary=True)
    c = int(np.argmin(np.linalg.norm(net.centroid - 1e-3, axis=1)))
    cells, weights = ((), ()) if tip is None else source.spread_source(net.centroid, net.volume, tip)
    r = flow.run_impes(net, [flow.Injection(cell=c, rate=rate, start=0.0, stop=volume / rate, bore=2.0,
                                            cells=tuple(cells), weights=tuple(weights))],
                       cement_viscosity=lambda t: viscosity)
    s = r["saturation"]
    R = (3 * volume / (4 * np.pi * porosity)) ** (1 / 3)
    k = net.perm[c, 0]
    p_exact = flow.VENOUS_PRESSURE + rate * viscosity * 1e-6 / (4 * np.pi * k) * (1 / 1.0 - 1 / R)
    p = float(r["needle_pressure"][-1, 0])
    bal = np.abs(r["injected"] - r["in_body"] - r["leaked_total"]) / np.maximum(r["injected"], 1e-30)
    return {"h": L / divisions, "R_fill": float((3 * net.volume[s >= 0.5].sum() / (4 * np.pi)) ** (1 / 3)), "R": R,
            "pressure": p, "pressure_exact": p_exact,
            "pressure_error": abs(p - p_exact) / (p_exact - flow.VENOUS_PRESSURE), "mass_error": float(bal.max()),
            "saturation_range": (float(s.min()), float(s.max()))}


def cell_fraction_inside(mesh: Mesh, inside, *, n: int = 4) -> np.ndarray:
    """Volume fraction of every cell where ``inside(points (p, 3)) -> bool (p,)`` holds
    (:func:`vbfem.fem.elements.cell_fraction` with an ``n``-point rule per direction)."""
    def hit(cells, N):
        x = np.einsum("qa,mai->mqi", N, mesh.points[cells])
        return np.asarray(inside(x.reshape(-1, 3)), bool).reshape(x.shape[:2])

    return cell_fraction(mesh, hit, n)


def inclusion_convergence(sizes=(3.0, 2.0, 1.5), *, radius: float = 7.0, level: str = "L1",
                          bmd="osteoporotic", cement="pmma") -> list[dict]:
    """Stiffness of an L1 with a fixed cement inclusion at decreasing mesh sizes, per partial-cell rule.

    The inclusion is two balls of ``radius`` (mm) at the bipedicular needle
    tips, fully cemented; each trabecular cell gets its volume fraction
    ``c`` inside (:func:`cell_fraction_inside`). Because the inclusion does
    not move with the mesh, the stiffness changes only by discretization, so
    the sequence measures how fast each rule for a partly cemented cell
    converges: ``"series"`` (the rule of :func:`vbfem.materials.cement.with_cement`,
    ``1/E = (1-c)/E_bone + c/E_cement``) and ``"parallel"``
    (``E = E_bone + c (E_cement - E_bone)``).

    Returns
    -------
    list of dict
        One row per size: ``size`` (mm), ``n_cells``, ``series`` and
        ``parallel`` compression stiffness (N/mm).
    """
    from ..anatomy.mesher import mesh_vertebra
    from ..materials.bone import assign_bone
    from ..materials.cement import cement_mix, cement_preset
    from ..mechanics.compare import compare_states
    from ..treatment.needles import bipedicular
    from .pipeline import make_geometry

    geometry = make_geometry(level=level)
    tips = np.array([nd.tip for nd in bipedicular(geometry, volume=4.0)])
    cem = cement_preset(cement)

    def inside(p):
        return (np.linalg.norm(p[:, None, :] - tips[None], axis=2) < radius).any(axis=1)

    rows = []
    for size in sizes:
        mesh = mesh_vertebra(geometry, size=size)
        bone = assign_bone(mesh, bmd=bmd)
        c = np.where(bone.mask("trabecular"), cell_fraction_inside(mesh, inside), 0.0)
        E_series, nu = cement_mix(bone.E, bone.nu, c, cem)  # the rule of with_cement
        rules = {"series": E_series, "parallel": bone.E + c * (cem.E - bone.E)}
        states = {k: (mesh, bone.replace(E=E, nu=nu)) for k, E in rules.items()}
        res = compare_states(states, strength={k: np.nan for k in states})
        rows.append({"size": float(size), "n_cells": mesh.n_cells,
                     **{r["state"]: float(r["stiffness"]) for r in res.as_dicts()}})
    return rows
