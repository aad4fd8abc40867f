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
from dataclasses import dataclass, field

import numpy as np

from ..records import Mesh

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CALIBRATION", "VBFEM_AXCODES", "ImageVolume", "calibrate", "coarsen", "largest_component",
           "load_image", "mesh_from_image", "read_volume", "volume_from_array"]

#: vbfem's patient axes as NIfTI axis codes: +x anterior, +y left, +z superior.
VBFEM_AXCODES = ("A", "L", "S")

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


# ---------------------------------------------------------------- volumes in vbfem's axes
@dataclass(frozen=True, eq=False)
class ImageVolume:
    """A scan (and its label image) resampled to vbfem's axes (+x anterior, +y left, +z superior).

    Attributes
    ----------
    values : ndarray (nx, ny, nz) of float
        Image values (HU or mg/cm³, see :class:`vbfem.anatomy.calibration.Calibration`).
    labels : ndarray (nx, ny, nz) of int, or None
        Label image on the same grid (0 = background).
    spacing : (float, float, float)
        Voxel size along x, y, z, mm.
    source : str
        File(s) read, for messages and provenance.
    axcodes : tuple of str
        The file's own axis codes (e.g. ``("L", "P", "S")``), before reorientation.
    """

    values: np.ndarray
    labels: np.ndarray | None
    spacing: tuple
    source: str = "array"
    axcodes: tuple = VBFEM_AXCODES
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        v = np.asarray(self.values, float)
        if v.ndim != 3:
            raise ValueError(f"{self.source}: image must be 3-D, got shape {v.shape}")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "spacing", tuple(float(x) for x in _spacing(self.spacing)))
        if self.labels is not None:
            lab = np.asarray(self.labels)
            if lab.shape != v.shape:
                raise ValueError(f"{self.source}: the label image has shape {lab.shape} but the scan has {v.shape}; "
                                 "fix: use the segmentation made on this scan (same grid)")
            if not np.issubdtype(lab.dtype, np.integer) and (
                    not np.all(np.isfinite(lab)) or not np.array_equal(lab, np.round(lab))):
                raise ValueError(f"{self.source}: the label image must hold integer labels")
            object.__setattr__(self, "labels", lab.astype(np.int64))


def volume_from_array(values, *, spacing, labels=None, source: str = "array") -> ImageVolume:
    """An :class:`ImageVolume` from arrays already in vbfem's axes (spacing in mm)."""
    return ImageVolume(values, labels, tuple(_spacing(spacing)), source=source)


def _nibabel():
    try:
        import nibabel
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("reading NIfTI images and reorienting scans needs the optional package nibabel "
                          "(pip install 'vbfem[image]')") from None
    return nibabel


def _reorient(data, affine, zooms, path):
    """Flip and permute ``data`` (with its RAS ``affine``) into vbfem's axes: ``(array, spacing, axcodes, info)``."""
    _nibabel()
    from nibabel.orientations import aff2axcodes, apply_orientation, axcodes2ornt, io_orientation, ornt_transform

    zooms = np.asarray(zooms, float)
    axes = affine[:3, :3] / zooms
    oblique = float(np.degrees(np.arccos(np.clip(np.abs(axes).max(axis=0), -1, 1))).max())
    if oblique > 1.0:
        logger.warning("%s: the image axes are oblique by up to %.1f° to the patient axes; the voxels are "
                       "taken along the nearest patient axes", path, oblique)
    codes = tuple(aff2axcodes(affine))
    transform = ornt_transform(io_orientation(affine), axcodes2ornt(VBFEM_AXCODES))
    out = apply_orientation(data, transform)
    spacing = np.empty(3)
    spacing[transform[:, 0].astype(int)] = zooms
    logger.info("%s: axes %s mapped to vbfem's (A, L, S), spacing %s mm, shape %s", path, "".join(codes),
                tuple(spacing.tolist()), out.shape)
    return out, tuple(spacing.tolist()), codes, {"oblique_deg": oblique}


def _oriented(path):
    """Read a NIfTI file or a DICOM series folder, reoriented to vbfem's axes."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file not found: {path}")
    if os.path.isdir(path):
        return _reorient(*_dicom_series(path), path)
    nibabel = _nibabel()
    img = nibabel.load(path)
    with nibabel.openers.ImageOpener(path) as fh:  # the raw header: nibabel's load silently sets pixdim 0 to 1
        raw = type(img.header).from_fileobj(fh, check=False)
    if np.any(np.asarray(raw["pixdim"][1:4], float) <= 0):
        raise ValueError(f"{path}: the header has no valid voxel spacing (pixdim {raw['pixdim'][1:4].tolist()}); "
                         "fix: write the spacing in mm into the NIfTI header (pixdim / affine)")
    if img.ndim != 3 and not (img.ndim == 4 and img.shape[3] == 1):
        raise ValueError(f"{path}: a 3-D image is needed, got shape {img.shape}")
    zooms = np.asarray(img.header.get_zooms()[:3], float)
    hdr = img.header
    if int(hdr["sform_code"]) == 0 and int(hdr["qform_code"]) == 0:
        raise ValueError(f"{path}: the header has no orientation (qform and sform codes are 0), so the patient's "
                         "superior and anterior directions are unknown; fix: save the scan with its scanner affine")
    data = np.asarray(img.dataobj)
    if data.ndim == 4:
        data = data[..., 0]
    return _reorient(data, img.affine, zooms, path)


def _dicom_series(folder):
    """A DICOM series (one folder, one slice per file): ``(values in HU, RAS affine, zooms)``.

    Slices are sorted along the normal of their ImageOrientationPatient by
    ImagePositionPatient; values are ``pixel * RescaleSlope + RescaleIntercept``.
    """
    try:
        import pydicom
        from pydicom.errors import InvalidDicomError
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("reading DICOM series needs the optional package pydicom "
                          "(pip install 'vbfem[dicom]')") from None
    slices = []
    for name in sorted(os.listdir(folder)):
        f = os.path.join(folder, name)
        if not os.path.isfile(f):
            continue
        try:
            ds = pydicom.dcmread(f)
        except InvalidDicomError:
            continue
        if "PixelData" in ds:
            slices.append((f, ds))
    if len(slices) < 2:
        raise ValueError(f"{folder}: a DICOM series of at least 2 slices is needed, found {len(slices)} DICOM image "
                         "file(s)")
    for f, ds in slices:
        for tag in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
            if tag not in ds:
                raise ValueError(f"{f}: the DICOM file has no {tag}, so the scan's spacing or orientation is "
                                 "unknown; fix: export the series with its geometry tags")
    d0 = slices[0][1]
    iop = np.asarray(d0.ImageOrientationPatient, float)
    r, c = iop[:3], iop[3:]
    normal = np.cross(r, c)
    pos = np.array([np.asarray(ds.ImagePositionPatient, float) @ normal for _, ds in slices])
    order = np.argsort(pos)
    slices = [slices[i] for i in order]
    gaps = np.diff(pos[order])
    dz = float(np.median(gaps))
    ps = np.asarray(d0.PixelSpacing, float)  # (row spacing, column spacing)
    if not (dz > 0 and np.all(ps > 0)) or np.ptp(gaps) > 0.01 * dz:
        raise ValueError(f"{folder}: the slices are not evenly spaced (gaps {np.unique(np.round(gaps, 3))} mm) or "
                         f"have no valid spacing (PixelSpacing {ps.tolist()}); fix: export one evenly spaced series")
    data = np.stack([np.asarray(ds.pixel_array, float).T * float(getattr(ds, "RescaleSlope", 1.0))
                     + float(getattr(ds, "RescaleIntercept", 0.0)) for _, ds in slices], axis=2)
    lps = np.eye(4)
    lps[:3, 0] = r * ps[1]  # array axis 0 = DICOM column index j: along the row direction
    lps[:3, 1] = c * ps[0]  # array axis 1 = row index i: along the column direction
    lps[:3, 2] = normal * dz
    lps[:3, 3] = np.asarray(slices[0][1].ImagePositionPatient, float)
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    return data, ras, (ps[1], ps[0], dz)


def read_volume(image, *, labels=None) -> ImageVolume:
    """Read a scan (and its label image) from NIfTI files or DICOM series into vbfem's axes.

    Spacing and orientation come from the header: the array is flipped and
    permuted so that its axes 0, 1, 2 are +x anterior, +y left, +z superior.

    Parameters
    ----------
    image : str or path
        NIfTI scan (``.nii`` or ``.nii.gz``; values in HU or mg/cm³), or a
        folder holding one DICOM series (needs the optional ``pydicom``;
        values ``pixel * RescaleSlope + RescaleIntercept``).
    labels : str or path, optional, keyword-only
        Label image on the same grid (NIfTI, or a DICOM series folder).

    Raises
    ------
    ValueError
        No spacing or no orientation in a header, a label image of another
        shape or orientation.
    """
    values, spacing, codes, info = _oriented(image)
    lab = None
    source = os.fspath(image)
    if labels is not None:
        lab, lspacing, _, _ = _oriented(labels)
        if lab.shape != values.shape or not np.allclose(lspacing, spacing, rtol=1e-4):
            raise ValueError(f"{os.fspath(labels)}: the label image has shape {lab.shape} and spacing {lspacing} "
                             f"but the scan {source} has {values.shape} and {spacing} (both in vbfem's axes); "
                             "fix: use the segmentation made on this scan (same grid)")
        source = f"{source} + {os.fspath(labels)}"
    return ImageVolume(values, lab, spacing, source=source, axcodes=codes, info=info)


def largest_component(mask) -> tuple[np.ndarray, int]:
    """The largest face-connected (6-connected) component of a boolean mask.

    Returns the component as a mask and the number of foreground voxels
    dropped (logged). Voxels that touch only along an edge or at a corner are
    not connected: they would share no face and no stiffness-carrying node pair.
    """
    from scipy import ndimage

    m = np.asarray(mask, bool)
    lab, n = ndimage.label(m)  # default structure: face connectivity
    if n <= 1:
        return m.copy(), 0
    sizes = np.bincount(lab.ravel())[1:]
    keep = int(np.argmax(sizes)) + 1
    out = lab == keep
    dropped = int(m.sum() - out.sum())
    logger.info("largest 6-connected component: kept %d voxels, dropped %d in %d other component(s)",
                int(out.sum()), dropped, n - 1)
    return out, dropped


def coarsen(volume: ImageVolume, factor: int = 2) -> ImageVolume:
    """Coarsen a volume by ``factor`` along each axis: values averaged over each block.

    The label of a coarse voxel is the most frequent non-zero label of its
    block if at least half of the block is labelled, else 0 (a majority rule:
    the volume of the labelled region is kept on average). The grid is cut to a
    multiple of ``factor`` at its high end.
    """
    f = int(factor)
    if f != factor or f < 1:
        raise ValueError(f"coarsen factor={factor!r} must be an integer >= 1")
    if f == 1:
        return volume
    n = np.asarray(volume.values.shape) // f
    if np.any(n == 0):
        raise ValueError(f"coarsen factor={f} is larger than the image {volume.values.shape}")
    cut = tuple(slice(0, int(k) * f) for k in n)

    def blocks(a):
        return a[cut].reshape(n[0], f, n[1], f, n[2], f).transpose(0, 2, 4, 1, 3, 5).reshape(*n, f ** 3)

    values = blocks(volume.values).mean(axis=-1)
    labels = None
    if volume.labels is not None:
        b = blocks(volume.labels)
        labelled = (b != 0).sum(axis=-1) * 2 >= f ** 3
        ids = np.unique(b[b != 0])
        counts = np.stack([(b == i).sum(axis=-1) for i in ids], axis=-1) if ids.size else None
        labels = np.zeros(tuple(n), np.int64)
        if ids.size:
            labels = np.where(labelled, ids[np.argmax(counts, axis=-1)], 0)
    return ImageVolume(values, labels, tuple(np.asarray(volume.spacing) * f), source=f"{volume.source} (x{f})",
                       axcodes=volume.axcodes, info={**volume.info, "coarsened": f})
