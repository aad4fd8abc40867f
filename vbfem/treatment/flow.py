"""Two-phase (cement / marrow) Darcy flow in trabecular bone: finite volumes and IMPES.

The porous medium (porosity, permeability) is built by :mod:`vbfem.materials.porous`.

Model
-----
Trabecular bone is a rigid porous medium filled with marrow. Cement displaces
marrow; both are incompressible and immiscible; marrow is Newtonian, the cement
Newtonian by default or optionally a power-law shear-thinning fluid (below),
its viscosity rising with time since mixing (:mod:`vbfem.materials.cement`). With cement
saturation ``S`` (fraction of the pore space), Darcy's law per phase

    u_α = -k kr_α(S) / μ_α ∇p,   ∇·(u_c + u_m) = q,   φ ∂S/∂t + ∇·(f(S) u) = q_c

(no gravity — the densities are close — and no capillary pressure, since the
pores are large, ~0.5–1 mm). Relative permeabilities are Corey curves
``kr_c = S^n_c``, ``kr_m = (1-S)^n_m`` (Corey 1954, Producers Monthly 19:38;
Brooks & Corey 1964); default exponents 2 (the common Corey choice). With a
viscous cement (μ_c/μ_m ~ 10³) the fractional flow ``f`` is convex near
``S = 0`` and the displacement forms a sharp, piston-like front, as observed
for vertebroplasty cements (Trivedi 2023, qualitative); with near-marrow
viscosity the front spreads and fingers along permeable paths.

Discretisation
--------------
Cell-centred finite volumes on the mesh cells (hex8, tet4, tet10 via its
corners). Internal faces are found by matching sorted node tuples; the face
area vector is the half cross product of the diagonals (quad) or edges (tri).
Two-point flux approximation: each half transmissibility is
``T_i = |A| (n·K_i·d_i) / |d_i|²`` with ``d_i`` from the cell centroid to the
face centroid, and the face transmissibility is their harmonic mean. TPFA is
consistent only on K-orthogonal meshes; the mapped O-grid and box meshes are
close to orthogonal in the interior and the error is first order in the
non-orthogonality — it is accepted (and measured by the refinement test)
rather than corrected with a multi-point stencil. Mobilities are upwinded
along the previous total flux.

Pressure is solved implicitly (sparse SPD; direct up to ``direct_limit`` unknowns,
AMG-CG above with the hierarchy reused while that costs fewer CG iterations than a
new set-up; every choice counts iterations, not seconds, so a run repeats to the bit); saturation is
advanced explicitly by upwinding with a local, saturation-dependent CFL bound
(:func:`vbfem.treatment._kernels.flow_ref.stable_dt`) that guarantees a local maximum
principle, so ``S`` stays in [0, 1] without clipping; a step that still leaves
[0, 1] by more than round-off is halved and repeated, and after repeated
failure an error is raised. The bound assumes divergence-free fluxes; the
divergence the pressure solver leaves (round-off, but not negligible beside
small cells where the permeability contrast is large, e.g. next to a
kyphoplasty cavity) is removed in the incremental form of the upwind update
(it carries the cell's own mixture), and what that does to the cement
balance is part of the reported ``mass_error``. The pressure is re-solved when the saturation has
changed by more than ``pressure_update`` anywhere, when the sources change and
when the cement viscosity has changed by more than 2 %. Between pressure solves
the fluxes are divergence-free up to what the pressure solver leaves (see
above), so the cement balance holds to that accuracy at every step; the
largest relative imbalance over the run is reported as ``mass_error``.

Shear-thinning cement
---------------------
With flow index ``n < 1`` the cement viscosity of each cell depends on the
local pore shear rate. The shear rate of a power-law fluid in a porous medium
is estimated by the capillary-bundle (Blake–Kozeny) model of Christopher &
Middleman 1965 (Ind Eng Chem Fundam 4:422; the formula as quoted in reviews,
e.g. Sochi, arXiv:0907.2399, not checked against the original here), whose
effective viscosity ``(K/12)(9 + 3/n)^n (150 k φ)^((1-n)/2) |u|^(n-1)``
equals ``K γ^(n-1)`` at

    γ = α(n) |u| / sqrt(k φ),   α(n) = 12/√150 · ((3n + 1)/(4n))^(n/(n-1))

(:func:`shear_rate_factor`; α = 0.76 at n → 1, 0.78 at n = 0.5, 0.86 at
n = 0.1. Cannella et al. 1988, SPE 18089, fit the same form with an empirical
constant about 8.7 times larger for polymer solutions in sandstone
(unverified); the choice shifts the viscosity by the constant factor
``α^(n-1)``). ``u`` is the cell's Darcy velocity, the total flux (a good
approximation where the viscosity matters: behind the piston-like front the
cement saturation is close to 1), reconstructed from the face fluxes exactly
for uniform flow (:func:`vbfem.treatment._kernels.flow_ref.shear_thinning`), and ``k``
the permeability along ``u`` (``|u|² / u·K⁻¹·u``). The apparent viscosity
``μ_c(t) (max(γ, γ_min)/γ_ref)^(n-1)`` (:meth:`vbfem.materials.cement.Cement.apparent_viscosity`)
is evaluated from the fluxes of the previous pressure solve (lagged: a
Picard iteration spread over the time steps), which keeps the pressure
equation linear and IMPES explicit. When the sources change (start or stop
of an injection) pressure and viscosity are iterated until no cell's total
mobility changes by more than 2 % (the lagged map contracts by a factor
``1 - n`` per iteration). Between those, the pressure is re-solved when the
viscosity implied by the latest fluxes changes a cell's total mobility by
more than ``pressure_update`` (20 % by default; a saturation change of 0.2,
the existing trigger, changes a filled cell's mobility by about 40 %): the
fluxes around a moving front keep changing, and a tight lag costs a pressure
solve nearly every step for changes in the fill no larger than the
saturation lag already allows. Measured against a 0.5–1 % lag (heterogeneous
block; L1 vertebra at 3 mm and at the default 2 mm with a 6 mL bipedicular
injection): largest saturation difference 0.05–0.06, end needle pressure
within 0.4 %, 91 instead of 220 pressure solves on the default L1 mesh with
a 10 % lag; the Newtonian saturation lag (``pressure_update`` 0.2 against
0.02) gives 0.03–0.05.
The explicit step bound takes the secant on each cell's own fractional-flow
curve; what the viscosity contrast between neighbours adds (zero at S = 0
and 1) is left to the step-halving check (no halving occurred in the tests
and benchmarks above). The needle-pressure correction uses the steady
spherical power-law solution between the bore and the cell's equivalent
radius (pressure gradient ∝ ``r^(-2n)``). ``n = 1`` runs the Newtonian
scheme unchanged.

Needle source: :mod:`vbfem.treatment.source` (the cells and weights around the tip, and the
needle-pressure correction from their effective radius).

Outlets
-------
Cell sets whose name starts with ``"outlet_"`` are leakage outlets: the cells
are held at venous pressure and whatever reaches them leaves the body
(Dirichlet face with the interior half transmissibility, in series with the
outlet's vessel resistance when :func:`vbfem.treatment.network.flow_network` is given
one). The leaked volume of every outlet is recorded at every step
(``leaked_outlets``); :mod:`vbfem.treatment.outlets` sorts the outlets into venous,
cortical and disc leakage. Cortex and endplate cells are otherwise sealed. Venous pressure: :data:`VENOUS_PRESSURE`. Flow cells that no outlet
drains (a pocket of damaged cortex tets walled in by intact ones) take no cement and are held at the
outlet pressure, which keeps the pressure matrix regular (:func:`_sealed_pockets`).
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..fem.faces import face_components
from ..fem.solvers import serial_blas
from ..materials.cement import SHEAR_RATE_MIN, SHEAR_RATE_REFERENCE, check_power_law
from .network import FlowNetwork
from .pressure import PressureSolver
from .source import _effective_radius

log = logging.getLogger(__name__)

#: Outlet (venous) pressure, MPa: 1.3 kPa ≈ 10 mmHg. The intraosseous pressure of the lumbar vertebrae is
#: that of the inferior vena cava (measured side by side; up to 90 mmHg in a Valsalva manoeuvre lying down:
#: Spine 1981;6(2):159-161, doi 10.1097/00007632-198103000-00009); the resting value 10 mmHg is an
#: assumption (no resting value was read). With incompressible phases and every outlet at this pressure it
#: only shifts the pressure level.
VENOUS_PRESSURE = 1.3e-3

#: Marrow viscosity, Pa·s: 0.04–0.14 at body temperature, Newtonian
#: (Biorheology 2011;48:89; Bryant 1989); default the middle, 0.09.
MARROW_VISCOSITY = 0.09

#: Corey exponents (cement, marrow); Corey 1954, Brooks & Corey 1964.
COREY_EXPONENTS = (2.0, 2.0)

#: Relative change of the cement viscosity (curing) or of a cell's total
#: mobility (shear thinning) that triggers a new pressure solve.
VISCOSITY_UPDATE = 0.02

_PAS_TO_MPAS = 1e-6


def shear_rate_factor(flow_index: float) -> float:
    """Factor ``α(n)`` of the porous-medium shear rate ``γ = α |u| / sqrt(k φ)`` (Christopher & Middleman 1965).

    ``α = 12/√150 · ((3n + 1)/(4n))^(n/(n-1))``, with the limit ``12/√150 · e^(-1/4)``
    at ``n = 1``. See the module docstring.

    Examples
    --------
    >>> round(shear_rate_factor(0.5), 4)
    0.7838
    """
    n = float(flow_index)
    if not n > 0:
        raise ValueError(f"flow_index={flow_index!r} must be > 0")
    c = 12.0 / np.sqrt(150.0)
    if abs(n - 1.0) < 1e-9:
        return float(c * np.exp(-0.25))
    return float(c * ((3.0 * n + 1.0) / (4.0 * n)) ** (n / (n - 1.0)))


def pore_shear_rate(speed, permeability, porosity, *, flow_index: float = 1.0):
    """Effective pore shear rate ``α(n) |u| / sqrt(k φ)`` (1/s) of Darcy flow (:func:`shear_rate_factor`).

    Parameters
    ----------
    speed : array_like
        Darcy (superficial) speed ``|u|``, e.g. mm/s.
    permeability : array_like
        Permeability along the flow, in the square of the same length unit (e.g. mm²).
    porosity : array_like
        Pore fraction in (0, 1].
    flow_index : float, keyword-only
        Power-law index ``n`` (default 1).

    Examples
    --------
    >>> round(float(pore_shear_rate(0.16, 0.0445, 0.9, flow_index=0.5)), 3)  # 3 mL/min, 5 mm from a needle
    0.627
    """
    return shear_rate_factor(flow_index) * np.abs(np.asarray(speed, float)) / np.sqrt(
        np.asarray(permeability, float) * np.asarray(porosity, float))


# ------------------------------------------------------------------ IMPES
@dataclass(frozen=True)
class Injection:
    """Cement source: ``rate`` mm³/s into local flow cell ``cell`` during [start, stop) s after mixing.

    ``bore`` (mm, inner diameter) sets the needle (Peaceman-type) correction
    of the reported pressure. ``cells`` and ``weights`` (optional, summing to
    1) spread the source over several cells (see :func:`vbfem.treatment.source.spread_source`);
    by default it is all in ``cell``.
    """

    cell: int
    rate: float
    start: float
    stop: float
    bore: float
    name: str = "needle"
    cells: tuple = ()
    weights: tuple = ()


class FlowError(RuntimeError):
    """A failed flow simulation; ``partial`` holds what was computed so far."""

    def __init__(self, message, partial=None):
        super().__init__(message)
        self.partial = partial


def _kernels(use_numba):
    if use_numba:
        from ._kernels import flow as kf
    else:
        from ._kernels import flow_ref as kf
    return kf


@serial_blas()
def run_impes(net: FlowNetwork, injections: Sequence[Injection], *, cement_viscosity: Callable[[float], float],
              marrow_viscosity: float = MARROW_VISCOSITY, corey=COREY_EXPONENTS, saturation=None,
              outlet_pressure: float = VENOUS_PRESSURE, cfl: float = 0.9, pressure_update: float = 0.2,
              max_steps: int = 2_000_000, use_numba: bool = True, record_every: int = 1,
              direct_limit: int = 2000, flow_index: float = 1.0,
              shear_rate_reference: float = SHEAR_RATE_REFERENCE, shear_rate_min: float = SHEAR_RATE_MIN,
              max_picard: int = 20) -> dict:
    """Advance the two-phase flow through a schedule of injections (IMPES).

    Parameters
    ----------
    net : FlowNetwork
    injections : sequence of Injection
        Rates in mm³/s, times in s after mixing.
    cement_viscosity : callable
        ``t (s after mixing) -> μ_c`` in Pa·s (for a shear-thinning cement:
        the viscosity at ``shear_rate_reference``).
    marrow_viscosity : float
        Pa·s.
    corey : (float, float)
        Corey exponents (cement, marrow), >= 1.
    saturation : array_like, optional
        Initial cement saturation of the flow cells (local order), default 0.
    outlet_pressure : float
        MPa.
    cfl : float
        Fraction (0, 1] of the stable step used.
    pressure_update : float
        Re-solve the pressure when S has changed by more than this anywhere
        (and, shear-thinning cement, when the viscosity of the latest fluxes
        would change a cell's total mobility by more than this fraction).
    direct_limit : int
        Up to this many unknowns the pressure is solved directly (SuperLU);
        above, by AMG-preconditioned CG (pyamg smoothed aggregation, relative
        residual 1e-10) warm-started from the previous pressure, reusing the AMG
        hierarchy while that costs fewer CG iterations than a set-up and a fresh
        solve (the operator changes only where the saturation moved); if CG stalls
        even with a fresh hierarchy the step falls back to the direct solve, and a
        first hierarchy needing more than :data:`vbfem.treatment.pressure.AMG_POOR_ITERATIONS` iterations
        hands the operator to the direct solver. The choices count iterations, not
        seconds, the set-up is seeded and BLAS runs on one thread
        (:class:`vbfem.fem.solvers.serial_blas`): the result repeats to the bit.
    flow_index : float
        Power-law index ``n`` of the cement in [0.1, 1]; 1 (default) is
        Newtonian and runs exactly the Newtonian scheme (module docstring).
    shear_rate_reference, shear_rate_min : float
        1/s: the shear rate at which ``cement_viscosity`` applies and the floor
        of the shear rate (defaults :data:`vbfem.materials.cement.SHEAR_RATE_REFERENCE`,
        :data:`vbfem.materials.cement.SHEAR_RATE_MIN`). Ignored when ``flow_index`` is 1.
    max_picard : int
        Most pressure–viscosity iterations when the sources change (shear
        thinning only); what is left unconverged is picked up by the lagged
        update at the next steps.

    Returns
    -------
    dict
        ``saturation`` (local), ``arrival`` (s, NaN never), ``leaked`` per
        outlet (mm³), history arrays ``times``, ``injected``, ``in_body``,
        ``leaked_total``, ``leaked_outlets`` (n_t, n_outlets, mm³, in the order of ``net.outlet_names``),
        ``needle_pressure`` (n_t, n_inj, MPa), ``viscosity``
        (Pa·s, the curing viscosity ``cement_viscosity(t)``), ``mass_error``
        (max relative), counters; ``cement_viscosity`` (Pa·s per cell, at the
        end) and, for a shear-thinning cement, ``shear_rate`` (1/s per cell, at
        the end) and ``n_picard`` (pressure solves repeated within a step to
        converge the viscosity; included in ``n_pressure``).
    """
    kf = _kernels(use_numba)
    n = net.cells.size
    nc, nm = float(corey[0]), float(corey[1])
    if not (nc >= 1 and nm >= 1):
        raise ValueError(f"corey={corey!r}: exponents must be >= 1")
    if not marrow_viscosity > 0:
        raise ValueError(f"marrow_viscosity={marrow_viscosity!r} must be > 0 Pa·s")
    if not 0 < cfl <= 1:
        raise ValueError(f"cfl={cfl!r} must lie in (0, 1]")
    check_power_law(flow_index, shear_rate_reference, shear_rate_min)
    power = flow_index != 1.0
    if power and net.face_center is None:
        raise ValueError("flow_index < 1 needs the face geometry of the network (face_center, face_area, "
                         "dface_center, dface_area): build it with flow_network")
    if not (isinstance(max_picard, int) and max_picard >= 1):
        raise ValueError(f"max_picard={max_picard!r} must be an integer >= 1")
    s = np.zeros(n) if saturation is None else np.array(saturation, float)
    if s.shape != (n,) or np.any(s < 0) or np.any(s > 1):
        raise ValueError(f"saturation must have shape ({n},) with values in [0, 1]")
    mu_m = marrow_viscosity * _PAS_TO_MPAS
    inj = list(injections)
    if not inj:
        raise ValueError("no injections")
    for q in inj:
        if not q.rate > 0:
            raise ValueError(f"injection {q.name!r}: rate={q.rate!r} must be > 0")
        if not q.stop > q.start:
            raise ValueError(f"injection {q.name!r}: stop must be after start")
    events = sorted({q.start for q in inj} | {q.stop for q in inj})
    t = events[0]
    t_end = events[-1]
    pv = net.pv
    # the sources: injection q spreads over cells src_cell[src_of == q] with weights src_w
    spread = [(np.asarray(q.cells, np.int64), np.asarray(q.weights, float)) if len(q.cells)
              else (np.array([q.cell], np.int64), np.ones(1)) for q in inj]
    for q, (c, w) in zip(inj, spread):
        if c.shape != w.shape or abs(w.sum() - 1.0) > 1e-9 or np.any(w < 0):
            raise ValueError(f"injection {q.name!r}: cells and weights must match and the weights sum to 1")
    src_cell = np.concatenate([c for c, _ in spread])
    src_w = np.concatenate([w for _, w in spread])
    src_of = np.repeat(np.arange(len(inj)), [c.size for c, _ in spread])
    n_inj = len(inj)

    def per_needle(values):  # source-weighted mean over each injection's cells
        return np.bincount(src_of, src_w * values, n_inj)

    keff = per_needle(np.cbrt(np.prod(net.perm[src_cell], axis=1)))
    r_eq = np.array([_effective_radius(net.centroid, net.volume, c, w) for c, w in spread])
    r_b = np.array([0.5 * q.bore for q in inj])
    rdiff = 1.0 / r_b - 1.0 / r_eq  # negative when the bore exceeds r_eq
    # shear thinning: viscosity factor per cell from the lagged fluxes (1 until the first solve: γ = γ_ref)
    shear_used = np.ones(n)
    shear_new = None
    gamma = None
    visc_stale = False
    n_picard = 0
    if power:
        alpha = shear_rate_factor(flow_index)
        phi_cells = pv / net.volume
        open_area = (np.bincount(net.fi, net.face_area, n) + np.bincount(net.fj, net.face_area, n)
                     + np.bincount(net.dcell, net.dface_area, n))
        j_near = _near_needle_integral(r_b, r_eq, flow_index)

    # pressure matrix pattern; a sealed pocket is held at the outlet pressure through one of its cells
    fi, fj, tr = net.fi, net.fj, net.trans
    pin, pin_trans = _sealed_pockets(net, src_cell, src_of, inj)
    rows = np.concatenate([fi, fj, fi, fj, net.dcell, pin])
    cols = np.concatenate([fi, fj, fj, fi, net.dcell, pin])
    nd = net.dcell.size
    nf = fi.size
    injected = 0.0
    leaked = np.zeros(len(net.outlet_names))
    in_body0 = float(pv @ s)
    arrival = np.where(s >= 0.5, t, np.nan)
    hist = {"times": [], "injected": [], "in_body": [], "leaked_total": [], "needle_pressure": [], "viscosity": [],
            "leaked_outlets": []}
    n_p = n_t = n_halve = 0
    max_err = 0.0
    flux = np.zeros(nf)
    dflux = np.zeros(nd)
    div = np.zeros(n)
    s_last = None
    mu_last = None
    active_last = None
    up_prev = None
    t0 = _time.perf_counter()

    def partial():
        return {"saturation": s.copy(), "time": t, "injected": injected, "leaked": leaked.copy(), "history": hist}

    p = np.zeros(n)
    mu_c_pas = np.nan
    steps = 0
    solver = PressureSolver(direct=n <= direct_limit)
    while t < t_end - 1e-12 * max(1.0, t_end):
        active = np.array([q.start <= t + 1e-12 and t < q.stop - 1e-12 for q in inj])
        nxt = min(e for e in events if e > t + 1e-12 * max(1.0, abs(t)))
        if not active.any():
            t = nxt
            continue
        mu_c_pas = float(cement_viscosity(t))
        if not (np.isfinite(mu_c_pas) and mu_c_pas > 0):
            raise FlowError(f"cement viscosity at t={t:.1f} s is {mu_c_pas!r}; must be > 0", partial())
        mu_c = mu_c_pas * _PAS_TO_MPAS
        sq = np.array([q.rate for q in inj]) * active
        src_q = sq[src_of] * src_w  # rate of every source cell
        fresh = s_last is None or not np.array_equal(active, active_last)
        need_p = (fresh or np.max(np.abs(s - s_last)) > pressure_update
                  or abs(mu_c / mu_last - 1) > VISCOSITY_UPDATE or visc_stale)
        if need_p:
            for it in range(max_picard if power and fresh else 1):
                if shear_new is not None:
                    shear_used = shear_new  # lagged: the viscosity of the latest fluxes
                lam = s ** nc / (mu_c * shear_used) + (1.0 - s) ** nm / mu_m
                if up_prev is None:
                    lf = 2.0 * lam[fi] * lam[fj] / (lam[fi] + lam[fj])
                else:
                    lf = np.where(up_prev, lam[fi], lam[fj])
                w = tr * lf
                wd = net.dtrans * lam[net.dcell]
                wp = pin_trans * lam[pin]
                vals = np.concatenate([w, w, -w, -w, wd, wp])
                A = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
                b = np.zeros(n)
                np.add.at(b, src_cell, src_q)
                np.add.at(b, net.dcell, wd * outlet_pressure)
                b[pin] += wp * outlet_pressure
                try:
                    p = solver.solve(A, b, p)
                except Exception as exc:  # pragma: no cover - solver failure
                    raise FlowError(f"pressure solve failed at t={t:.3f} s: {exc}", partial()) from exc
                flux = w * (p[fi] - p[fj])
                dflux = wd * (p[net.dcell] - outlet_pressure)
                n_p += 1
                n_picard += it > 0
                if not power:
                    break
                gamma, shear_new = kf.shear_thinning(fi, fj, flux, net.face_center, net.dcell, dflux, net.dface_center,
                                                     src_cell, src_q, net.centroid, net.volume, net.perm, phi_cells,
                                                     open_area, alpha, flow_index, shear_rate_reference,
                                                     shear_rate_min)
                lam_new = s ** nc / (mu_c * shear_new) + (1.0 - s) ** nm / mu_m
                change = float(np.max(np.abs(lam_new / lam - 1.0)))
                visc_stale = change > pressure_update
                if change <= VISCOSITY_UPDATE:
                    break
            # what the solver leaves of the divergence (inflow + source - outflow per cell, mm³/s):
            # round-off, but large beside small cells where the permeability contrast is high (a cavity)
            div = (np.bincount(fj, flux, n) - np.bincount(fi, flux, n) - np.bincount(net.dcell, dflux, n)
                   + np.bincount(src_cell, src_q, n))
            up_prev = flux > 0
            s_last, mu_last, active_last = s.copy(), mu_c, active.copy()
            if power:
                # steady spherical power-law flow between the bore and r_eq: the viscosity at r_eq from the
                # analytic shear rate there, rising as r^(2(1-n)) outwards
                g_eq = alpha * sq / (4 * np.pi * r_eq ** 2 * np.sqrt(keff * per_needle(phi_cells[src_cell])))
                mu_eq = mu_c * (np.maximum(g_eq, shear_rate_min) / shear_rate_reference) ** (flow_index - 1.0)
                s_src = per_needle(s[src_cell])
                lam_eq = s_src ** nc / mu_eq + (1.0 - s_src) ** nm / mu_m
                p_needle = per_needle(p[src_cell]) + sq / (4 * np.pi * keff * lam_eq) * j_near
            else:
                lam_src = per_needle(lam[src_cell])
                p_needle = per_needle(p[src_cell]) + sq / (4 * np.pi * keff * lam_src) * rdiff
            p_needle = np.where(active, p_needle, np.nan)
        # transport (the cement viscosity of the fluxes, with the current curing level)
        mu_cells = mu_c * shear_used
        dt_stab = kf.stable_dt_cells(fi, fj, flux, net.dcell, dflux, src_cell, src_q, s, pv, mu_cells, mu_m, nc, nm)
        dt = min(cfl * dt_stab, nxt - t)
        for _attempt in range(40):
            rate, dout = kf.transport_rates_cells(fi, fj, flux, net.dcell, dflux, src_cell, src_q, s, mu_cells, mu_m,
                                                  nc, nm)
            # incremental form: the residual divergence carries the cell's own mixture, so the update stays
            # a convex combination of upwind saturations (the bound of stable_dt) instead of pushing a full
            # cell past S = 1; its cement (solver round-off) shows in mass_error
            rate -= kf.fractional_flow_cells(s, mu_cells, mu_m, nc, nm) * div
            s_new = s + dt * rate / pv
            if s_new.min() >= -1e-10 and s_new.max() <= 1 + 1e-10:
                break
            dt *= 0.5
            n_halve += 1
        else:
            raise FlowError(f"saturation left [0, 1] at t={t:.3f} s even with dt={dt:.3e} s", partial())
        s = s_new
        t += dt
        injected += dt * float(sq.sum())
        np.add.at(leaked, net.doutlet, dt * dout)
        newly = np.isnan(arrival) & (s >= 0.5)
        arrival[newly] = t
        n_t += 1
        steps += 1
        body = float(pv @ s) - in_body0
        err = abs(injected - body - leaked.sum()) / max(injected, 1e-30)
        max_err = max(max_err, err)
        if steps % record_every == 0 or t >= t_end - 1e-9:
            hist["times"].append(t)
            hist["injected"].append(injected)
            hist["in_body"].append(body)
            hist["leaked_total"].append(leaked.sum())
            hist["leaked_outlets"].append(leaked.copy())
            hist["needle_pressure"].append(p_needle.copy())
            hist["viscosity"].append(mu_c_pas)
        if steps > max_steps:
            raise FlowError(f"more than max_steps={max_steps} transport steps (t={t:.2f} of {t_end:.2f} s)", partial())
    log.info("IMPES: %d pressure solves (%d AMG set-ups, %d reusing one, %d direct), %d transport steps, "
             "%d halvings, %.2f s", n_p, solver.n_setup, solver.n_reused, solver.n_direct, n_t, n_halve,
             _time.perf_counter() - t0)
    if power:
        log.info("IMPES: shear-thinning cement n=%g: %d pressure solves repeated to converge the viscosity; "
                 "final pore shear rate %.3g-%.3g 1/s in the cement (5-95 %%)", flow_index, n_picard,
                 *(np.percentile(gamma[s >= 0.5], [5, 95]) if np.any(s >= 0.5) else (np.nan, np.nan)))
    out = {k: np.asarray(v) for k, v in hist.items()}
    out.update(saturation=s, arrival=arrival, leaked=dict(zip(net.outlet_names, leaked)), mass_error=max_err,
               n_pressure=n_p, n_amg_setup=solver.n_setup, n_amg_reused=solver.n_reused, n_direct=solver.n_direct,
               n_transport=n_t, n_halved=n_halve, pressure=p, flux=flux,
               cement_viscosity=mu_c_pas * shear_used)
    if power:
        out.update(shear_rate=gamma, n_picard=n_picard)
    return out


def _sealed_pockets(net: FlowNetwork, src_cell, src_of, inj) -> tuple[np.ndarray, np.ndarray]:
    """One cell of every sealed pocket of ``net`` and the transmissibility (mm³) that holds it at the outlet pressure.

    A pocket is a set of flow cells face-connected to each other but to no outlet (e.g. damaged cortex tets
    walled in by intact cortex when a hex is split into tets and only some of its tets are damaged). No
    cement can enter it (both phases are incompressible), but its pressure is undetermined: the pressure
    matrix is singular there, and a direct solve returns NaN everywhere. Holding one cell of the pocket at
    the outlet pressure, through a face as conductive as the cell's own faces, makes the matrix regular and
    changes no flux (the pocket's pressure is uniform). An injection into a pocket is a ValueError.
    """
    n = net.cells.size
    comp = face_components(net.fi, net.fj, n)
    drained = np.zeros(int(comp.max()) + 1 if comp.size else 0, bool)
    drained[comp[net.dcell]] = True
    if drained.all():
        return np.zeros(0, np.int64), np.zeros(0)
    fed = ~drained[comp[src_cell]]
    if fed.any():
        q = inj[int(src_of[np.argmax(fed)])]
        raise ValueError(f"injection {q.name!r} feeds {int(np.sum(~drained[comp]))} flow cells that no outlet "
                         "drains: incompressible cement cannot enter them")
    sealed = np.flatnonzero(~drained[comp])
    _, first = np.unique(comp[sealed], return_index=True)
    pin = sealed[first]
    own = np.bincount(net.fi, net.trans, n) + np.bincount(net.fj, net.trans, n)
    pin_trans = np.where(own[pin] > 0, own[pin], np.mean(net.trans) if net.trans.size else 1.0)
    log.debug("flow network: %d flow cells in %d sealed pockets held at the outlet pressure",
              sealed.size, pin.size)
    return pin, pin_trans


def _near_needle_integral(r_b, r_eq, n):
    """``∫_{r_b}^{r_eq} (r/r_eq)^(2(1-n)) r^-2 dr`` (1/mm): the spherical near-needle pressure factor of a
    power-law fluid whose viscosity is fixed at r_eq (``1/r_b - 1/r_eq`` for n = 1)."""
    if abs(2.0 * n - 1.0) < 1e-9:
        return np.log(r_eq / r_b) / r_eq
    return r_eq ** (2.0 * n - 2.0) * (r_b ** (1.0 - 2.0 * n) - r_eq ** (1.0 - 2.0 * n)) / (2.0 * n - 1.0)
