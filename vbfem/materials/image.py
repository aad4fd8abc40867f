"""Bone from an image: the modulus field of a voxel mesh from its calibrated QCT density.

The voxel mesh and its QCT density come from :func:`vbfem.anatomy.image.mesh_from_image`;
QCT equivalent mineral density becomes wet apparent density
(:func:`vbfem.materials.laws.convert_density`) and then moduli by a density law
(:func:`vbfem.materials.bone.assign_bone`).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ..records import Mesh
from .bone import assign_bone
from .laws import convert_density

logger = logging.getLogger(__name__)

__all__ = ["DENSITY_FLOOR", "apparent_density", "bone_from_image"]

#: Smallest apparent density (g/cm³) passed to the modulus laws; calibrated
#: voxels below it (marrow, partial volume, noise) are raised to it. A numerical
#: floor, not a published value.
DENSITY_FLOOR = 0.01


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

