"""Osteoporotic vertebral compression fractures: the seven deformities, graded, as a pipeline stage.

:func:`apply_fracture` is the pipeline's fracture stage. It deforms an intact
vertebral-body mesh into one of the seven deformity types of the seed
document (wedge, biconcave, crush and their combinations), graded by Genant's
semiquantitative scale, and returns the deformed mesh with a material map in
which the bone compacted beneath the collapsed endplate is damaged.
:func:`measure_heights` measures the anterior, middle and posterior body
heights in the mid-sagittal plane, as vertebral morphometry does.

Definitions (Genant et al., J Bone Miner Res 1993;8:1137)
--------------------------------------------------------
Heights are measured between the superior and inferior endplate surfaces in
the mid-sagittal plane: ``Ha`` at the anterior rim, ``Hp`` at the posterior
rim and ``Hm`` midway between them. A grade is a reduction of a height
relative to the *expected* height, which here is the same vertebra intact
(subscript 0). With ``L`` the height loss (a fraction):

- **wedge**: anterior height lost relative to the posterior,
  ``Ha/Hp = (1 - L) Ha0/Hp0`` with ``Hp = Hp0``; the collapsed endplate
  tilts about the posterior rim (a hinge; the loss is linear in x).
- **biconcave**: middle height lost relative to the posterior,
  ``Hm/Hp = (1 - L) Hm0/Hp0`` with ``Ha = Ha0`` and ``Hp = Hp0``; a central
  depression ``(1 - rho^2)^2`` of the endplate(s), ``rho`` the normalised
  radius from the middle station to the rim.
- **crush**: the whole body, the posterior height included, lost relative
  to the expected height, ``Hp = (1 - L) Hp0`` with both ratios unchanged.

The combinations superpose these three collapse fields; their shares are
fixed by conditions on the three heights (``L`` is always the largest
reduction of any height, so the Genant grade of the result is the grade
asked for). :data:`CRUSH_SHARE` (0.5) is the fraction of ``L`` lost
posteriorly by the crush component of a combination (a modelling choice):

- **wedge+crush**: ``Hp = (1 - L/2) Hp0``, ``Ha = (1 - L) Ha0``;
- **crush+biconcave**: ``Hp = (1 - L/2) Hp0``, ``Hm = (1 - L) Hm0``;
- **biconcave+wedge**: ``Hp = Hp0``, ``Ha = (1 - L) Ha0``, ``Hm = (1 - L) Hm0``
  (so both ratios ``Ha/Hp`` and ``Hm/Hp`` drop by ``L``);
- **wedge+biconcave+crush**: ``Hp = (1 - L/2) Hp0``, ``Ha = (1 - L) Ha0``,
  ``Hm = (1 - L) Hm0``.

The deformation (a compaction band beneath each collapsed endplate) and the
damage of the band: see :mod:`vbfem.fracture.band`. Clefts and outlets (cortical
breaches, endplate cracks): see :mod:`vbfem.fracture.defects`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..anatomy.heights import _mid_plane, _Surface, measure_heights
from ..fem.assembly import check_mesh
from ..fem.cells import cell_centroids, cell_volumes
from ..fem.elements import TET10_EDGES
from ..fem.plasticity import NO_YIELD
from ..materials.bone import CORRELATION_LENGTH, VOID_MODULUS_RATIO, void_modulus
from ..materials.damage import residual_modulus_fraction, residual_strength_fraction
from ..materials.laws import YIELD_STRAIN_COMPRESSION
from ..materials.random_field import correlated_field
from ..materials.strength import yield_stresses
from ..records import MaterialMap, Mesh, tissue_code
from .band import DAMAGE_DEPTH, band_moduli, band_strain, column_map, damaged_fraction
from .defects import (
    BREACH_DIRECTIONS,
    BREACH_RADIUS,
    ENDPLATE_CRACK_RADIUS,
    FRACTURE_LINE_HALF_WIDTH,
    cleft_cells,
    crack_point,
    fracture_line_cells,
    open_outlets,
    typical_breaches,
)

log = logging.getLogger(__name__)

__all__ = [
    "CRUSH_SHARE", "GENANT_GRADES", "GRADE_HEIGHT_LOSS", "KINDS", "apply_fracture", "fracture_kind", "grade_of",
]

#: The seven deformity types of the seed document (shared/seed/), canonical names.
KINDS = (
    "wedge", "biconcave", "crush", "wedge+crush", "biconcave+wedge", "crush+biconcave",
    "wedge+biconcave+crush",
)
_COMPONENTS = ("wedge", "biconcave", "crush")

#: Genant semiquantitative grades: height-loss band (fractions) of grades
#: 1-3 (Genant et al., J Bone Miner Res 1993;8:1137: grade 1 mild 20-25 %,
#: 2 moderate 25-40 %, 3 severe > 40 %). Genant gives no upper bound for
#: grade 3; 0.8 is the largest height loss this model accepts.
GENANT_GRADES = MappingProxyType({1: (0.20, 0.25), 2: (0.25, 0.40), 3: (0.40, 0.80)})

#: Representative height loss of each grade: the middle of the Genant band
#: for grades 1 and 2; for grade 3 the middle of 40-60 % (60 % taken as the
#: practical upper end of severe osteoporotic deformities; an assumption).
GRADE_HEIGHT_LOSS = MappingProxyType({1: 0.225, 2: 0.325, 3: 0.50})

#: Fraction of the height loss ``L`` lost posteriorly by the crush component
#: of a combined deformity (modelling choice, see the module docstring).
CRUSH_SHARE = 0.5

_ENDPLATE_OPTIONS = ("both", "superior", "inferior")
#: Collapsed endplate(s) of each component when ``endplate`` is not given.
_DEFAULT_SIDE = {"wedge": "superior", "crush": "superior", "biconcave": "both"}
#: A collapse must leave at least this fraction of the core height.
_MAX_CORE_COMPACTION = 0.95



# ------------------------------------------------------------------ kinds
def fracture_kind(kind: str) -> str:
    """Canonical name of a deformity type; components may come in any order.

    Parameters
    ----------
    kind : str
        E.g. ``"crush+wedge"`` or ``"Biconcave + wedge"``.

    Returns
    -------
    str
        One of :data:`KINDS`.

    Examples
    --------
    >>> fracture_kind("crush + wedge")
    'wedge+crush'
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a str, one of {', '.join(KINDS)}; got {type(kind).__name__}")
    parts = [p.strip().lower() for p in kind.split("+")]
    if any(p not in _COMPONENTS for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(
            f"unknown fracture kind {kind!r}; valid kinds (components in any order): {', '.join(KINDS)}"
        )
    wanted = set(parts)
    return next(k for k in KINDS if set(k.split("+")) == wanted)


def grade_of(height_loss: float) -> int:
    """Genant grade (1-3) of a height loss fraction; 0 below 20 % (not a fracture)."""
    if height_loss < GENANT_GRADES[1][0]:
        return 0
    return 1 if height_loss < GENANT_GRADES[2][0] else 2 if height_loss <= GENANT_GRADES[3][0] else 3


# ------------------------------------------------------------------ checks
def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _height_loss(grade, height_loss) -> tuple[int | None, float]:
    if (grade is None) == (height_loss is None):
        raise ValueError(
            "give exactly one of grade (Genant 1, 2 or 3) or height_loss (a fraction in (0, 0.8)); "
            f"got grade={grade!r}, height_loss={height_loss!r}"
        )
    if grade is not None:
        if isinstance(grade, bool) or not isinstance(grade, (int, np.integer)) or int(grade) not in GRADE_HEIGHT_LOSS:
            raise ValueError(f"grade={grade!r} is not a Genant grade; allowed: 1, 2, 3")
        return int(grade), GRADE_HEIGHT_LOSS[int(grade)]
    loss = _number(height_loss, "height_loss")
    if not 0.0 < loss < 0.8:
        raise ValueError(f"height_loss={height_loss!r} is outside the allowed range 0 < height_loss < 0.8")
    return None, loss


def _check_cleft(cleft):
    if cleft is None or cleft is False:
        return None
    if cleft is True:
        return {}
    if not isinstance(cleft, dict):
        raise TypeError(f"cleft must be False, True or a dict with keys center, radii, endplate; got {cleft!r}")
    unknown = set(cleft) - {"center", "radii", "endplate"}
    if unknown:
        raise ValueError(f"cleft has unknown keys {sorted(unknown)}; allowed: center, radii, endplate")
    out = dict(cleft)
    if out.get("center") is not None:
        c = np.asarray(out["center"], float)
        if c.shape != (3,) or not np.all(np.isfinite(c)):
            raise ValueError(f"cleft center must be a finite point (x, y, z) in mm, got {out['center']!r}")
        out["center"] = c
    if out.get("radii") is not None:
        r = np.asarray(out["radii"], float)
        if r.shape != (3,) or not np.all(r > 0):
            raise ValueError(f"cleft radii must be three semi-axes > 0 mm, got {out['radii']!r}")
        out["radii"] = r
    if out.get("endplate") is not None and out["endplate"] not in ("superior", "inferior"):
        raise ValueError(f"cleft endplate={out['endplate']!r}; allowed: 'superior', 'inferior'")
    return out


def _check_breaches(breaches):
    if breaches is None:
        return []
    if isinstance(breaches, (str, dict)):
        breaches = [breaches]
    out = []
    allowed = ", ".join([*BREACH_DIRECTIONS, "endplate_crack"])
    for item in breaches:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise TypeError(
                f"each breach must be a name ({allowed}) or a dict with 'name' and optional 'point' (mm) "
                f"and 'radius' (mm); got {item!r}"
            )
        unknown = set(item) - {"name", "point", "radius"}
        if unknown:
            raise ValueError(
                f"breach {item['name']!r} has unknown keys {sorted(unknown)}; allowed: name, point, radius"
            )
        spec = {"name": item["name"]}
        if item.get("point") is not None:
            p = np.asarray(item["point"], float)
            if p.shape not in ((2,), (3,)) or not np.all(np.isfinite(p)):
                raise ValueError(
                    f"breach {item['name']!r}: point must be finite (x, y[, z]) in mm, got {item['point']!r}"
                )
            spec["point"] = p
        elif item["name"] not in BREACH_DIRECTIONS and item["name"] != "endplate_crack":
            raise ValueError(f"breach {item['name']!r} is not a named location ({allowed}); give a 'point' (mm)")
        if item["name"] != "endplate_crack" and "point" in spec and spec["point"].shape != (3,):
            raise ValueError(f"breach {item['name']!r}: a cortical breach point needs (x, y, z) in mm")
        default_r = ENDPLATE_CRACK_RADIUS if item["name"] == "endplate_crack" else BREACH_RADIUS
        r = _number(item.get("radius", default_r), f"breach {item['name']!r} radius")
        if not r > 0:
            raise ValueError(f"breach {item['name']!r}: radius must be > 0 mm, got {r!r}")
        spec["radius"] = r
        out.append(spec)
    names = [b["name"] for b in out]
    if len(set(names)) != len(names):
        raise ValueError(f"breach names must be unique, got {names}")
    return out


# ------------------------------------------------------------------- stage
def apply_fracture(mesh: Mesh, materials: MaterialMap, kind: str, *, grade: int | None = None,
                   height_loss: float | None = None, endplate: str | None = None,
                   damage_depth: float = DAMAGE_DEPTH, damage_factor: float | None = None,
                   damage_heterogeneity: float = 0.0, cleft=False, breaches=(), fracture_line=False, seed=None,
                   superior: str = "superior", inferior: str = "inferior") -> tuple[Mesh, MaterialMap]:
    """Deform an intact vertebral body into a graded compression fracture.

    See the module docstring for the definitions of the seven kinds, and
    :mod:`vbfem.fracture.band` for the deformation and the damaged zone.

    Parameters
    ----------
    mesh : Mesh
        Intact body with node sets on both endplate surfaces; cell sets
        ``superior_endplate`` / ``inferior_endplate`` (bony endplate layers,
        translated rigidly) and ``cortex`` are used when present.
    materials : MaterialMap
        Its intact materials (e.g. :func:`vbfem.materials.bone.assign_bone`).
    kind : str
        One of :data:`KINDS`, components in any order (``"crush+wedge"``).
    grade : {1, 2, 3}, keyword-only
        Genant grade; the height loss is :data:`GRADE_HEIGHT_LOSS` of it.
    height_loss : float, keyword-only
        Height loss ``L`` as a fraction in (0, 0.8). Give exactly one of
        ``grade`` and ``height_loss``.
    endplate : {"both", "superior", "inferior"}, optional, keyword-only
        Endplate(s) that collapse. Default: the superior endplate for the
        wedge and crush components, both for the biconcave component (each
        then takes half of its collapse). When given it applies to every
        component.
    damage_depth : float, keyword-only, default :data:`DAMAGE_DEPTH` (5 mm)
        Thickness (mm, >= 0, in the fractured body) of the compacted,
        damaged band beneath each collapsed endplate. 0 spreads the
        collapse over the whole core height and damages nothing.
    damage_factor : float or None, keyword-only
        Modulus multiplier of damaged cells, in (0, 1]. None (default): the
        reloading modulus of bone overloaded to the band's compaction strain,
        :func:`vbfem.materials.damage.residual_modulus_fraction` (material data);
        a number overrides it (sensitivity studies). The damaged cells' yield
        stress is always :func:`vbfem.materials.damage.residual_strength_fraction`
        of the intact one.
    damage_heterogeneity : float, keyword-only, default 0
        Coefficient of variation of a spatially correlated random factor on
        the damaged cells' modulus multiplier (correlation length 5 mm,
        :func:`vbfem.materials.random_field.correlated_field`); the factor is clipped to (0, 1].
    cleft : bool or dict, keyword-only, default False
        Intravertebral cleft (Kümmell disease): a fluid-filled void of
        trabecular cells beneath the collapsed endplate, labelled ``"void"``
        with modulus :data:`VOID_MODULUS_RATIO` times the median intact
        trabecular modulus and density 0, cell set ``"cleft"``. A dict sets
        ``center`` (x, y, z in mm, fractured body), ``radii`` (ellipsoid
        semi-axes in mm) and ``endplate`` ("superior" / "inferior"); the
        defaults put an ellipsoid of :data:`CLEFT_RADII` under the middle of
        the anterior half of the collapsed endplate.
    breaches : sequence, keyword-only
        Cortical breaches and endplate cracks. Each item is a name
        (``"anterior"``, ``"posterior"``, ``"lateral_left"``,
        ``"lateral_right"``, ``"endplate_crack"``) or a dict with ``name``
        and optional ``point`` (mm) and ``radius`` (mm, default
        :data:`BREACH_RADIUS`, :data:`ENDPLATE_CRACK_RADIUS` for cracks). A
        cortical breach takes the ``cortex`` cells within ``radius`` of the
        point (for a named location, the outer wall at mid-height in that
        direction) into cell set ``"outlet_breach_<name>"``; the crack takes
        the collapsed endplate's cells within ``radius`` (in x, y) of the
        point (default :func:`vbfem.fracture.defects.crack_point`: for a wedge
        the anterior part of the endplate, segment a2 of five, otherwise the
        middle station) into ``"outlet_endplate_crack"``.
        The opened cells are damaged as bone crushed without limit.
        The flow model treats every cell set whose name starts with
        ``"outlet_"`` as a leakage outlet. ``"typical"``: the outlets that follow
        from ``kind`` (:func:`vbfem.fracture.defects.typical_breaches`: wedge and
        crush the anterior cortex and an endplate crack, biconcave an endplate crack).
    fracture_line : bool or float, keyword-only, default False
        A fluid-filled fracture line from the cleft's centre (or the middle of
        the damaged band under the collapsed endplate) to each cortical breach
        and to the underside of each collapsed endplate at the endplate crack:
        cell set ``"fracture_line"``, the flow cells within a half-width (mm;
        True: :data:`vbfem.fracture.defects.FRACTURE_LINE_HALF_WIDTH`) of the
        segments. Needs a breach or a crack. Mechanically it is part of the
        damaged bone; the flow gives it the cubic-law permeability of its
        aperture (``fracture_line_aperture`` of the treatment).
    seed : int or None, keyword-only
        Seed of the random damage factor (used only with
        ``damage_heterogeneity > 0``).
    superior, inferior : str, keyword-only
        Names of the endplate-surface node sets.

    Returns
    -------
    mesh : Mesh
        Deformed mesh with every node and cell set kept, plus cell sets
        ``"damaged"``, ``"cleft"`` and outlets as requested, and cell data
        ``"fracture_displacement"`` (mean nodal displacement of each cell,
        mm, (m, 3)) and ``"volume_ratio"`` (deformed over intact volume).
    materials : MaterialMap
        Damaged, voided, densified materials; ``params["fracture"]`` records
        kind, grade, height loss, endplates, component coefficients, damage
        parameters, intact and fractured heights and the outlets.

    Raises
    ------
    ValueError, TypeError
        Bad options (raised before any computation), a collapse that the
        body cannot take, or an inverted element.

    Examples
    --------
    >>> from vbfem.anatomy.geometry import build_vertebra
    >>> from vbfem.anatomy.mesher import mesh_vertebra
    >>> from vbfem.materials.bone import assign_bone
    >>> m = mesh_vertebra(build_vertebra("L1"), size=4.0)
    >>> fm, fb = apply_fracture(m, assign_bone(m), "wedge", grade=2)
    >>> h0, h = measure_heights(m), measure_heights(fm)
    >>> round(1 - h.wedge_ratio / h0.wedge_ratio, 3)
    0.325
    """
    t_start = time.perf_counter()
    # ------------------------------------------------------------ validate
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a vbfem Mesh, got {type(mesh).__name__}")
    if not isinstance(materials, MaterialMap):
        raise TypeError(f"materials must be a vbfem MaterialMap, got {type(materials).__name__}")
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"materials have {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    kind = fracture_kind(kind)
    grade, loss = _height_loss(grade, height_loss)
    if endplate is not None and endplate not in _ENDPLATE_OPTIONS:
        raise ValueError(f"endplate={endplate!r} is not valid; allowed: {', '.join(_ENDPLATE_OPTIONS)} (or None)")
    depth = _number(damage_depth, "damage_depth")
    if depth < 0:
        raise ValueError(f"damage_depth={damage_depth!r} mm must be >= 0")
    factor = None if damage_factor is None else _number(damage_factor, "damage_factor")
    if factor is not None and not 0.0 < factor <= 1.0:
        raise ValueError(f"damage_factor={damage_factor!r} is outside the allowed range 0 < damage_factor <= 1 "
                         "(or None: from the material data)")
    het = _number(damage_heterogeneity, "damage_heterogeneity")
    if het < 0:
        raise ValueError(f"damage_heterogeneity={damage_heterogeneity!r} (a coefficient of variation) must be >= 0")
    cleft_spec = _check_cleft(cleft)
    if isinstance(breaches, str) and breaches == "typical":
        breaches = typical_breaches(kind)
    breach_specs = _check_breaches(breaches)
    if fracture_line is True:
        line_width = FRACTURE_LINE_HALF_WIDTH
    elif fracture_line is False or fracture_line is None:
        line_width = None
    else:
        line_width = _number(fracture_line, "fracture_line")
        if not line_width > 0:
            raise ValueError(f"fracture_line={fracture_line!r}: a half-width must be > 0 mm (or True / False)")
    if line_width is not None and not breach_specs:
        raise ValueError("fracture_line runs to a cortical breach or an endplate crack; give one in breaches "
                         "(e.g. 'anterior', 'endplate_crack' or 'typical')")
    for name in (superior, inferior):
        mesh.node_set(name)  # KeyError listing the sets

    components = kind.split("+")
    sides = {c: endplate or _DEFAULT_SIDE[c] for c in components}
    collapsed = sorted({e for s in sides.values() for e in (("superior", "inferior") if s == "both" else (s,))})

    col = _collapse(mesh, kind, loss, sides, superior, inferior)
    out, core, depth_eff = _deform(mesh, col, depth, kind, loss)
    xa, xm, xp = col.stations
    y_c, t_sup, t_inf = col.y_c, col.t_sup, col.t_inf

    # ------------------------------------------------------------ materials
    v0, v1 = cell_volumes(mesh), cell_volumes(out)
    ratio = v1 / v0
    tissue = materials.tissue.copy()
    density = materials.density * (v0 / v1)  # mass conserved per cell; NaN stays NaN
    phi, normal = np.zeros(mesh.n_cells), np.zeros((mesh.n_cells, 3))
    overload = np.zeros(mesh.n_cells)  # compressive strain the band imposed on each cell's bone
    if depth > 0:
        above = mesh.points[:, 2] - (col.zi0 + t_inf)  # height above the core's bottom, mm
        phi, normal = damaged_fraction(mesh, above, core, col.d_sup, col.d_inf, depth_eff)
        phi[_endplate_cells(mesh)] = 0.0
        overload = band_strain(mesh, above, core, col.d_sup, col.d_inf, depth_eff)
    centroids = cell_centroids(out)

    # breaches and cracks (outlets): opened cells are wholly damaged, as bone crushed without limit
    cell_sets = dict(out.cell_sets)
    sup1, inf1 = _Surface(out, superior), _Surface(out, inferior)
    outlets = open_outlets(out, breach_specs, col.stations[1], col.y_c, centroids, sup1, inf1, collapsed,
                           crack_x=crack_point(kind, col.stations))
    for set_name, (cells, _info) in outlets.items():
        cell_sets[set_name] = cells
        phi[cells] = 1.0
        overload[cells] = np.inf
    outlets = {name: info for name, (_cells, info) in outlets.items()}

    # damaged bone: the damaged part of a cell was overloaded beyond yield
    overload = np.maximum(overload, YIELD_STRAIN_COMPRESSION)
    f_cell = residual_modulus_fraction(overload) if factor is None else np.full(mesh.n_cells, factor)
    if het > 0:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
            log.info("apply_fracture: no seed given; drew seed %d", seed)
        s = math.sqrt(math.log1p(het * het))
        g = correlated_field(centroids, correlation_length=CORRELATION_LENGTH, seed=seed, weights=v1)
        f_cell = np.clip(f_cell * np.exp(s * g - 0.5 * s * s), 1e-6, 1.0)
    E = band_moduli(materials, phi, normal, f_cell)
    tissue[phi >= 0.5] = tissue_code("damaged")
    sigma_y, _ = yield_stresses(materials)
    hit = (phi > 0) & (sigma_y < NO_YIELD)
    yield_stress = (np.full(mesh.n_cells, np.nan) if materials.yield_stress is None
                    else np.array(materials.yield_stress))
    yield_stress[hit] = sigma_y[hit] * (1.0 - phi[hit] * (1.0 - residual_strength_fraction(overload[hit])))

    # cleft
    cleft_info = None
    if cleft_spec is not None:
        in_cleft, cleft_info = cleft_cells(out, materials, cleft_spec, centroids, collapsed,
                                           depth_eff if depth_eff > 0 else DAMAGE_DEPTH,
                                           (xa, xm, xp, y_c), sup1, inf1, (t_sup, t_inf))
        if in_cleft.size == 0:
            raise ValueError(f"the cleft {cleft_info} contains no trabecular cell; move it or enlarge it")
        e_void = void_modulus(materials)
        E[in_cleft] = e_void
        yield_stress[in_cleft] = np.nan  # a void never yields
        tissue[in_cleft] = tissue_code("void")
        density[in_cleft] = 0.0
        cell_sets["cleft"] = in_cleft
        cleft_info["modulus"] = e_void

    # fluid-filled fracture line from the cleft (or the damaged band's middle) to the cortical breaches and to
    # the underside of the cracked endplate(s) at the crack; each endplate's crack is reached from the band
    # under that endplate (or the cleft, if it lies there): with both endplates collapsed, a line from one
    # band to the other endplate would cut through the whole body, which no fracture of the kind does
    line_info = None
    if line_width is not None:
        def below(side, xy, depth):
            """The point ``depth`` (mm) inside the body from the underside of the ``side`` endplate at ``xy``."""
            p = np.asarray(xy, float)[None, :2]
            if side == "superior":
                return np.array([*p[0], float(sup1.interp(sup1.z, p)[0]) - t_sup - depth])
            return np.array([*p[0], float(inf1.interp(inf1.z, p)[0]) + t_inf + depth])

        def band_middle(side, xy):
            return below(side, xy, 0.5 * depth_eff)

        first = "superior" if "superior" in collapsed else "inferior"
        starts = {side: band_middle(side, (xm, y_c)) for side in (tuple(collapsed) or (first,))}
        if cleft_info is not None:
            centre = np.asarray(cleft_info["center"], float)
            near = min(starts, key=lambda side: abs(band_middle(side, centre[:2])[2] - centre[2]))
            starts[near] = first_start = centre
        else:
            first_start = starts[first]
        segments = [(first_start, [info["point"] for name, info in outlets.items()
                                   if name.startswith("outlet_breach_")])]
        if "outlet_endplate_crack" in outlets:
            q = outlets["outlet_endplate_crack"]["point"]
            segments += [(starts[side], [below(side, q, 0.0).tolist()]) for side in collapsed]
        start = first_start
        ends = [e for _, group in segments for e in group]
        in_line = np.unique(np.concatenate(
            [fracture_line_cells(out, tissue, a, group, centroids, half_width=line_width)
             for a, group in segments if len(group)] or [np.zeros(0, np.int64)]))
        cell_sets["fracture_line"] = in_line
        line_info = {"start": start.tolist(), "ends": [list(map(float, e)) for e in ends],
                     "segment_starts": [list(map(float, a)) for a, group in segments for _ in group],
                     "half_width": line_width, "n_cells": int(in_line.size)}

    cell_sets["damaged"] = np.flatnonzero(tissue == tissue_code("damaged"))
    disp_cell = (out.points - mesh.points)[mesh.cells].mean(axis=1)
    # the edge's normal, pointing into the damaged part, where the edge gives one; not band_normal's
    # (0, 0, 1) fallback (right for the laminate, whose modulus ignores the sign, but the wrong side for
    # an inferior band): a cut cell with a zero normal is left unsplit by balloon.damaged_parts
    edge_normal = np.where(((phi > 0) & (phi < 1.0))[:, None], np.asarray(normal, float), 0.0)
    out = out.replace(cell_sets=cell_sets,
                      cell_data={**out.cell_data, "fracture_displacement": disp_cell, "volume_ratio": ratio,
                                 "damaged_fraction": phi, "damaged_normal": edge_normal,
                                 "damage_modulus_fraction": np.where(phi > 0, f_cell, 1.0)})

    heights = measure_heights(out, superior=superior, inferior=inferior)
    record = {
        "kind": kind,
        "grade": grade,
        "genant_grade": grade_of(loss),
        "height_loss": loss,
        "endplate": endplate,
        "collapsed_endplates": collapsed,
        "component_sides": sides,
        "component_coefficients": dict(zip(components, col.coef.tolist())),
        "crush_share": CRUSH_SHARE,
        "damage_depth": depth,
        "damage_depth_effective": depth_eff,
        "damage_factor": factor if factor is not None else "residual_modulus_fraction (vbfem.materials.damage)",
        "damage_modulus_fraction_median": float(np.median(f_cell[phi >= 0.5])) if np.any(phi >= 0.5) else None,
        "damage_strength_rule": "residual_strength_fraction (vbfem.materials.damage)",
        "damage_heterogeneity": het,
        "damage_threshold_strain": YIELD_STRAIN_COMPRESSION,
        "seed": seed,
        "endplate_thickness": {"superior": t_sup, "inferior": t_inf},
        "intact_heights": col.H0.tolist(),
        "fractured_heights": heights.as_array().tolist(),
        "stations_x": [xa, xm, xp],
        "mid_sagittal_y": y_c,
        "n_damaged": int(cell_sets["damaged"].size),
        "damaged_volume": float(np.dot(phi, v1)),
        "damage_rule": "laminate of the damaged volume fraction across the band edge, modulus along z (Kabel 2015)",
        "cleft": cleft_info,
        "fracture_line": line_info,
        "outlets": outlets,
        "void_modulus_ratio": VOID_MODULUS_RATIO,
        "source": "Genant 1993 (grades); Wegrzyn 2011 (calibration target); seed document (kinds)",
    }
    new_materials = materials.replace(E=E, tissue=tissue, density=density,
                                      yield_stress=yield_stress if np.isfinite(yield_stress).any() else None,
                                      params={**materials.params, "fracture": record})
    log.info(
        "apply_fracture: %s, height loss %.3f, heights %s -> %s mm, %d damaged cells, in %.3f s",
        kind, loss, np.round(col.H0, 2).tolist(), np.round(heights.as_array(), 2).tolist(),
        record["n_damaged"], time.perf_counter() - t_start,
    )
    return out, new_materials


# ----------------------------------------------------------------- stages
@dataclass(frozen=True, eq=False)
class _Collapse:
    """The collapse of every node (mm along z) and the intact shape it was built on."""

    H0: np.ndarray        # intact heights at the stations [Ha0, Hm0, Hp0], mm
    stations: tuple       # (anterior, middle, posterior) station x, mm
    y_c: float            # mid-sagittal y, mm
    zs0: np.ndarray       # intact superior / inferior surface z at every node's (x, y), mm
    zi0: np.ndarray
    t_sup: float          # bony endplate thicknesses, mm
    t_inf: float
    coef: np.ndarray      # component coefficients
    d_sup: np.ndarray     # collapse of the superior / inferior endplate above every node, mm
    d_inf: np.ndarray


def _collapse(mesh: Mesh, kind: str, loss: float, sides: dict, superior: str, inferior: str) -> _Collapse:
    """Collapse profiles of the components, scaled so that the measured heights lose ``loss``."""
    components = kind.split("+")
    sigma = {c: {"superior": 1.0, "inferior": 0.0, "both": 0.5}[s] for c, s in sides.items()}
    sup, inf = _Surface(mesh, superior), _Surface(mesh, inferior)
    y_c = _mid_plane(sup)
    h0_sup, (xa, xm, xp) = sup.stations(sup.z, y_c)
    h0_inf, _ = inf.stations(inf.z, y_c, x_mid=xm)
    H0 = h0_sup - h0_inf  # intact [Ha0, Hm0, Hp0]
    if not np.all(H0 > 0):
        raise ValueError(f"intact heights must be > 0 mm, measured {H0.tolist()}; are the node sets swapped?")

    pts = mesh.points
    xy = pts[:, :2]
    zs0 = sup.interp(sup.z, xy)
    zi0 = inf.interp(inf.z, xy)
    zs0[sup.nodes], zi0[inf.nodes] = sup.z, inf.z
    t_sup = _endplate_thickness(mesh, "superior_endplate", sup.nodes, zs0 - pts[:, 2])
    t_inf = _endplate_thickness(mesh, "inferior_endplate", inf.nodes, pts[:, 2] - zi0)

    # collapse profiles (mm per unit coefficient) at every node's (x, y)
    centre = np.array([xm, y_c])
    profile = {
        "wedge": H0[0] * np.clip((xy[:, 0] - xp) / (xa - xp), 0.0, 1.0),
        "biconcave": H0[1] * _bump(xy, centre, sup),
        "crush": zs0 - zi0,
    }
    profile = {c: _edge_average(mesh, p) for c, p in profile.items()}
    # measured station losses of each component: what measure_heights will see
    M = np.empty((3, len(components)))
    for j, c in enumerate(components):
        s_part, _ = sup.stations(sigma[c] * profile[c][sup.nodes], y_c, x_mid=xm)
        i_part, _ = inf.stations((1.0 - sigma[c]) * profile[c][inf.nodes], y_c, x_mid=xm)
        M[:, j] = s_part + i_part
    rows, target = _targets(kind, loss, H0)
    coef = np.linalg.solve(M[rows], target)
    if np.any(coef < -1e-12):
        raise ValueError(
            f"a {kind} deformity with height loss {loss:g} cannot be built on this body: component "
            f"coefficients {dict(zip(components, coef.round(4).tolist()))} (heights {H0.round(3).tolist()} mm)"
        )
    coef = np.maximum(coef, 0.0)
    d_sup = np.zeros(mesh.n_points)
    d_inf = np.zeros(mesh.n_points)
    for c, k in zip(components, coef):
        d_sup += sigma[c] * k * profile[c]
        d_inf += (1.0 - sigma[c]) * k * profile[c]
    return _Collapse(H0=H0, stations=(xa, xm, xp), y_c=y_c, zs0=zs0, zi0=zi0, t_sup=t_sup, t_inf=t_inf,
                     coef=coef, d_sup=d_sup, d_inf=d_inf)


def _deform(mesh: Mesh, col: _Collapse, depth: float, kind: str, loss: float):
    """The fractured mesh (:func:`vbfem.fracture.band.column_map`), the core height at every node (mm)
    and the damage depth that fits the collapsed core (mm)."""
    core = (col.zs0 - col.t_sup) - (col.zi0 + col.t_inf)
    d_sup, d_inf = col.d_sup, col.d_inf
    worst = np.max((d_sup + d_inf) / np.maximum(core, 1e-12))
    if worst >= _MAX_CORE_COMPACTION:
        raise ValueError(
            f"height_loss={loss:g} of a {kind} deformity would crush {100 * worst:.0f} % of the trabecular core "
            f"somewhere (at most {100 * _MAX_CORE_COMPACTION:.0f} %); choose a smaller height loss"
        )
    # the compaction bands beneath the two endplates must not overlap: a large
    # collapse of both endplates thins them (recorded as damage_depth_effective)
    n_sides = (d_sup > 0).astype(int) + (d_inf > 0)
    room = np.divide(core - d_sup - d_inf, n_sides, out=np.full(mesh.n_points, np.inf), where=n_sides > 0)
    depth_eff = min(depth, float(room.min()))
    if depth_eff < depth:
        log.info("apply_fracture: damage band thinned from %.3g to %.3g mm to fit the collapsed core", depth, depth_eff)
    u_z = column_map(mesh.points[:, 2], col.zi0 + col.t_inf, core, d_sup, d_inf, depth_eff)
    # mid-edge nodes follow their edge's corners, so straight edges stay straight
    # (the map bends inside a compaction band, which could invert curved tets)
    u_z = _edge_average(mesh, u_z)
    new_points = mesh.points.copy()
    new_points[:, 2] += u_z
    out = mesh.with_points(new_points)
    try:
        check_mesh(out)
    except ValueError as exc:
        raise ValueError(f"the {kind} deformation with height loss {loss:g} inverted cells: {exc}") from None
    return out, core, depth_eff


def _endplate_cells(mesh: Mesh) -> np.ndarray:
    """Mask of the bony endplate cells (never damaged: they translate rigidly)."""
    mask = np.zeros(mesh.n_cells, bool)
    for name in ("superior_endplate", "inferior_endplate", "endplate"):
        if name in mesh.cell_sets:
            mask[mesh.cell_sets[name]] = True
    return mask


# ---------------------------------------------------------------- helpers
def _targets(kind: str, loss: float, H0: np.ndarray):
    """Station rows (0 anterior, 1 middle, 2 posterior) and target losses in mm."""
    share = {
        "wedge": {0: 1.0},
        "biconcave": {1: 1.0},
        "crush": {2: 1.0},
        "wedge+crush": {0: 1.0, 2: CRUSH_SHARE},
        "crush+biconcave": {1: 1.0, 2: CRUSH_SHARE},
        "biconcave+wedge": {0: 1.0, 1: 1.0},
        "wedge+biconcave+crush": {0: 1.0, 1: 1.0, 2: CRUSH_SHARE},
    }[kind]
    rows = sorted(share)
    return rows, np.array([share[r] * loss * H0[r] for r in rows])


def _bump(xy: np.ndarray, centre: np.ndarray, surface: _Surface) -> np.ndarray:
    """``(1 - rho^2)^2`` with ``rho`` the radius from ``centre`` over the rim's radius in that direction."""
    rim_nodes = np.unique(surface.rim)
    d = surface.xy[rim_nodes] - centre
    ang = np.arctan2(d[:, 1], d[:, 0])
    order = np.argsort(ang)
    ang, rad = ang[order], np.hypot(d[order, 0], d[order, 1])
    ang = np.concatenate([ang[-1:] - 2 * np.pi, ang, ang[:1] + 2 * np.pi])
    rad = np.concatenate([rad[-1:], rad, rad[:1]])
    p = xy - centre
    rho = np.hypot(p[:, 0], p[:, 1]) / np.interp(np.arctan2(p[:, 1], p[:, 0]), ang, rad)
    return (1.0 - np.minimum(rho, 1.0) ** 2) ** 2


def _edge_average(mesh: Mesh, values: np.ndarray) -> np.ndarray:
    """tet10: mid-edge node values replaced by the mean of their edge's corner values."""
    if mesh.cell_type != "tet10":
        return values
    out = values.copy()
    ends = mesh.cells[:, TET10_EDGES].reshape(-1, 2)
    out[mesh.cells[:, 4:].ravel()] = 0.5 * (values[ends[:, 0]] + values[ends[:, 1]])
    return out


def _endplate_thickness(mesh: Mesh, cell_set: str, surface_nodes, depth_below_surface) -> float:
    """Thickness (mm) of a bony endplate layer: median depth of its cells' nodes off the surface."""
    cells = mesh.cell_sets.get(cell_set)
    if cells is None or cells.size == 0:
        return 0.0
    nodes = np.setdiff1d(np.unique(mesh.cells[cells]), surface_nodes)
    if nodes.size == 0:
        return 0.0
    return float(max(np.median(depth_below_surface[nodes]), 0.0))
