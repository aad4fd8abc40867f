"""Fracture defects: intravertebral clefts and outlets (cortical breaches, endplate cracks).

:func:`vbfem.fracture.deformity.apply_fracture` validates the options and calls these
on the fractured mesh.

Clefts
------
An intravertebral cleft (Kümmell disease) is a fluid-filled void of
trabecular cells beneath the collapsed endplate: tissue ``"void"`` with
modulus :func:`void_modulus` and density 0, cell set ``"cleft"``.

Outlets
-------
Cortical breaches and endplate cracks become cell sets whose names start
with ``"outlet_"`` (``"outlet_breach_<name>"``, ``"outlet_endplate_crack"``).
**Convention: the cement-flow model treats every cell set whose name starts
with ``"outlet_"`` as a leakage outlet.** :func:`typical_breaches` gives the outlets
that follow from the fracture kind (``breaches="typical"``).

Fracture line
-------------
A fluid-filled fracture line from the cleft (or the middle of the damaged band) to each
cortical breach and to the endplate crack (the underside of the cracked endplate), cell set
``"fracture_line"``: cells within a half-width of the segments.
Its mechanical effect is the damaged band's; for the flow,
:func:`vbfem.treatment.fracture_line.fracture_line_permeability` adds the cubic-law
permeability of a slit of a given aperture.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ..records import Mesh, tissue_code

__all__ = ["BREACH_DIRECTIONS", "BREACH_RADIUS", "CLEFT_RADII", "ENDPLATE_CRACK_RADIUS",
           "FRACTURE_LINE_HALF_WIDTH", "TYPICAL_BREACHES", "WEDGE_CRACK_POSITION", "cleft_cells", "crack_point",
           "fracture_line_cells", "open_outlets", "typical_breaches"]

#: Default cleft semi-axes as fractions of (sagittal depth, width, damage depth).
#: Kümmell clefts lie in the anterior-central body just beneath the collapsed
#: endplate; the size is an assumption, pass ``cleft={"radii": ...}`` in mm.
CLEFT_RADII = (0.2, 0.25, 0.5)

#: Default radius (mm) of a cortical breach and of an endplate crack
#: (assumptions: defects of a few mm).
BREACH_RADIUS = 3.0
ENDPLATE_CRACK_RADIUS = 5.0

#: Named breach locations: outward direction from the body centre (mid-height
#: of the middle station).
BREACH_DIRECTIONS = MappingProxyType({
    "anterior": (1.0, 0.0, 0.0),
    "posterior": (-1.0, 0.0, 0.0),
    "lateral_left": (0.0, 1.0, 0.0),
    "lateral_right": (0.0, -1.0, 0.0),
})


#: Outlets that follow from each deformity component. A compression (wedge) fracture is the
#: failure of the anterior column under compression with the middle column intact (Denis F,
#: "The three column spine and its significance in the classification of acute thoracolumbar
#: spinal injuries", Spine 1983;8:817-831): the anterior cortex is a broken wall, and so is the
#: collapsed endplate: the AO Spine A1 "wedge-compression" fractures are "vertebral body fractures
#: with one or both endplates involved" (AO Surgery Reference, thoracolumbar A1, definition; Reinhold
#: et al., Eur Spine J 2013;22:2184, PMC3804719), and a wedge fracture shows "cortical disruption with
#: impaction of one endplate without the involvement of the posterior wall" (Radiopaedia, "Spinal wedge
#: fracture", radiographic features); the wedge's crack lies in the anterior part of the endplate
#: (:data:`WEDGE_CRACK_POSITION`). A biconcave deformity is the central depression of the endplate(s),
#: i.e. endplate fractures (Denis's compression subtypes A-C fail one or both endplates), which open the
#: body to the disc. A crush (the whole body, posterior wall included, loses height) breaks both. The
#: combinations take the union. Which outlet opens on a given patient is for the CT; these are defaults.
TYPICAL_BREACHES = MappingProxyType({
    "wedge": ("anterior", "endplate_crack"),
    "biconcave": ("endplate_crack",),
    "crush": ("anterior", "endplate_crack"),
})

#: Default position of the endplate crack of a deformity with a wedge component (and no biconcave one),
#: as a fraction of the endplate's anterior-posterior depth behind its anterior rim: 0.3, the middle of the
#: second of five equal segments (a2). Dividing each endplate into five segments from anterior to posterior
#: (a1, a2, m, p2, p1), the most depressed point of superior endplate fractures lay "mostly at segment-a2
#: (approximately 45%), followed by segment-a1 (approximately 20%) or segment-m (approximately 20%), and very
#: rarely at segment-p1" (Wang XR, Xu FR, Huang QL, Wáng YXJ, "Radiological features of traumatic vertebral
#: endplate fracture: an analysis of 194 cases with 263 vertebral fractures", Chin Med J 2020;133:2696-2702,
#: PMC7647501, abstract). Those were traumatic fractures of adults (mean age 42 years); no such map of
#: osteoporotic endplate fractures was read, so the position is the traumatic series' mode. The quote maps
#: superior endplates; a wedge whose inferior endplate collapses too gets its crack at the same position
#: (assumption: no map of inferior endplate fractures was read). A biconcave deformity's crack stays at the
#: middle station (its central depression).
WEDGE_CRACK_POSITION = 0.3

#: Default half-width of the fracture-line band, mm (an assumption: the band must be at least
#: about one cell wide to be connected on a 3 mm mesh; the aperture of the slit is a separate
#: parameter of the flow).
FRACTURE_LINE_HALF_WIDTH = 2.0


def typical_breaches(kind: str) -> tuple[str, ...]:
    """Names of the outlets that follow from a fracture kind (:data:`TYPICAL_BREACHES`).

    Parameters
    ----------
    kind : str
        A canonical kind (``"wedge+crush"``; see :func:`vbfem.fracture.deformity.fracture_kind`).

    Returns
    -------
    tuple of str
        Breach names in a fixed order (the union over the components).

    Examples
    --------
    >>> typical_breaches("wedge+biconcave+crush")
    ('anterior', 'endplate_crack')
    """
    names = []
    for part in kind.split("+"):
        if part not in TYPICAL_BREACHES:
            raise ValueError(f"kind component {part!r} unknown; allowed: {', '.join(TYPICAL_BREACHES)}")
        names += [n for n in TYPICAL_BREACHES[part] if n not in names]
    return tuple(names)


def crack_point(kind: str, stations) -> float:
    """x (mm) of the default endplate crack of a fracture ``kind`` in the mid-sagittal plane.

    A kind with a wedge component and no biconcave one: :data:`WEDGE_CRACK_POSITION` of the depth behind
    the anterior rim (its anterior endplate fracture); any other kind: the middle station (a central
    depression).

    Parameters
    ----------
    kind : str
        A canonical kind (:func:`vbfem.fracture.deformity.fracture_kind`).
    stations : sequence of 3 float
        x of the anterior rim, the middle station and the posterior rim, mm.

    Returns
    -------
    float
        x of the crack's centre, mm.

    Examples
    --------
    >>> round(crack_point("wedge", (15.0, 0.0, -15.0)), 2), crack_point("biconcave+wedge", (15.0, 0.0, -15.0))
    (6.0, 0.0)
    """
    if len(stations) != 3:
        raise ValueError(f"stations={tuple(stations)!r}: need the x of the anterior rim, the middle station and the "
                         "posterior rim (3 values, mm)")
    xa, xm, xp = (float(v) for v in stations)
    if not xa > xp:
        raise ValueError(f"stations={tuple(stations)!r}: the anterior rim must lie anterior (+x) of the posterior one")
    parts = str(kind).split("+")
    if not set(parts) <= set(TYPICAL_BREACHES):
        raise ValueError(f"kind={kind!r}: components must be among {sorted(TYPICAL_BREACHES)}, joined by '+'")
    if "wedge" in parts and "biconcave" not in parts:
        return xa - WEDGE_CRACK_POSITION * (xa - xp)
    return xm


def fracture_line_cells(mesh: Mesh, tissue, start, ends, centroids, *,
                        half_width: float = FRACTURE_LINE_HALF_WIDTH) -> np.ndarray:
    """Flow cells (trabecular, damaged or void) within ``half_width`` of the segments ``start``-``end``.

    Parameters
    ----------
    mesh : Mesh
    tissue : ndarray of int (n,)
        Tissue codes of the (fractured) cells (:data:`vbfem.records.TISSUES`).
    start : array_like (3,)
        The line's origin (the cleft's centre, or the damaged band's middle), mm.
    ends : array_like (m, 3)
        Its ends (cortical breach points, the endplate crack's point under the endplate), mm.
    centroids : ndarray (n, 3)
        Cell centroids, mm.
    half_width : float, keyword-only
        mm (> 0).

    Returns
    -------
    ndarray of int
        Sorted cell indices.
    """
    if not (np.isfinite(half_width) and half_width > 0):
        raise ValueError(f"fracture line half_width={half_width!r} must be a finite length > 0 mm")
    a = np.asarray(start, float)
    near = np.zeros(len(centroids), bool)
    for b in np.atleast_2d(np.asarray(ends, float)):
        d = b - a
        t = np.clip((centroids - a) @ d / max(d @ d, 1e-300), 0.0, 1.0)
        near |= np.linalg.norm(centroids - (a + t[:, None] * d), axis=1) <= half_width
    allowed = np.isin(np.asarray(tissue), [tissue_code(t) for t in ("trabecular", "damaged", "void")])
    for name in ("cortex", "endplate", "superior_endplate", "inferior_endplate"):
        if name in mesh.cell_sets:
            allowed[mesh.cell_sets[name]] = False
    return np.flatnonzero(near & allowed)


def open_outlets(out: Mesh, breach_specs, x_mid: float, y_mid: float, centroids, sup1, inf1, collapsed, *,
                 crack_x: float | None = None) -> dict:
    """The outlet cells of the breaches and cracks on the fractured mesh ``out``.

    Parameters
    ----------
    out : Mesh
        The fractured mesh (cell sets ``"cortex"`` and ``"<side>_endplate"``).
    breach_specs : sequence of dict
        Checked breach specs: ``"name"``, ``"radius"`` (mm) and optionally ``"point"`` (mm).
    x_mid, y_mid : float
        The body's middle station (x, mm) and mid-sagittal plane (y, mm): a breach without a point of its
        own is placed relative to ``(x_mid, y_mid)`` at the mid-height between the endplates there.
    centroids : ndarray (n_cells, 3)
        Cell centroids of ``out``, mm.
    sup1, inf1
        The fractured superior and inferior endplate surfaces (their ``interp``/``z`` give the height at a
        point).
    collapsed : sequence of str
        The collapsed endplates (``"superior"``, ``"inferior"``), the endplate crack's candidate cells.
    crack_x : float, optional, keyword-only
        x (mm) of an endplate crack without a point of its own (:func:`crack_point`); default ``x_mid``.

    Returns
    -------
    dict
        ``{set name: (cells, description)}``: ``"outlet_endplate_crack"`` or ``"outlet_breach_<name>"``, the
        sorted cell indices, and ``{"point", "radius", "n_cells"}``; a crack's ``"point"`` is its (x, y) on the
        endplate, a breach's the (x, y, z) of its centre on the cortex, mm.

    Raises
    ------
    ValueError
        A breach that opens no cell (named with its point), or a mesh without the cell sets it needs.
    """
    centre = np.array([x_mid, y_mid])
    z_mid = 0.5 * float(sup1.interp(sup1.z, centre[None])[0] + inf1.interp(inf1.z, centre[None])[0])
    crack = np.array([x_mid if crack_x is None else float(crack_x), y_mid])
    outlets = {}
    for spec in breach_specs:
        if spec["name"] == "endplate_crack" and "point" not in spec:
            spec = dict(spec, point=crack)
        cells, point = _breach_cells(out, spec, centroids, np.array([x_mid, y_mid, z_mid]), collapsed)
        if cells.size == 0:
            raise ValueError(f"breach {spec['name']!r} at {np.round(point, 2).tolist()} mm opens no cell; "
                             "move it or enlarge its radius")
        set_name = "outlet_endplate_crack" if spec["name"] == "endplate_crack" else f"outlet_breach_{spec['name']}"
        outlets[set_name] = (cells, {"point": np.asarray(point).tolist(), "radius": spec["radius"],
                                     "n_cells": int(cells.size)})
    return outlets


def _breach_cells(mesh: Mesh, spec, centroids, centre, collapsed):
    """Cells opened by one breach and the breach point."""
    name, radius = spec["name"], spec["radius"]
    if name == "endplate_crack":
        sets = [f"{side}_endplate" for side in collapsed if f"{side}_endplate" in mesh.cell_sets]
        if not sets:
            raise ValueError("an endplate crack needs the cell sets superior_endplate / inferior_endplate")
        cand = np.unique(np.concatenate([mesh.cell_sets[s] for s in sets]))
        point = spec.get("point", centre)[:2]
        dist = np.hypot(*(centroids[cand, :2] - point).T)
        return np.sort(cand[dist <= radius]), point
    if "cortex" not in mesh.cell_sets:
        raise ValueError(f"breach {name!r} needs the cell set 'cortex'")
    cortex = mesh.cell_sets["cortex"]
    if "point" in spec:
        point = spec["point"]
    else:
        d = np.asarray(BREACH_DIRECTIONS[name])
        v = centroids[cortex] - centre
        along = v @ d
        off = np.linalg.norm(v - along[:, None] * d, axis=1)
        point = centroids[cortex[np.argmax(along - 2.0 * off)]]
    dist = np.linalg.norm(centroids[cortex] - point, axis=1)
    return np.sort(cortex[dist <= radius]), point


def cleft_cells(mesh, materials, spec, centroids, collapsed, depth, stations, sup1, inf1, thickness):
    """Trabecular (or damaged) cells inside the cleft ellipsoid of ``spec``, and its description.

    ``depth`` is the damage band's depth (mm, > 0; sets the default height), ``stations`` (anterior, middle,
    posterior x, mid-sagittal y) in mm, ``thickness`` the (superior,
    inferior) bony endplate thicknesses in mm.
    """
    xa, xm, xp, y_c = stations
    side = spec.get("endplate") or ("superior" if "superior" in collapsed else "inferior")
    radii = spec.get("radii")
    if radii is None:
        width = float(sup1.xy[:, 1].max() - sup1.xy[:, 1].min())
        radii = np.array([CLEFT_RADII[0] * (xa - xp), CLEFT_RADII[1] * width,
                          CLEFT_RADII[2] * depth])
    centre = spec.get("center")
    if centre is None:
        x = xm + 0.25 * (xa - xp)
        p = np.array([[x, y_c]])
        if side == "superior":
            z = float(sup1.interp(sup1.z, p)[0]) - thickness[0] - radii[2]
        else:
            z = float(inf1.interp(inf1.z, p)[0]) + thickness[1] + radii[2]
        centre = np.array([x, y_c, z])
    q = (centroids - centre) / radii
    inside = np.einsum("ij,ij->i", q, q) <= 1.0
    allowed = materials.mask("trabecular") | materials.mask("damaged")
    for name in ("cortex", "endplate", "superior_endplate", "inferior_endplate"):
        if name in mesh.cell_sets:
            allowed[mesh.cell_sets[name]] = False
    cells = np.flatnonzero(inside & allowed)
    return cells, {"center": centre.tolist(), "radii": np.asarray(radii).tolist(), "endplate": side,
                   "n_cells": int(cells.size)}
