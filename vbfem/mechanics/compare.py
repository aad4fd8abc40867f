"""Compare the stiffness and strength of vertebral states (intact, fractured,
treated) in one table with percentages of intact and of restoration.

``restored = (treated - fractured) / (intact - fractured)`` (100 % = back to
intact, 0 % = no better than fractured, > 100 % = stiffer/stronger than intact).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..fem.static import solve_static
from ..records import LoadCase, MaterialMap, Mesh
from .failure import start_compression_curves
from .loadcases import load_case_names, make_load_case
from .response import linear_strength, stiffness

log = logging.getLogger(__name__)

COLUMNS = ("state", "stiffness", "strength", "stiffness_pct_intact", "strength_pct_intact",
           "stiffness_pct_restored", "strength_pct_restored")
_HEADERS = ("state", "stiffness (N/mm)", "strength (N)", "stiffness % intact", "strength % intact",
            "stiffness % restored", "strength % restored")


@dataclass(frozen=True)
class ComparisonRow:
    """One state: stiffness (N/mm), strength (N), % of intact and % restored (NaN where not defined)."""

    state: str
    stiffness: float
    strength: float
    stiffness_pct_intact: float
    strength_pct_intact: float
    stiffness_pct_restored: float
    strength_pct_restored: float


@dataclass(frozen=True)
class Comparison:
    """Table of :class:`ComparisonRow`, intact first.

    Attributes
    ----------
    rows : tuple of ComparisonRow
    load : str
        Load case name used for the stiffness.
    strength_method : str
        ``"nonlinear"`` (peak of the elastic–plastic compression test), ``"linear"`` (Pistoia
        screen), ``"callable"`` or ``"given"``.
    fractured : str or None
        State used as the reference for % restored.
    results : mapping of str to Result
        The linear solve of each state under ``load`` (for fields, pictures, VTU).
    curves : mapping of str to LoadDisplacementCurve
        The strength test's curve of each state (``"nonlinear"`` only; else empty).
    """

    rows: tuple
    load: str
    strength_method: str
    fractured: str | None
    results: Mapping = field(default_factory=dict, repr=False, compare=False)
    curves: Mapping = field(default_factory=dict, repr=False, compare=False)

    def row(self, state: str) -> ComparisonRow:
        """The row of ``state``."""
        for r in self.rows:
            if r.state == state:
                return r
        raise KeyError(f"state {state!r} not in table; states: {[r.state for r in self.rows]}")

    def as_dicts(self) -> list[dict]:
        """Rows as a list of dicts keyed by :data:`COLUMNS`."""
        return [{c: getattr(r, c) for c in COLUMNS} for r in self.rows]

    def to_csv(self) -> str:
        """CSV text with a header line of :data:`COLUMNS`."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for d in self.as_dicts():
            w.writerow([d["state"]] + [repr(float(d[c])) for c in COLUMNS[1:]])
        return buf.getvalue()

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown table (values rounded for reading; "–" where undefined)."""

        def fmt(v, digits):
            return "–" if not math.isfinite(v) else f"{v:.{digits}f}"

        lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
        for r in self.rows:
            cells = [r.state, fmt(r.stiffness, 0), fmt(r.strength, 0), fmt(r.stiffness_pct_intact, 1),
                     fmt(r.strength_pct_intact, 1), fmt(r.stiffness_pct_restored, 1),
                     fmt(r.strength_pct_restored, 1)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _pct(a, b):
    return 100.0 * a / b if b != 0 else math.nan


def _restored(t, f, i):
    return 100.0 * (t - f) / (i - f) if i != f else math.nan


def compare_states(states: Mapping[str, tuple], *, load: str | Callable[[Mesh], LoadCase] = "compression_test",
                   load_options: Mapping | None = None, strength="nonlinear", fractured: str | None = None,
                   solver: str = "auto", workers: int = 1, strength_options: Mapping | None = None) -> Comparison:
    """Stiffness and strength of several states of a vertebra, relative to the first (intact).

    Parameters
    ----------
    states : mapping
        Ordered ``name -> (mesh, materials)``; the first entry is the intact reference.
    load : str or callable, keyword-only
        A name from :func:`vbfem.mechanics.loadcases.load_case_names` (default the ex vivo
        ``"compression_test"`` at 500 N) or ``load(mesh) -> LoadCase``; its
        platen must be named ``"platen"``. Stiffness is the platen's axial
        stiffness (N/mm).
    load_options : mapping, keyword-only
        Options for :func:`vbfem.mechanics.loadcases.make_load_case` when ``load`` is a name.
    strength : "nonlinear", "linear", callable or mapping, keyword-only
        ``"nonlinear"`` (default): the peak force of the elastic–plastic compression test of
        :func:`vbfem.mechanics.failure.compression_curves`, every state taken to the same platen
        travel (3 % of the first state's height); the curves are kept in ``Comparison.curves``.
        ``"linear"``: the fast screen :func:`vbfem.mechanics.response.linear_strength` of the
        same linear solve (Pistoia 2002), a ranking aid, not a failure load.
        A callable ``strength(name, mesh, materials) -> float`` (N); or a mapping ``name -> strength`` (N).
    fractured : str, keyword-only
        State used for % restored; default ``"fractured"`` when present, else none.
    solver : str, keyword-only
        Passed to :func:`vbfem.fem.static.solve_static`.
    workers : int, keyword-only
        Processes for the nonlinear curves (see :func:`~vbfem.mechanics.failure.compression_curves`).
    strength_options : mapping, keyword-only
        Further options of :func:`~vbfem.mechanics.failure.compression_curves` (``displacement``,
        ``n_steps``, ``tol`` ...).

    Returns
    -------
    Comparison
    """
    if not isinstance(states, Mapping) or len(states) == 0:
        raise TypeError("states must be a non-empty mapping name -> (mesh, materials), intact first")
    for name, st in states.items():
        if not (isinstance(st, tuple) and len(st) == 2 and isinstance(st[0], Mesh)
                and isinstance(st[1], MaterialMap)):
            raise TypeError(f"states[{name!r}] must be a (Mesh, MaterialMap) tuple")
        if st[1].n_cells != st[0].n_cells:
            raise ValueError(f"states[{name!r}]: material map has {st[1].n_cells} cells, mesh {st[0].n_cells}")
    if isinstance(load, str):
        if load not in load_case_names():
            raise ValueError(f"unknown load case {load!r}; valid: {', '.join(load_case_names())}")
        opts = dict(load_options or {})

        def build(mesh):
            return make_load_case(mesh, load, **opts)

        load_name = load
    elif callable(load):
        build, load_name = load, getattr(load, "__name__", "custom")
    else:
        raise TypeError(f"load must be a load case name or a callable, got {type(load).__name__}")
    if isinstance(strength, str):
        if strength not in ("nonlinear", "linear"):
            raise ValueError(f"strength={strength!r}; allowed: 'nonlinear', 'linear', a callable or a mapping name -> N")
        method = strength
    elif isinstance(strength, Mapping):
        missing = [n for n in states if n not in strength]
        if missing:
            raise ValueError(f"strength mapping lacks states {missing}")
        method = "given"
    elif callable(strength):
        method = "callable"
    else:
        raise TypeError(f"strength must be 'linear', a callable or a mapping, got {type(strength).__name__}")
    names = list(states)
    if fractured is None:
        fractured = "fractured" if "fractured" in states else None
    elif fractured not in states:
        raise ValueError(f"fractured={fractured!r} not among the states {names}")

    curves = {}
    # the nonlinear curves run in the workers while this process does the linear solves
    jobs = start_compression_curves(states, workers=workers, **dict(strength_options or {})) \
        if method == "nonlinear" else None
    k, s, results = {}, {}, {}
    try:
        for name in names:
            mesh, mat = states[name]
            res = results[name] = solve_static(mesh, mat, build(mesh), solver=solver)
            k[name] = stiffness(res)
            if method == "linear":
                s[name] = linear_strength(mesh, mat, res)
            elif method == "given":
                s[name] = float(strength[name])
            elif method == "callable":
                s[name] = float(strength(name, mesh, mat))
        if jobs is not None:
            curves = jobs.result()
            s = {name: curves[name].peak_force for name in names}
            rising = [name for name in names if not curves[name].peak_reached]
            if rising:
                log.info("strength of %s: the force at the end of the travel (%.3g mm), the curve still rising (bone "
                         "hardens without end unless a softening law is given)", ", ".join(rising),
                         curves[rising[0]].displacement[-1])
    finally:
        if jobs is not None:
            jobs.cancel()
    for name in names:
        log.info("%s: stiffness %.1f N/mm, strength %.1f N (%s)", name, k[name], s[name], method)

    intact = names[0]
    rows = []
    for name in names:
        treated = fractured is not None and name not in (intact, fractured)
        rows.append(ComparisonRow(
            state=name,
            stiffness=k[name],
            strength=s[name],
            stiffness_pct_intact=_pct(k[name], k[intact]),
            strength_pct_intact=_pct(s[name], s[intact]),
            stiffness_pct_restored=_restored(k[name], k[fractured], k[intact]) if treated else np.nan,
            strength_pct_restored=_restored(s[name], s[fractured], s[intact]) if treated else np.nan,
        ))
    return Comparison(tuple(rows), load_name, method, fractured, MappingProxyType(results), MappingProxyType(curves))
