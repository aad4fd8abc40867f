"""The per-cell material record: :class:`MaterialMap`, the tissue labels and :func:`tissue_code`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ._frozen import _frozen_array, _Picklable

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
    def uniform(cls, n_cells: int, E: float, nu: float, *, tissue: str = "trabecular") -> MaterialMap:
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

    def replace(self, **changes) -> MaterialMap:
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
