"""Load records: rigid :class:`Platen` and :class:`LoadCase` (constraints, forces, platens)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._frozen import _frozen_array, _Picklable

#: Names of the six rigid-body modes / platen degrees of freedom.
RIGID_MODE_NAMES = (
    "translation x",
    "translation y",
    "translation z",
    "rotation about x",
    "rotation about y",
    "rotation about z",
)


@dataclass(frozen=True, eq=False)
class Platen(_Picklable):
    """A rigid platen: mesh nodes tied to a reference point.

    The nodes follow the reference point rigidly (small rotations):
    ``u_i = U + theta x (x_i - ref_point)``.

    Parameters
    ----------
    name : str
        Name used for reactions in :class:`Result`.
    nodes : int array
        Mesh nodes tied to the platen.
    ref_point : array_like, shape (3,)
        Reference point in mm (moments are taken about it).
    prescribed : array_like, shape (6,)
        Prescribed ``(Ux, Uy, Uz, theta_x, theta_y, theta_z)`` in mm and rad;
        NaN marks a free component.
    load : array_like, shape (6,)
        Force (N) and moment (N·mm) applied to the free components; entries
        on prescribed components must be 0.
    """

    name: str
    nodes: np.ndarray
    ref_point: np.ndarray
    prescribed: np.ndarray
    load: np.ndarray

    def __post_init__(self):
        nodes = np.unique(np.asarray(self.nodes, dtype=np.int64))
        if nodes.size == 0:
            raise ValueError(f"platen {self.name!r} has no nodes")
        ref = np.asarray(self.ref_point, float)
        pres = np.asarray(self.prescribed, float)
        load = np.asarray(self.load, float)
        if ref.shape != (3,) or pres.shape != (6,) or load.shape != (6,):
            raise ValueError("platen ref_point must have shape (3,), prescribed and load shape (6,)")
        if not np.all(np.isfinite(ref)) or not np.all(np.isfinite(load)):
            raise ValueError(f"platen {self.name!r}: ref_point and load must be finite")
        both = ~np.isnan(pres) & (load != 0)
        if np.any(both):
            names = [RIGID_MODE_NAMES[i] for i in np.flatnonzero(both)]
            raise ValueError(
                f"platen {self.name!r}: components {names} are both prescribed and loaded"
            )
        object.__setattr__(self, "nodes", _frozen_array(nodes))
        object.__setattr__(self, "ref_point", _frozen_array(ref))
        object.__setattr__(self, "prescribed", _frozen_array(pres))
        object.__setattr__(self, "load", _frozen_array(load))


@dataclass(frozen=True, eq=False)
class LoadCase(_Picklable):
    """Resolved constraints and loads of one static analysis.

    Parameters
    ----------
    name : str
        Label, e.g. ``"compression"``.
    fixed_dofs : int array
        Global degrees of freedom ``3 * node + component`` with prescribed displacement.
    fixed_values : array_like
        Prescribed displacements in mm, same length as ``fixed_dofs``.
    force_dofs : int array, optional
        Degrees of freedom with an applied nodal force.
    force_values : array_like, optional
        Nodal forces in N, same length as ``force_dofs``.
    platens : tuple of Platen, optional
        Rigid platens tied to reference points.
    """

    name: str
    fixed_dofs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fixed_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    force_dofs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    force_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    platens: tuple = ()

    def __post_init__(self):
        for dofs, vals, what in (
            ("fixed_dofs", "fixed_values", "prescribed displacement"),
            ("force_dofs", "force_values", "nodal force"),
        ):
            d = np.asarray(getattr(self, dofs)).astype(np.int64).ravel()
            v = np.asarray(getattr(self, vals), float).ravel()
            if v.size == 1 and d.size != 1:
                v = np.full(d.shape, float(v[0]))
            if d.shape != v.shape:
                raise ValueError(f"{dofs} and {vals} must have equal length, got {d.size} and {v.size}")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{vals}: every {what} must be finite")
            object.__setattr__(self, dofs, _frozen_array(d))
            object.__setattr__(self, vals, _frozen_array(v))
        if np.unique(self.fixed_dofs).size != self.fixed_dofs.size:
            raise ValueError("fixed_dofs contains repeated degrees of freedom")
        names = [p.name for p in self.platens]
        if len(set(names)) != len(names):
            raise ValueError(f"platen names must be unique, got {names}")
        object.__setattr__(self, "platens", tuple(self.platens))

    def platen(self, name: str) -> Platen:
        """The platen called ``name``."""
        for p in self.platens:
            if p.name == name:
                return p
        raise KeyError(f"no platen {name!r}; load case has {[p.name for p in self.platens]}")
