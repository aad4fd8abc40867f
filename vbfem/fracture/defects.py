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
with ``"outlet_"`` as a leakage outlet.**
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ..records import Mesh

__all__ = ["BREACH_DIRECTIONS", "BREACH_RADIUS", "CLEFT_RADII", "ENDPLATE_CRACK_RADIUS",
           "cleft_cells", "open_outlets"]

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


def open_outlets(out: Mesh, breach_specs, x_mid: float, y_mid: float, centroids, sup1, inf1, collapsed) -> dict:
    """``{set name: (cells, description)}`` of the breaches and cracks on the fractured mesh ``out``.

    ``breach_specs`` are checked specs (name, radius, optional point);
    ``x_mid``, ``y_mid`` (mm) the middle station and mid-sagittal plane;
    ``sup1``, ``inf1`` the fractured endplate surfaces; ``collapsed`` the
    collapsed endplates (the crack's candidates).
    """
    centre = np.array([x_mid, y_mid])
    z_mid = 0.5 * float(sup1.interp(sup1.z, centre[None])[0] + inf1.interp(inf1.z, centre[None])[0])
    outlets = {}
    for spec in breach_specs:
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
