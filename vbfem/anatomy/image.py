"""Voxel route: a labelled 3-D image with a spacing becomes a hex8 mesh with a density field.

One hexahedron per foreground voxel, nodes shared between neighbouring
voxels (a staircase, not boundary-fitted: use :func:`vbfem.anatomy.mesher.mesh_vertebra`
for boundary-fitted meshes). Everything is vectorised over voxels.

Voxel ``image[i, j, k]`` occupies ``origin + [i, i+1] sx`` x ``[j, j+1] sy`` x
``[k, k+1] sz`` (mm), so array axes 0, 1, 2 are x, y, z (+x anterior, +y left,
+z superior when the image is in the project's frame).

Densities
---------
A CT image in Hounsfield units (HU) is turned into an *equivalent mineral
density* (QCT density, g/cm³ of K2HPO4 or hydroxyapatite equivalent) by a
linear phantom calibration ``rho_QCT = slope * HU + intercept``. The
calibration is scanner- and protocol-specific: pass the one of your phantom.
The default :data:`DEFAULT_CALIBRATION` (0.8 mg/cm³ per HU, intercept 0) is a
typical order of magnitude for K2HPO4-phantom QCT at 120 kVp (simultaneous
phantom calibration after Cann & Genant, J Comput Assist Tomogr 1980;4:493);
it is an APPROXIMATE, UNVERIFIED value for illustration, not a calibration.
:func:`vbfem.materials.image.apparent_density` converts QCT to wet apparent
density for :func:`vbfem.materials.bone.assign_bone`
(:func:`vbfem.materials.image.bone_from_image` does both).
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np

from ..records import Mesh

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CALIBRATION", "calibrate", "load_image", "mesh_from_image"]

#: (slope g/cm³ per HU, intercept g/cm³) of a linear HU -> QCT equivalent mineral
#: density calibration. APPROXIMATE, UNVERIFIED typical K2HPO4-phantom value
#: (about 0.8 mg/cm³ per HU, water at 0 HU -> 0); always prefer the scanner's
#: own phantom calibration (Cann & Genant 1980).
DEFAULT_CALIBRATION = (0.8e-3, 0.0)

def load_image(path):
    """Read a NIfTI image: returns ``(array, spacing_mm, origin_mm)``.

    Needs the optional ``nibabel`` package. The spacing is the voxel size from
    the header (``get_zooms``), the origin the translation of the affine
    (oblique affines are not supported: the mesh is axis-aligned).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        import nibabel
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("reading NIfTI images needs the optional package nibabel (pip install nibabel)") from None
    img = nibabel.load(path)
    data = np.asarray(img.dataobj)
    spacing = tuple(float(z) for z in img.header.get_zooms()[:3])
    origin = tuple(float(v) for v in img.affine[:3, 3])
    return data, spacing, origin


def calibrate(hu, calibration=DEFAULT_CALIBRATION) -> np.ndarray:
    """QCT equivalent mineral density (g/cm³) from CT numbers (HU).

    Parameters
    ----------
    hu : array_like
        CT numbers, HU.
    calibration : (slope, intercept) or callable
        ``rho = slope * HU + intercept`` with slope in g/cm³ per HU and
        intercept in g/cm³, or a function HU array -> g/cm³.
    """
    hu = np.asarray(hu, float)
    if callable(calibration):
        rho = np.asarray(calibration(hu), float)
        if rho.shape != hu.shape:
            raise ValueError(f"calibration callable returned shape {rho.shape}, expected {hu.shape}")
        return rho
    try:
        slope, intercept = (float(v) for v in calibration)
    except (TypeError, ValueError):
        raise TypeError(
            f"calibration must be (slope g/cm³/HU, intercept g/cm³) or a callable, got {calibration!r}"
        ) from None
    if not (math.isfinite(slope) and math.isfinite(intercept) and slope > 0):
        raise ValueError(f"calibration slope={slope!r} must be finite and > 0 g/cm³ per HU "
                         f"(intercept={intercept!r} finite)")
    return slope * hu + intercept


def _spacing(spacing):
    if spacing is None:
        raise ValueError("spacing is required: the voxel size (sx, sy, sz) in mm (or one number for cubic voxels)")
    s = np.broadcast_to(np.asarray(spacing, float), (3,)) if np.ndim(spacing) == 0 else np.asarray(spacing, float)
    if s.shape != (3,):
        raise ValueError(f"spacing must be one number or three (sx, sy, sz) in mm, got {spacing!r}")
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError(f"spacing={tuple(s.tolist())} mm must be finite and > 0 along every axis")
    return s.astype(float)


def mesh_from_image(image, *, spacing=None, labels=None, hu=None, calibration=DEFAULT_CALIBRATION,
                    origin=None, cortex_labels=()) -> Mesh:
    """Hex8 mesh of the foreground voxels of a labelled 3-D image.

    Parameters
    ----------
    image : ndarray (nx, ny, nz) of int, or path to a NIfTI file
        Label image (0 = background). A path needs the optional ``nibabel``;
        its header then gives ``spacing`` and ``origin`` unless passed here.
    spacing : float or 3 floats, keyword-only
        Voxel size in mm; required for arrays.
    labels : int or sequence of int, optional, keyword-only
        Labels meshed (default: every non-zero label).
    hu : ndarray (nx, ny, nz) or path, optional, keyword-only
        CT numbers (HU) on the same grid; gives cell data ``hu`` and
        ``density`` (QCT equivalent mineral density, g/cm³, via ``calibration``).
    calibration : (slope, intercept) or callable, keyword-only
        HU -> g/cm³, see :func:`calibrate` and :data:`DEFAULT_CALIBRATION`.
    origin : 3 floats, optional, keyword-only
        Position of the corner of voxel (0, 0, 0), mm (default (0, 0, 0), or
        the NIfTI affine's translation).
    cortex_labels : sequence of int, keyword-only
        Labels that form the cell set ``cortex`` (cortical tissue for
        :func:`vbfem.materials.bone.assign_bone`); every other foreground cell is in
        ``trabecular``.

    Returns
    -------
    Mesh
        ``hex8``, one cell per foreground voxel in C order of the image, nodes
        shared. Cell data ``label`` (int), ``voxel`` (flat index into the
        image) and, with ``hu``, ``hu`` and ``density``. Cell sets
        ``label_<n>`` per label, ``cortex``, ``trabecular``. Node sets
        ``xmin`` ... ``zmax`` (nodes on the faces of the foreground's bounding
        box), ``bottom`` = ``zmin``, ``top`` = ``zmax``.

    Raises
    ------
    ValueError
        No spacing, non-positive spacing, an image that is not 3-D, ``hu`` of
        another shape, or no foreground voxel.
    """
    if isinstance(image, (str, os.PathLike)):
        data, file_spacing, file_origin = load_image(image)
        spacing = file_spacing if spacing is None else spacing
        origin = file_origin if origin is None else origin
        image = data
    if isinstance(hu, (str, os.PathLike)):
        hu = load_image(hu)[0]
    img = np.asarray(image)
    if img.ndim != 3:
        raise ValueError(f"image must be a 3-D array (nx, ny, nz), got {img.ndim}-D with shape {img.shape}")
    if not (np.issubdtype(img.dtype, np.integer) or img.dtype == bool):
        if not np.all(np.isfinite(img)) or not np.array_equal(img, np.round(img)):
            raise ValueError("image must hold integer labels (0 = background)")
        img = img.astype(np.int64)
    s = _spacing(spacing)
    o = np.asarray((0.0, 0.0, 0.0) if origin is None else origin, float)
    if o.shape != (3,) or not np.all(np.isfinite(o)):
        raise ValueError(f"origin must be three finite coordinates in mm, got {origin!r}")
    if hu is not None:
        hu = np.asarray(hu, float)
        if hu.shape != img.shape:
            raise ValueError(f"hu must have the image's shape {img.shape}, got {hu.shape}")
    if labels is None:
        fg = img != 0
    else:
        wanted = np.atleast_1d(np.asarray(labels)).astype(np.int64)
        fg = np.isin(img, wanted)
    if not fg.any():
        raise ValueError(f"image has no foreground voxel (labels={labels!r})")

    _, ny, nz = img.shape
    vox = np.flatnonzero(fg)  # C order
    i, j, k = np.unravel_index(vox, img.shape)
    # corner offsets in VTK hex8 order: bottom face (z=k) counter-clockwise, then top
    di = np.array([0, 1, 1, 0, 0, 1, 1, 0])
    dj = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    dk = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    gid = ((i[:, None] + di) * (ny + 1) + (j[:, None] + dj)) * (nz + 1) + (k[:, None] + dk)
    used, cells = np.unique(gid, return_inverse=True)
    cells = cells.reshape(-1, 8)
    gi, rem = np.divmod(used, (ny + 1) * (nz + 1))
    gj, gk = np.divmod(rem, nz + 1)
    points = o + np.column_stack([gi, gj, gk]) * s

    label = img.ravel()[vox].astype(np.int64)
    cell_sets = {f"label_{int(v)}": np.flatnonzero(label == v) for v in np.unique(label)}
    is_cortex = np.isin(label, np.asarray(cortex_labels, np.int64)) if len(cortex_labels) else np.zeros(label.size, bool)
    cell_sets["cortex"] = np.flatnonzero(is_cortex)
    cell_sets["trabecular"] = np.flatnonzero(~is_cortex)
    cell_data = {"label": label, "voxel": vox.astype(np.int64)}
    if hu is not None:
        h = hu.ravel()[vox]
        cell_data["hu"] = h
        cell_data["density"] = calibrate(h, calibration)

    grid = np.column_stack([gi, gj, gk])
    node_sets = {}
    for c, name in enumerate("xyz"):
        node_sets[f"{name}min"] = np.flatnonzero(grid[:, c] == grid[:, c].min())
        node_sets[f"{name}max"] = np.flatnonzero(grid[:, c] == grid[:, c].max())
    node_sets["bottom"], node_sets["top"] = node_sets["zmin"], node_sets["zmax"]
    mesh = Mesh(points, cells, "hex8", node_sets=node_sets, cell_sets=cell_sets, cell_data=cell_data)
    logger.info("voxel mesh: %d hex8 cells, %d nodes from a %s image at %s mm",
                mesh.n_cells, mesh.n_points, img.shape, tuple(s.tolist()))
    return mesh
