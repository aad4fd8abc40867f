"""Result records: :class:`SolverInfo`, :class:`Result` of a solve, :class:`CementFill` of an injection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ._frozen import _frozen_array, _frozen_mapping, _Picklable


@dataclass(frozen=True)
class SolverInfo(_Picklable):
    """Statistics of a linear solve.

    Attributes
    ----------
    method : str
        ``"direct"`` or ``"amg-cg"``.
    n_dofs : int
        Size of the reduced system.
    iterations : int
        Krylov iterations (0 for the direct solver).
    residual : float
        Relative residual ``||b - A x|| / ||b||`` of the reduced system.
    setup_time, solve_time : float
        Wall-clock seconds.
    """

    method: str
    n_dofs: int
    iterations: int
    residual: float
    setup_time: float
    solve_time: float


@dataclass(frozen=True, eq=False)
class Result(_Picklable):
    """Solution of a static analysis.

    Attributes
    ----------
    displacement : ndarray, shape (n_points, 3)
        Nodal displacements in mm.
    strain : ndarray, shape (n_cells, 6)
        Cell-average small strain, Voigt order (xx, yy, zz, yz, xz, xy), engineering shear.
    stress : ndarray, shape (n_cells, 6)
        Cell-average Cauchy stress in MPa, same order.
    reaction : ndarray, shape (n_points, 3)
        Nodal reaction forces in N (internal force minus applied nodal force).
    platen_motion : mapping of str to ndarray (6,)
        Displacement (mm) and rotation (rad) of each platen's reference point.
    platen_reaction : mapping of str to ndarray (6,)
        Force (N) and moment about the reference point (N·mm) that each platen
        exerts on its nodes' surroundings, i.e. the resultant the platen must supply.
    strain_energy : float
        ``1/2 u^T K u`` in N·mm (mJ).
    solver : SolverInfo
        Linear-solver statistics.
    timings : mapping of str to float
        Wall-clock seconds per stage.
    """

    displacement: np.ndarray
    strain: np.ndarray
    stress: np.ndarray
    reaction: np.ndarray
    platen_motion: Mapping[str, np.ndarray]
    platen_reaction: Mapping[str, np.ndarray]
    strain_energy: float
    solver: SolverInfo
    timings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("displacement", "strain", "stress", "reaction"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name)))
        object.__setattr__(self, "platen_motion", _frozen_mapping(self.platen_motion))
        object.__setattr__(self, "platen_reaction", _frozen_mapping(self.platen_reaction))
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))

    def stiffness(self, platen: str, component: int = 2) -> float:
        """Platen stiffness: reaction over displacement along one component.

        Parameters
        ----------
        platen : str
            Platen name.
        component : int, default 2
            0-2 for forces over translations (N/mm), 3-5 for moments over
            rotations (N·mm/rad).

        Returns
        -------
        float
            ``|reaction| / |motion|`` along ``component``.
        """
        motion = self.platen_motion[platen][component]
        if motion == 0:
            raise ZeroDivisionError(f"platen {platen!r} does not move along component {component}")
        return float(abs(self.platen_reaction[platen][component] / motion))


@dataclass(frozen=True, eq=False)
class CementFill(_Picklable):
    """Result of a cement injection (vertebroplasty / kyphoplasty).

    Volumes in mm³ (1 mL = 1000 mm³), pressures in MPa, times in s after mixing.

    Attributes
    ----------
    saturation : ndarray (n_cells,)
        Cement fraction of each cell's pore space (0 outside flow cells).
    fraction : ndarray (n_cells,)
        Cement volume fraction of each cell (porosity × saturation).
    arrival_time : ndarray (n_cells,)
        Time the saturation first reached 0.5 (NaN: never).
    injected : float
        Injected cement volume, mm³.
    leaked : mapping str -> float
        Cement leaked through each outlet, mm³.
    times, needle_pressure, injected_history, body_history, leaked_history : ndarray
        Histories: times (n_t,), needle pressures (n_t, n_needles), injected,
        in-body and leaked cement volumes (n_t,).
    metrics : mapping
        Fill metrics (see :func:`vbfem.treatment.vertebroplasty.simulate_vertebroplasty`).
    params : mapping
        Provenance (needles, cement, solver counters).
    cavity : ndarray (n_cells,), optional
        Volume fraction of each cell that is an open cavity the cement fills
        first (a kyphoplasty's balloon cavity; None: none). Its cement is the
        cavity's share ``cavity · volume`` of the cell's pore space.
    cavity_normal : ndarray (n_cells, 3), optional
        Unit normal of the cavity's wall in the cells it cuts, zero elsewhere.
    syringe_pressure : ndarray (n_t, n_needles), optional
        Pressure at the syringe, MPa: ``needle_pressure`` (at the tip, intravertebral) plus the
        cannula's pressure drop (:mod:`vbfem.treatment.cannula`); NaN where a needle is idle.
    """

    saturation: np.ndarray
    fraction: np.ndarray
    arrival_time: np.ndarray
    injected: float
    leaked: Mapping[str, float]
    times: np.ndarray
    needle_pressure: np.ndarray
    injected_history: np.ndarray
    body_history: np.ndarray
    leaked_history: np.ndarray
    metrics: Mapping[str, object] = field(default_factory=dict)
    params: Mapping[str, object] = field(default_factory=dict)
    cavity: np.ndarray | None = None
    cavity_normal: np.ndarray | None = None
    syringe_pressure: np.ndarray | None = None

    def __post_init__(self):
        for name in ("saturation", "fraction", "arrival_time", "times", "needle_pressure",
                     "injected_history", "body_history", "leaked_history"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), dtype=float))
        if self.syringe_pressure is not None:
            object.__setattr__(self, "syringe_pressure", _frozen_array(self.syringe_pressure, dtype=float))
        if self.cavity is not None:
            n = np.shape(self.saturation)[0]
            normal = np.zeros((n, 3)) if self.cavity_normal is None else self.cavity_normal
            object.__setattr__(self, "cavity", _frozen_array(self.cavity, dtype=float))
            object.__setattr__(self, "cavity_normal", _frozen_array(normal, dtype=float))
            if self.cavity.shape != (n,) or self.cavity_normal.shape != (n, 3):
                raise ValueError(f"cavity must have shape ({n},) and cavity_normal ({n}, 3), got "
                                 f"{self.cavity.shape} and {self.cavity_normal.shape}")
        object.__setattr__(self, "leaked", MappingProxyType({k: float(v) for k, v in dict(self.leaked).items()}))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def leaked_total(self) -> float:
        """Total leaked cement, mm³."""
        return float(sum(self.leaked.values()))
