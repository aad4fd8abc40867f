"""Sliding platens: the compression protocol whose platen nodes are prescribed along z only.

In many CT-FE compression protocols the loaded faces may expand laterally
(frictionless platens): the nodes of the superior face move by ``-d`` along z,
those of the inferior face are held at z = 0, and x, y are free. Three
further displacement components on the inferior face remove the remaining
rigid-body modes (x and y translation, rotation about z) without restraining
the lateral expansion: one node is fixed in x and y, a second, the inferior
node farthest from it, in the direction normal to the line joining them. These
three constraints carry no load at equilibrium (statically determinate).

The stiffness test is :func:`sliding_compression`; the strength test between the same
platens is :func:`vbfem.mechanics.failure.compression_curves` with ``platens="sliding"``
(:func:`sliding_comparison` runs both).
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import numpy as np

from ..fem.loads import fixed, load_case
from ..records import LoadCase, Mesh, Result

__all__ = ["sliding_comparison", "sliding_compression", "sliding_platen", "sliding_stiffness"]


def sliding_compression(mesh: Mesh, *, displacement: float, superior: str = "superior", inferior: str = "inferior",
                        name: str = "sliding_compression") -> LoadCase:
    """Axial compression between frictionless platens: z prescribed on both faces, x and y free.

    Parameters
    ----------
    mesh : Mesh
    displacement : float, keyword-only
        Shortening along -z of the ``superior`` nodes, mm (> 0).
    superior, inferior : str, keyword-only
        Node sets of the loaded faces.

    Returns
    -------
    LoadCase
        Without platens; read the stiffness with :func:`sliding_stiffness`.
    """
    d = float(displacement)
    if not (np.isfinite(d) and d > 0):
        raise ValueError(f"displacement={displacement!r} must be a shortening > 0 mm")
    for s in (superior, inferior):
        if s not in mesh.node_sets or mesh.node_sets[s].size == 0:
            raise ValueError(f"node set {s!r} is missing or empty; available: {sorted(mesh.node_sets)}")
    top, bot = mesh.node_sets[superior], mesh.node_sets[inferior]
    xb = mesh.points[bot]
    a = bot[np.argmin(np.linalg.norm(xb[:, :2] - xb[:, :2].mean(axis=0), axis=1))]
    far = np.linalg.norm(xb[:, :2] - mesh.points[a, :2], axis=1)
    b = bot[np.argmax(far)]
    if far.max() <= 0:
        raise ValueError(f"node set {inferior!r} has all its nodes on one vertical line: rotation about z is free")
    dx, dy = np.abs(mesh.points[b, :2] - mesh.points[a, :2])
    comp_b = 1 if dx >= dy else 0  # normal to the line a-b, nearest grid direction
    pieces = [fixed(mesh, top, components=(2,), value=-d), fixed(mesh, bot, components=(2,), value=0.0),
              fixed(mesh, [a], components=(0, 1)), fixed(mesh, [b], components=(comp_b,))]
    return load_case(name, fixed=pieces)


def sliding_stiffness(mesh: Mesh, result: Result, *, displacement: float, superior: str = "superior") -> float:
    """Axial stiffness (N/mm) of a :func:`sliding_compression` solve: superior z reaction over the shortening."""
    force = float(result.reaction[mesh.node_sets[superior], 2].sum())
    return abs(force) / float(displacement)


def sliding_platen(mesh: Mesh, result: Result, *, displacement: float, superior: str = "superior",
                   name: str = "platen") -> Result:
    """``result`` with the sliding platen as a platen record ``name``: its motion (0, 0, -d) and the sum of
    the ``superior`` nodes' reactions, so that :func:`vbfem.mechanics.response.stiffness` and
    :func:`~vbfem.mechanics.response.linear_strength` read it as they read a bonded platen."""
    motion = np.array([0.0, 0.0, -float(displacement), 0.0, 0.0, 0.0])
    force = np.zeros(6)
    force[:3] = result.reaction[mesh.node_sets[superior]].sum(axis=0)
    return replace(result, platen_motion={**result.platen_motion, name: motion},
                   platen_reaction={**result.platen_reaction, name: force})


def sliding_comparison(states, *, displacement: float, strength="linear", fractured: str | None = None,
                       solver: str = "auto", workers: int = 1, strength_options=None):
    """:func:`vbfem.mechanics.compare.compare_states` between sliding platens.

    Parameters
    ----------
    states : mapping
        Ordered ``name -> (mesh, materials)``, intact first; meshes with node sets ``superior`` / ``inferior``.
    displacement : float, keyword-only
        Platen shortening of the stiffness test, mm.
    strength : {"linear", "nonlinear"} or mapping name -> N, keyword-only
        The linear strength screen (:func:`~vbfem.mechanics.response.linear_strength`), the peak force of the
        elastic-plastic compression test between the same sliding platens
        (:func:`vbfem.mechanics.failure.compression_curves` with ``platens="sliding"``; every state taken to
        the same travel, 3 % of the first state's height unless ``strength_options`` gives
        ``displacement``), or given values.
    fractured : str, optional, keyword-only
        Name of the fractured state (default ``"fractured"`` when present).
    solver : str, keyword-only
    workers : int, keyword-only
        Processes for the nonlinear curves.
    strength_options : mapping, optional, keyword-only
        Further options of :func:`~vbfem.mechanics.failure.start_compression_curves` (``displacement``,
        ``softening``, ``executor``, ``on_curve`` ...).

    Returns
    -------
    Comparison
        ``load = "sliding_compression"``; with the nonlinear strength the curves in ``curves``.
    """
    from ..fem.static import solve_static
    from .compare import Comparison, ComparisonRow, _pct, _restored
    from .failure import start_compression_curves
    from .response import linear_strength, stiffness

    if isinstance(strength, str) and strength not in ("linear", "nonlinear"):
        raise ValueError(f"strength={strength!r}: allowed 'linear', 'nonlinear' or a mapping name -> N")
    names = list(states)
    if fractured is None:
        fractured = "fractured" if "fractured" in states else None
    nonlinear = isinstance(strength, str) and strength == "nonlinear"
    clash = sorted({"workers", "platens"} & set(strength_options or {}))
    if clash:
        raise ValueError(f"strength_options: {', '.join(clash)} is set by sliding_comparison itself (workers= "
                         "its own argument, platens='sliding'); remove it from strength_options")
    jobs = (start_compression_curves(states, workers=workers, platens="sliding", **dict(strength_options or {}))
            if nonlinear else None)
    k, s, results, curves = {}, {}, {}, {}
    try:
        for name in names:
            mesh, mat = states[name]
            res = solve_static(mesh, mat, sliding_compression(mesh, displacement=displacement), solver=solver)
            res = results[name] = sliding_platen(mesh, res, displacement=displacement)
            k[name] = stiffness(res)
            if strength == "linear":
                s[name] = linear_strength(mesh, mat, res)
            elif not nonlinear:
                s[name] = float(strength[name])
        if jobs is not None:
            curves = jobs.result()
            s = {name: curves[name].peak_force for name in names}
    finally:
        if jobs is not None:
            jobs.cancel()
    intact = names[0]
    rows = []
    for name in names:
        treated = fractured is not None and name not in (intact, fractured)
        rows.append(ComparisonRow(
            state=name, stiffness=k[name], strength=s[name],
            stiffness_pct_intact=_pct(k[name], k[intact]), strength_pct_intact=_pct(s[name], s[intact]),
            stiffness_pct_restored=_restored(k[name], k[fractured], k[intact]) if treated else np.nan,
            strength_pct_restored=_restored(s[name], s[fractured], s[intact]) if treated else np.nan))
    method = strength if isinstance(strength, str) else "given"
    return Comparison(tuple(rows), "sliding_compression", method, fractured, MappingProxyType(results),
                      MappingProxyType(curves))
