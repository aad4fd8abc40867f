"""Failure of a body: its elastic–plastic load–displacement curve from a material map.

:func:`load_displacement` gives the tissues their strengths
(:func:`vbfem.materials.strength.plastic_material`) and follows the curve with
:func:`vbfem.fem.nonlinear.elastoplastic_curve`; :func:`compression_curves` runs the
ex vivo compression test of several states, in worker processes if asked.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

import numba

from ..fem.nonlinear import LoadDisplacementCurve, NonlinearSolveError, elastoplastic_curve
from ..fem.plasticity import PlasticMaterial
from ..materials.strength import HARDENING_RATIO, plastic_material
from ..records import LoadCase, MaterialMap, Mesh
from .loadcases import compression_test

__all__ = ["compression_curves", "load_displacement"]

log = logging.getLogger(__name__)


def load_displacement(mesh: Mesh, materials: MaterialMap, load: LoadCase, *,
                      hardening_ratio: float = HARDENING_RATIO, plastic: PlasticMaterial | None = None,
                      **options) -> LoadDisplacementCurve:
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
    plastic : PlasticMaterial, optional
        Explicit material parameters (overrides ``materials``' strengths and ``hardening_ratio``).
    **options
        Keyword options of :func:`vbfem.fem.nonlinear.elastoplastic_curve` (``platen``,
        ``max_displacement`` in mm, ``n_steps``, ``tol``, ``max_iter``, ``max_cutbacks``,
        ``solver``, ``rtol``).

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
        plastic = plastic_material(materials, hardening_ratio=hardening_ratio)
    return elastoplastic_curve(mesh, plastic, load, **options)


def compression_curves(states: Mapping[str, tuple], *, displacement: float, workers: int = 1,
                       **options) -> dict[str, LoadDisplacementCurve]:
    """Elastic–plastic curves of the ex vivo compression test of several states.

    Each state is compressed by :func:`vbfem.mechanics.loadcases.compression_test` to the same
    platen travel ``displacement``, as the experiments take every specimen to the same
    displacement. A state whose Newton iterations stop converging keeps its curve up to the
    last converged step (a warning says where it stopped) and the other states go on.

    Parameters
    ----------
    states : mapping
        ``name -> (mesh, materials)``.
    displacement : float, keyword-only
        Platen travel in mm (> 0).
    workers : int, keyword-only
        Worker processes (>= 1). The curves are independent and their linear solves run on one
        core each, so on 2 cores two processes finish four states in about 60 % of the serial
        time (``benchmarks/bench_nonlinear.py --states``). 1 computes them here, one after the
        other (use it inside processes that may not have children, such as Dask workers).
    **options
        Keyword options of :func:`load_displacement` (``n_steps``, ``tol``, ``hardening_ratio`` ...).

    Returns
    -------
    dict
        ``name -> LoadDisplacementCurve`` in the order of ``states``.
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers = {workers!r}: must be an integer >= 1")
    if not (isinstance(displacement, (int, float)) and displacement > 0):
        raise ValueError(f"displacement = {displacement!r}: must be a platen travel > 0 mm")
    for name, st in states.items():
        if not (isinstance(st, tuple) and len(st) == 2 and isinstance(st[0], Mesh) and isinstance(st[1], MaterialMap)):
            raise TypeError(f"states[{name!r}] must be a (Mesh, MaterialMap) tuple")
    workers = min(workers, len(states))
    if workers == 1:
        outcomes = {name: _compression_curve(mesh, mat, displacement, options) for name, (mesh, mat) in states.items()}
    else:
        # spawn, not fork: numba's threading layer is not safe to fork once it has run
        threads = max(1, numba.get_num_threads() // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=numba.set_num_threads, initargs=(threads,)) as pool:
            futures = {name: pool.submit(_compression_curve, mesh, mat, displacement, options)
                       for name, (mesh, mat) in states.items()}
            try:
                outcomes = {name: fut.result() for name, fut in futures.items()}
            except BaseException:
                for fut in futures.values():
                    fut.cancel()
                raise
    curves = {}
    for name, (curve, error) in outcomes.items():
        if error is not None:
            log.warning("%s: %s", name, error)
        curves[name] = curve
    return curves


def _compression_curve(mesh, materials, displacement, options):
    """``(curve, None)``, or ``(partial curve, message)`` if Newton stopped converging."""
    try:
        return load_displacement(mesh, materials, compression_test(mesh, displacement=displacement), **options), None
    except NonlinearSolveError as err:
        return err.partial, str(err)
