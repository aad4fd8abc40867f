"""Linear solvers for the reduced symmetric positive-definite system.

``"direct"``: sparse LU (SuperLU, minimum-degree ordering of A^T + A) for small systems.
``"amg-cg"``: conjugate gradients preconditioned by one V-cycle of
smoothed-aggregation algebraic multigrid (pyamg) whose near-null space is the
six rigid-body modes; pyamg builds the hierarchy, the block Gauss–Seidel smoother and the
finest level's products run in the numba kernels of :mod:`vbfem.fem._kernels.multigrid`
(:func:`v_cycle`). ``"auto"`` picks direct up to :data:`DIRECT_MAX_DOFS`.
"""

from __future__ import annotations

import contextlib
import logging
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..records import SolverInfo

log = logging.getLogger(__name__)

#: Largest reduced system solved directly by ``method="auto"``. SuperLU fill-in
#: grows fast on 3-D meshes: on a potted hex8 cylinder AMG-CG already wins at
#: 5.6k dofs (0.05 s vs 0.21 s) and at 25k dofs (0.33 s vs 3.5 s).
DIRECT_MAX_DOFS = 5_000

#: Seed of the random start vector pyamg draws from numpy's global generator to estimate spectral
#: radii while it builds a hierarchy: fixed, so that a run repeats to the bit (the global generator's
#: state is put back afterwards).
AMG_SEED = 0

#: Size of the coarsest multigrid level, solved by sparse LU. Small enough that
#: its factorisation is cheap; a large coarse level made the set-up dominate
#: (benchmarks/profile_solve.py).
AMG_MAX_COARSE = 500

SOLVERS = ("auto", "direct", "amg-cg")


class SolverError(RuntimeError):
    """A linear solve failed. ``partial`` holds the last iterate and ``info`` its statistics."""

    def __init__(self, message, *, partial=None, info=None):
        super().__init__(message)
        self.partial = partial
        self.info = info


def check_solver(method: str) -> str:
    if method not in SOLVERS:
        raise ValueError(f"solver={method!r} is not known; allowed: {', '.join(SOLVERS)}")
    return method


def resolve_method(method: str, n: int) -> str:
    """The solver ``method="auto"`` picks for ``n`` unknowns (others unchanged)."""
    check_solver(method)
    if method == "auto":
        return "direct" if n <= DIRECT_MAX_DOFS else "amg-cg"
    return method


def amg_hierarchy(A: sp.csr_matrix, *, near_null=None, sweeps: int = 1):
    """Smoothed-aggregation multigrid hierarchy of SPD ``A`` (pyamg), the preconditioner of ``"amg-cg"``.

    Build it once and pass it to :func:`solve_spd` as ``hierarchy=`` to reuse it
    for nearby matrices (e.g. the tangents of a Newton iteration). ``sweeps``: block
    Gauss–Seidel sweeps before and after each coarse correction; the elastic–plastic tangents
    of yielded bone, nearly incompressible in their plastic flow, converge faster per second
    with 2 (default L1 fractured curve: 465 CG iterations and 14.8 s of solves instead of 785
    and 16.9 s), elastic matrices with 1.
    """
    import pyamg

    n = A.shape[0]
    # 3x3 blocks (one per node) let the aggregation and block Gauss-Seidel work node-wise
    Am = A.tobsr(blocksize=(3, 3)) if n % 3 == 0 else A
    with seeded_global_random():
        ml = pyamg.smoothed_aggregation_solver(
            Am,
            B=near_null,
            symmetry="symmetric",
            strength=("symmetric", {"theta": 0.0}),
            smooth=("jacobi", {"omega": 4.0 / 3.0, "degree": 1}),
            improve_candidates=None,
            # forward sweep before, backward after: the V-cycle stays a symmetric preconditioner for CG
            presmoother=("block_gauss_seidel", {"sweep": "forward", "iterations": sweeps}),
            postsmoother=("block_gauss_seidel", {"sweep": "backward", "iterations": sweeps}),
            max_coarse=AMG_MAX_COARSE,
            coarse_solver="splu",
        )
    for lvl in ml.levels[:-1]:  # pyamg's block smoothers (partials holding Dinv) -> the numba kernel
        for name, forward in (("presmoother", True), ("postsmoother", False)):
            dinv = getattr(getattr(lvl, name), "keywords", {}).get("Dinv")
            if dinv is not None:
                setattr(lvl, name, _BlockGaussSeidel(dinv, forward=forward, sweeps=sweeps))
    return ml


class _BlockGaussSeidel:
    """The block Gauss–Seidel smoother of one multigrid level, as pyamg calls it (``smoother(A, x, b)``,
    ``x`` in place), by the numba kernel :func:`vbfem.fem._kernels.multigrid.block_gauss_seidel`.

    pyamg's own kernel took 18 ms per forward and 27 ms per backward sweep on the finest level of the 2 mm
    spinal unit (9.2 M entries; a matrix–vector product 5 ms): 45 of the 69 ms of a V-cycle. This one
    takes 3 ms each way (benchmarks/bench_spine.py, docs/spine.md). Forward sweeps give pyamg's bits;
    backward ones differ in the order of the summed terms only. Any other matrix format or vector
    layout goes to pyamg's function.
    """

    def __init__(self, dinv, *, forward: bool, sweeps: int):
        self.dinv = np.ascontiguousarray(dinv, dtype=float)
        self.forward = bool(forward)
        self.sweeps = int(sweeps)

    def __call__(self, A, x, b):
        m = self.dinv.shape[1]
        if (sp.issparse(A) and A.format == "bsr" and A.blocksize == (m, m) and A.shape[0] == x.size == b.size
                and x.dtype == np.float64 and x.flags.c_contiguous and A.data.dtype == np.float64):
            from ._kernels.multigrid import block_gauss_seidel

            xv = x.reshape(-1)  # a view: x is contiguous
            bv = np.ascontiguousarray(b, dtype=float).reshape(-1)
            data = np.ascontiguousarray(A.data)
            for _ in range(self.sweeps):
                block_gauss_seidel(A.indptr, A.indices, data, self.dinv, xv, bv, self.forward)
            return
        from pyamg.relaxation.relaxation import block_gauss_seidel

        block_gauss_seidel(A, x, b, iterations=self.sweeps, sweep="forward" if self.forward else "backward",
                           blocksize=m, Dinv=self.dinv)


def v_cycle(ml) -> spla.LinearOperator:
    """The preconditioner ``M^-1``: one V-cycle of the hierarchy ``ml`` (:func:`amg_hierarchy`) from a zero guess.

    The same cycle as pyamg's ``ml.aspreconditioner(cycle="V")`` without the two residuals of the finest
    level that pyamg's ``solve`` evaluates around it only to test convergence (two matrix–vector products
    of no use to CG, 10 of the 69 ms of a cycle on the 2 mm spinal unit); the finest level's residual by
    :func:`_residual`. Symmetric like pyamg's (forward smoothing before, backward after).
    """
    n = ml.levels[0].A.shape[0]
    return spla.LinearOperator((n, n), matvec=_VCycle(ml), dtype=float)


class _VCycle:
    """``b -> x``: one V-cycle of ``ml`` on ``A x = b`` from ``x = 0`` (see :func:`v_cycle`)."""

    def __init__(self, ml):
        self.ml = ml

    def __call__(self, b):
        b = np.ascontiguousarray(b, dtype=float).reshape(-1)
        levels = self.ml.levels
        if len(levels) == 1:
            return np.asarray(self.ml.coarse_solver(levels[0].A, b), float).reshape(-1)
        x = np.zeros_like(b)
        self._cycle(0, x, b)
        return x

    def _cycle(self, lvl, x, b):
        levels = self.ml.levels
        level = levels[lvl]
        level.presmoother(level.A, x, b)
        coarse_b = np.asarray(level.R @ _residual(level.A, x, b)).reshape(-1)
        coarse_x = np.zeros_like(coarse_b)
        if lvl == len(levels) - 2:
            coarse_x[:] = np.asarray(self.ml.coarse_solver(levels[-1].A, coarse_b)).reshape(-1)
        else:
            self._cycle(lvl + 1, coarse_x, coarse_b)
        x += np.asarray(level.P @ coarse_x).reshape(-1)
        level.postsmoother(level.A, x, b)


def _is_bsr3(A) -> bool:
    """Whether ``A`` is a BSR matrix of 3 x 3 float64 blocks that the kernels of
    :mod:`vbfem.fem._kernels.multigrid` take as it is."""
    return (sp.issparse(A) and A.format == "bsr" and A.blocksize == (3, 3) and A.data.dtype == np.float64
            and A.data.flags.c_contiguous)


def _residual(A, x, b):
    """``b - A x``; by a numba kernel for 3 x 3 BSR matrices (3.4 ms instead of scipy's 6.2 ms on the
    finest level of the 2 mm spinal unit)."""
    if _is_bsr3(A):
        from ._kernels.multigrid import bsr3_residual

        r = np.empty_like(b)
        bsr3_residual(A.indptr, A.indices, A.data, x, b, r)
        return r
    return b - A @ x


def _product(A):
    """``p -> A p``, by a numba kernel for a 3 x 3 BSR matrix (CG's product with the finest level's
    matrix of a hierarchy built from ``A``: the same entries as ``A``, summed in another order)."""
    if _is_bsr3(A):
        from ._kernels.multigrid import bsr3_matvec

        def product(p):
            y = np.empty_like(p)
            bsr3_matvec(A.indptr, A.indices, A.data, p, y)
            return y
        return product
    return A.__matmul__


@contextlib.contextmanager
def seeded_global_random(seed: int = AMG_SEED):
    """numpy's global generator seeded with ``seed`` inside, its state put back afterwards.

    For library calls that draw from ``np.random`` without taking a generator: pyamg's
    smoothed-aggregation set-up draws the start vector of its spectral-radius estimates
    from it, so an unseeded set-up gives another hierarchy (and other last digits) in every
    fresh process. The caller's random stream goes on as if nothing had drawn from it.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class serial_blas(contextlib.ContextDecorator):
    """A context (or function decorator) in which the BLAS libraries of numpy and scipy run on one thread (threadpoolctl).

    The solves call BLAS only on small blocks (multigrid set-up, the coarse level), where
    OpenBLAS's threads gain nothing, and between calls its idle threads spin on the cores
    that numba's assembly and the other solves need: on 2 cores the elastic–plastic curve
    of the default L1 (15 steps) took 20.2 s with OpenBLAS's default threads and 18.3 s with
    one, its assembly 3.3 s and 1.8 s; two such curves at once in two processes 62 s and 25 s.

    It also makes the results independent of the BLAS thread count: OpenBLAS splits a dot
    product or norm of more than 10 000 entries between its threads and adds their partial
    sums, so ``x @ y`` of 20 000 entries differs in the last bit between
    ``OPENBLAS_NUM_THREADS=1`` (what Dask's workers get) and 2; every stage whose numbers feed
    the results runs in this context (the solves, the strength curves, the cement flow, the heights).
    """
    def _recreate_cm(self):  # a fresh context per decorated call: nested and concurrent calls each restore their own
        return type(self)()

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        self._limits.restore_original_limits()
        return False


@serial_blas()
def solve_spd(A: sp.csr_matrix, b: np.ndarray, *, method: str = "auto", near_null=None,
              rtol: float = 1e-8, maxiter: int = 1000, hierarchy=None):
    """Solve ``A x = b`` for symmetric positive-definite ``A``.

    Parameters
    ----------
    A : scipy.sparse matrix (n, n)
    b : ndarray (n,)
    method : {"auto", "direct", "amg-cg"}, keyword-only
    near_null : ndarray (n, 6), optional
        Rigid-body modes for the multigrid aggregation (constant vectors if omitted).
    rtol : float, keyword-only
        Relative residual ``||b - A x|| / ||b||`` at which CG stops.
    maxiter : int, keyword-only
        CG iteration limit.
    hierarchy : optional, keyword-only
        A hierarchy from :func:`amg_hierarchy` to precondition ``"amg-cg"`` with
        (its set-up is then skipped); built from ``A`` when omitted.

    Returns
    -------
    x : ndarray (n,)
    info : SolverInfo

    Raises
    ------
    SolverError
        If CG does not reach ``rtol``; ``partial`` holds the last iterate.
    """
    n = A.shape[0]
    method = resolve_method(method, n)
    bnorm = float(np.linalg.norm(b)) or 1.0
    t0 = time.perf_counter()
    if method == "direct":
        lu = spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A")
        t1 = time.perf_counter()
        x = lu.solve(b)
        res = float(np.linalg.norm(b - A @ x)) / bnorm
        info = SolverInfo("direct", n, 0, res, t1 - t0, time.perf_counter() - t1)
        log.info("direct solve: %d dofs, residual %.2e, %.2f s", n, res, info.setup_time + info.solve_time)
        return x, info

    ml = amg_hierarchy(A, near_null=near_null) if hierarchy is None else hierarchy
    t1 = time.perf_counter()
    count = [0]

    def callback(_xk):
        count[0] += 1

    # CG's products with the hierarchy's finest matrix (A in 3 x 3 blocks) when it was built from A here
    Aop = spla.LinearOperator(A.shape, matvec=_product(ml.levels[0].A if hierarchy is None else A), dtype=float)
    x, flag = spla.cg(Aop, b, rtol=rtol, maxiter=maxiter, M=v_cycle(ml), callback=callback)
    res = float(np.linalg.norm(b - A @ x)) / bnorm
    info = SolverInfo("amg-cg", n, count[0], res, t1 - t0, time.perf_counter() - t1)
    log.info(
        "AMG-CG: %d dofs, %d levels, %d iterations, residual %.2e, setup %.1f s, solve %.1f s",
        n, len(ml.levels), count[0], res, info.setup_time, info.solve_time,
    )
    if flag != 0 or not res <= 10 * rtol:
        raise SolverError(
            f"AMG-CG did not reach rtol={rtol:g} in {count[0]} iterations (residual {res:.3g})",
            partial=x, info=info,
        )
    return x, info


#: Ritz vectors of the first solve that deflate the next ones in :func:`solve_spd_many`: 30 took the
#: second to fourth load direction of a three-level spinal unit (3 mm, 49k dofs) from 185 to 104-108
#: AMG-CG iterations (docs/spine.md); 10 to 115-118.
RECYCLE_VECTORS = 30

#: Memory (bytes) for the Lanczos vectors the first solve keeps; fewer vectors give poorer Ritz vectors
#: (20 of the first 80 of 185: 125-134 iterations instead of 104-108).
RECYCLE_MEMORY = 300e6


@serial_blas()
def solve_spd_many(A: sp.csr_matrix, B: np.ndarray, *, near_null=None, rtol: float = 1e-8, maxiter: int = 1000,
                   hierarchy=None, recycle: int = RECYCLE_VECTORS):
    """Solve ``A X = B`` column by column for SPD ``A`` with AMG-preconditioned CG, recycling the first
    solve's Krylov space in the others.

    The first column is solved by PCG (the V-cycle of :func:`amg_hierarchy`) keeping its Lanczos vectors
    (up to :data:`RECYCLE_MEMORY`); the ``recycle`` Ritz vectors of ``M^-1 A`` with the smallest Ritz values,
    the slowest-converging directions, then deflate the solves of the other columns (deflated CG: Saad, Yeung,
    Erhel & Guyomarc'h, SIAM J Sci Comput 2000;21:1909): each starts from its Galerkin solution in their span
    and keeps its search directions A-orthogonal to it. Every column meets ``rtol`` like :func:`solve_spd`.

    Parameters
    ----------
    A : scipy.sparse matrix (n, n)
    B : ndarray (n, m)
    near_null, rtol, maxiter, hierarchy
        As :func:`solve_spd`.
    recycle : int, keyword-only
        Ritz vectors kept (0: every column solved on its own).

    Returns
    -------
    X : ndarray (n, m)
    infos : list of SolverInfo
        One per column; the first carries the hierarchy's set-up time.
    """
    B = np.asarray(B, float)
    if B.ndim != 2 or B.shape[0] != A.shape[0]:
        raise ValueError(f"B must have shape ({A.shape[0]}, m), got {B.shape}")
    if int(recycle) < 0:
        raise ValueError(f"recycle={recycle!r} must be >= 0")
    n = A.shape[0]
    t0 = time.perf_counter()
    ml = amg_hierarchy(A, near_null=near_null) if hierarchy is None else hierarchy
    M = v_cycle(ml)
    product = _product(ml.levels[0].A if hierarchy is None else A)
    setup = time.perf_counter() - t0
    keep = min(maxiter + 1, int(RECYCLE_MEMORY // (8 * n))) if recycle else 0
    X, infos, deflation = np.zeros_like(B), [], None
    for j in range(B.shape[1]):
        t1 = time.perf_counter()
        x, its, lanczos = _deflated_pcg(product, B[:, j], M, rtol=rtol, maxiter=maxiter, deflation=deflation,
                                        keep=keep if j == 0 else 0)
        bnorm = float(np.linalg.norm(B[:, j])) or 1.0
        res = float(np.linalg.norm(B[:, j] - A @ x)) / bnorm
        info = SolverInfo("amg-cg", n, its, res, setup if j == 0 else 0.0, time.perf_counter() - t1)
        if not res <= 10 * rtol:
            raise SolverError(f"AMG-CG did not reach rtol={rtol:g} in {its} iterations (residual {res:.3g})",
                              partial=x, info=info)
        if j == 0 and recycle and B.shape[1] > 1:
            deflation = _ritz_deflation(A, *lanczos, int(recycle))
        X[:, j] = x
        infos.append(info)
        log.info("AMG-CG %s: %d dofs, %d iterations, residual %.2e, %.1f s",
                 "recycled" if j and deflation is not None else "", n, its, res, info.solve_time)
    return X, infos


def _deflated_pcg(product, b, M, *, rtol, maxiter, deflation=None, keep=0):
    """PCG for ``A x = b`` (``product(p) = A p``) with preconditioner ``M``, deflated by
    ``deflation = (W, AW, E factor)`` if given.
    Returns x, the iteration count and (Lanczos vectors (n, k), alphas, betas) of the first ``keep`` steps."""
    import scipy.linalg as sla

    bnorm = float(np.linalg.norm(b)) or 1.0
    if deflation is not None:
        W, AW, E = deflation
        x = W @ sla.cho_solve(E, W.T @ b)

        def project(z):
            return z - W @ sla.cho_solve(E, AW.T @ z)
    else:
        x = np.zeros_like(b)

        def project(z):
            return z
    r = b - product(x)
    z = M @ r
    rz = float(r @ z)
    p = project(z)
    V, alphas, betas = [], [], []
    its = 0
    while np.linalg.norm(r) / bnorm > rtol and its < maxiter:
        if len(V) < keep:
            V.append((-1) ** len(V) * z / np.sqrt(rz))
        Ap = product(p)
        alpha = rz / float(p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        its += 1
        alphas.append(alpha)
        z = M @ r
        rz_new = float(r @ z)
        beta = rz_new / rz
        betas.append(beta)
        rz = rz_new
        p = project(z) + beta * p
    return x, its, (np.array(V).T if V else np.zeros((len(b), 0)), np.array(alphas), np.array(betas))


def _ritz_deflation(A, V, alphas, betas, k):
    """``(W, A W, Cholesky of W^T A W)`` of the ``k`` Ritz vectors with the smallest Ritz values of the
    Lanczos process of a PCG run (its vectors ``V``, coefficients ``alphas``, ``betas``); None if it kept none."""
    import scipy.linalg as sla

    m = min(V.shape[1], len(alphas))
    if m == 0 or k == 0:
        return None
    T = np.zeros((m, m))
    T[np.arange(m), np.arange(m)] = 1.0 / alphas[:m] + np.concatenate([[0.0], betas[: m - 1] / alphas[: m - 1]])
    off = np.sqrt(betas[: m - 1]) / alphas[: m - 1]
    T[np.arange(m - 1), np.arange(1, m)] = off
    T[np.arange(1, m), np.arange(m - 1)] = off
    _, S = np.linalg.eigh(T)
    W, _ = np.linalg.qr(V[:, :m] @ S[:, : min(k, m)])
    AW = A @ W
    return W, AW, sla.cho_factor(W.T @ AW)
