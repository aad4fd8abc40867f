"""Endplate caps on voxel images: PMMA layers cast flat on both endplates of a vertebral body.

CT-FE protocols load a vertebral body through PMMA caps cast flat on its
endplates. Here the caps are voxels added to the label image: above the
superior endplate and below the inferior one, in every image column of the body (its footprint along z, from the
column's top or bottom body voxel), out to a plane normal to the body's
axis. The axis is the bisector of the normals of planes fitted to the two
endplates, signed towards the scan's superior direction; it is found from the body's endplates (:func:`body_axis`), not
taken from the image axes. When the
axis is tilted against the grid the caps' outer faces are voxel staircases
within one voxel of the plane; for an axis along the grid they are flat.

Lengths in mm. Axes: +x anterior, +y left, +z superior (vbfem's; see
:func:`vbfem.anatomy.image.read_volume`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["MAX_TILT", "CapInfo", "add_caps", "align_to_axis", "body_axis", "cap_node_sets"]

#: Largest angle (degrees) between the body's axis and the scan's superior axis
#: accepted: beyond it the superior direction is not taken to be found.
MAX_TILT = 45.0


def body_axis(mask, spacing, *, source: str = "image") -> tuple[np.ndarray, np.ndarray]:
    """The vertebral body's axis from its endplates: ``(unit axis, centroid)`` in mm.

    A plane is fitted (least squares) to each endplate: the top (bottom) face
    of the highest (lowest) body voxel of every image column whose bone is at
    least half the tallest column, away from the rim (where columns graze a
    tilted side wall; the rim's width follows the tilt, refitted three times). The axis is the bisector of the two planes' normals, signed
    towards +z (the scan's superior direction): normal to parallel endplates,
    the mid-plane direction of a wedged body.

    Raises
    ------
    ValueError
        An empty body, a body taller than it is wide (not one vertebral body
        standing along z: the superior direction cannot be found), or an axis
        tilted by more than :data:`MAX_TILT` from the scan's z axis.
    """
    m = np.asarray(mask, bool)
    s = np.asarray(spacing, float)
    if not m.any():
        raise ValueError(f"{source}: the body label is empty; fix: check the label image and the label -> tissue "
                         "table (which labels are 'body')")
    c = ((np.argwhere(m) + 0.5) * s).mean(axis=0)
    nz = m.shape[2]
    has = m.any(axis=2)
    k_top = nz - 1 - np.argmax(m[:, :, ::-1], axis=2)
    k_bot = np.argmax(m, axis=2)
    height = np.where(has, (k_top - k_bot + 1) * s[2], 0.0)
    ij = np.argwhere(has)
    lateral = (np.ptp(ij, axis=0) + 1) * s[:2]
    typical = float(np.median(height[has]))
    if ij.shape[0] < 4 or typical > lateral.min():
        raise ValueError(f"{source}: the superior direction cannot be found: the body is {typical:.3g} mm tall along "
                         f"the scan's z axis but only {lateral.min():.3g} mm wide; a vertebral body is wider than "
                         "tall; fix: check the header's orientation and that the body label holds one body")
    from scipy import ndimage

    tall = has & (height >= 0.5 * height.max())
    tilt = 0.0
    for _ in range(3):  # leave out the rim, whose columns graze the tilted side wall; refit
        rim = math.ceil(typical * math.tan(math.radians(min(tilt, MAX_TILT))) / s[:2].min()) + 1
        central = ndimage.binary_erosion(tall, iterations=rim)
        if central.sum() < 4:
            central = tall
        i, j = np.nonzero(central)
        A = np.column_stack([np.ones(i.size), (i + 0.5) * s[0], (j + 0.5) * s[1]])
        normals = []
        for z in ((k_top[central] + 1) * s[2], k_bot[central] * s[2]):
            coef = np.linalg.lstsq(A, z, rcond=None)[0]
            v = np.array([-coef[1], -coef[2], 1.0])
            normals.append(v / np.linalg.norm(v))
        n = normals[0] + normals[1]
        n /= np.linalg.norm(n)
        tilt = math.degrees(math.acos(min(1.0, abs(n[2]))))
    tilt = math.degrees(math.acos(min(1.0, abs(n[2]))))
    if tilt > MAX_TILT:
        raise ValueError(f"{source}: the superior direction cannot be found: the endplates' axis "
                         f"{np.round(n, 3).tolist()} is {tilt:.0f}° from the scan's superior axis (max {MAX_TILT:g}°); "
                         "fix: check the header's orientation (the body's axis must be near the patient's head-feet "
                         "axis)")
    return n, c


@dataclass(frozen=True)
class CapInfo:
    """Caps added by :func:`add_caps`.

    Attributes
    ----------
    superior_label, inferior_label : int
        Labels of the cap voxels in the returned image.
    axis : ndarray (3,)
        Unit body axis.
    tilt : float
        Angle of the axis from +z, degrees.
    thickness : float
        Cap thickness at the highest (lowest) endplate point, mm.
    pad : (int, int, int)
        Voxels added at each end of each axis; index ``i`` in the input is
        ``i + pad`` in the output.
    n_superior, n_inferior : int
        Cap voxels.
    """

    superior_label: int
    inferior_label: int
    axis: np.ndarray
    tilt: float
    thickness: float
    pad: tuple
    n_superior: int
    n_inferior: int


def add_caps(labels, spacing, *, body, thickness: float = 5.0, axis=None, source: str = "image"):
    """Add PMMA cap voxels above and below the body, out to planes normal to its axis.

    Parameters
    ----------
    labels : ndarray (nx, ny, nz) of int
        Label image in vbfem's axes (0 = background).
    spacing : 3 floats
        Voxel size, mm.
    body : ndarray of bool, same shape
        The vertebral body's voxels (they define the axis and the footprint).
    thickness : float, keyword-only, default 5 mm
        Cap thickness at the body's highest (lowest) endplate point, mm. (5 mm:
        vbfem's potting layer default, :func:`vbfem.mechanics.loadcases.with_potting`.)
    axis : 3 floats, optional, keyword-only
        The body's axis (unit, towards +z); default :func:`body_axis`.

    Returns
    -------
    labels : ndarray of int
        Padded label image with the caps (labels ``max + 1`` superior and
        ``max + 2`` inferior).
    body : ndarray of bool
        The body mask, padded alike.
    info : CapInfo
    """
    lab = np.asarray(labels, np.int64)
    b = np.asarray(body, bool)
    s = np.asarray(spacing, float)
    if not (math.isfinite(thickness) and thickness > 0):
        raise ValueError(f"cap thickness={thickness!r} mm must be > 0")
    if axis is None:
        n, _ = body_axis(b, s, source=source)
    else:
        n = np.asarray(axis, float) / np.linalg.norm(axis)
        if n.shape != (3,) or n[2] <= 0:
            raise ValueError(f"axis={axis!r} must be 3 components pointing to +z")
    tilt = math.degrees(math.acos(min(1.0, abs(n[2]))))
    extent = (np.ptp(np.argwhere(b), axis=0) + 1) * s
    rise = float(np.hypot(extent[0], extent[1]) * math.tan(math.radians(tilt)))
    pz = math.ceil((thickness + rise) / s[2]) + 1
    pxy = [math.ceil(pz * s[2] * math.sin(math.radians(tilt)) / s[a]) + 1 for a in (0, 1)]
    pad = (pxy[0], pxy[1], pz)
    lab = np.pad(lab, [(p, p) for p in pad])
    b = np.pad(b, [(p, p) for p in pad])
    # caps fill each image column (i, j) of the body from its top (bottom) body voxel to the plane normal to
    # the axis: the body's footprint along z, capped by the tilted plane (a staircase when tilted)
    shape = lab.shape
    k = np.arange(shape[2])
    has = b.any(axis=2)
    k_top = np.where(has, shape[2] - 1 - np.argmax(b[:, :, ::-1], axis=2), -1)
    k_bot = np.where(has, np.argmax(b, axis=2), shape[2])
    x = (np.indices(shape).transpose(1, 2, 3, 0) + 0.5) * s
    sn = x @ n
    half = 0.5 * float(np.abs(n) @ s)  # half extent of a voxel along the axis
    plane_sup = float(sn[b].max()) + half + thickness
    plane_inf = float(sn[b].min()) - half - thickness
    free = lab == 0
    kk = k[None, None, :]
    sup = free & has[:, :, None] & (kk > k_top[:, :, None]) & (sn + half <= plane_sup + 1e-9 * s.max())
    inf = free & has[:, :, None] & (kk < k_bot[:, :, None]) & (sn - half >= plane_inf - 1e-9 * s.max())
    if tilt > 0:  # a voxel straddling the tilted plane belongs to the cap if its centre is inside
        sup |= free & has[:, :, None] & (kk > k_top[:, :, None]) & (sn <= plane_sup) & (sn + half > plane_sup)
        inf |= free & has[:, :, None] & (kk < k_bot[:, :, None]) & (sn >= plane_inf) & (sn - half < plane_inf)
    # keep caps face-connected above (below) the body: stop a column at the first non-free voxel
    sup &= np.cumsum(~(sup | (kk <= k_top[:, :, None])), axis=2) == 0
    inf &= np.cumsum(~(inf | (kk >= k_bot[:, :, None]))[:, :, ::-1], axis=2)[:, :, ::-1] == 0
    lab_sup = int(lab.max()) + 1
    lab_inf = lab_sup + 1
    out = lab.copy()
    out[sup] = lab_sup
    out[inf] = lab_inf
    info = CapInfo(lab_sup, lab_inf, n, tilt, float(thickness), pad, int(sup.sum()), int(inf.sum()))
    logger.info("%s: endplate caps, axis %s (tilt %.1f°), %d superior and %d inferior cap voxels, %.3g mm thick",
                source, np.round(n, 3).tolist(), tilt, info.n_superior, info.n_inferior, thickness)
    return out, b, info


def cap_node_sets(mesh, info: CapInfo, shape) -> dict[str, np.ndarray]:
    """Node sets ``superior`` / ``inferior`` on the caps' outer faces of a voxel mesh.

    ``mesh`` is :func:`vbfem.anatomy.image.mesh_from_image` of the capped
    label image of shape ``shape``: a cap voxel's +z (-z) face is outer when
    the voxel beyond it is not in the mesh. (The caps' planes are within
    :data:`MAX_TILT` of the grid's xy plane, so z is the grid axis of the outer faces.)
    """
    label = mesh.cell_data["label"]
    vox = mesh.cell_data["voxel"]
    present = np.zeros(int(np.prod(shape)), bool)
    present[vox] = True
    present = present.reshape(shape)
    out = {}
    for name, lab, dk, corners in (("superior", info.superior_label, 1, slice(4, 8)),
                                   ("inferior", info.inferior_label, -1, slice(0, 4))):
        cells = np.flatnonzero(label == lab)
        i, j, k = np.unravel_index(vox[cells], shape)
        kk = k + dk
        inside = (kk >= 0) & (kk < shape[2])
        exposed = np.ones(cells.size, bool)
        exposed[inside] = ~present[i[inside], j[inside], kk[inside]]
        nodes = np.unique(mesh.cells[cells[exposed], corners])
        if nodes.size == 0:
            raise ValueError(f"the {name} cap has no outer face: the body reaches the image edge")
        out[name] = nodes
    return out


def align_to_axis(values, labels, spacing, axis, centre):
    """Resample a scan and its labels so that ``axis`` becomes +z (rotation about ``centre``).

    The smallest rotation taking the unit ``axis`` to +z is applied about
    ``centre`` (mm, in the frame where voxel ``ijk`` has its centre at
    ``(ijk + 0.5) * spacing``); the output grid keeps the spacing and holds the
    whole rotated volume. Values are interpolated linearly (outside: the
    nearest edge value), labels by nearest neighbour (outside: 0).

    Returns
    -------
    values, labels : ndarray
        On the new grid.
    rotation : ndarray (3, 3)
        ``R`` with ``R @ axis = (0, 0, 1)``.
    """
    from scipy import ndimage

    s = np.asarray(spacing, float)
    n = np.asarray(axis, float) / np.linalg.norm(axis)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(n, z)
    sin, cos = float(np.linalg.norm(v)), float(n @ z)
    if sin < 1e-12:
        return values, labels, np.eye(3)
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    R = np.eye(3) + vx + vx @ vx * ((1.0 - cos) / sin ** 2)
    c = np.asarray(centre, float)
    shape = np.asarray(values.shape)
    corners = np.array([[a, b, d] for a in (0, 1) for b in (0, 1) for d in (0, 1)]) * shape * s
    rotated = (corners - c) @ R.T + c
    y0 = rotated.min(axis=0)
    out_shape = tuple(int(k) for k in np.ceil((rotated.max(axis=0) - y0) / s))
    # output voxel o has its centre at y = y0 + (o + 0.5) s; its source point is x = c + R^T (y - c)
    matrix = np.diag(1.0 / s) @ R.T @ np.diag(s)
    offset = (c + R.T @ (y0 + 0.5 * s - c)) / s - 0.5
    vals = ndimage.affine_transform(np.asarray(values, float), matrix, offset, output_shape=out_shape, order=1,
                                    mode="nearest")
    labs = ndimage.affine_transform(np.asarray(labels), matrix, offset, output_shape=out_shape, order=0,
                                    mode="constant", cval=0)
    return vals, labs, R
