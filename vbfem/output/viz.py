"""Off-screen pictures of meshes, cement and fields with pyvista (PNG files).

Every function renders off-screen (no display needed; on Linux VTK's EGL
back end renders headless through Mesa, see the notes of :func:`render_backend`),
writes one PNG and returns its path. Pictures are deterministic: fixed
cameras per view name, fixed window size, fixed colours, no anti-aliasing
and no time stamps, so the same inputs give the same pixels on one machine.

Views (axes of vbfem: +x anterior, +y left, +z superior):

- ``"lateral"``: seen from the patient's right (camera on -y looking along
  +y), anterior to the right of the picture, superior up;
- ``"anterior"``: seen from the front (camera on +x), the patient's left
  on the right of the picture;
- ``"superior"``: seen from above, anterior up;
- ``"oblique"``: from anterior-right-above, anterior to the right;
- ``"oblique_left"``: from anterior-left-above, anterior to the left.

Pictures of the body carry arrows of 10 mm naming its axes (:data:`ORIENTATION`); the cuts of
:func:`plot_cuts` (:data:`CUTS`) are seen square-on under a parallel projection, with a scale bar.
Legends and colour bars sit in a strip under the picture, never over the body.

pyvista is imported inside the functions; the core package does not need it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

from ..records import Mesh
from .atomic import atomic_path

log = logging.getLogger(__name__)

#: Camera direction (from the focal point towards the camera) and view-up vector of each view.
VIEWS = {
    "lateral": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "anterior": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "superior": ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),
    "oblique": ((0.55, -1.0, 0.6), (0.0, 0.0, 1.0)),
    "oblique_left": ((0.55, 1.0, 0.6), (0.0, 0.0, 1.0)),
}

#: Colours of the standard cell sets of :func:`vbfem.anatomy.mesher.mesh_vertebra`.
SET_COLORS = {
    "trabecular": "#e8d8a8",
    "cortex": "#b5651d",
    "superior_endplate": "#4f81bd",
    "inferior_endplate": "#2e8b57",
    "endplate": "#4f81bd",
}
_FALLBACK_COLORS = ("#8064a2", "#c0504d", "#9bbb59", "#f79646", "#4bacc6", "#7f7f7f")
BONE_COLOR = "#d9cfb8"
CEMENT_COLOR = "#3465a4"
CAVITY_COLOR = "#cc0000"
SHELL_COLOR = "#f5a623"
DEFAULT_WINDOW = (800, 600)

#: Arrows of the orientation marker of each view: (direction, name) in the picture's plane where possible.
ORIENTATION = {
    "lateral": (((1.0, 0.0, 0.0), "anterior"), ((0.0, 0.0, 1.0), "superior")),
    "anterior": (((0.0, 1.0, 0.0), "left"), ((0.0, 0.0, 1.0), "superior")),
    "superior": (((1.0, 0.0, 0.0), "anterior"), ((0.0, -1.0, 0.0), "right")),
    "oblique": (((1.0, 0.0, 0.0), "anterior"), ((0.0, 0.0, 1.0), "superior")),
    "oblique_left": (((1.0, 0.0, 0.0), "anterior"), ((0.0, 0.0, 1.0), "superior")),
}

#: Planar cuts of :func:`plot_cuts` through the centre of the mesh bounds: normal axis, view, name.
CUTS = {
    "sagittal": ("y", "lateral", "mid-sagittal cut, seen from the right"),
    "frontal": ("x", "anterior", "mid-frontal cut, seen from the front"),
    "transverse": ("z", "superior", "mid-transverse cut, seen from above"),
}
#: Colour of the orientation arrows, scale bars and outlines.
INK = "#222222"

_SURFACE: dict = {}
_VTK_TYPES = {"hex8": "HEXAHEDRON", "tet4": "TETRA", "tet10": "QUADRATIC_TETRA"}


# --------------------------------------------------------------------------- set-up
def _pyvista():
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        # headless: go straight to EGL instead of trying X11 first (avoids a
        # "bad X server connection" warning); VTK falls back to OSMesa itself
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista as pv

    pv.OFF_SCREEN = True
    if not _SURFACE:
        import inspect

        if "algorithm" in inspect.signature(pv.UnstructuredGrid.extract_surface).parameters:
            _SURFACE["algorithm"] = "dataset_surface"  # today's default, stated to silence a FutureWarning
    return pv


def render_backend() -> str:
    """Name of the VTK render-window class used off-screen (e.g. ``"vtkEGLRenderWindow"``).

    Notes
    -----
    VTK >= 9.4 wheels pick the render window at run time: X11 when a display
    is available, else EGL (needs ``libEGL.so.1`` and Mesa's EGL driver, Debian
    packages ``libegl1`` and ``libegl-mesa0``), else OSMesa (``libosmesa6``).
    No X server (xvfb) is needed.
    """
    pv = _pyvista()
    p = pv.Plotter(off_screen=True, window_size=(8, 8))
    try:
        return p.ren_win.GetClassName()
    finally:
        p.close()


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValueError(f"view={view!r} is not known; allowed: {', '.join(VIEWS)}")


def _check_window(window_size) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in window_size)
    except (TypeError, ValueError):
        raise TypeError(f"window_size must be two integers (width, height) in pixels, got {window_size!r}") from None
    if w < 16 or h < 16 or w > 8192 or h > 8192:
        raise ValueError(f"window_size must lie in [16, 8192] pixels per side, got {(w, h)}")
    return w, h


def _check_mesh(mesh, name="mesh") -> None:
    if not isinstance(mesh, Mesh):
        raise TypeError(f"{name} must be a vbfem Mesh, got {type(mesh).__name__}")


#: Round-off accepted outside [0, 1] in a cement fraction (the flow solver keeps its saturation within
#: 1e-10 of the bounds rather than clipping it, which would break the cement balance).
FRACTION_TOL = 1e-9


def _fraction(mesh: Mesh, values, name: str) -> np.ndarray:
    """A per-cell fraction in [0, 1] (round-off of :data:`FRACTION_TOL` clipped for display)."""
    f = _cell_array(mesh, values, name)
    if np.any((f < -FRACTION_TOL) | (f > 1 + FRACTION_TOL)):
        raise ValueError(f"{name} must lie in [0, 1], got range [{f.min()}, {f.max()}]")
    return np.clip(f, 0.0, 1.0)


def _cell_array(mesh: Mesh, values, name: str, *, dtype=float) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype)
    if arr.shape != (mesh.n_cells,):
        raise ValueError(f"{name} must have one value per cell, shape ({mesh.n_cells},), got {arr.shape}")
    if dtype is float and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _plotter(window_size, shape=(1, 1)):
    pv = _pyvista()
    p = pv.Plotter(off_screen=True, window_size=list(_check_window(window_size)), shape=shape, border=False)
    p.set_background("white")
    return p


def _union_bounds(*datasets) -> np.ndarray:
    """(xmin, xmax, ymin, ymax, zmin, zmax) enclosing every pyvista dataset given."""
    b = np.array([d.bounds for d in datasets], float)
    out = b[0].copy()
    out[0::2] = b[:, 0::2].min(axis=0)
    out[1::2] = b[:, 1::2].max(axis=0)
    return out


def _set_camera(p, bounds, view: str, *, zoom: float = 1.0) -> None:
    direction, up = VIEWS[view]
    centre = np.array([(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, (bounds[4] + bounds[5]) / 2])
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    size = float(np.linalg.norm([bounds[1] - bounds[0], bounds[3] - bounds[2], bounds[5] - bounds[4]]))
    p.camera_position = [tuple(centre + 3.0 * size * d), tuple(centre), tuple(up)]
    p.reset_camera(bounds=bounds)
    if zoom != 1.0:
        p.camera.zoom(zoom)


def _save(p, path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end with .png, got {str(path)!r}")
    try:
        with atomic_path(path) as tmp:
            p.screenshot(str(tmp))
    finally:
        p.close()
    log.info("wrote %s", path)
    return path


# --------------------------------------------------------------------------- conversion
def to_pyvista(mesh: Mesh, *, cell_data=None, point_data=None, sets: bool = False):
    """A ``pyvista.UnstructuredGrid`` of ``mesh`` (vbfem node order equals VTK's).

    Parameters
    ----------
    mesh : Mesh
    cell_data : mapping of str to arrays, optional
        Extra per-cell arrays (first axis ``n_cells``); the mesh's own
        ``cell_data`` is always included.
    point_data : mapping of str to arrays, optional
        Per-node arrays (first axis ``n_points``), e.g. ``{"displacement": u}``.
    sets : bool, keyword-only
        Also add each cell set as a 0/1 cell array ``set_<name>``.
    """
    _check_mesh(mesh)
    pv = _pyvista()
    ctype = getattr(pv.CellType, _VTK_TYPES[mesh.cell_type])
    grid = pv.UnstructuredGrid({ctype: np.asarray(mesh.cells)}, np.asarray(mesh.points, float))
    for name, values in {**dict(mesh.cell_data), **dict(cell_data or {})}.items():
        arr = np.asarray(values)
        if arr.shape[:1] != (mesh.n_cells,):
            raise ValueError(f"cell_data[{name!r}] must have first dimension {mesh.n_cells}, got {arr.shape}")
        grid.cell_data[name] = arr
    for name, values in dict(point_data or {}).items():
        arr = np.asarray(values)
        if arr.shape[:1] != (mesh.n_points,):
            raise ValueError(f"point_data[{name!r}] must have first dimension {mesh.n_points}, got {arr.shape}")
        grid.point_data[name] = arr
    if sets:
        for name, idx in mesh.cell_sets.items():
            flag = np.zeros(mesh.n_cells, np.int8)
            flag[idx] = 1
            grid.cell_data[f"set_{name}"] = flag
    return grid


def _cut_half(grid, view: str):
    """Whole cells on the far side (from the camera of ``view``) of the mid-plane facing the camera."""
    b = grid.bounds
    origin = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
    direction = np.asarray(VIEWS[view][0], float)
    side = (grid.cell_centers().points - origin) @ direction
    return grid.extract_cells(np.flatnonzero(side <= 1e-9 * np.abs(side).max()))


def _picture_axes(view: str):
    """Unit vectors (towards the camera, picture right, picture up) of ``view``, in model axes."""
    d, up = (np.asarray(v, float) for v in VIEWS[view])
    d /= np.linalg.norm(d)
    up = up - (up @ d) * d
    up /= np.linalg.norm(up)
    return d, np.cross(-d, up), up


def _half_extent(bounds, axis) -> float:
    """Half the extent of the box ``bounds`` along the unit vector ``axis`` (mm)."""
    half = 0.5 * (np.asarray(bounds[1::2], float) - np.asarray(bounds[0::2], float))
    return float(np.abs(axis) @ half)


def _centre(bounds) -> np.ndarray:
    return 0.5 * (np.asarray(bounds[0::2], float) + np.asarray(bounds[1::2], float))


def _label(p, point, text, direction, right, up, *, font_size=14):
    """A text label at ``point`` (mm), set on the side ``direction`` points to in the picture."""
    h, v = float(direction @ right), float(direction @ up)
    if abs(h) >= abs(v):
        just = ("left" if h > 0 else "right", "center")
    else:
        just = ("center", "bottom" if v > 0 else "top")
    p.add_point_labels(np.atleast_2d(point), [text], font_size=font_size, text_color=INK, bold=False, shape=None,
                       show_points=False, always_visible=True, justification_horizontal=just[0],
                       justification_vertical=just[1], reset_camera=False)


def _add_orientation(p, bounds, view: str, *, length: float) -> np.ndarray:
    """Arrows of ``length`` mm naming the body axes of ``view`` (:data:`ORIENTATION`), drawn off the
    lower-left corner of ``bounds``; returns the points they span (for the camera)."""
    pv = _pyvista()
    d, right, up = _picture_axes(view)
    gap = 0.5 * length
    origin = (_centre(bounds) - (_half_extent(bounds, right) + gap) * right
              - (_half_extent(bounds, up) + gap) * up + (_half_extent(bounds, d) + 1.0) * d)
    span = [origin]
    for direction, name in ORIENTATION[view]:
        a = np.asarray(direction, float)
        p.add_mesh(pv.Arrow(start=origin, direction=a, tip_length=0.3, tip_radius=0.09, shaft_radius=0.03, scale=length),
                   color=INK, lighting=False, reset_camera=False)
        tip = origin + 1.08 * length * a
        _label(p, tip, name, a, right, up)
        span.append(tip)
    # room for a label centred on the vertical arrow (about 0.8 of an arrow wide on the default windows)
    span.append(origin - 0.5 * length * right)
    return np.array(span)


def _add_scale_bar(p, bounds, view: str, *, length: float) -> np.ndarray:
    """A bar of ``length`` mm under the lower-right corner of ``bounds``, in the plane of the picture
    (true to scale under a parallel projection); returns its end points."""
    pv = _pyvista()
    d, right, up = _picture_axes(view)
    front = (_half_extent(bounds, d) + 1.0) * d
    end = _centre(bounds) + _half_extent(bounds, right) * right - (_half_extent(bounds, up) + 0.35 * length) * up
    start = end - length * right
    tick = 0.12 * length * up
    for a, b in ((start, end), (start - tick, start + tick), (end - tick, end + tick)):
        p.add_mesh(pv.Line(a + front, b + front), color=INK, line_width=3, reset_camera=False)
    _label(p, 0.5 * (start + end) - 1.6 * tick + front, f"{length:g} mm", -up, right, up)
    return np.array([start - 2.5 * tick, end + tick])


def nice_ticks(lo: float, hi: float, *, max_ticks: int = 6) -> np.ndarray:
    """Round tick values inside ``[lo, hi]``: multiples of 1, 2, 2.5 or 5 times a power of ten, the
    smallest such step that gives at most ``max_ticks`` of them (e.g. -8000, -6000, -4000, -2000 for
    -8437 to -1055), so that a colour bar reads in round numbers while its range stays ``lo``-``hi``."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"need finite lo < hi, got {lo!r}, {hi!r}")
    if max_ticks < 2:
        raise ValueError(f"max_ticks must be >= 2, got {max_ticks!r}")
    base = 10.0 ** np.floor(np.log10((hi - lo) / (max_ticks - 1)))
    for step in base * np.array([1.0, 2.0, 2.5, 5.0, 10.0, 20.0]):
        first, last = np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9)
        if 2 <= last - first + 1 <= max_ticks:
            return np.arange(first, last + 1) * step + 0.0  # + 0.0: no "-0"
    return np.array([lo, hi])


def _tick_format(ticks) -> str:
    """A printf format that shows every tick of ``ticks`` (round numbers) exactly, no more digits."""
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    digits = 0
    while digits < 5 and abs(round(step, digits) - step) > 1e-9 * max(1.0, abs(step)):
        digits += 1
    return f"%.{digits}f" if digits < 5 else "%.3g"


def _scalar_bar(p, title: str, mapper, window_size, *, fmt: str = "%.4g") -> None:
    """A horizontal colour bar in the current (strip) renderer, right of a legend column 380 px wide;
    the title and the tick labels both under the bar (so neither covers the other). The labels sit at
    round values (:func:`nice_ticks`) of the mapper's range; ``fmt`` only where none fit."""
    w, _ = _check_window(window_size)
    vp = p.renderer.GetViewport()
    x0 = max(0.36, 380.0 / ((vp[2] - vp[0]) * w))
    lo, hi = mapper.GetScalarRange()
    ticks = nice_ticks(lo, hi) if hi > lo else np.array([lo])
    if len(ticks) >= 2 and hi > lo:
        fmt = _tick_format(ticks)
    bar = p.add_scalar_bar(title=title, mapper=mapper, color="black", vertical=False, position_x=x0,
                           position_y=0.08, width=min(0.4, 0.97 - x0), height=0.8, fmt=fmt, n_labels=5,
                           title_font_size=14, label_font_size=12)
    bar.SetTextPositionToPrecedeScalarBar()
    bar.SetBarRatio(0.25)
    if len(ticks) >= 2 and hi > lo:
        from vtkmodules.vtkCommonCore import vtkDoubleArray

        labels = vtkDoubleArray()
        for t in ticks:
            labels.InsertNextValue(float(t))
        bar.SetUseCustomLabels(True)
        bar.SetCustomLabels(labels)


#: Width of one character of the legend's text per point of font size (px), an estimate for VTK's Arial.
_CHAR_PX_PER_PT = 0.95


def _legend_layout(texts, width: float, height: float, font_size: int):
    """Top-left corners (x, y in px) and the font size of legend entries laid out in rows, left to
    right, wrapping at ``width`` px; the font shrinks (not below 6 pt) until all rows fit ``height``."""
    rows = max(1, int((height - 12) // 26))
    for size in range(int(font_size), 5, -1):
        places, x, row = [], 12.0, 0
        for text in texts:
            need = 24 + _CHAR_PX_PER_PT * size * len(text) + 16
            if x > 12.0 and x + need > width:
                x, row = 12.0, row + 1
            places.append((x, height - 12 - 26 * row))
            x += need
        if row < rows or size == 6:
            return places, size
    raise AssertionError("unreachable")  # the loop returns at size 6


def _legend_column(p, entries, window_size, *, font_size: int = 10, width: float | None = None) -> None:
    """A legend in the current renderer: per entry a colour square and its text in black (pyvista's
    legend writes each text in its entry's colour, unreadable for a light one), from the top left.

    Entries stand under each other while they fit the strip's height, and go on in rows of several
    entries otherwise (:func:`_legend_layout`), within ``width`` px (default the renderer's width; leave
    room for a colour bar by giving less)."""
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
    from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D

    w, h = _check_window(window_size)
    vp = p.renderer.GetViewport()
    height = (vp[3] - vp[1]) * h
    width = (vp[2] - vp[0]) * w if width is None else float(width)
    rows = max(1, int((height - 12) // 26))
    if len(entries) <= rows:  # one column
        places, size = [(12.0, height - 12 - 26 * k) for k in range(len(entries))], font_size
    else:
        places, size = _legend_layout([t for t, _ in entries], width, height, font_size)
    for (text, color), (left, top) in zip(entries, places):
        left, top = int(left), int(top)
        pts = vtkPoints()
        for x, y in ((left, top - 16), (left + 16, top - 16), (left + 16, top), (left, top)):
            pts.InsertNextPoint(x, y, 0.0)
        poly = vtkPolyData()
        poly.SetPoints(pts)
        cells = vtkCellArray()
        cells.InsertNextCell(4, [0, 1, 2, 3])
        poly.SetPolys(cells)
        coord = vtkCoordinate()
        coord.SetCoordinateSystemToViewport()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.SetTransformCoordinate(coord)
        actor = vtkActor2D()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(_pyvista().Color(color).float_rgb)
        p.add_actor(actor, reset_camera=False)
        p.add_text(text, position=(left + 24, top - 16), font_size=size, color="black")


def _bottom_row(n_cols: int, window_size, *, top: bool = False):
    """A plotter of ``n_cols`` panels above one strip across the width (colour bar, legend), and
    with ``top`` one strip above them (a title). Returns the plotter and the row of the panels."""
    rows = 2 + top
    weights = ([1] if top else []) + [7, 2]
    groups = [(rows - 1, np.s_[:])] + ([(0, np.s_[:])] if top else [])
    pv = _pyvista()
    p = pv.Plotter(off_screen=True, window_size=list(_check_window(window_size)), shape=(rows, n_cols),
                   row_weights=weights, groups=groups if n_cols > 1 else None, border=False)
    p.set_background("white")
    return p, int(top)


# --------------------------------------------------------------------------- pictures
def plot_cell_sets(mesh: Mesh, path, *, sets=None, colors=None, view: str = "lateral", cut: bool = True,
                   window_size=DEFAULT_WINDOW, title: str | None = None, show_edges: bool = True) -> Path:
    """Cells of each named set in its own colour, with arrows of 10 mm naming the body axes and the legend
    under the picture.

    Parameters
    ----------
    mesh : Mesh
    path : str or Path
        PNG file to write.
    sets : sequence of str, optional
        Cell sets to show, drawn in order (a cell in several sets takes the
        colour of the last one). Default: those of ``trabecular, cortex,
        superior_endplate, inferior_endplate`` present in the mesh, else all.
    colors : mapping of str to colour, optional
        Colour per set (default :data:`SET_COLORS`).
    view : str, keyword-only, default "lateral"
        One of :data:`VIEWS`.
    cut : bool, default True
        Show only the half of the mesh behind the mid-plane facing the camera
        (whole cells), so that the inner sets are visible.
    window_size : (int, int), default (800, 600)
        Picture size in pixels.
    title : str, optional
        Text at the top.
    show_edges : bool, default True
        Draw cell edges.

    Returns
    -------
    Path
    """
    _check_mesh(mesh)
    _check_view(view)
    if sets is None:
        sets = [s for s in ("trabecular", "cortex", "superior_endplate", "inferior_endplate") if s in mesh.cell_sets]
        sets = sets or sorted(mesh.cell_sets)
    sets = list(sets)
    if not sets:
        raise ValueError("mesh has no cell sets to show; give sets=[...] or add cell sets")
    for s in sets:
        mesh.cell_set(s)  # clear KeyError naming the available sets
    colors = {**SET_COLORS, **dict(colors or {})}
    label = np.full(mesh.n_cells, -1, np.int64)
    for k, s in enumerate(sets):
        label[mesh.cell_sets[s]] = k
    grid = to_pyvista(mesh, cell_data={"vbfem_set": label})
    shown = _cut_half(grid, view) if cut else grid
    p, row = _bottom_row(1, window_size)
    p.subplot(row, 0)
    entries = []
    for k, s in enumerate(sets):
        part = shown.extract_cells(np.flatnonzero(shown.cell_data["vbfem_set"] == k))
        if part.n_cells == 0:
            continue
        color = colors.get(s, _FALLBACK_COLORS[k % len(_FALLBACK_COLORS)])
        p.add_mesh(part, color=color, show_edges=show_edges, edge_color="#404040", line_width=0.5)
        entries.append([s.replace("_", " "), color])
    rest = shown.extract_cells(np.flatnonzero(shown.cell_data["vbfem_set"] < 0))
    if rest.n_cells:
        p.add_mesh(rest, color="#cccccc", show_edges=show_edges, edge_color="#404040", line_width=0.5)
        entries.append(["other", "#cccccc"])
    span = _add_orientation(p, grid.bounds, view, length=10.0)
    if title:
        p.add_text(title, font_size=12, color="black")
    _set_camera(p, _union_bounds(grid, _pyvista().PolyData(span)), view, zoom=1.2)
    # the legend in a strip under the body (never over it), in black text beside colour squares
    p.subplot(row + 1, 0)
    _legend_column(p, entries, window_size)
    return _save(p, path)


def plot_overlay(fractured: Mesh, intact: Mesh, path, *, view: str = "lateral", window_size=DEFAULT_WINDOW,
                 title: str | None = None) -> Path:
    """A fractured body (solid) inside the intact one (translucent wire frame of its surface), with arrows
    of 10 mm naming the body axes and the legend under the picture.

    Parameters
    ----------
    fractured, intact : Mesh
        The two states; they normally share the cells (fracture moves nodes).
    path : str or Path
        PNG file to write.
    view : str, default "lateral"
    window_size : (int, int), default (800, 600)
    title : str, optional
    """
    _check_mesh(fractured, "fractured")
    _check_mesh(intact, "intact")
    _check_view(view)
    a = to_pyvista(fractured).extract_surface(**_SURFACE)
    b = to_pyvista(intact).extract_surface(**_SURFACE)
    p, row = _bottom_row(1, window_size)
    p.subplot(row, 0)
    p.add_mesh(b, style="wireframe", color="#606060", opacity=0.35, line_width=1)
    p.add_mesh(a, color=BONE_COLOR, smooth_shading=False)
    bounds = _union_bounds(b, a)
    span = _add_orientation(p, bounds, view, length=10.0)
    if title:
        p.add_text(title, font_size=12, color="black")
    _set_camera(p, _union_bounds(b, a, _pyvista().PolyData(span)), view, zoom=1.2)
    p.subplot(row + 1, 0)
    _legend_column(p, [["intact (wire frame)", "#606060"], ["fractured (solid)", BONE_COLOR]], window_size)
    return _save(p, path)


#: Legend text of the cement when its cells are coloured by arrival time (the colour bar gives the times).
ARRIVAL_TITLE = "cement, coloured by arrival time (s after mixing)"


def _add_cement(p, grid, fraction, threshold, arrival_time, *, clim=None, cavity=None, shell=None):
    """Translucent bone surface, cement cells (coloured by ``arrival_time`` when given), the cavity's
    outline and the compacted shell into plotter ``p``. Returns the cement's actor (None: no cement)."""
    p.add_mesh(grid.extract_surface(**_SURFACE), color=BONE_COLOR, opacity=0.18)
    cement = np.flatnonzero(fraction >= threshold)
    actor = None
    if cement.size == 0:
        log.warning("no cell has a cement fraction >= %g: the picture shows the vertebra only", threshold)
    else:
        part = grid.extract_cells(cement)
        if arrival_time is not None:
            part.cell_data["arrival time (s)"] = np.asarray(arrival_time, float)[cement]
            actor = p.add_mesh(part, scalars="arrival time (s)", cmap="viridis", clim=clim, show_scalar_bar=False)
        else:
            actor = p.add_mesh(part, color=CEMENT_COLOR)
    if shell is not None and np.any(shell):
        p.add_mesh(grid.extract_cells(np.flatnonzero(shell)).extract_surface(**_SURFACE), color=SHELL_COLOR,
                   opacity=0.25)
    if cavity is not None and np.any(cavity):
        # the cavity holds the cement: drawn as its outline only, so the cement's colours show through
        surface = grid.extract_cells(np.flatnonzero(cavity)).extract_surface(**_SURFACE)
        edges = surface.extract_feature_edges(feature_angle=30.0, boundary_edges=True, non_manifold_edges=False,
                                              manifold_edges=False)
        p.add_mesh(edges, color=CAVITY_COLOR, line_width=2.5)
    return actor


def _arrival(mesh, times, cement, name):
    """Arrival times (s) per cell; NaN allowed where there is no cement, finite on cement cells."""
    t = np.asarray(times, float)
    if t.shape != (mesh.n_cells,):
        raise ValueError(f"{name} must have one value per cell, shape ({mesh.n_cells},), got {t.shape}")
    if not np.all(np.isfinite(t[cement])):
        raise ValueError(f"{name} must be finite on every cement cell (fraction >= threshold)")
    return t


def _mask(mesh, mask, name):
    if mask is None:
        return None
    return _cell_array(mesh, mask, name, dtype=bool)


def fill_summary(mesh: Mesh, fraction) -> tuple[float, float]:
    """Cement volume (mL) and the percentage of the body's volume it fills.

    Parameters
    ----------
    mesh : Mesh
    fraction : array_like, shape (n_cells,)
        Cement volume fraction of each cell, in [0, 1] (:attr:`vbfem.records.CementFill.fraction`, not
        the pore-space saturation).

    Returns
    -------
    (float, float)
        ``sum(fraction * cell volume)`` in mL (1 mL = 1000 mm³) and 100 times its ratio to the mesh's volume (%).
    """
    from ..fem.cells import cell_volumes

    _check_mesh(mesh)
    f = _fraction(mesh, fraction, "fraction")
    vol = cell_volumes(mesh)
    cement = float(f @ vol)
    return cement / 1000.0, 100.0 * cement / float(vol.sum())


def _cement_picture(meshes, fractions, path, *, titles, notes, threshold, arrival_times, cavities, shells, view,
                    window_size) -> Path:
    """The panels of :func:`plot_cement` / :func:`plot_side_by_side`, with one strip under them for the
    legend and the one colour bar of the arrival times."""
    n = len(meshes)
    times = [None if t is None else _arrival(m, t, f >= threshold, f"arrival_times[{i}]")
             for i, (m, t, f) in enumerate(zip(meshes, arrival_times, fractions))]
    clim = None
    shown = [t[f >= threshold] for t, f in zip(times, fractions) if t is not None]
    shown = [s for s in shown if s.size]
    if shown:
        lo, hi = min(s.min() for s in shown), max(s.max() for s in shown)
        clim = (lo, hi if hi > lo else lo + 1.0)
    masks = [(_mask(m, c, f"cavities[{i}]"), _mask(m, s, f"shells[{i}]"))
             for i, (m, c, s) in enumerate(zip(meshes, cavities, shells))]
    p, row = _bottom_row(n, window_size)
    mapper, plain = None, False
    for i in range(n):
        p.subplot(row, i)
        grid = to_pyvista(meshes[i])
        actor = _add_cement(p, grid, fractions[i], threshold, times[i], clim=clim, cavity=masks[i][0],
                            shell=masks[i][1])
        if actor is not None and times[i] is not None:
            mapper = actor.mapper
        plain |= actor is not None and times[i] is None
        span = _add_orientation(p, grid.bounds, view, length=10.0)
        text = "\n".join(t for t in (titles[i], notes[i]) if t)
        if text:
            p.add_text(text, position="upper_left", font_size=12, color="black")
        _set_camera(p, _union_bounds(grid, _pyvista().PolyData(span)), view, zoom=1.3)
    p.subplot(row + 1, 0)
    entries = [["vertebra (translucent)", BONE_COLOR]]
    entries += [["cement", CEMENT_COLOR]] if plain else []
    entries += [["balloon cavity (outline)", CAVITY_COLOR]] if any(c is not None and c.any() for c, _ in masks) else []
    entries += [["compacted bone shell", SHELL_COLOR]] if any(s is not None and s.any() for _, s in masks) else []
    _legend_column(p, entries, window_size, width=380.0 if mapper is not None else None)  # the colour bar's room
    if mapper is not None:
        _scalar_bar(p, ARRIVAL_TITLE, mapper, window_size)
    return _save(p, path)


def plot_cement(mesh: Mesh, fraction, path, *, threshold: float = 0.5, arrival_time=None, cavity=None, shell=None,
                view: str = "oblique", window_size=DEFAULT_WINDOW, title: str | None = None,
                note: str | None = None) -> Path:
    """Cement (cells with fraction >= ``threshold``) inside a translucent vertebra.

    Parameters
    ----------
    mesh : Mesh
    fraction : array_like, shape (n_cells,)
        Cement fraction per cell (of the pore space or of the volume), in [0, 1].
    path : str or Path
        PNG file to write.
    threshold : float, keyword-only, default 0.5
        Cells with at least this fraction are drawn as cement; in (0, 1].
    arrival_time : array_like (n_cells,), optional
        Time (s) at which cement reached each cell: colours the cement (a colour bar under the
        picture says so); without it the cement is one colour, named in the legend.
    cavity, shell : array_like of bool (n_cells,), optional
        Kyphoplasty cavity (drawn as its red outline, so the cement inside shows) and compacted
        shell (translucent orange).
    view : str, default "oblique"
    window_size : (int, int), default (800, 600)
    title : str, optional
        Text at the top left.
    note : str, optional
        A second line under the title (e.g. the cement volume and fill, :func:`fill_summary`).

    Returns
    -------
    Path

    Notes
    -----
    The legend and the colour bar sit in a strip under the picture, never over the body; arrows of
    10 mm mark the anterior and superior directions.
    """
    _check_mesh(mesh)
    _check_view(view)
    fraction = _fraction(mesh, fraction, "fraction")
    if not (0 < threshold <= 1):
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    return _cement_picture([mesh], [fraction], path, titles=[title], notes=[note], threshold=threshold,
                           arrival_times=[arrival_time], cavities=[cavity], shells=[shell], view=view,
                           window_size=window_size)


def plot_side_by_side(mesh: Mesh, fractions, path, *, titles=("vertebroplasty", "kyphoplasty"), threshold=0.5,
                      cavities=(None, None), shells=(None, None), arrival_times=(None, None),
                      meshes=None, notes=(None, None), view: str = "oblique", window_size=(1200, 560)) -> Path:
    """Two panels of cement in the same vertebra, e.g. vertebroplasty vs kyphoplasty.

    Parameters
    ----------
    mesh : Mesh
        The shared mesh (a different mesh per panel can be given as ``meshes``).
    fractions : pair of array_like (n_cells,)
        Cement fraction per cell of the left and right panel, in [0, 1].
    path : str or Path
        PNG file to write.
    titles : pair of str
    threshold : float, default 0.5
    cavities, shells : pair of bool arrays or None
        Cavity (red outline) and compacted-shell (translucent orange) masks per panel (kyphoplasty).
    arrival_times : pair of arrays or None
        Colour the cement by arrival time (s); both panels share one colour range and one colour bar,
        under the panels.
    meshes : pair of Mesh, optional
        Use these instead of ``mesh`` for the two panels.
    notes : pair of str or None
        A second line under each title (e.g. the cement volume and fill, :func:`fill_summary`).
    view : str, default "oblique"
    window_size : (int, int), default (1200, 560)

    Returns
    -------
    Path
    """
    _check_view(view)
    if meshes is None:
        _check_mesh(mesh)
        meshes = (mesh, mesh)
    meshes = tuple(meshes)
    if len(meshes) != 2 or len(tuple(fractions)) != 2:
        raise ValueError("plot_side_by_side needs exactly two panels (fractions and meshes of length 2)")
    for i, m in enumerate(meshes):
        _check_mesh(m, f"meshes[{i}]")
    if not (0 < threshold <= 1):
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    fr = [_fraction(m, f, f"fractions[{i}]") for i, (m, f) in enumerate(zip(meshes, fractions))]
    return _cement_picture(meshes, fr, path, titles=[str(t) for t in titles], notes=list(notes), threshold=threshold,
                           arrival_times=list(arrival_times), cavities=list(cavities), shells=list(shells),
                           view=view, window_size=window_size)


def plot_field_on_cut(mesh: Mesh, cell_field, path, *, normal: str = "y", origin=None,
                      label: str = "von Mises stress (MPa)", cmap: str = "turbo", clim=None,
                      window_size=DEFAULT_WINDOW, title: str | None = None) -> Path:
    """A per-cell field on a planar cut through the mesh (default the mid-sagittal plane).

    Parameters
    ----------
    mesh : Mesh
    cell_field : array_like, shape (n_cells,)
        E.g. von Mises stress (MPa, :func:`vbfem.fem.post.von_mises`) or minimum
        principal strain (:func:`vbfem.fem.post.principal_strains` ``[:, 0]``).
    path : str or Path
        PNG file to write.
    normal : {"x", "y", "z"}, default "y"
        Normal of the cut plane; "y" is the sagittal plane.
    origin : array_like (3,), optional
        A point of the plane in mm; default the centre of the mesh bounds.
    label : str
        Scalar-bar title (name and unit).
    cmap : str, default "turbo"
    clim : (float, float), optional
        Colour range; default the range of the field on the cut.
    window_size : (int, int), default (800, 600)
    title : str, optional

    Notes
    -----
    The cut polygons carry the value of the cell they cut (no smoothing),
    so the picture shows exactly the element field.
    """
    _check_mesh(mesh)
    if normal not in ("x", "y", "z"):
        raise ValueError(f"normal must be 'x', 'y' or 'z', got {normal!r}")
    values = _cell_array(mesh, cell_field, "cell_field")
    grid = to_pyvista(mesh, cell_data={label: values})
    b = grid.bounds
    if origin is None:
        origin = [(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2]
    origin = np.asarray(origin, float)
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        raise ValueError(f"origin must be three finite coordinates in mm, got {origin!r}")
    cut = grid.slice(normal=normal, origin=origin)
    if cut.n_cells == 0:
        raise ValueError(f"the plane through {origin.tolist()} normal to {normal} does not cut the mesh")
    p = _plotter(window_size)
    p.add_mesh(grid.extract_surface(**_SURFACE), style="wireframe", color="#a0a0a0", opacity=0.15)
    p.add_mesh(cut, scalars=label, cmap=cmap, clim=clim, preference="cell",
               scalar_bar_args={"color": "black", "title": label, "vertical": False, "position_x": 0.38, "width": 0.55, "fmt": "%.3g", "n_labels": 3})
    if title:
        p.add_text(title, font_size=12, color="black")
    view = {"y": "lateral", "x": "anterior", "z": "superior"}[normal]
    _set_camera(p, b, view)
    return _save(p, path)


def plot_cuts(mesh: Mesh, cell_field, path, *, cuts=("sagittal", "frontal"), cement=None, threshold: float = 0.5,
              label: str = "minimum principal strain (microstrain)", cmap: str = "plasma_r", clim=None,
              title: str | None = None, note: str | None = None, scale_bar: float = 10.0,
              window_size=(1100, 640)) -> Path:
    """A per-cell field on mid-plane cuts side by side, with the cement's outline, an orientation
    marker, a scale bar and one colour bar for all cuts.

    Each cut passes through the centre of the mesh bounds (:data:`CUTS`) and is seen square-on under
    a parallel projection, so the scale bar is true on the whole cut.

    Parameters
    ----------
    mesh : Mesh
    cell_field : array_like, shape (n_cells,)
        The field, one value per cell, in the unit ``label`` names (e.g. the minimum principal strain
        in microstrain, 1e6 times :func:`vbfem.fem.post.principal_strains` ``[:, 0]``).
    path : str or Path
        PNG file to write.
    cuts : sequence of str, keyword-only, default ("sagittal", "frontal")
        Names from :data:`CUTS`, one panel each, left to right.
    cement : array_like (n_cells,), optional
        Cement fraction per cell in [0, 1]: the outline of the cells with at least ``threshold`` is drawn
        on each cut (black on a white halo).
    threshold : float, default 0.5
        In (0, 1].
    label : str
        Colour-bar title: name and unit of the field.
    cmap : str, default "plasma_r"
        Matplotlib colour map name (reversed plasma: the most negative values, the largest compressive
        strains, in yellow).
    clim : (float, float), optional
        Colour range in the field's unit; values outside take the end colours. Default: the range of the
        field on the cuts.
    title : str, optional
        Text above the panels (the state, the load).
    note : str, optional
        Text under the colour bar (e.g. how the colour range was chosen).
    scale_bar : float, default 10.0
        Length of the scale bar and of the orientation arrows, mm (> 0).
    window_size : (int, int), default (1100, 640)
        Picture size in pixels.

    Returns
    -------
    Path

    Notes
    -----
    The cut polygons carry the value of the cell they cut (no smoothing), so the picture shows exactly
    the element field.
    """
    _check_mesh(mesh)
    cuts = list(cuts)
    if not cuts or any(c not in CUTS for c in cuts):
        raise ValueError(f"cuts must name one or more of {', '.join(CUTS)}, got {cuts!r}")
    values = _cell_array(mesh, cell_field, "cell_field")
    if not (0 < threshold <= 1):
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    if not (np.isfinite(scale_bar) and scale_bar > 0):
        raise ValueError(f"scale_bar must be a length > 0 in mm, got {scale_bar!r}")
    mask = None if cement is None else _fraction(mesh, cement, "cement") >= threshold
    grid = to_pyvista(mesh, cell_data={label: values})
    bounds = grid.bounds
    origin = _centre(bounds)
    slices = []
    for c in cuts:
        normal, view, _ = CUTS[c]
        cut = grid.slice(normal=normal, origin=origin)
        if cut.n_cells == 0:
            raise ValueError(f"the {c} plane through {origin.tolist()} does not cut the mesh")
        slices.append(cut)
    if clim is None:
        shown = np.concatenate([s.cell_data[label] for s in slices])
        clim = (float(shown.min()), float(shown.max()) if shown.max() > shown.min() else float(shown.min()) + 1.0)
    p, row = _bottom_row(len(cuts), window_size, top=True)
    mapper = None
    outlined = False
    for k, (c, cut) in enumerate(zip(cuts, slices)):
        normal, view, name = CUTS[c]
        p.subplot(row, k)
        d, _, _ = _picture_axes(view)
        actor = p.add_mesh(cut, scalars=label, cmap=cmap, clim=clim, preference="cell", show_scalar_bar=False,
                           lighting=False)
        mapper = actor.mapper
        edge = cut.extract_feature_edges(boundary_edges=True, feature_edges=False, manifold_edges=False,
                                         non_manifold_edges=False)
        p.add_mesh(edge.translate(0.05 * d), color=INK, line_width=1.5)
        if mask is not None and mask.any():
            part = grid.extract_cells(np.flatnonzero(mask)).slice(normal=normal, origin=origin)
            if part.n_cells:
                line = part.extract_feature_edges(boundary_edges=True, feature_edges=False, manifold_edges=False,
                                                  non_manifold_edges=False)
                p.add_mesh(line.translate(0.1 * d), color="white", line_width=6)
                p.add_mesh(line.translate(0.2 * d), color="black", line_width=2.5)
                outlined = True
        span = np.vstack([_add_orientation(p, bounds, view, length=scale_bar),
                          _add_scale_bar(p, bounds, view, length=scale_bar)])
        p.add_text(name, position="upper_left", font_size=12, color="black")
        p.enable_parallel_projection()
        _set_camera(p, _union_bounds(cut, _pyvista().PolyData(span)), view, zoom=1.35)
    p.subplot(0, 0)
    if title:
        p.add_text(title, position="upper_left", font_size=13, color="black")
    p.subplot(row + 1, 0)
    _scalar_bar(p, label, mapper, window_size)
    if outlined:
        _legend_column(p, [[f"cement outline (fraction >= {threshold:g})", "black"]], window_size)
    if note:
        p.add_text(note, position="lower_left", font_size=10, color="#444444")
    return _save(p, path)


def plot_deformed(mesh: Mesh, displacement, path, *, scale: float | None = None, show_undeformed: bool = True,
                  view: str = "lateral", window_size=DEFAULT_WINDOW, title: str | None = None) -> Path:
    """The deformed shape, coloured by displacement magnitude, over the undeformed outline.

    Parameters
    ----------
    mesh : Mesh
    displacement : array_like, shape (n_points, 3)
        Nodal displacements in mm.
    path : str or Path
        PNG file to write.
    scale : float, optional
        Magnification of the displacements (> 0). Default: the largest
        displacement drawn as 10 % of the mesh's diagonal.
    show_undeformed : bool, default True
        Draw the undeformed surface as a grey wire frame.
    view : str, default "lateral"
    window_size : (int, int), default (800, 600)
    title : str, optional
        First line of the text at the top; the magnification is always stated under it.
    """
    _check_mesh(mesh)
    _check_view(view)
    u = np.asarray(displacement, float)
    if u.shape != (mesh.n_points, 3) or not np.all(np.isfinite(u)):
        raise ValueError(f"displacement must be finite with shape ({mesh.n_points}, 3), got {u.shape}")
    mag = np.linalg.norm(u, axis=1)
    diag = float(np.linalg.norm(np.ptp(mesh.points, axis=0)))
    if scale is None:
        scale = 0.1 * diag / mag.max() if mag.max() > 0 else 1.0
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be > 0, got {scale!r}")
    name = "displacement magnitude (mm)"
    grid = to_pyvista(mesh, point_data={name: mag})
    warped = to_pyvista(mesh.with_points(mesh.points + scale * u), point_data={name: mag})
    p, row = _bottom_row(1, window_size)
    p.subplot(row, 0)
    if show_undeformed:
        p.add_mesh(grid.extract_surface(**_SURFACE), style="wireframe", color="#808080", opacity=0.4)
    actor = p.add_mesh(warped, scalars=name, cmap="viridis", show_scalar_bar=False)
    bounds = _union_bounds(grid, warped)
    span = _add_orientation(p, bounds, view, length=10.0)
    magnified = f"displacements magnified {scale:.3g} times"
    p.add_text(f"{title}\n{magnified}" if title is not None else magnified, font_size=12, color="black")
    _set_camera(p, _union_bounds(grid, warped, _pyvista().PolyData(span)), view, zoom=1.2)
    p.subplot(row + 1, 0)
    if show_undeformed:
        _legend_column(p, [["undeformed (wire frame)", "#808080"]], window_size)
    _scalar_bar(p, name, actor.mapper, window_size, fmt="%.3g")
    return _save(p, path)


def plot_gallery(meshes, titles, path, *, ncols: int = 4, view: str = "lateral", panel_size=(300, 260),
                 color=BONE_COLOR) -> Path:
    """A grid of meshes with titles, e.g. the seven fracture types.

    Parameters
    ----------
    meshes : sequence of Mesh
    titles : sequence of str
        One per mesh.
    path : str or Path
        PNG file to write.
    ncols : int, default 4
        Panels per row.
    view : str, default "lateral"
    panel_size : (int, int), default (300, 260)
        Pixels per panel.
    color : colour of the surfaces.
    """
    meshes, titles = list(meshes), list(titles)
    if not meshes:
        raise ValueError("plot_gallery needs at least one mesh")
    if len(titles) != len(meshes):
        raise ValueError(f"titles must have one entry per mesh ({len(meshes)}), got {len(titles)}")
    for i, m in enumerate(meshes):
        _check_mesh(m, f"meshes[{i}]")
    _check_view(view)
    if int(ncols) < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols!r}")
    ncols = min(int(ncols), len(meshes))
    nrows = -(-len(meshes) // ncols)
    pw, ph = _check_window(panel_size)
    p = _plotter((pw * ncols, ph * nrows), shape=(nrows, ncols))
    # one camera distance for all panels so the sizes compare
    grids = [to_pyvista(m) for m in meshes]
    allb = np.array([g.bounds for g in grids])
    common = [allb[:, 0].min(), allb[:, 1].max(), allb[:, 2].min(), allb[:, 3].max(), allb[:, 4].min(),
              allb[:, 5].max()]
    for k, (g, t) in enumerate(zip(grids, titles)):
        p.subplot(k // ncols, k % ncols)
        p.add_mesh(g.extract_surface(**_SURFACE), color=color, show_edges=True, edge_color="#707070", line_width=0.3)
        p.add_text(str(t), font_size=10, color="black")
        _set_camera(p, common, view)
    return _save(p, path)


#: Colours of the leak picture: the path by which cement first left the body, and the outlet.
LEAK_PATH_COLOR = "#cc0000"
OUTLET_COLOR = "#c000c0"


def plot_first_leak(mesh: Mesh, arrival_time, leak_time: float, leak_cells, outlet_cells, path, *,
                    view: str = "oblique", window_size=DEFAULT_WINDOW, title: str | None = None,
                    note: str | None = None) -> Path:
    """Cement at the time of the first leak, with the leak path highlighted.

    The cement that had arrived by ``leak_time`` is drawn translucent and coloured by its arrival
    time; the cells of the leak path (e.g. :func:`vbfem.treatment.outlets.leak_path`) opaque red; the
    outlet's cells opaque magenta; the vertebra translucent.

    Parameters
    ----------
    mesh : Mesh
    arrival_time : array_like (n_cells,)
        Time (s after mixing) cement reached each cell, NaN where it never did.
    leak_time : float
        Time of the first leak, s after mixing (same clock as ``arrival_time``).
    leak_cells, outlet_cells : array_like of int
        The path's cells and the outlet's cells.
    path : str or Path
        PNG file to write.
    view : str, default "oblique"
    window_size : (int, int), default (800, 600)
    title, note : str, optional
        Text at the top left (two lines).

    Returns
    -------
    Path
    """
    _check_mesh(mesh)
    _check_view(view)
    t = np.asarray(arrival_time, float)
    if t.shape != (mesh.n_cells,):
        raise ValueError(f"arrival_time must have one value per cell, shape ({mesh.n_cells},), got {t.shape}")
    if not np.isfinite(leak_time):
        raise ValueError(f"leak_time={leak_time!r} must be a finite time in s")
    cells = {}
    for name, c in (("leak_cells", leak_cells), ("outlet_cells", outlet_cells)):
        c = np.asarray(c, np.int64).ravel()
        if c.size and (c.min() < 0 or c.max() >= mesh.n_cells):
            raise ValueError(f"{name} must be cell indices in [0, {mesh.n_cells}), got {c.min()}..{c.max()}")
        cells[name] = c
    cement = np.isfinite(t) & (t <= leak_time)
    cement[cells["leak_cells"]] = False
    grid = to_pyvista(mesh)
    p, row = _bottom_row(1, window_size)
    p.subplot(row, 0)
    p.add_mesh(grid.extract_surface(**_SURFACE), color=BONE_COLOR, opacity=0.18)
    mapper = None
    if cement.any():
        part = grid.extract_cells(np.flatnonzero(cement))
        part.cell_data["arrival time (s)"] = t[cement]
        lo, hi = float(t[cement].min()), float(t[cement].max())
        actor = p.add_mesh(part, scalars="arrival time (s)", cmap="viridis", clim=(lo, hi if hi > lo else lo + 1.0),
                           opacity=0.35, show_scalar_bar=False)
        mapper = actor.mapper
    if cells["outlet_cells"].size:
        p.add_mesh(grid.extract_cells(cells["outlet_cells"]), color=OUTLET_COLOR)
    if cells["leak_cells"].size:
        p.add_mesh(grid.extract_cells(cells["leak_cells"]), color=LEAK_PATH_COLOR)
    span = _add_orientation(p, grid.bounds, view, length=10.0)
    text = "\n".join(s for s in (title, note) if s)
    if text:
        p.add_text(text, position="upper_left", font_size=12, color="black")
    _set_camera(p, _union_bounds(grid, _pyvista().PolyData(span)), view, zoom=1.3)
    p.subplot(row + 1, 0)
    entries = [["vertebra (translucent)", BONE_COLOR], ["leak path", LEAK_PATH_COLOR], ["outlet", OUTLET_COLOR]]
    _legend_column(p, entries, window_size, width=380.0 if mapper is not None else None)
    if mapper is not None:
        _scalar_bar(p, ARRIVAL_TITLE, mapper, window_size)
    return _save(p, path)


def plot_endplate_maps(maps, path, *, label: str, cmap: str = "turbo", clim=None, title: str | None = None,
                       panel_size=(260, 240)) -> Path:
    """Maps of a per-quad value on endplates (e.g. the disc pressure on the endplates next to a treated
    body), one panel per (endplate, state): endplates in rows, states in columns, one colour range.

    Parameters
    ----------
    maps : mapping state -> mapping endplate -> (corners, values)
        ``corners``: array (n_quads, 4, 3), the quads' corner coordinates in mm (vbfem's axes);
        ``values``: array (n_quads,). Every state must name the same endplates.
    path : str or Path
        PNG file to write.
    label : str
        Name and unit of the value (colour-bar title).
    cmap : str, default "turbo"
    clim : (float, float), optional
        Colour range; default the range over all panels.
    title : str, optional
        Text at the left of the colour-bar strip (e.g. the load).
    panel_size : (int, int), default (260, 240)
        Pixels per panel; the colour-bar strip under the panels adds a quarter of a panel row.

    Returns
    -------
    Path

    Notes
    -----
    Seen from above (:data:`VIEWS` ``"superior"``: anterior up, the patient's right to the right) under a
    parallel projection, every panel at one scale. Each panel is titled with its state and endplate and the
    area-weighted mean and the peak of its values. The quads carry their own value (no smoothing).
    """
    states = list(maps)
    if not states:
        raise ValueError("maps must hold at least one state")
    endplates = list(maps[states[0]])
    if not endplates:
        raise ValueError(f"maps[{states[0]!r}] holds no endplate")
    panels = {}
    for s in states:
        if list(maps[s]) != endplates:
            raise ValueError(f"maps[{s!r}] names endplates {list(maps[s])}, the first state {endplates}")
        for e in endplates:
            corners, values = (np.asarray(a, float) for a in maps[s][e])
            if corners.ndim != 3 or corners.shape[1:] != (4, 3) or values.shape != (len(corners),) or not len(values):
                raise ValueError(f"maps[{s!r}][{e!r}]: corners must be (n, 4, 3) and values (n,) with n >= 1, got "
                                 f"{corners.shape} and {values.shape}")
            if not (np.all(np.isfinite(corners)) and np.all(np.isfinite(values))):
                raise ValueError(f"maps[{s!r}][{e!r}] holds non-finite coordinates or values")
            panels[s, e] = corners, values
    allv = np.concatenate([v for _, v in panels.values()])
    lo, hi = (float(allv.min()), float(allv.max())) if clim is None else (float(clim[0]), float(clim[1]))
    if not hi > lo:
        hi = lo + (abs(lo) or 1.0) * 1e-3
    pw, ph = _check_window(panel_size)
    rows, cols = len(endplates), len(states)
    pv = _pyvista()
    p = pv.Plotter(off_screen=True, window_size=[pw * cols, int(ph * (rows + 0.25))], shape=(rows + 1, cols),
                   row_weights=[4] * rows + [1], groups=[(rows, np.s_[:])] if cols > 1 else None, border=False)
    p.set_background("white")
    # one in-plane extent for every panel, so the sizes compare
    xy = np.concatenate([c.reshape(-1, 3) for c, _ in panels.values()])
    half = 0.55 * float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])))
    mapper = None
    for (s, e), (corners, values) in panels.items():
        p.subplot(endplates.index(e), states.index(s))
        n = len(corners)
        faces = np.column_stack([np.full(n, 4), np.arange(4 * n).reshape(n, 4)]).ravel()
        poly = pv.PolyData(corners.reshape(-1, 3), faces)
        poly.cell_data[label] = values
        actor = p.add_mesh(poly, scalars=label, cmap=cmap, clim=(lo, hi), preference="cell", show_edges=True,
                           edge_color="#606060", line_width=0.3, show_scalar_bar=False)
        mapper = actor.mapper
        area = 0.5 * np.linalg.norm(np.cross(corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]), axis=1)
        text = f"{s}, {e}\nmean {np.average(values, weights=area):.4g}, peak {values.max():.4g}"
        p.add_text(text, font_size=8, color="black")
        c = 0.5 * (xy.min(axis=0) + xy.max(axis=0))
        cz = float(corners[..., 2].mean())
        bounds = (c[0] - half, c[0] + half, c[1] - half, c[1] + half, cz - 1.0, cz + 1.0)
        _set_camera(p, bounds, "superior")
        p.enable_parallel_projection()
        p.camera.parallel_scale = 1.3 * half  # room for the panel title above the map
    p.subplot(rows, 0)
    if title:  # left of the bar, wrapped to fit the narrowest (one-column) strip
        import textwrap

        p.add_text(textwrap.fill(title, 24), font_size=6, color="black", position="upper_left")
    bar = p.add_scalar_bar(title=label, mapper=mapper, color="black", vertical=False, position_x=0.4,
                           position_y=0.3, width=0.55, height=0.6, fmt="%.3g", n_labels=5, title_font_size=12,
                           label_font_size=11)
    bar.SetTextPositionToPrecedeScalarBar()
    bar.SetBarRatio(0.3)
    return _save(p, path)
