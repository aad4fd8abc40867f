"""The pressure solver of the two-phase flow (:func:`vbfem.treatment.flow.run_impes`): direct or
AMG-CG solves of the SPD pressure system, the AMG hierarchy reused while that pays.

Every choice it makes counts CG iterations, never clocks, and the hierarchy's set-up is seeded,
so that the pressures, and a whole study, repeat to the bit on a busy machine or in another process
(issue 22).
"""

from __future__ import annotations

import logging
import math

import scipy.sparse.linalg as spla

from ..fem.solvers import seeded_global_random

log = logging.getLogger(__name__)

__all__ = ["AMG_POOR_ITERATIONS", "AMG_SETUP_ITERATIONS", "PressureSolver"]

#: A smoothed-aggregation set-up of the pressure operator costs about as much as this many
#: preconditioned CG iterations: 0.012 s against 12 iterations in 0.013 s (2462 unknowns) and
#: 0.033 s against 13 in 0.050 s (7861 unknowns), the L1's VP at 3 and 2 mm (measured, not a
#: published value). The pressure solver weighs reuse against set-up in these units, not by
#: clock, so that its choices (and the pressures' last digits) do not depend on the machine's load.
AMG_SETUP_ITERATIONS = 10

#: A first hierarchy that needs more CG iterations than this to reach the tolerance is poor
#: and the pressure is solved directly from then on (a safeguard; CG stalls at 200 iterations
#: also fall back to SuperLU). The L1's first VP pressure systems need 12-13 on hex meshes (3, 2 mm)
#: and 16 on tet4/tet10 at 3 mm, where AMG-CG took the whole 3 mm tet4 VP in 85 s against 189 s
#: with SuperLU (which the earlier clock-based choice had picked).
AMG_POOR_ITERATIONS = 100


class PressureSolver:
    """Direct or AMG-CG solve of the SPD pressure system with hierarchy reuse.

    Every choice it makes (direct or AMG, reuse a hierarchy or build a new one, when to give
    up on a stale one) counts CG iterations, never clocks, and the hierarchy's set-up is
    seeded: the pressures, and so a whole study, repeat to the bit on a busy machine or in
    another process.
    """

    def __init__(self, direct: bool, rtol: float = 1e-10, rebuild_after: int = 30):
        self.direct, self.rtol, self.rebuild_after = direct, rtol, rebuild_after
        self.ml = None
        self.M = None
        self.fresh_iterations = 0
        self.stale_iterations = 0
        self.n_calls = 0
        self.n_reused = 0
        self.n_setup = 0
        self.n_direct = 0
        self.n_slow = 0

    def solve(self, A, b, x0):
        if not self.direct:
            x = self._amg(A, b, x0)
            if x is not None:
                return x
        self.n_direct += 1
        return spla.spsolve(A.tocsc(), b, permc_spec="MMD_AT_PLUS_A")

    def _amg(self, A, b, x0):
        """CG on the true residual (``||b - A x|| <= rtol ||b||``) preconditioned by a V-cycle of the kept hierarchy.

        The hierarchy is reused while that pays, costs counted in CG iterations: a solve
        with the hierarchy of an earlier operator is tried when the last such solve took
        fewer iterations than a set-up (:data:`AMG_SETUP_ITERATIONS`) and a fresh solve
        (and, to notice when the operator settles, at every ``rebuild_after``-th call), and
        it gives up after as many iterations as the fresh solve needed times that cost. A
        front that moves between pressure solves changes the mobilities by the viscosity
        ratio; then set-up is cheaper than iterating on a stale hierarchy and every solve
        rebuilds. A first hierarchy that needs more than :data:`AMG_POOR_ITERATIONS` (a
        poor aggregation, seen on some tet meshes) hands the operator to the direct solver.
        pyamg's own ``solve`` stops on the preconditioned residual, which a stale hierarchy
        can make small while the true residual is not, hence scipy's CG here.
        """
        import pyamg

        Ar = A.tocsr()
        self.n_calls += 1
        count = [0]

        def _tick(_xk):
            count[0] += 1

        fresh_cost = AMG_SETUP_ITERATIONS + self.fresh_iterations
        if self.ml is not None and (self.stale_iterations < fresh_cost or self.n_calls % self.rebuild_after == 0):
            budget = max(self.fresh_iterations * fresh_cost, 5)
            x, info = spla.cg(Ar, b, x0=x0, rtol=self.rtol, atol=0.0, M=self.M, callback=_tick,
                              maxiter=min(budget, self.rebuild_after))
            self.stale_iterations = count[0] if info == 0 else math.inf
            if info == 0:
                self.n_reused += 1
                return x
            count[0] = 0
        with seeded_global_random():
            self.ml = pyamg.smoothed_aggregation_solver(Ar, symmetry="symmetric")
        self.M = self.ml.aspreconditioner(cycle="V")
        self.n_setup += 1
        x, info = spla.cg(Ar, b, x0=x0, rtol=self.rtol, atol=0.0, M=self.M, callback=_tick, maxiter=200)
        self.fresh_iterations = count[0]
        if self.n_setup == 1 and info == 0 and count[0] > AMG_POOR_ITERATIONS:
            log.info("AMG-CG needs %d iterations on this pressure operator; switching to the direct solver", count[0])
            self.direct = True
        if info == 0:
            return x
        self.ml = None
        log.debug("AMG-CG stalled; direct solve")
        self.n_slow += 1
        if self.n_slow >= 5:
            log.info("AMG-CG stalls on this pressure operator; switching to the direct solver")
            self.direct = True
        return None
