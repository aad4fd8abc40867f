"""Failure of a body: its elastic–plastic load–displacement curve from a material map.

:func:`load_displacement` gives the tissues their strengths
(:func:`vbfem.materials.strength.plastic_material`) and follows the curve with
:func:`vbfem.fem.nonlinear.elastoplastic_curve`; :func:`compression_curves` runs the
ex vivo compression test of several states, in worker processes if asked.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import numba
import numpy as np

from ..fem.nonlinear import LoadDisplacementCurve, NonlinearSolveError, elastoplastic_curve
from ..fem.plasticity import PlasticMaterial
from ..materials.strength import HARDENING_RATIO, Softening, plastic_material
from ..records import LoadCase, MaterialMap, Mesh
from .loadcases import compression_test

__all__ = ["PLATENS", "STRENGTH_STRAIN", "compression_curves", "endplate_height", "load_displacement", "start_compression_curves",
           "strength_pool"]

log = logging.getLogger(__name__)

#: Platen travel of the strength test as a fraction of the body height: 3 %, past the apparent
#: yield strains of vertebral trabecular bone (0.84 % compression, Kopperdahl & Keaveny 1998), where
#: the ex vivo tests find the peak force of osteoporotic bodies.
STRENGTH_STRAIN = 0.03
#: Load steps of the strength test up to its 0.2 % offset yield point; past it the steps grow up to
#: STRENGTH_GROWTH times as long (:func:`vbfem.fem.nonlinear.elastoplastic_curve`). Default L1 to 3 %
#: travel: yield force 3285 N and peak 3953 N against 3295 N and 3957 N with 60 equal steps
#: (-0.3 %, -0.1 %), in 24 Newton iterations instead of 184 (benchmarks/bench_nonlinear.py).
STRENGTH_STEPS = 10
STRENGTH_GROWTH = 6.0
#: Newton tolerance of the strength test: relative residual of the nodal forces (CalculiX's default
#: criterion is 5e-3 of the mean force). On the demo's intact and fractured bodies 1e-4 and 1e-6 give
#: the same peak and yield forces to 0.1 N, with 20 % fewer CG iterations.
STRENGTH_TOL = 1e-4
#: Platens of the strength test: ``"bonded"`` (:func:`vbfem.mechanics.loadcases.compression_test`: the
#: inferior face fixed, the superior face tied to a rigid platen) or ``"sliding"``
#: (:func:`vbfem.mechanics.sliding.sliding_compression`: z prescribed on both faces, x and y free, the
#: rigid-body modes removed; the force is the sum of the superior face's axial reactions).
PLATENS = ("bonded", "sliding")


def endplate_height(mesh: Mesh, *, superior: str = "superior", inferior: str = "inferior") -> float:
    """Mean distance (mm) along z between the superior and inferior endplate node sets."""
    for name in (superior, inferior):
        if name not in mesh.node_sets:
            raise ValueError(f"the mesh has no node set {name!r}; sets: {sorted(mesh.node_sets)}")
    z = mesh.points[:, 2]
    return float(z[mesh.node_sets[superior]].mean() - z[mesh.node_sets[inferior]].mean())


def load_displacement(mesh: Mesh, materials: MaterialMap, load: LoadCase, *,
                      hardening_ratio: float = HARDENING_RATIO, softening: Softening | None = None,
                      plastic: PlasticMaterial | None = None, **options) -> LoadDisplacementCurve:
    """Elastic–plastic load–displacement curve of ``mesh`` with ``materials`` under ``load``.

    Parameters
    ----------
    mesh : Mesh
    materials : MaterialMap
        Per-cell moduli (MPa) and tissues; each tissue yields as
        :func:`vbfem.materials.strength.plastic_material` says.
    load : LoadCase
    hardening_ratio : float, keyword-only
        Post-yield tangent ratio ``E_t / E``, see :func:`~vbfem.materials.strength.plastic_material`.
    softening : Softening, optional, keyword-only
        A post-ultimate softening law of bone (:class:`~vbfem.materials.strength.Softening`; default none:
        the curve's largest force is then the force at the end of the travel).
    plastic : PlasticMaterial, optional
        Explicit material parameters (overrides ``materials``' strengths, ``hardening_ratio`` and
        ``softening``).
    **options
        Keyword options of :func:`vbfem.fem.nonlinear.elastoplastic_curve` (``platen``,
        ``max_displacement`` in mm, ``n_steps``, ``tol``, ``max_iter``, ``max_cutbacks``,
        ``solver``, ``rtol``, ``bbar``, ``eas``: the enhanced-strain hex8).

    Returns
    -------
    LoadDisplacementCurve

    Raises
    ------
    vbfem.fem.nonlinear.NonlinearSolveError
        Carries the curve up to the last converged step in ``.partial``.
    """
    if not isinstance(materials, MaterialMap):
        raise TypeError(f"materials must be a MaterialMap, got {type(materials).__name__}")
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    if plastic is None:
        plastic = plastic_material(materials, hardening_ratio=hardening_ratio, softening=softening)
    return elastoplastic_curve(mesh, plastic, load, **options)


def compression_curves(states: Mapping[str, tuple], *, displacement: float | None = None, workers: int = 1,
                       platens: str = "bonded", **options) -> dict[str, LoadDisplacementCurve]:
    """Elastic–plastic curves of the ex vivo compression test of several states: the strength test.

    Each state is compressed by :func:`vbfem.mechanics.loadcases.compression_test` to the same
    platen travel ``displacement``, as the experiments take every specimen to the same
    displacement; its strength is the curve's peak force. A state whose Newton iterations stop
    converging keeps its curve up to the last converged step (a warning says where it stopped)
    and the other states go on.

    Parameters
    ----------
    states : mapping
        ``name -> (mesh, materials)``; the first is the reference (intact) body.
    displacement : float, optional, keyword-only
        Platen travel in mm (> 0). Default: :data:`STRENGTH_STRAIN` times the first state's
        :func:`endplate_height`.
    workers : int, keyword-only
        Worker processes (>= 1), spawned: a script that asks for more than one must run under
        ``if __name__ == "__main__":``, as every spawned worker imports it again. The curves are independent and their linear solves run on one
        core each, so on 2 cores two processes finish four states in about 60 % of the serial
        time (``benchmarks/bench_nonlinear.py --states``). 1 computes them here, one after the
        other (use it inside processes that may not have children, such as Dask workers).
    platens : {"bonded", "sliding"}, keyword-only
        The test's platens (:data:`PLATENS`): bonded (default) or sliding (z prescribed only; the
        frictionless platens of many CT-FE protocols).
    **options
        Keyword options of :func:`load_displacement` (``n_steps``, ``tol``, ``hardening_ratio`` ...);
        ``n_steps``, ``post_yield_growth`` and ``tol`` default to :data:`STRENGTH_STEPS`,
        :data:`STRENGTH_GROWTH` and :data:`STRENGTH_TOL`.

    Returns
    -------
    dict
        ``name -> LoadDisplacementCurve`` in the order of ``states``.
    """
    return start_compression_curves(states, displacement=displacement, workers=workers, platens=platens,
                                    **options).result()


def start_compression_curves(states: Mapping[str, tuple], *, displacement: float | None = None, workers: int = 1,
                             executor: ProcessPoolExecutor | None = None, on_curve: Callable[[str], None] | None = None,
                             platens: str = "bonded", **options) -> CurveJobs:
    """:func:`compression_curves` started in the background (with ``workers > 1`` or an ``executor``):
    checks the input, starts the workers and returns at once, so that the caller can go on (e.g. with
    the linear solves of the same states) before :meth:`CurveJobs.result` collects the curves.
    ``executor``: a pool of :func:`strength_pool` to run them in (it stays open; ``workers`` is then
    ignored). ``on_curve(name)`` is called in this thread as the curve of each state is collected by
    :meth:`CurveJobs.result`, in the order they finish (a progress bar's step)."""
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers = {workers!r}: must be an integer >= 1")
    if platens not in PLATENS:
        raise ValueError(f"platens = {platens!r}: allowed {', '.join(map(repr, PLATENS))}")
    if not isinstance(states, Mapping) or not states:
        raise TypeError("states must be a non-empty mapping name -> (mesh, materials)")
    for name, st in states.items():
        if not (isinstance(st, tuple) and len(st) == 2 and isinstance(st[0], Mesh) and isinstance(st[1], MaterialMap)):
            raise TypeError(f"states[{name!r}] must be a (Mesh, MaterialMap) tuple")
    if displacement is None:
        displacement = STRENGTH_STRAIN * endplate_height(next(iter(states.values()))[0])
    if not (isinstance(displacement, (int, float)) and displacement > 0):
        raise ValueError(f"displacement = {displacement!r}: must be a platen travel > 0 mm")
    options = {"n_steps": STRENGTH_STEPS, "post_yield_growth": STRENGTH_GROWTH, "tol": STRENGTH_TOL, **options}
    return CurveJobs(states, displacement, min(workers, len(states)), options, executor, on_curve, platens)


class CurveJobs:
    """The strength curves of :func:`start_compression_curves`: running in worker processes (or, with
    one worker, to be computed here when asked); :meth:`result` waits for them."""

    def __init__(self, states, displacement, workers, options, executor=None, on_curve=None, platens="bonded"):
        self._args = [(name, mesh, mat, displacement, options, platens) for name, (mesh, mat) in states.items()]
        self._on_curve = on_curve
        self._pool, self._own, self._futures = executor, executor is None, None
        if executor is None and workers > 1:
            self._pool = strength_pool(workers)
        if self._pool is not None:
            self._futures = [self._pool.submit(_compression_curve, *args[1:]) for args in self._args]

    def result(self) -> dict[str, LoadDisplacementCurve]:
        """``name -> curve`` in the order of the states (waits for the workers)."""
        outcomes = [None] * len(self._args)
        try:
            if self._pool is None:
                for k, args in enumerate(self._args):
                    outcomes[k] = _compression_curve(*args[1:])
                    self._report(k)
            else:
                try:
                    index = {fut: k for k, fut in enumerate(self._futures)}
                    for fut in as_completed(self._futures):
                        outcomes[index[fut]] = fut.result()
                        self._report(index[fut])
                except BrokenProcessPool as exc:
                    raise RuntimeError(
                        "a strength-curve worker process stopped before finishing. Worker processes are spawned "
                        "and import the main script again: in a script, put the code that runs studies under "
                        "`if __name__ == '__main__':`, or pass workers=1") from exc
        finally:
            self.cancel()
        curves = {}
        for (name, *_), (curve, error) in zip(self._args, outcomes):
            if error is not None:
                log.warning("%s: %s", name, error)
            curves[name] = curve
        return curves

    def _report(self, k):
        if self._on_curve is not None:
            self._on_curve(self._args[k][0])

    def cancel(self):
        """Stop the workers of a pool it started (curves not yet started are dropped); a pool given to
        it only loses the curves not yet started."""
        if self._futures is not None:
            for fut in self._futures:
                fut.cancel()
        if self._pool is not None and self._own:
            self._pool.shutdown(wait=True, cancel_futures=True)


def strength_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for the strength curves, started at once and warmed up.

    Each worker loads (or, on a cold cache, compiles) the elastic–plastic kernels as soon as it starts,
    so a pool started before the states are built does that meanwhile; pass it to
    :func:`start_compression_curves` (``executor=``) and shut it down when done. Spawned, not forked
    (numba's threading layer is not safe to fork once it has run); the workers share the cores, so each
    runs numba on its share of the threads. The workers load their kernels one after the other: on a
    cold cache the first compiles them and the others then read its cache instead of compiling the same
    kernels at the same time (about 10 s of CPU each, on the cores the states are being built on).
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers = {workers!r}: must be an integer >= 1")
    threads = max(1, numba.get_num_threads() // workers)
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_start_worker, initargs=(threads, context.Lock()))
    pool.submit(int)  # the first task starts the workers
    return pool


def _start_worker(threads: int, compile_lock=None) -> None:
    """Set the worker's numba threads and run a small elastic–plastic curve with AMG-CG (loads the kernels).

    ``compile_lock`` (a multiprocessing lock shared by the pool's workers) is held while loading, so
    on a cold numba cache one worker compiles and the others read the cache it wrote.
    """
    numba.set_num_threads(threads)
    from ..fem.loads import platen_compression
    from ..fem.plasticity import drucker_prager
    from ..fem.primitives import box_mesh

    # a block big enough for a two-level multigrid, so the AMG-CG kernels (smoother, V-cycle) load too
    cube = box_mesh((1.0, 1.0, 1.0), (4, 4, 4))
    one = np.ones(cube.n_cells)
    plastic = drucker_prager(100.0 * one, 0.3 * one, one, 0.8 * one, hardening_ratio=0.05)
    with compile_lock if compile_lock is not None else contextlib.nullcontext():
        elastoplastic_curve(cube, plastic, platen_compression(cube, displacement=0.02), n_steps=2, solver="amg-cg")


def _compression_curve(mesh, materials, displacement, options, platens="bonded"):
    """``(curve, None)``, or ``(partial curve, message)`` if Newton stopped converging."""
    try:
        if platens == "sliding":  # no platen record: the travel and force are those of the prescribed z dofs
            from .sliding import sliding_compression

            load = sliding_compression(mesh, displacement=displacement)
            return load_displacement(mesh, materials, load, **{**options, "platen": None}), None
        return load_displacement(mesh, materials, compression_test(mesh, displacement=displacement), **options), None
    except NonlinearSolveError as err:
        return err.partial, str(err)
