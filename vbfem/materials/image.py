"""Bone from an image: the modulus field of a voxel mesh from its calibrated QCT density.

The voxel mesh and its QCT density come from :func:`vbfem.anatomy.image.mesh_from_image`;
QCT equivalent mineral density becomes wet apparent density
(:func:`vbfem.materials.laws.convert_density`) and then moduli by a density law
(:func:`vbfem.materials.bone.assign_bone`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ..records import MaterialMap, Mesh, tissue_code
from .bone import assign_bone
from .laws import DENSITY_LIMITS, DensityLaw, PowerLaw, convert_density, get_law, modulus_from_density

logger = logging.getLogger(__name__)

__all__ = [
    "CAP_YIELD",
    "DENSITY_FLOOR",
    "KELLER1994_YIELD",
    "KEYAK_CORTICAL",
    "LABEL_TISSUES",
    "ClipReport",
    "apparent_density",
    "apparent_from_mineral",
    "bin_moduli",
    "bone_from_image",
    "ct_materials",
]

#: Smallest apparent density (g/cm³) passed to the modulus laws; calibrated
#: voxels below it (marrow, partial volume, noise) are raised to it. A numerical
#: floor, not a published value.
DENSITY_FLOOR = 0.01


@dataclass(frozen=True)
class ClipReport:
    """Densities raised or lowered into a law's range.

    Attributes
    ----------
    n_low, n_high : int
        Voxels (cells) raised to ``low`` / lowered to ``high``.
    n : int
        Voxels checked.
    low, high : float
        The bounds, g/cm³ (apparent).
    where_low, where_high : tuple of int
        Up to 10 indices (cells, or flat voxel indices if given) of each kind.
    """

    n_low: int
    n_high: int
    n: int
    low: float
    high: float
    where_low: tuple = ()
    where_high: tuple = ()

    def __str__(self) -> str:
        return (f"{self.n_low} of {self.n} voxels below {self.low:g} g/cm³ raised to it "
                f"(e.g. {list(self.where_low)}), {self.n_high} above {self.high:g} g/cm³ lowered to it "
                f"(e.g. {list(self.where_high)})")


def apparent_from_mineral(rho_mineral, calibration=None, *, low: float = 0.01,
                          high: float = DENSITY_LIMITS[1], where=None) -> tuple[np.ndarray, ClipReport]:
    """Wet apparent density (g/cm³) from equivalent mineral density, clipped into ``[low, high]``.

    ``rho_ash = ash_slope * rho_mineral + ash_intercept`` (the calibration's
    conversion), then ``rho_app = rho_ash / 0.6``
    (:func:`vbfem.materials.laws.convert_density`). Values below ``low``
    (marrow, noise, partial volume) and above ``high`` (dense cortical
    voxels) are clipped; the :class:`ClipReport` says how many and where
    (``where``: the flat voxel index of each value, for the report).
    """
    from ..anatomy.calibration import CALIBRATED

    calibration = CALIBRATED if calibration is None else calibration
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ValueError(f"density bounds low={low!r}, high={high!r} g/cm³ must satisfy 0 < low < high")
    rho = np.asarray(rho_mineral, float)
    ash = calibration.ash_slope * rho + calibration.ash_intercept
    app = convert_density(ash, source="ash", target="apparent")
    if not np.all(np.isfinite(app)):
        raise ValueError("density has non-finite values: check the image and its calibration")
    lo, hi = app < low, app > high
    idx = np.arange(app.size) if where is None else np.asarray(where).ravel()
    report = ClipReport(int(lo.sum()), int(hi.sum()), int(app.size), float(low), float(high),
                        tuple(int(i) for i in idx[lo.ravel()][:10]), tuple(int(i) for i in idx[hi.ravel()][:10]))
    if report.n_low or report.n_high:
        logger.info("density clipped: %s", report)
    return np.clip(app, low, high), report


def apparent_density(mesh: Mesh, *, floor: float = DENSITY_FLOOR) -> np.ndarray:
    """Wet apparent density (g/cm³) per cell from the mesh's QCT ``density`` cell data.

    QCT equivalent mineral density is converted with
    :func:`vbfem.materials.laws.convert_density` (``qct`` -> ``apparent``); values below
    ``floor`` are raised to it (logged).
    """
    if "density" not in mesh.cell_data:
        raise ValueError("mesh has no cell data 'density': build it with mesh_from_image(..., hu=...)")
    if not (math.isfinite(floor) and floor > 0):
        raise ValueError(f"floor={floor!r} g/cm³ must be > 0")
    rho = convert_density(mesh.cell_data["density"], source="qct", target="apparent")
    low = rho < floor
    if low.any():
        logger.warning("apparent_density: %d of %d cells below %.3g g/cm³ raised to it", low.sum(), rho.size, floor)
    return np.maximum(rho, floor)


def bone_from_image(mesh: Mesh, *, law=None, floor: float = DENSITY_FLOOR, **kwargs):
    """:func:`vbfem.materials.bone.assign_bone` with the image-derived density of :func:`apparent_density`.

    Trabecular cells take the modulus of ``law`` at their apparent density;
    ``cortex`` cells (see ``cortex_labels`` of :func:`mesh_from_image`) get
    the cortical properties of ``bmd`` (keyword arguments go to ``assign_bone``).
    """
    if law is not None:
        kwargs["law"] = law
    return assign_bone(mesh, density=apparent_density(mesh, floor=floor), **kwargs)



# ------------------------------------------------------------------ per-voxel CT-FE materials
#: Yield stress law of the image route: vertebral trabecular bone, σ_y = 284 ρ_ash^2.27 (MPa; ρ_ash g/cm³),
#: Keller 1994 ("Keller for vertebra"), as tabulated in J Orthop Surg Res 2018;13:192
#: (doi:10.1186/s13018-018-0898-7), table 1; the table quotes it with a no-yield floor at ρ_ash <= 0.2,
#: which is NOT applied here (osteoporotic vertebral bone lies below it). Not checked against Keller's paper.
KELLER1994_YIELD = DensityLaw(
    "keller1994_yield", "strength", PowerLaw(284.0, 2.27),
    "Keller. Predicting the compressive mechanical behavior of bone. J Biomech 1994;27:1159-1168 (vertebra); "
    "as tabulated in J Orthop Surg Res 2018;13:192, table 1",
    "ash", (0.05, 0.6), verified=False,
    note="Yield stress. Quoted from a secondary table, unverified against the primary paper.",
)

#: Optional cortical modulus law: E = 10200 ρ_ash^2.01 (MPa) for ρ_ash >= 0.6 g/cm³, Keyak's relation as
#: tabulated in J Orthop Surg Res 2018;13:192 (doi:10.1186/s13018-018-0898-7), table 1. Unverified against
#: the primary paper.
KEYAK_CORTICAL = DensityLaw(
    "keyak_cortical", "modulus", PowerLaw(10200.0, 2.01),
    "Keyak et al.; as tabulated in J Orthop Surg Res 2018;13:192, table 1 (rho_ash >= 0.6 g/cm3)",
    "ash", (0.6, 1.2), verified=False,
    note="Dense-bone branch of a piecewise law; quoted from a secondary table.",
)

#: Image-route label tissues: ``body`` and ``cortex`` form the vertebral body (its axis and the caps'
#: footprint); ``posterior`` are the posterior elements; ``exclude`` is not meshed.
LABEL_TISSUES = ("body", "cortex", "posterior", "exclude")

#: Yield stress (MPa) given to the PMMA caps: the caps stay elastic (they are load introducers, not part of the
#: specimen's failure in CT-FE protocols). A modelling choice, not a material value.
CAP_YIELD = 1.0e6


def ct_materials(mesh: Mesh, *, calibration=None, law="morgan2003", cortical_law=None, yield_law=KELLER1994_YIELD,
                 nu: float = 0.3, cap_E: float | None = None, cap_nu: float | None = None,
                 low: float = DENSITY_FLOOR, high: float = 2.0):
    """Per-voxel CT-FE materials: modulus and yield stress from each bone voxel's own density.

    Every bone cell (cell sets ``body``, ``cortex``, ``posterior``) takes its
    wet apparent density from its equivalent mineral density (cell data
    ``mineral_density``, g/cm³) by the calibration's conversion
    (:func:`apparent_from_mineral`), clipped into
    ``[low, high]`` g/cm³ with a report (never a crash on dense cortical
    voxels); its modulus by ``law`` (cells in ``cortex`` by ``cortical_law`` if
    given) and its compressive yield stress by ``yield_law``. Cap cells
    (``cap_superior``, ``cap_inferior``) are PMMA and stay elastic
    (:data:`CAP_YIELD`).

    Parameters
    ----------
    mesh : Mesh
        From :func:`vbfem.anatomy.ct.ct_mesh`.
    calibration : Calibration, keyword-only
        Its ash conversion is used (default: the project's QCT ≈ ash).
    law, cortical_law : str or DensityLaw, keyword-only
        Modulus laws (registry names of :mod:`vbfem.materials.laws` or records).
    yield_law : DensityLaw, keyword-only
        Density -> compressive yield stress law (MPa), default :data:`KELLER1994_YIELD`.
    nu : float, keyword-only
        Poisson's ratio of bone (0.3: the cortical value of :data:`vbfem.materials.bone.BONE_QUALITY`).
    cap_E, cap_nu : float, keyword-only
        PMMA cap modulus (MPa) and Poisson's ratio (default
        :data:`vbfem.materials.cement.PMMA_E`, ``PMMA_NU``).

    Returns
    -------
    materials : MaterialMap
    report : ClipReport
    """
    from ..anatomy.calibration import CALIBRATED
    from .cement import PMMA_E, PMMA_NU

    cal = CALIBRATED if calibration is None else calibration
    if "mineral_density" not in mesh.cell_data:
        raise ValueError("mesh has no cell data 'mineral_density': build it with vbfem.anatomy.ct.ct_mesh")
    if not (-1.0 < float(nu) < 0.5):
        raise ValueError(f"nu={nu!r} must be in (-1, 0.5)")
    cap_E = PMMA_E if cap_E is None else float(cap_E)
    cap_nu = PMMA_NU if cap_nu is None else float(cap_nu)
    modulus = get_law(law)
    cortical = modulus if cortical_law is None else get_law(cortical_law)
    ylaw = get_law(yield_law, quantity="strength")
    n = mesh.n_cells
    caps = np.zeros(n, bool)
    for name in ("cap_superior", "cap_inferior"):
        if name in mesh.cell_sets:
            caps[mesh.cell_sets[name]] = True
    bone = ~caps
    cortex = np.zeros(n, bool)
    if "cortex" in mesh.cell_sets:
        cortex[mesh.cell_sets["cortex"]] = True
    rho_min = np.asarray(mesh.cell_data["mineral_density"], float)
    where = mesh.cell_data.get("voxel", np.arange(n))
    rho, report = apparent_from_mineral(rho_min[bone], cal, low=low, high=high, where=np.asarray(where)[bone])
    density = np.full(n, np.nan)
    density[bone] = rho
    E = np.full(n, cap_E)
    trab = bone & ~cortex
    E[trab] = modulus_from_density(density[trab], modulus, density_type="apparent")
    if cortex.any():
        E[cortex] = modulus_from_density(density[cortex], cortical, density_type="apparent")
    sy = np.full(n, CAP_YIELD)
    rho_y = convert_density(density[bone], source="apparent", target=ylaw.density_type)
    sy[bone] = ylaw(rho_y)
    tissue = np.full(n, tissue_code("trabecular"), np.int8)
    tissue[cortex] = tissue_code("cortical")
    tissue[caps] = tissue_code("potting")
    nus = np.where(caps, cap_nu, float(nu))
    mat = MaterialMap(E=E, nu=nus, tissue=tissue, density=density, law=modulus.name, yield_stress=sy,
                      params={"route": "image", "law": modulus.name, "cortical_law": cortical.name,
                              "yield_law": ylaw.name, "calibration": cal.to_dict(),
                              "clipped_low": report.n_low, "clipped_high": report.n_high,
                              "cap_E": cap_E, "cap_nu": cap_nu})
    logger.info("ct_materials: %d bone cells (%d cortex), E %.3g-%.3g MPa; %s", int(bone.sum()), int(cortex.sum()),
                float(E[bone].min()) if bone.any() else float("nan"), float(E[bone].max()) if bone.any() else
                float("nan"), report)
    return mat, report


def bin_moduli(materials: MaterialMap, n_bins: int, *, cells=None) -> MaterialMap:
    """Moduli grouped into ``n_bins`` material groups, for export to solvers that want few materials.

    The range ``[min E, max E]`` of ``cells`` (default: every cell) is cut
    into ``n_bins`` bins of equal width; every cell of a bin takes the bin's
    centre value, defined as the **arithmetic mean of its members' moduli**
    (not the bin's mid-point): for equal-volume voxels this keeps each bin's
    summed modulus, hence the model's mean modulus, unchanged. Other cells
    (caps) keep their E.

    Parameters
    ----------
    materials : MaterialMap
    n_bins : int
        Number of groups, >= 1.
    cells : int array, optional, keyword-only
        Cells to bin (e.g. the bone cells).

    Returns
    -------
    MaterialMap
        With at most ``n_bins`` distinct moduli over ``cells``; ``params["moduli_bins"]`` records the rule.
    """
    n = int(n_bins)
    if n != n_bins or n < 1:
        raise ValueError(f"n_bins={n_bins!r} must be an integer >= 1")
    idx = np.arange(materials.n_cells) if cells is None else np.asarray(cells, np.int64)
    E = materials.E.copy()
    e = E[idx]
    lo, hi = float(e.min()), float(e.max())
    which = np.zeros(e.size, np.int64) if hi == lo else np.minimum(((e - lo) / (hi - lo) * n).astype(np.int64), n - 1)
    sums = np.bincount(which, weights=e, minlength=n)
    counts = np.bincount(which, minlength=n)
    E[idx] = sums[which] / counts[which]
    return materials.replace(E=E, params={**materials.params, "moduli_bins": {
        "n_bins": n, "range_MPa": (lo, hi), "rule": "equal-width bins; value = mean modulus of the bin's cells"}})
