"""Nonlinear (elastic–plastic) load–displacement curve under displacement control: ``elastoplastic_curve``."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from ..records import LoadCase, Mesh
from ._kernels import eas as kern_eas
from ._kernels import plasticity as kern
from .assembly import check_mesh
from .constraints import constraint_map
from .eas import EAS_CELL_TYPES, mode_gradients
from .elements import element
from .pattern import sparsity_plan
from .plasticity import PlasticMaterial
from .solvers import SolverError, amg_hierarchy, check_solver, resolve_method, serial_blas, solve_spd

log = logging.getLogger(__name__)

#: Largest relative residual of the iterative linear solve of a Newton correction (inexact Newton):
#: the forcing term starts here and is tightened by the Eisenstat–Walker rule (choice 2; Eisenstat &
#: Walker, SIAM J Sci Comput 1996;17:16) as Newton converges, never tighter than what the Newton test
#: ``tol`` needs; ``tol`` decides when Newton has converged, so the curve is the same. On the default
#: L1 a fixed 1e-2 took 93 Newton iterations, 1e-8 64 iterations and 3x the time.
NEWTON_RTOL = 1e-2

#: Smallest forcing term of the Eisenstat–Walker rule.
NEWTON_RTOL_MIN = 1e-8

#: Smoother sweeps of the multigrid preconditioner of the tangents (:func:`vbfem.fem.solvers.amg_hierarchy`).
TANGENT_SWEEPS = 2

#: Offset strain of the yield-force definition (0.2 %, the usual offset for bone).
YIELD_OFFSET = 0.002

#: Cell types whose elastic–plastic analysis uses the B-bar method (the element's mean volumetric
#: strain at every Gauss point; Hughes 1980, see :mod:`vbfem.fem._kernels.plasticity`). The fully
#: integrated hex8 locks under the nearly isochoric plastic flow of bone: around a fixed cement
#: inclusion in the L1 its strength fell 4593 / 4459 / 4393 / 4324 N from 3 to 1 mm, with B-bar
#: 4356 / 4284 / 4243 / 4195 N (the mesh error at 2 mm about 6 % and 4 % of the 1 mm value); a plain
#: body is 2 % weaker with it. tet4 is constant-strain; tet10 does not use it.
BBAR_CELL_TYPES = ("hex8",)


@dataclass(frozen=True, eq=False)
class LoadDisplacementCurve:
    """A computed load–displacement curve (all arrays per converged step, step 0 = unloaded).

    Attributes
    ----------
    displacement : ndarray (s,)
        Platen travel along its prescribed direction, mm (>= 0).
    force : ndarray (s,)
        Platen reaction along the travel direction, N (> 0 resisting the travel).
    converged : ndarray of bool (s,)
    iterations : ndarray of int (s,)
        Newton iterations of each step.
    residual : ndarray (s,)
        Final relative residual of each step.
    plastic_fraction : ndarray (s,)
        Fraction of Gauss points on the yield surface.
    stiffness : float
        Initial (elastic) stiffness, N/mm, from the first step.
    yield_force, yield_displacement : float
        0.2 % offset yield: intersection of the curve with the line of slope
        ``stiffness`` through ``YIELD_OFFSET * gauge_length``; NaN if not reached.
    peak_force, peak_displacement : float
        Largest force on the curve (the strength, N) and where it occurs (mm).
        With hardening the peak is the last point unless a structural peak occurs
        (:attr:`peak_reached` says which).
    first_yield_force, first_yield_displacement : float
        Force and travel at the last step with every point elastic (lower bound of
        first yield).
    gauge_length : float
        Specimen height along the travel direction, mm.
    plastic_strain : ndarray (m, nq, 6)
        Plastic strain at the Gauss points after the last converged step.
    kappa : ndarray (m, nq)
        Equivalent plastic strain there.
    u : ndarray (n, 3)
        Nodal displacement after the last converged step, mm.
    timings : dict
    """

    displacement: np.ndarray
    force: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    plastic_fraction: np.ndarray
    stiffness: float
    yield_force: float
    yield_displacement: float
    peak_force: float
    peak_displacement: float
    first_yield_force: float
    first_yield_displacement: float
    gauge_length: float
    plastic_strain: np.ndarray
    kappa: np.ndarray
    u: np.ndarray
    timings: dict = field(default_factory=dict)

    @property
    def peak_reached(self) -> bool:
        """Whether the force fell after its largest value: a true peak, not the force at the end of
        the travel of a curve that still rises (hardening without end)."""
        return bool(self.force.size > 1 and np.argmax(self.force) < self.force.size - 1)


class NonlinearSolveError(RuntimeError):
    """Newton did not converge even after the allowed step cut-backs.

    Attributes
    ----------
    step : int
        Load step that failed (1-based).
    residual : float
        Relative residual reached.
    partial : LoadDisplacementCurve
        The curve up to the last converged step.
    """

    def __init__(self, message, *, step, residual, partial):
        super().__init__(message)
        self.step = step
        self.residual = residual
        self.partial = partial


def _offset_yield(d, F, k0, offset):
    """First crossing of F(d) with k0 (d - offset); linear interpolation."""
    g = F - k0 * (d - offset)
    idx = np.flatnonzero((g[:-1] > 0) & (g[1:] <= 0))
    if idx.size == 0:
        return np.nan, np.nan
    i = idx[0]
    t = g[i] / (g[i] - g[i + 1])
    return float(F[i] + t * (F[i + 1] - F[i])), float(d[i] + t * (d[i + 1] - d[i]))


@serial_blas()
def elastoplastic_curve(mesh: Mesh, plastic: PlasticMaterial, load: LoadCase, *, platen: str | None = "platen",
                        max_displacement: float | None = None, n_steps: int = 20, tol: float = 1e-6,
                        max_iter: int = 25, max_cutbacks: int = 4, solver: str = "auto",
                        rtol: float = NEWTON_RTOL, post_yield_growth: float = 1.0,
                        bbar: bool | None = None, eas: bool = False) -> LoadDisplacementCurve:
    """Elastic–plastic load–displacement curve under displacement control of a rigid platen.

    The prescribed values of ``load`` (platen motion, fixed displacements and
    any forces) are scaled by a load factor from 0 to 1 in ``n_steps`` equal
    steps; each step is solved by Newton's method with the consistent tangent
    of :mod:`vbfem.fem.plasticity`. A step that does not converge in ``max_iter``
    iterations is halved, at most ``max_cutbacks`` times in a row.

    Parameters
    ----------
    mesh : Mesh
    plastic : PlasticMaterial
        Per-cell elastic and Drucker–Prager parameters (:func:`vbfem.fem.plasticity.drucker_prager`;
        for tissues, :func:`vbfem.materials.strength.plastic_material`).
    load : LoadCase
        Must hold platen ``platen`` with a prescribed, nonzero translation.
    platen : str or None, keyword-only
        Name of the loading platen. ``None``: the controlled quantity is the set of
        fixed dofs with nonzero prescribed displacement (travel = the largest of
        them, force = sum of their reactions along the prescribed signs).
    max_displacement : float, optional
        Final platen travel in mm (> 0); rescales the load case. Default: as given in ``load``.
    n_steps : int, keyword-only
        Number of equal load steps (>= 1) before cut-backs.
    tol : float, keyword-only
        Newton stops when ``||R|| <= tol * max(||f_int||, ||f_ext||)`` on the free unknowns.
    max_iter, max_cutbacks : int, keyword-only
    solver, rtol : keyword-only
        Linear solver, see :func:`vbfem.fem.solvers.solve_spd`. For ``"amg-cg"`` each Newton
        correction is a CG solve preconditioned by the AMG hierarchy of an earlier tangent;
        ``rtol`` is the largest relative residual of that solve (default :data:`NEWTON_RTOL`),
        tightened by the Eisenstat–Walker rule as Newton converges; the Newton test ``tol``
        decides convergence.

    post_yield_growth : float, keyword-only
        Largest load step after the 0.2 % offset yield point has been passed, as a multiple (>= 1)
        of the base step ``1 / n_steps``: steps double while Newton converges in at most
        ``max_iter // 3`` iterations. Past yield a hardening curve is nearly straight, so
        coarser steps there keep the yield force as resolved as with the base step
        and the peak within a fraction of a percent (on the default L1 to 3 % travel in 15 steps: 4
        gives the same 0.2 % yield, a peak 0.04 % lower and 33 Newton iterations instead of 57).
        Default 1: equal steps.
    bbar : bool, optional, keyword-only
        Use the B-bar method (mean volumetric strain per element). Default: for the cell types of
        :data:`BBAR_CELL_TYPES` (hex8). Only hex8 supports it.
    eas : bool, keyword-only
        Use the enhanced-assumed-strain (incompatible-mode) hex8 of :mod:`vbfem.fem.eas` instead
        (9 element-internal strain parameters, condensed element by element and carried from step
        to step like the plastic strain; it replaces B-bar, so ``bbar`` must not be True). hex8 only.
        Default False.

    Returns
    -------
    LoadDisplacementCurve

    Raises
    ------
    NonlinearSolveError
        Carries ``step``, ``residual`` and ``partial`` (the curve so far).
    """
    check_solver(solver)
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a Mesh, got {type(mesh).__name__}")
    if not isinstance(plastic, PlasticMaterial):
        raise TypeError(f"plastic must be a PlasticMaterial, got {type(plastic).__name__}")
    if plastic.n_cells != mesh.n_cells:
        raise ValueError(f"plastic material has {plastic.n_cells} cells but the mesh has {mesh.n_cells}")
    if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 1):
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if not (isinstance(max_cutbacks, (int, np.integer)) and max_cutbacks >= 0):
        raise ValueError(f"max_cutbacks must be an integer >= 0, got {max_cutbacks!r}")
    if not (np.isfinite(tol) and 0 < tol < 1):
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    if not (np.isfinite(post_yield_growth) and post_yield_growth >= 1):
        raise ValueError(f"post_yield_growth must be a step multiple >= 1, got {post_yield_growth!r}")
    if not isinstance(eas, (bool, np.bool_)):
        raise ValueError(f"eas={eas!r} must be True or False")
    if eas and mesh.cell_type not in EAS_CELL_TYPES:
        raise ValueError(f"eas=True needs a cell type of {EAS_CELL_TYPES}, got {mesh.cell_type!r}")
    if eas and bbar:
        raise ValueError("eas=True replaces the B-bar method: bbar must be None or False with it, got True")
    if bbar is None:
        bbar = mesh.cell_type in BBAR_CELL_TYPES and not eas
    elif bbar and mesh.cell_type not in BBAR_CELL_TYPES:
        raise ValueError(f"bbar=True needs a cell type of {BBAR_CELL_TYPES}, got {mesh.cell_type!r}")
    if platen is not None:
        p = load.platen(platen)
        trans = np.nan_to_num(p.prescribed[:3])
        travel = float(np.linalg.norm(trans))
        if travel == 0:
            raise ValueError(f"platen {platen!r} has no prescribed translation; displacement control needs one")
        direction = trans / travel
        ctrl_dofs = (3 * p.nodes[:, None] + np.arange(3)).ravel()
        ctrl_dir = np.tile(direction, p.nodes.size)
    else:
        vals = load.fixed_values
        moving = np.flatnonzero(vals != 0)
        if moving.size == 0:
            raise ValueError("platen=None needs fixed dofs with nonzero prescribed displacement to control")
        travel = float(np.abs(vals[moving]).max())
        ctrl_dofs = load.fixed_dofs[moving]
        ctrl_dir = np.sign(vals[moving])
        direction = np.zeros(3)
        for c in range(3):
            direction[c] = np.abs(vals[moving][ctrl_dofs % 3 == c]).sum()
        direction /= np.linalg.norm(direction)
    scale = 1.0
    if max_displacement is not None:
        if not (np.isfinite(max_displacement) and max_displacement > 0):
            raise ValueError(f"max_displacement must be a travel > 0 mm, got {max_displacement!r}")
        scale = float(max_displacement) / travel

    timings = {"assembly": 0.0, "solve": 0.0}
    t0 = time.perf_counter()
    check_mesh(mesh)
    cmap = constraint_map(mesh, load)
    plan = sparsity_plan(mesh)
    el = element(mesh.cell_type)
    dN, w = el.quad_gradients(), el.quad_weights
    n = cmap.n_mesh_dofs
    T, Tm = cmap.T.tocsr(), cmap.T[:n].tocsr()
    TmT = Tm.T.tocsr()
    g = cmap.g * scale
    f = cmap.f * scale
    TTf = T.T @ f
    m, nq = mesh.n_cells, w.size
    n_chunks = 8 * numba.get_num_threads()
    pts = np.ascontiguousarray(mesh.points)
    cells = np.ascontiguousarray(mesh.cells)
    gauge = float(np.ptp(pts @ direction))  # specimen height along the travel, mm
    timings["setup"] = time.perf_counter() - t0

    fint = np.empty(n)
    data = np.empty(plan.nnz)
    hard = plastic.hardening()
    method = resolve_method(solver, cmap.n_free)
    # the consistent tangent is indefinite where points soften, and Newton with it wanders between the
    # branches of points that soften or unload (5 mm L1: no convergence in 25 iterations past the peak);
    # with a softening law the solvers get the tangent with those slopes set to 0 (symmetric positive
    # semi-definite; a modified Newton: more iterations, the same curve)
    consistent = not plastic.softens
    ep, kap = np.zeros((m, nq, 6)), np.zeros((m, nq))
    ep_new, kap_new = np.empty_like(ep), np.empty_like(kap)
    # the enhanced strain parameters of the EAS hex8 (m, 3, 3): state, committed with the plastic strain
    enh, enh_new = np.zeros((m, 3, 3) if eas else (0, 3, 3)), np.zeros((m, 3, 3) if eas else (0, 3, 3))
    dM, dN0 = mode_gradients(mesh.cell_type) if eas else (None, None)

    def evaluate(u, want_K):
        t = time.perf_counter()
        if eas:
            npl = kern_eas.assemble_eas(pts, cells, dN, dM, dN0, w, plastic.G, plastic.K, plastic.alpha, plastic.k0,
                                        hard, np.ascontiguousarray(u.reshape(-1, 3)), ep, kap, enh, ep_new, kap_new,
                                        enh_new, plan.order, plan.colour_ptr, plan.pos, plan.nptr, fint, data, want_K,
                                        n_chunks, consistent)
            timings["assembly"] += time.perf_counter() - t
            return npl
        npl = kern.assemble_plastic(pts, cells, dN, w, plastic.G, plastic.K, plastic.alpha, plastic.k0, hard,
                                    np.ascontiguousarray(u.reshape(-1, 3)), ep, kap, ep_new, kap_new,
                                    plan.order, plan.colour_ptr, plan.pos, plan.nptr, fint, data, want_K, n_chunks,
                                    bool(bbar), consistent)
        timings["assembly"] += time.perf_counter() - t
        return npl

    def reduced_matrix():
        K = plan.matrix(data)
        Kr, _ = cmap.reduce(K)
        return K, Kr

    amg = {"ml": None, "iters": None}
    timings.update(cg_iterations=0, preconditioner_setups=0)

    def solve(Kr, rhs, eta):
        """A Newton correction: direct, or AMG-CG to relative residual ``eta`` with the hierarchy of
        an earlier tangent, rebuilt when CG needs more than twice the iterations it took when it was
        new, or fails with it."""
        t = time.perf_counter()
        if method == "direct":
            x, _ = solve_spd(Kr, rhs, method="direct")
        else:
            fresh = amg["ml"] is None
            if fresh:
                amg["ml"] = amg_hierarchy(Kr, near_null=cmap.near_null, sweeps=TANGENT_SWEEPS)
                timings["preconditioner_setups"] += 1
            try:
                x, info = solve_spd(Kr, rhs, method="amg-cg", rtol=eta, hierarchy=amg["ml"])
            except SolverError:
                if fresh:
                    raise
                amg["ml"] = amg_hierarchy(Kr, near_null=cmap.near_null, sweeps=TANGENT_SWEEPS)
                timings["preconditioner_setups"] += 1
                fresh = True
                x, info = solve_spd(Kr, rhs, method="amg-cg", rtol=eta, hierarchy=amg["ml"])
            timings["cg_iterations"] += info.iterations
            if fresh:
                amg["iters"] = info.iterations
            elif info.iterations > 2 * amg["iters"] + 5:
                amg["ml"] = None  # the tangent has moved away from the one the hierarchy was built for
        timings["solve"] += time.perf_counter() - t
        return x

    def forcing(eta, rn, rn_old, r_tol):
        """Eisenstat–Walker forcing term (choice 2, gamma 0.9, with their safeguard), in
        [NEWTON_RTOL_MIN, rtol] and no tighter than half of what the Newton test needs."""
        if rn_old is None:
            return rtol
        ew = 0.9 * (rn / rn_old) ** 2
        if 0.9 * eta ** 2 > 0.1:
            ew = max(ew, 0.9 * eta ** 2)
        return min(rtol, max(ew, NEWTON_RTOL_MIN, 0.5 * r_tol / rn))

    q = np.zeros(cmap.n_free)
    q_prev, dlam_prev = None, None
    lam = 0.0
    curve = {"d": [0.0], "F": [0.0], "conv": [True], "it": [0], "res": [0.0], "pf": [0.0]}
    u_conv = np.zeros(n)

    def partial_curve():
        return _make_curve(curve, gauge, ep, kap, u_conv, timings, t0)

    dlam_base = 1.0 / n_steps
    dlam = dlam_base
    past_yield = False
    cut = 0
    step = 0
    while lam < 1.0 - 1e-12:
        dlam = min(dlam, 1.0 - lam)
        lam1 = lam + dlam
        step += 1
        if q_prev is not None:
            # secant predictor: extrapolate the last converged increment (exact on the elastic part of
            # the curve, and no worse than the converged state's tangent once the bone yields)
            qk = q + (dlam / dlam_prev) * (q - q_prev)
        else:
            # tangent predictor from the converged state: Kt dq = T^T f(lam1) - Tm^T (fint + Kt dlam g)
            u = Tm @ q + lam * g[:n]
            evaluate(u, True)
            K, Kr = reduced_matrix()
            rhs = lam1 * TTf - TmT @ (fint + K @ (dlam * g[:n]))
            qk = q + solve(Kr, rhs, rtol)
        ok = False
        res = np.inf
        eta, rn_old = rtol, None
        for it in range(1, max_iter + 1):
            u = Tm @ qk + lam1 * g[:n]
            npl = evaluate(u, True)
            R = lam1 * TTf - TmT @ fint
            ref = max(np.linalg.norm(TmT @ fint), np.linalg.norm(lam1 * TTf), np.linalg.norm(fint) * 1e-3, 1e-30)
            res = float(np.linalg.norm(R) / ref)
            log.debug("step %d, Newton iteration %d: relative residual %.3g", step, it, res)
            if not np.isfinite(res):
                break
            if res <= tol:
                ok = True
                break
            rn = float(np.linalg.norm(R))
            eta = forcing(eta, rn, rn_old, tol * ref)
            rn_old = rn
            _, Kr = reduced_matrix()
            qk = qk + solve(Kr, R, eta)
        if ok:
            q_prev, dlam_prev = q, dlam
            q, lam = qk, lam1
            ep[:], kap[:] = ep_new, kap_new
            enh[:] = enh_new
            u_conv = u.copy()
            F = float(ctrl_dir @ fint[ctrl_dofs])
            curve["d"].append(lam * travel * scale)
            curve["F"].append(F)
            curve["conv"].append(True)
            curve["it"].append(it)
            curve["res"].append(res)
            curve["pf"].append(npl / (m * nq))
            log.info("step %d: travel %.4g mm, force %.4g N, %d Newton iterations, %.1f%% plastic",
                     step, curve["d"][-1], F, it, 100.0 * npl / (m * nq))
            cut = 0
            if not past_yield and len(curve["F"]) > 2:
                d, F = np.asarray(curve["d"]), np.asarray(curve["F"])
                past_yield = np.isfinite(_offset_yield(d, F, F[1] / d[1], YIELD_OFFSET * gauge)[0])
            dlam_max = dlam_base * (post_yield_growth if past_yield else 1.0)
            dlam = min(dlam * 2.0, dlam_max) if it <= max_iter // 3 else dlam
            continue
        cut += 1
        log.info("step %d did not converge (residual %.3g); cut-back %d", step, res, cut)
        if cut > max_cutbacks:
            raise NonlinearSolveError(
                f"Newton did not converge at load step {step} (load factor {lam1:.4g}, platen travel "
                f"{lam1 * travel * scale:.4g} mm) after {max_cutbacks} cut-backs: relative residual {res:.3g} "
                f"> tol {tol:g}; the curve up to travel {lam * travel * scale:.4g} mm is in .partial",
                step=step, residual=res, partial=partial_curve())
        dlam *= 0.5
    return partial_curve()


def _make_curve(curve, gauge, ep, kap, u, timings, t0):
    d = np.asarray(curve["d"])
    F = np.asarray(curve["F"])
    k0 = F[1] / d[1] if d.size > 1 and d[1] > 0 else np.nan
    yf, yd = _offset_yield(d, F, k0, YIELD_OFFSET * gauge) if np.isfinite(k0) else (np.nan, np.nan)
    pf = np.asarray(curve["pf"])
    elastic = np.flatnonzero(pf == 0)
    last_el = elastic[-1] if elastic.size else 0
    ip = int(np.argmax(F))
    timings = dict(timings)
    timings["total"] = time.perf_counter() - t0
    return LoadDisplacementCurve(
        displacement=d, force=F, converged=np.asarray(curve["conv"]), iterations=np.asarray(curve["it"]),
        residual=np.asarray(curve["res"]), plastic_fraction=pf, stiffness=float(k0),
        yield_force=yf, yield_displacement=yd, peak_force=float(F[ip]), peak_displacement=float(d[ip]),
        first_yield_force=float(F[last_el]), first_yield_displacement=float(d[last_el]), gauge_length=gauge,
        plastic_strain=ep.copy(), kappa=kap.copy(), u=u.reshape(-1, 3).copy(), timings=timings,
    )
