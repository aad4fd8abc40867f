"""A parametric :class:`~vbfem.anatomy.geometry.Geometry` fitted to the closed surface of a real vertebra.

Route (option (a) of issue 3: the parametric shape's dimensions are measured
on the real surface; the mesh then follows the parametric shape, not every
detail of the surface):

1. read the triangle surface (STL, PLY, OBJ, VTK/VTU/VTP... via meshio, with
   pyvista as a fallback), merge duplicate vertices, and check that it is
   closed and manifold (every edge shared by exactly two triangles);
2. voxelise the solid on a regular grid by vertical ray casting (parity of
   the crossings below each voxel centre; vectorised over triangles);
3. separate the body from the posterior elements: along the midline (y = 0)
   the body's run of bone ends at the posterior wall, behind which is the
   spinal canal; the body is the bone anterior to that wall (cut at the
   pedicle roots). The pedicles are the two bone regions in a slab just
   behind the cut, one each side of the canal;
4. measure: endplate width and depth (near the endplates), mid-height waist,
   anterior / posterior / central heights (giving the endplate
   concavities), pedicle width, height, centroids and axis (line through the
   pedicle centroids of two slabs), canal width between the pedicles.

Dimensions that a surface cannot show (cortical shell and endplate
thickness, the extent of the endplate concavity, the posterior-wall dent)
keep the table defaults of :mod:`vbfem.anatomy.morphometry`.

Axes +x anterior, +y left, +z cranial; mm.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass

import numpy as np

from . import morphometry as _morph
from .geometry import Geometry

logger = logging.getLogger(__name__)

__all__ = ["SurfaceFit", "fit_quality", "fit_surface", "from_surface", "read_surface", "voxelize_surface"]

#: Distances (mm) behind the body/pedicle cut of the slab where the pedicle
#: roots are measured (behind the body's posterolateral corners, in front of
#: the articular and transverse processes) and of the range searched for
#: the pedicle isthmus, whose slice centroids define the pedicle axis. Model choice checked on the L2-L5 mean shapes
#: of Clouthier et al. 2023 (lumbar pedicles are about 15-20 mm long).
_ROOT_SLAB = (3.5, 6.0)
_AXIS_SLAB = (2.5, 10.0)
#: Slices at most this factor wider than the narrowest belong to the isthmus.
_ISTHMUS_GROWTH = 1.15

_EXTENSIONS = (".stl", ".ply", ".obj", ".vtk", ".vtp", ".vtu", ".off")

#: Most voxels :func:`voxelize_surface` builds (about 32 bytes each at its peak, so 1.6 GB). A whole
#: lumbar vertebra (about 90 x 93 x 50 mm, the L3 of the shape model) takes 3.6 M voxels at 0.5 mm;
#: a surface in micrometres or scaled by 1000 would take 1e18.
MAX_VOXELS = 50_000_000


@dataclass(frozen=True)
class SurfaceFit:
    """Result of :func:`fit_surface`.

    Attributes
    ----------
    geometry : Geometry
        The fitted body, centred at the origin (mid-height z = 0).
    offset : ndarray (3,)
        Position of the geometry's origin in the surface's frame, mm:
        ``surface point = geometry point + offset``.
    body_volume : float
        Volume of the separated body (voxels of the solid anterior to the cut), mm³.
    geometry_volume : float
        ``geometry.volume()``, mm³.
    cut_x : float
        The body/pedicle cut plane ``x = cut_x`` in the surface frame, mm.
    pedicle_centroids : dict
        ``{"left": (3,), "right": (3,)}`` pedicle centroids at the root slab, surface frame, mm.
    spacing : float
        Voxel size used, mm.
    """

    geometry: Geometry
    offset: np.ndarray
    body_volume: float
    geometry_volume: float
    cut_x: float
    pedicle_centroids: dict
    spacing: float


def read_surface(path):
    """Read a closed triangle surface: ``(points (n, 3), triangles (m, 3))`` with duplicates merged.

    Raises
    ------
    FileNotFoundError
        The file does not exist (names the path).
    ValueError
        Unsupported extension, no triangles, or a surface that is not closed
        and manifold (every edge must be shared by exactly two triangles).
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise ValueError(f"surface file {path!r} has unsupported extension {ext!r}; allowed: {', '.join(_EXTENSIONS)}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"surface file not found: {path}")
    points, tris = None, None
    try:
        import meshio

        m = meshio.read(path)
        blocks = [c.data for c in m.cells if c.type == "triangle"]
        if blocks:
            points, tris = np.asarray(m.points, float)[:, :3], np.vstack(blocks).astype(np.int64)
    except Exception as err:  # noqa: BLE001 - fall back to pyvista below
        logger.debug("meshio could not read %s (%s); trying pyvista", path, err)
    if tris is None:
        import pyvista

        poly = pyvista.read(path).extract_surface().triangulate()
        points = np.asarray(poly.points, float)
        tris = np.asarray(poly.faces).reshape(-1, 4)[:, 1:].astype(np.int64)
    if tris.size == 0:
        raise ValueError(f"surface file {path!r} holds no triangles")
    # merge duplicate vertices (STL stores each triangle's corners separately)
    scale = max(float(np.ptp(points, axis=0).max()), 1e-12)
    key = np.round(points / (1e-9 * scale)).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    points = points[first]
    tris = inverse.reshape(-1)[tris]
    tris = tris[(tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])]
    _check_closed_manifold(tris, path)
    return points, tris


def _check_closed_manifold(tris, path):
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    bad = counts != 2
    if bad.any():
        n_open = int(np.count_nonzero(counts == 1))
        n_non = int(np.count_nonzero(counts > 2))
        raise ValueError(
            f"surface {path!r} is not a closed manifold: every edge must be shared by exactly two triangles, "
            f"but {n_open} edges belong to one triangle (holes) and {n_non} to more than two (non-manifold)"
        )


def voxelize_surface(points, tris, *, spacing=0.5):
    """Inside/outside voxel image of a closed surface by vertical ray casting.

    Returns
    -------
    inside : ndarray of bool (nx, ny, nz)
    origin : ndarray (3,)
        Corner of voxel (0, 0, 0), mm; voxel centres at ``origin + (ijk + 0.5) spacing``.
    """
    h = float(spacing)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"spacing={spacing!r} mm must be > 0")
    lo = points.min(axis=0) - 2.0 * h
    hi = points.max(axis=0) + 2.0 * h
    # a tiny irrational shift keeps ray columns off triangle edges and vertices
    lo = lo - h * np.array([0.1234567, 0.2718281, 0.0])
    extent = hi - lo
    n_voxels = float(np.prod(np.ceil(extent / h)))  # float: the count of a scaled surface overflows int64
    if not n_voxels <= MAX_VOXELS:
        fits = float(np.cbrt(np.prod(extent) / MAX_VOXELS))
        raise ValueError(
            f"surface of {' x '.join(f'{v:.4g}' for v in np.ptp(points, axis=0))} mm at spacing={h:g} mm needs "
            f"{n_voxels:.3g} voxels; allowed at most {MAX_VOXELS:.3g} (vbfem.anatomy.surface.MAX_VOXELS). A "
            f"vertebra spans about 30-100 mm: is the file in mm (not micrometres or scaled)? Else spacing >= "
            f"{fits:.3g} mm fits")
    shape = np.ceil(extent / h).astype(int)
    nx, ny, nz = shape
    P = points[tris]  # (m, 3, 3)
    # columns whose centres fall inside each triangle's xy bounding box
    ilo = np.ceil((P[:, :, 0].min(1) - lo[0]) / h - 0.5).astype(int)
    ihi = np.floor((P[:, :, 0].max(1) - lo[0]) / h - 0.5).astype(int)
    jlo = np.ceil((P[:, :, 1].min(1) - lo[1]) / h - 0.5).astype(int)
    jhi = np.floor((P[:, :, 1].max(1) - lo[1]) / h - 0.5).astype(int)
    ni = np.maximum(ihi - ilo + 1, 0)
    nj = np.maximum(jhi - jlo + 1, 0)
    count = ni * nj
    tri = np.repeat(np.arange(len(tris)), count)
    local = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ci = ilo[tri] + local // nj[tri]
    cj = jlo[tri] + local % nj[tri]
    x = lo[0] + (ci + 0.5) * h
    y = lo[1] + (cj + 0.5) * h
    a, b, c = P[tri, 0], P[tri, 1], P[tri, 2]
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    ok = np.abs(det) > 1e-14
    with np.errstate(divide="ignore", invalid="ignore"):
        u = ((x - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (y - a[:, 1])) / det
        v = ((b[:, 0] - a[:, 0]) * (y - a[:, 1]) - (x - a[:, 0]) * (b[:, 1] - a[:, 1])) / det
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1)
    zh = (a[:, 2] + u * (b[:, 2] - a[:, 2]) + v * (c[:, 2] - a[:, 2]))[hit]
    col = (ci * ny + cj)[hit]
    # parity of the crossings below each voxel centre, per column
    span = (hi[2] - lo[2]) + 10.0 * h
    key = np.sort(col * span + (zh - lo[2]))
    col_start = np.searchsorted(key, np.arange(nx * ny) * span)
    zc = (np.arange(nz) + 0.5) * h
    q = np.arange(nx * ny)[:, None] * span + zc[None, :]
    below = np.searchsorted(key, q.ravel()).reshape(nx * ny, nz) - col_start[:, None]
    inside = (below % 2 == 1).reshape(nx, ny, nz)
    return inside, lo


def _runs_along(mask_1d):
    """(start, stop) index pairs of the True runs of a 1-D boolean array."""
    d = np.diff(np.concatenate([[0], mask_1d.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def fit_surface(path, *, level=None, spacing=0.5, **overrides) -> SurfaceFit:
    """Fit a parametric body to the closed surface of a whole vertebra (see the module docstring).

    Parameters
    ----------
    path : str or path-like
        STL, PLY, OBJ, OFF or VTK-family file, mm, +x anterior, +z cranial.
    level : str, optional, keyword-only
        Level label (default: from the file name, e.g. ``L3.stl``, else ``"L3"``);
        sets the table defaults for what the surface cannot show.
    spacing : float, keyword-only, default 0.5
        Voxel size (mm) of the measurement.
    **overrides
        Any :class:`Geometry` field, replacing the measured or default value.

    Returns
    -------
    SurfaceFit
    """
    if level is None:
        stem = os.path.splitext(os.path.basename(os.fspath(path)))[0].upper()
        match = re.search(r"([TL]\d{1,2})", stem)
        level = match.group(1) if match and match.group(1) in _morph.LEVELS else "L3"
    row = _morph.morphometry(level)
    points, tris = read_surface(path)
    h = float(spacing)
    inside, lo = voxelize_surface(points, tris, spacing=h)
    nx, ny, nz = inside.shape
    xc = lo[0] + (np.arange(nx) + 0.5) * h
    yc = lo[1] + (np.arange(ny) + 0.5) * h
    zc = lo[2] + (np.arange(nz) + 0.5) * h

    # ---------------------------------------------- body / posterior elements
    j0 = int(np.argmin(np.abs(yc)))
    mid = inside[:, max(j0 - 1, 0): j0 + 2, :].any(axis=1)  # (nx, nz) midsagittal band
    # anterior-most bone run along x in each z row of the midline: the body
    post_wall = np.full(nz, np.nan)
    ant_wall = np.full(nz, np.nan)
    for k in range(nz):  # loop over z rows of one 2-D slice (tens of rows), not over cells
        starts, stops = _runs_along(mid[:, k])
        if starts.size:
            s, e = starts[-1], stops[-1]  # last run = most anterior (largest x)
            post_wall[k], ant_wall[k] = xc[s] - 0.5 * h, xc[e - 1] + 0.5 * h
    depth_k = ant_wall - post_wall
    good = np.isfinite(depth_k) & (depth_k > 0.5 * np.nanmax(depth_k))
    if good.sum() < 4:
        raise ValueError(f"could not find a vertebral body in {os.fspath(path)!r} (no anterior midline bone)")
    cut_x = float(np.median(post_wall[good]))
    x_ant = float(np.median(ant_wall[good]))
    body = inside.copy()
    body[xc < cut_x] = False
    body_volume = float(body.sum() * h**3)

    # heights from midline columns: anterior (2 mm inside the front), posterior (2 mm inside the cut), centre
    def column_extent(x):
        i = int(np.argmin(np.abs(xc - x)))
        col = body[i, max(j0 - 1, 0): j0 + 2, :].any(axis=0)
        starts, stops = _runs_along(col)
        if not starts.size:
            raise ValueError(f"no body bone in the midline column at x = {x:.1f} mm")
        longest = int(np.argmax(stops - starts))
        return zc[starts[longest]] - 0.5 * h, zc[stops[longest] - 1] + 0.5 * h

    depth = x_ant - cut_x
    xa, xp, xm = x_ant - 0.1 * depth, cut_x + 0.1 * depth, 0.5 * (x_ant + cut_x)
    za, zp, zm = column_extent(xa), column_extent(xp), column_extent(xm)
    # extrapolate the rim heights (linear in x) to the walls
    slope_top = (za[1] - zp[1]) / (xa - xp)
    slope_bot = (za[0] - zp[0]) / (xa - xp)
    top_ant, top_post = za[1] + slope_top * (x_ant - xa), zp[1] + slope_top * (cut_x - xp)
    bot_ant, bot_post = za[0] + slope_bot * (x_ant - xa), zp[0] + slope_bot * (cut_x - xp)
    anterior_height = top_ant - bot_ant
    posterior_height = top_post - bot_post
    rim_top_m = zp[1] + slope_top * (xm - xp)
    rim_bot_m = zp[0] + slope_bot * (xm - xp)
    z_mid = 0.5 * (rim_top_m + rim_bot_m)
    h_min = min(anterior_height, posterior_height)
    conc_sup = float(np.clip(rim_top_m - zm[1], 0.0, 0.19 * h_min))
    conc_inf = float(np.clip(zm[0] - rim_bot_m, 0.0, 0.19 * h_min))

    # widths: near the endplates (15 % / 85 % of the height) and at mid-height
    def width_at(z):
        # widest run of body bone through the midline among the x rows of the slice
        # (runs not through the midline, e.g. processes, do not count)
        k = int(np.argmin(np.abs(zc - z)))
        best = np.nan
        for i in np.flatnonzero(xc >= cut_x):  # rows of one slice
            starts, stops = _runs_along(body[i, :, k])
            hit = (starts <= j0) & (stops > j0)
            if hit.any():
                w = (stops[hit][0] - starts[hit][0]) * h
                best = w if not np.isfinite(best) else max(best, w)
        return best

    hm = 0.5 * (anterior_height + posterior_height)
    w_ep = np.nanmean([width_at(z_mid - 0.35 * hm), width_at(z_mid + 0.35 * hm)])
    w_mid = width_at(z_mid)
    width = float(w_ep)
    waist = float(np.clip(0.5 * (w_ep - w_mid), 0.0, 0.19 * width / 2.0))
    y_mid = 0.0  # the surface's midline (the files are symmetric about y = 0)

    # ---------------------------------------------------------------- pedicles
    zlo, zhi = z_mid - 0.5 * hm, z_mid + 0.5 * hm
    in_z = (zc >= zlo) & (zc <= zhi)

    def pedicle_slab(x0, x1, side):
        sel_x = (xc >= x0) & (xc < x1)
        sel_y = (yc - y_mid) * (1 if side == "left" else -1) > 0
        sel_y &= np.abs(yc - y_mid) < 0.5 * width
        sub = inside[np.ix_(sel_x, sel_y, in_z)]
        if not sub.any():
            raise ValueError(f"no {side} pedicle found behind the body between x = {x0:.1f} and {x1:.1f} mm")
        I, J, K = np.nonzero(sub)
        pts = np.column_stack([xc[sel_x][I], yc[sel_y][J], zc[in_z][K]])
        return pts

    centroids, axes, pw, ph = {}, {}, [], []
    for side in ("left", "right"):
        near = pedicle_slab(cut_x - _ROOT_SLAB[1], cut_x - _ROOT_SLAB[0], side)
        c_near = near.mean(axis=0)
        centroids[side] = c_near
        # pedicle cross-section at the root: extents in y and z of one x slice
        xs = near[:, 0]
        sl = near[np.abs(xs - np.median(xs)) < 0.5 * h]
        w_p, h_p = np.ptp(sl[:, 1]) + h, np.ptp(sl[:, 2]) + h
        pw.append(w_p)
        ph.append(h_p)
        # axis: least-squares line through the centroids of the x slices of the
        # pedicle isthmus (slices behind the cut whose bone near the root's y-z
        # footprint is at most _ISTHMUS_GROWTH x the narrowest one wide)
        both = pedicle_slab(cut_x - _AXIS_SLAB[1], cut_x - _ROOT_SLAB[0], side)
        keep = (np.abs(both[:, 1] - c_near[1]) < 0.75 * w_p) & (np.abs(both[:, 2] - c_near[2]) < 0.75 * h_p)
        both = both[keep]
        ux, inv = np.unique(both[:, 0], return_inverse=True)
        cnt = np.bincount(inv)
        cy = np.bincount(inv, both[:, 1]) / cnt
        cz = np.bincount(inv, both[:, 2]) / cnt
        ymin = np.full(ux.size, np.inf)
        ymax = np.full(ux.size, -np.inf)
        np.minimum.at(ymin, inv, both[:, 1])
        np.maximum.at(ymax, inv, both[:, 1])
        wslice = ymax - ymin
        isth = wslice <= _ISTHMUS_GROWTH * wslice.min()
        ky = np.polyfit(ux[isth], cy[isth], 1)[0] if isth.sum() > 1 else 0.0
        kz = np.polyfit(ux[isth], cz[isth], 1)[0] if isth.sum() > 1 else 0.0
        a = np.array([1.0, ky, kz])
        axes[side] = a / np.linalg.norm(a)
    pedicle_width = float(np.mean(pw))
    pedicle_height = float(np.mean(ph))
    # medial convergence: going anteriorly the axis turns towards the midline
    tl = math.degrees(math.atan2(-axes["left"][1], axes["left"][0]))
    tr = math.degrees(math.atan2(axes["right"][1], axes["right"][0]))
    transverse = float(np.clip(0.5 * (tl + tr), -44.0, 59.0))
    sag = [math.degrees(math.atan2(-a[2], math.hypot(a[0], a[1]))) for a in axes.values()]
    sagittal = float(np.clip(np.mean(sag), -44.0, 44.0))
    # canal: gap between the medial edges of the two pedicles at their root
    left_pts = pedicle_slab(cut_x - _ROOT_SLAB[1], cut_x - _ROOT_SLAB[0], "left")
    right_pts = pedicle_slab(cut_x - _ROOT_SLAB[1], cut_x - _ROOT_SLAB[0], "right")
    canal_width = float(left_pts[:, 1].min() - right_pts[:, 1].max())
    canal_width = float(np.clip(canal_width, 1.0, 0.9 * width))

    params = {
        "level": row.level,
        "width": width,
        "depth": float(depth),
        "anterior_height": float(anterior_height),
        "posterior_height": float(posterior_height),
        "shell_thickness": _morph.SHELL_THICKNESS,
        "endplate_thickness": _morph.ENDPLATE_THICKNESS,
        "concavity_superior": conc_sup,
        "concavity_inferior": conc_inf,
        "concave_fraction": min(_morph.CONCAVE_FRACTION, 0.99 * (1.0 - waist / (width / 2.0))),
        "waist": waist,
        "posterior_concavity": 0.0,  # the cut is a plane through the midline posterior wall
        "pedicle_width": pedicle_width,
        "pedicle_height": pedicle_height,
        "pedicle_transverse_angle": transverse,
        "pedicle_sagittal_angle": sagittal,
        "canal_width": canal_width,
        "source": f"fitted to {os.path.basename(os.fspath(path))} (voxel {h:g} mm); shell, endplate thickness "
                  f"and concave fraction from the {row.level} table defaults",
    }
    params.update(overrides)
    geometry = Geometry(**params)
    offset = np.array([0.5 * (x_ant + cut_x), y_mid, z_mid])
    fit = SurfaceFit(geometry=geometry, offset=offset, body_volume=body_volume,
                     geometry_volume=geometry.volume(), cut_x=cut_x,
                     pedicle_centroids=centroids, spacing=h)
    logger.info("fitted %s: width %.1f depth %.1f heights %.1f/%.1f mm; body volume %.0f (surface) vs %.0f "
                "(geometry) mm^3", path, width, depth, anterior_height, posterior_height, body_volume,
                fit.geometry_volume)
    return fit


def from_surface(path, *, level=None, spacing=0.5, **overrides) -> Geometry:
    """The parametric :class:`Geometry` fitted to the closed surface of a real vertebra.

    Parameters and errors as :func:`fit_surface` (which also returns the
    placement and fit quality). The geometry is centred at the origin; add
    ``fit_surface(path).offset`` to return to the surface's frame.

    Raises
    ------
    FileNotFoundError
        Missing file (names the path).
    ValueError
        Unsupported extension, or a surface that is not closed and manifold.
    """
    return fit_surface(path, level=level, spacing=spacing, **overrides).geometry


def fit_quality(fit: SurfaceFit, mesh, path) -> dict:
    """How well a body mesh of ``fit.geometry`` matches the real surface's body part.

    Parameters
    ----------
    fit : SurfaceFit
    mesh : Mesh
        ``mesh_vertebra(fit.geometry, ...)`` (geometry frame).
    path : str
        The surface file fitted.

    Returns
    -------
    dict
        ``volume_mesh`` and ``volume_body`` (mm³) and their relative
        difference ``volume_error``; ``distance_mean``, ``distance_p95`` and
        ``distance_max`` (mm): symmetric nearest-point distances between the
        mesh's boundary nodes (moved by ``fit.offset``) and the vertices of the
        surface anterior to the cut (a Hausdorff-type distance; the max is the
        discrete Hausdorff distance between the two point clouds).
    """
    from scipy.spatial import cKDTree

    from ..fem.cells import cell_volumes

    points, _ = read_surface(path)
    body_pts = points[points[:, 0] >= fit.cut_x]
    # boundary nodes of the mesh: nodes of the outer wall and of the endplates
    names = ("superior", "inferior", "lateral_wall")
    nodes = np.unique(np.concatenate([mesh.node_sets[n] for n in names if n in mesh.node_sets]))
    mpts = mesh.points[nodes] + fit.offset
    d1 = cKDTree(body_pts).query(mpts)[0]
    d2 = cKDTree(mpts).query(body_pts)[0]
    # surface vertices on the cut plane region are not on the parametric body: skip the 1 mm next to the cut
    d2 = d2[body_pts[:, 0] > fit.cut_x + 1.0]
    d = np.concatenate([d1, d2])
    v_mesh = float(cell_volumes(mesh).sum())
    return {
        "volume_mesh": v_mesh,
        "volume_body": fit.body_volume,
        "volume_error": (v_mesh - fit.body_volume) / fit.body_volume,
        "distance_mean": float(d.mean()),
        "distance_p95": float(np.percentile(d, 95)),
        "distance_max": float(d.max()),
    }
