"""Frozen data records passed between the stages of the pipeline.

Units throughout: mm, N, MPa (N/mm²), s, g/cm³. Axes: +x anterior, +y left,
+z superior (cranial). Strain and stress vectors use Voigt order
``(xx, yy, zz, yz, xz, xy)`` with engineering shear strains.

The records hold numpy arrays only and are immutable: arrays are made
read-only and mappings are wrapped in read-only proxies. "Changes" return
new records (``Mesh.with_points`` ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

#: Number of nodes of each supported cell type.
CELL_NODES = {"hex8": 8, "tet4": 4, "tet10": 10}

#: Tissue labels of a :class:`MaterialMap`; ``MaterialMap.tissue`` holds
#: indices into this tuple.
TISSUES = (
    "trabecular",
    "cortical",
    "endplate",
    "cement",
    "composite",
    "compacted",
    "damaged",
    "void",
    "disc",
    "potting",
    "other",
)

#: Tissues whose cells take the map's ``anisotropy`` (bone that keeps its
#: trabecular architecture); all other cells are isotropic. Composite,
#: compacted and cement cells lose the architecture: the isotropic cement
#: fills or replaces it, or the balloon crushes it.
ANISOTROPIC_TISSUES = ("trabecular", "damaged")

#: Names of the six rigid-body modes / platen degrees of freedom.
RIGID_MODE_NAMES = (
    "translation x",
    "translation y",
    "translation z",
    "rotation about x",
    "rotation about y",
    "rotation about z",
)


def _thaw(value):
    """A record field as its constructor takes it: read-only mapping proxies become dicts."""
    if isinstance(value, (MappingProxyType, dict)):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _rebuild(cls, fields):
    return cls(**fields)


class _Picklable:
    """Pickling of a frozen record by its constructor (mapping proxies, which pickle cannot
    store, pass as dicts and are frozen again), so that records travel to worker processes."""

    def __reduce__(self):
        return _rebuild, (type(self), {f.name: _thaw(getattr(self, f.name)) for f in dataclasses.fields(self)})


def _frozen_array(a, *, dtype=None, name="array") -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _frozen_mapping(m, *, dtype=None) -> Mapping[str, np.ndarray]:
    out = {}
    for key, value in dict(m or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"set and field names must be str, got {key!r}")
        out[key] = _frozen_array(value, dtype=dtype)
    return MappingProxyType(out)


@dataclass(frozen=True, eq=False)
class Mesh(_Picklable):
    """A finite-element mesh of one cell type with named sets.

    Parameters
    ----------
    points : array_like, shape (n_points, 3)
        Node coordinates in mm.
    cells : array_like of int, shape (n_cells, k)
        Node indices of each cell, in the node order of meshio / VTK
        (hex8: bottom face counter-clockwise seen from above, then top face;
        tet10: four corners, then mid-edge nodes 01, 12, 02, 03, 13, 23).
    cell_type : {"hex8", "tet4", "tet10"}
        Element type.
    node_sets : mapping of str to int arrays, optional
        Named node sets (indices into ``points``), e.g. ``"superior"``.
    cell_sets : mapping of str to int arrays, optional
        Named cell sets (indices into ``cells``), e.g. ``"cortex"``.
    cell_data : mapping of str to arrays, optional
        Per-cell fields; the first axis has length ``n_cells``.

    Notes
    -----
    Construction checks shapes, finiteness and index ranges. Element
    validity (positive Jacobians) is checked by :func:`vbfem.check_mesh`,
    which assembly calls before any long computation.
    """

    points: np.ndarray
    cells: np.ndarray
    cell_type: str
    node_sets: Mapping[str, np.ndarray] = field(default_factory=dict)
    cell_sets: Mapping[str, np.ndarray] = field(default_factory=dict)
    cell_data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        if self.cell_type not in CELL_NODES:
            raise ValueError(
                f"cell_type={self.cell_type!r} is not supported; "
                f"allowed: {', '.join(CELL_NODES)}"
            )
        points = np.asarray(self.points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"points must have shape (n, 3), got {points.shape}")
        if not np.all(np.isfinite(points)):
            bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
            raise ValueError(
                f"points contain non-finite coordinates at nodes {bad[:10].tolist()}"
                + (" ..." if bad.size > 10 else "")
            )
        cells = np.asarray(self.cells)
        k = CELL_NODES[self.cell_type]
        if cells.ndim != 2 or cells.shape[1] != k:
            raise ValueError(
                f"cells of type {self.cell_type} must have shape (m, {k}), got {cells.shape}"
            )
        if cells.size and not np.issubdtype(cells.dtype, np.integer):
            raise TypeError(f"cells must be integer node indices, got dtype {cells.dtype}")
        cells = cells.astype(np.int64)
        if cells.size and (cells.min() < 0 or cells.max() >= len(points)):
            raise ValueError(
                f"cells reference nodes outside [0, {len(points) - 1}] "
                f"(min {cells.min()}, max {cells.max()})"
            )
        object.__setattr__(self, "points", _frozen_array(points, dtype=float))
        object.__setattr__(self, "cells", _frozen_array(cells, dtype=np.int64))
        object.__setattr__(self, "node_sets", self._checked_sets(self.node_sets, len(points), "node"))
        object.__setattr__(self, "cell_sets", self._checked_sets(self.cell_sets, len(cells), "cell"))
        data = _frozen_mapping(self.cell_data)
        for name, arr in data.items():
            if arr.shape[:1] != (len(cells),):
                raise ValueError(
                    f"cell_data[{name!r}] has first dimension {arr.shape[:1]}, expected ({len(cells)},)"
                )
        object.__setattr__(self, "cell_data", data)

    @staticmethod
    def _checked_sets(sets, n, what):
        out = _frozen_mapping(sets, dtype=np.int64)
        for name, idx in out.items():
            if idx.ndim != 1:
                raise ValueError(f"{what} set {name!r} must be a 1-D index array")
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"{what} set {name!r} has indices outside [0, {n - 1}]")
        return out

    # ------------------------------------------------------------------ sizes
    @property
    def n_points(self) -> int:
        """Number of nodes."""
        return self.points.shape[0]

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.cells.shape[0]

    @property
    def n_dofs(self) -> int:
        """Number of displacement degrees of freedom (3 per node)."""
        return 3 * self.n_points

    # ---------------------------------------------------------------- changes
    def replace(self, **changes) -> "Mesh":
        """Return a copy with the given fields replaced."""
        return dataclasses.replace(self, **changes)

    def with_points(self, points) -> "Mesh":
        """Return the same mesh with new node coordinates (mm), e.g. deformed."""
        return self.replace(points=points)

    def with_node_set(self, name: str, nodes) -> "Mesh":
        """Return a copy with node set ``name`` added or replaced."""
        return self.replace(node_sets={**self.node_sets, name: nodes})

    def with_cell_set(self, name: str, cells) -> "Mesh":
        """Return a copy with cell set ``name`` added or replaced."""
        return self.replace(cell_sets={**self.cell_sets, name: cells})

    def with_cell_data(self, name: str, values) -> "Mesh":
        """Return a copy with cell field ``name`` added or replaced."""
        return self.replace(cell_data={**self.cell_data, name: values})

    def node_set(self, name: str) -> np.ndarray:
        """Indices of node set ``name``; a clear ``KeyError`` lists the known sets."""
        try:
            return self.node_sets[name]
        except KeyError:
            raise KeyError(
                f"node set {name!r} not in mesh; available: {sorted(self.node_sets) or 'none'}"
            ) from None

    def cell_set(self, name: str) -> np.ndarray:
        """Indices of cell set ``name``; a clear ``KeyError`` lists the known sets."""
        try:
            return self.cell_sets[name]
        except KeyError:
            raise KeyError(
                f"cell set {name!r} not in mesh; available: {sorted(self.cell_sets) or 'none'}"
            ) from None


@dataclass(frozen=True, eq=False)
class MaterialMap(_Picklable):
    """Per-cell linear-elastic material properties.

    Parameters
    ----------
    E : array_like, shape (n_cells,)
        Young's modulus in MPa; must be > 0.
    nu : array_like, shape (n_cells,)
        Poisson's ratio, in (-1, 0.5).
    tissue : array_like of int, shape (n_cells,), optional
        Index into :data:`TISSUES` for each cell (default: all trabecular).
    density : array_like, shape (n_cells,), optional
        Apparent density in g/cm³ (NaN where not meaningful, e.g. cement).
    law : str, optional
        Name of the density-modulus law used, kept for provenance.
    params : mapping, optional
        Parameters of the law and of the bone-quality level, for provenance.
    anisotropy : array_like, shape (6, 6), optional
        Voigt elasticity matrix per unit ``E`` (dimensionless; order xx, yy,
        zz, yz, xz, xy, engineering shear) of the cells whose tissue is in
        :data:`ANISOTROPIC_TISSUES`: their elasticity matrix is
        ``E[c] * anisotropy`` and ``E`` is then the modulus the law gives (the
        axial one for :func:`vbfem.materials.laws.transverse_isotropic_constants`);
        their ``nu`` is kept for information only. Symmetric positive
        definite. None (default): every cell is isotropic.
    yield_stress : array_like, shape (n_cells,), optional
        Uniaxial compressive yield stress in MPa of the cells whose strength does
        not follow their modulus (damaged bone, cement and cement–bone composite);
        NaN elsewhere, where the tissue's yield strain times ``E`` applies
        (:mod:`vbfem.materials.strength`). None (default): every cell follows
        its tissue's rule.
    stiffness : array_like, shape (n_cells, 6, 6), optional
        Per-cell Voigt elasticity matrices in MPa (order xx, yy, zz, yz, xz, xy,
        engineering shear) of cells whose anisotropy differs from cell to cell
        (e.g. the fibre-reinforced annulus, whose fibres follow the local
        circumferential direction); rows that are NaN leave the cell to ``E``,
        ``nu`` and ``anisotropy``. Finite rows are symmetric positive definite
        and override the other fields for the stiffness (``E``, ``nu`` remain
        for information). None (default): no cell has its own matrix.
    """

    E: np.ndarray
    nu: np.ndarray
    tissue: np.ndarray | None = None
    density: np.ndarray | None = None
    law: str = "explicit"
    params: Mapping[str, object] = field(default_factory=dict)
    anisotropy: np.ndarray | None = None
    yield_stress: np.ndarray | None = None
    stiffness: np.ndarray | None = None

    def __post_init__(self):
        E = np.atleast_1d(np.asarray(self.E, dtype=float))
        nu = np.asarray(self.nu, dtype=float)
        if nu.ndim == 0:
            nu = np.full(E.shape, float(nu))
        if E.ndim != 1 or nu.shape != E.shape:
            raise ValueError(f"E and nu must be 1-D of equal length, got {E.shape} and {nu.shape}")
        if not np.all(np.isfinite(E)) or np.any(E <= 0):
            bad = np.flatnonzero(~(E > 0) | ~np.isfinite(E))
            raise ValueError(
                f"E must be finite and > 0 MPa; cells {bad[:10].tolist()} have E = {E[bad[:3]].tolist()}"
            )
        if not np.all((nu > -1.0) & (nu < 0.5)):
            bad = np.flatnonzero(~((nu > -1.0) & (nu < 0.5)))
            raise ValueError(
                f"nu must be in (-1, 0.5); cells {bad[:10].tolist()} have nu = {nu[bad[:3]].tolist()}"
            )
        tissue = np.zeros(E.shape, np.int8) if self.tissue is None else np.asarray(self.tissue)
        if tissue.shape != E.shape:
            raise ValueError(f"tissue must have shape {E.shape}, got {tissue.shape}")
        if tissue.size and (tissue.min() < 0 or tissue.max() >= len(TISSUES)):
            raise ValueError(f"tissue codes must index TISSUES (0..{len(TISSUES) - 1})")
        density = np.full(E.shape, np.nan) if self.density is None else np.asarray(self.density, float)
        if density.shape != E.shape:
            raise ValueError(f"density must have shape {E.shape}, got {density.shape}")
        object.__setattr__(self, "E", _frozen_array(E, dtype=float))
        object.__setattr__(self, "nu", _frozen_array(nu, dtype=float))
        object.__setattr__(self, "tissue", _frozen_array(tissue, dtype=np.int8))
        object.__setattr__(self, "density", _frozen_array(density, dtype=float))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params or {})))
        if self.anisotropy is not None:
            A = np.asarray(self.anisotropy, dtype=float)
            if A.shape != (6, 6) or not np.all(np.isfinite(A)):
                raise ValueError(f"anisotropy must be a finite (6, 6) Voigt matrix, got shape {A.shape}")
            if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * np.abs(A).max()):
                raise ValueError("anisotropy must be symmetric (a Voigt elasticity matrix per unit E)")
            if np.linalg.eigvalsh(A).min() <= 0:
                raise ValueError(
                    f"anisotropy must be positive definite; its smallest eigenvalue is "
                    f"{np.linalg.eigvalsh(A).min():.3g}"
                )
            object.__setattr__(self, "anisotropy", _frozen_array(0.5 * (A + A.T), dtype=float))
        if self.yield_stress is not None:
            ys = np.asarray(self.yield_stress, dtype=float)
            if ys.shape != E.shape:
                raise ValueError(f"yield_stress must have shape {E.shape}, got {ys.shape}")
            bad = np.flatnonzero(~np.isnan(ys) & ~((ys > 0) & np.isfinite(ys)))
            if bad.size:
                raise ValueError(f"yield_stress must be > 0 MPa or NaN (the tissue's rule); cells "
                                 f"{bad[:10].tolist()} have {ys[bad[:3]].tolist()}")
            object.__setattr__(self, "yield_stress", _frozen_array(ys, dtype=float))
        if self.stiffness is not None:
            object.__setattr__(self, "stiffness", _checked_stiffness(self.stiffness, E.shape[0]))

    @property
    def isotropic(self) -> bool:
        """True when every cell is isotropic (no ``anisotropy`` or no cell of an anisotropic tissue, and no
        cell with its own ``stiffness``)."""
        own = self.stiffness_cells().any()
        return not own and (self.anisotropy is None or not self.anisotropic_cells().any())

    def stiffness_cells(self) -> np.ndarray:
        """Boolean mask of the cells with their own elasticity matrix in ``stiffness`` (all False without)."""
        if self.stiffness is None:
            return np.zeros(self.n_cells, bool)
        return np.isfinite(self.stiffness[:, 0, 0])

    def anisotropic_cells(self) -> np.ndarray:
        """Boolean mask of the cells that take ``anisotropy`` (all False without one)."""
        if self.anisotropy is None:
            return np.zeros(self.n_cells, bool)
        return np.isin(self.tissue, [tissue_code(t) for t in ANISOTROPIC_TISSUES])

    @classmethod
    def uniform(cls, n_cells: int, E: float, nu: float, *, tissue: str = "trabecular") -> "MaterialMap":
        """A homogeneous material: ``E`` in MPa and ``nu`` for all ``n_cells`` cells."""
        return cls(
            E=np.full(n_cells, float(E)),
            nu=np.full(n_cells, float(nu)),
            tissue=np.full(n_cells, tissue_code(tissue), np.int8),
            law="uniform",
        )

    @property
    def n_cells(self) -> int:
        """Number of cells described."""
        return self.E.shape[0]

    def replace(self, **changes) -> "MaterialMap":
        """Return a copy with the given fields replaced."""
        return dataclasses.replace(self, **changes)

    def require_density(self, stage: str) -> np.ndarray:
        """``density`` (g/cm³) for a stage that computes from it; ValueError naming ``stage`` when it is
        NaN in every cell (a map built without density, e.g. :meth:`uniform`), which would otherwise
        give silent zeros (no porosity resistance, no crushing strength, no compacted mass)."""
        if not np.isfinite(self.density).any():
            raise ValueError(f"{stage} needs the apparent density of the bone (MaterialMap.density, g/cm³), but it "
                             "is NaN in every cell; build the map with vbfem.assign_bone or give density=")
        return self.density

    def mask(self, tissue: str) -> np.ndarray:
        """Boolean mask of the cells of tissue ``tissue`` (a name in :data:`TISSUES`)."""
        return self.tissue == tissue_code(tissue)


def _checked_stiffness(stiffness, n_cells: int) -> np.ndarray:
    """``MaterialMap.stiffness`` validated: shape (n_cells, 6, 6), rows all-NaN or finite, symmetric, SPD."""
    C = np.array(stiffness, dtype=float, copy=True)
    if C.shape != (n_cells, 6, 6):
        raise ValueError(f"stiffness must have shape ({n_cells}, 6, 6), got {C.shape}")
    finite = np.isfinite(C).all(axis=(1, 2))
    if not np.all(finite | np.isnan(C).all(axis=(1, 2))):
        bad = np.flatnonzero(~finite & ~np.isnan(C).all(axis=(1, 2)))
        raise ValueError(f"stiffness rows must be all finite or all NaN; cells {bad[:10].tolist()} mix them")
    own = C[finite]
    if own.size:
        scale = np.abs(own).max(axis=(1, 2))
        asym = np.abs(own - own.transpose(0, 2, 1)).max(axis=(1, 2))
        bad = np.flatnonzero(finite)[asym > 1e-12 * scale]
        if bad.size:
            raise ValueError(f"stiffness must be symmetric; cells {bad[:10].tolist()} are not")
        low = np.linalg.eigvalsh(own).min(axis=1)
        bad = np.flatnonzero(finite)[low <= 0]
        if bad.size:
            raise ValueError(f"stiffness must be positive definite; cells {bad[:10].tolist()} have smallest "
                             f"eigenvalue {low[low <= 0][:3].tolist()} MPa")
        C[finite] = 0.5 * (own + own.transpose(0, 2, 1))
    return _frozen_array(C, dtype=float)


def tissue_code(name: str) -> int:
    """Index of tissue ``name`` in :data:`TISSUES`."""
    try:
        return TISSUES.index(name)
    except ValueError:
        raise ValueError(f"unknown tissue {name!r}; allowed: {', '.join(TISSUES)}") from None


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
