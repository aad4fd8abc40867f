"""The basivertebral venous network as preferential flow channels of the flow model (issue 19).

Anatomy (Gray's Anatomy, 20th ed., Lewis WH ed., Philadelphia: Lea & Febiger 1918, p. 668): the
basivertebral veins run in large, tortuous channels in the trabecular bone of the vertebral body; they
communicate through small openings on the front and sides of the body with the anterior external
vertebral plexus, and converge behind into a principal canal that opens through the basivertebral
foramen of the posterior wall into the anterior internal (epidural) plexus; they enlarge with age.
The canal's depth behind the foramen is 12-21.8 % of the body's anterior-posterior diameter (mean by
level; Tzika M, Paraskevas GK, Piagkou M, Papatolios AK, Natsis K, Surg Radiol Anat 2021;43:889-907).
Post-operative CT sees cement in exactly these veins: in VERTOS II, venous leakage in 56 of the 64
leaking vertebrae, mostly (46 of 56) in the anterior external plexus, discal in 22 of 64 (Venmans A,
Klazen CA, van Rooij WJ, de Vries J, Mali WP, Lohle PN, Neuroradiology 2011;53:19-22).

The model (:func:`venous_network`): a trunk from the foramen (:attr:`Geometry.basivertebral_foramen`)
anteriorly over the canal depth to a confluence, and from the confluence one branch to the middle of the
front and one to the middle of each side of the body, in the foramen's horizontal plane, straight (the real channels are
tortuous, hence longer and more resistant; the straight line is the simplest path the description
allows). Each vessel of radius ``r`` is smeared over the flow cells within a half-width of its axis:
Poiseuille's flow ``Q = (π r⁴ / 8 μ) |∇p|`` through a band of cross-section ``A`` equals Darcy flow
through the band with the added permeability

    k_v = π r⁴ / (8 A)

(:func:`vessel_permeability`), in parallel with the bone's; ``A`` is the band's volume over the
vessel's length, so the band as a whole carries the vessel's conductance. The branches end at the
cortex cells where they leave the body: venous outlets ``"outlet_vein_anterior"``, ``"outlet_vein_left"``,
``"outlet_vein_right"`` (the external plexus); the trunk ends at the foramen's outlet
``"outlet_basivertebral"`` (the epidural plexus). Outlets are held at the venous pressure
(:data:`vbfem.treatment.flow.VENOUS_PRESSURE`): the intraosseous pressure of the lumbar vertebrae is
the venous pressure of the inferior vena cava (Spine 1981;6(2):159-161, doi 10.1097/00007632-198103000-00009).

Sizes. The trunk's radius is the caller's: the study's ``vein_radius`` (0, its default, leaves the network
out), or each sampled patient's, half the height of the basivertebral foramen measured on CT in elderly
patients with lumbar osteoporotic fractures (:data:`vbfem.fracture.cohort.FORAMEN_HEIGHT`, He 2023) times
the vein's assumed share of it (:data:`vbfem.fracture.cohort.VEIN_SHARE_OF_FORAMEN`). No measured diameter of
the intraosseous tributaries was found; ASSUMPTION: their radius follows from the trunk's by Murray's law of
vascular branching (derived for arteries under Poiseuille flow, applied here to the tortuous, sinus-like
intraosseous veins without a measurement), the cube of a parent vessel's radius equal to the sum of its daughters' cubes (Murray CD, "The
physiological principle of minimum work: I. The vascular system and the cost of blood volume", Proc Natl
Acad Sci USA 1926;12(3):207-214): ``r_branch = r_trunk · m^(-1/3)`` for ``m`` equal branches
(:func:`branch_radius`). The number and directions of the tributaries are not measured either (above).
The fluid in the channel is the flow model's resident phase (marrow, 0.09 Pa·s) rather than blood (about
0.0035 Pa·s); against cement of 25-170 Pa·s the difference does not change the displacement's resistance
appreciably.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..fem.cells import cell_centroids, cell_volumes
from ..fracture.defects import fracture_line_cells
from ..records import Mesh

log = logging.getLogger(__name__)

__all__ = ["BRANCHES", "CANAL_DEPTH", "VenousNetwork", "branch_radius", "venous_network", "vessel_permeability"]

#: Depth of the confluence behind the foramen, fraction of the body's anterior-posterior diameter: the
#: middle of the measured mean canal depths 12-21.8 % (Tzika et al. 2021; module docstring).
CANAL_DEPTH = 0.5 * (0.12 + 0.218)

#: The branches from the confluence, by where they leave the body: the front and the two sides (Gray 1918:
#: "small openings on the front and sides"); their straight course is an assumption.
BRANCHES = ("anterior", "left", "right")


def branch_radius(radius: float, branches: int) -> float:
    """Radius (mm) of each of ``branches`` equal daughter vessels of a vessel of ``radius`` by Murray's law.

    ``r³ = m r_b³`` (Murray 1926; module docstring).

    Examples
    --------
    >>> round(branch_radius(2.7, 3), 3)  # the trunk of a 5.4 mm foramen into the front and both sides
    1.872
    """
    if isinstance(branches, bool) or not isinstance(branches, (int, np.integer)) or branches < 1:
        raise ValueError(f"branches={branches!r} must be an integer >= 1")
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)) \
            or not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius={radius!r} must be a finite length > 0 mm")
    return float(radius) * float(branches) ** (-1.0 / 3.0)


#: The module's Murray function under another name: venous_network's keyword ``branch_radius`` shadows it.
_murray = branch_radius


def vessel_permeability(radius, band_area):
    """Added permeability (mm²) of a vessel of ``radius`` (mm) smeared over a band of cross-section ``band_area`` (mm²).

    ``π r⁴ / (8 A)``: the band's Darcy conductance ``k A / μ`` equals the vessel's Poiseuille conductance
    ``π r⁴ / (8 μ)``.

    Examples
    --------
    >>> f"{vessel_permeability(1.0, 9.0):.4f}"  # a 2 mm vessel in a row of 3 mm cells, mm²
    '0.0436'
    """
    r = np.asarray(radius, float)
    a = np.asarray(band_area, float)
    if np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"vessel radius={radius!r} must be a finite length > 0 mm")
    if np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"band_area={band_area!r} must be a finite area > 0 mm²")
    if np.any(np.pi * r ** 2 > a * (1 + 1e-12)):
        raise ValueError(f"vessel radius={radius!r} mm does not fit its band of {band_area!r} mm²: "
                         "refine the mesh or widen the band")
    return np.pi * r ** 4 / (8.0 * a)


@dataclass(frozen=True, eq=False)
class VenousNetwork:
    """Cells and outlets of the smeared venous network (:func:`venous_network`).

    Attributes
    ----------
    permeability : ndarray (n_cells,)
        Added isotropic permeability of each cell, mm² (0 off the network).
    outlets : dict str -> ndarray of int
        The branches' outlet cells (cortex), ``"outlet_vein_<branch>"``.
    vessels : dict str -> (start, end, cells)
        Each vessel's axis (mm) and its band's cells.
    radius : float
        The trunk's radius, mm.
    branch_radius : float
        Each branch's radius, mm.
    """

    permeability: np.ndarray
    outlets: dict
    vessels: dict
    radius: float
    branch_radius: float

    @property
    def cells(self) -> np.ndarray:
        """All cells of the network's bands."""
        return np.flatnonzero(self.permeability > 0)


def venous_network(mesh: Mesh, geometry, tissue, *, radius: float, canal_depth: float = CANAL_DEPTH,
                   branches=BRANCHES, half_width: float | None = None,
                   branch_radius: float | None = None) -> VenousNetwork:
    """The basivertebral trunk and its branches as smeared vessels (module docstring).

    Parameters
    ----------
    mesh : Mesh
        Needs a ``"cortex"`` cell set (the branches' outlets).
    geometry : Geometry
        ``basivertebral_foramen``, ``canal_direction`` (posterior), ``depth`` and the outline (sides).
    tissue : ndarray of int (n_cells,)
        Tissue codes of the cells (:attr:`vbfem.records.MaterialMap.tissue`): only flow cells (trabecular,
        damaged, void) carry the vessels.
    radius : float, keyword-only
        The trunk's radius, mm (> 0; module docstring).
    canal_depth : float
        Depth of the confluence behind the foramen, fraction of ``geometry.depth`` in (0, 0.5]
        (default :data:`CANAL_DEPTH`).
    branches : sequence of {"anterior", "left", "right"}
        The branches from the confluence (default all three, :data:`BRANCHES`).
    half_width : float, optional
        Half-width of each vessel's band of cells, mm; default the larger of 0.9 times the median cell size
        (so that a band along any direction is face-connected on hexahedra) and 1.5 times the radius (so
        that the band holds the vessel).
    branch_radius : float, optional
        Each branch's radius, mm (> 0, at most ``radius``); default Murray's law,
        ``branch_radius(radius, len(branches))`` (module docstring).

    Returns
    -------
    VenousNetwork
    """
    if isinstance(radius, bool) or not (isinstance(radius, (int, float, np.integer, np.floating))
                                        and np.isfinite(radius) and radius > 0):
        raise ValueError(f"vein radius={radius!r} must be a finite length > 0 mm")
    if not (np.isfinite(canal_depth) and 0.0 < canal_depth <= 0.5):
        raise ValueError(f"canal_depth={canal_depth!r} must lie in (0, 0.5] of the body's depth "
                         "(Tzika 2021: 0.12-0.218)")
    branches = tuple(branches)
    bad = [b for b in branches if b not in BRANCHES]
    if bad or len(set(branches)) != len(branches):
        raise ValueError(f"branches={branches!r}: each of {', '.join(BRANCHES)} at most once")
    if branch_radius is None:
        rb = _murray(float(radius), len(branches)) if branches else float(radius)
    elif isinstance(branch_radius, bool) or not (isinstance(branch_radius, (int, float, np.integer, np.floating))
                                                 and np.isfinite(branch_radius) and 0 < branch_radius <= radius):
        raise ValueError(f"branch_radius={branch_radius!r} must be a length in (0, radius={radius!r}] mm")
    else:
        rb = float(branch_radius)
    cortex = mesh.cell_sets.get("cortex")
    if cortex is None or len(cortex) == 0:
        raise ValueError("the mesh has no 'cortex' cell set for the veins' outlets")
    tissue = np.asarray(tissue)
    if tissue.shape != (mesh.n_cells,):
        raise ValueError(f"tissue must have shape ({mesh.n_cells},), got {tissue.shape}")
    vol = cell_volumes(mesh)
    h = float(np.median(np.cbrt(vol)))
    a = max(0.9 * h, 1.5 * float(radius)) if half_width is None else float(half_width)
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"half_width={half_width!r} must be a finite length > 0 mm")
    cc = cell_centroids(mesh)
    foramen = np.asarray(geometry.basivertebral_foramen, float)
    anterior = -np.asarray(geometry.canal_direction, float)
    confluence = foramen + canal_depth * float(geometry.depth) * anterior
    if not (hasattr(geometry, "outline") and hasattr(geometry, "waist_scale")):
        raise ValueError("the venous network needs a parametric geometry (its outline: the front and sides)")
    angle = {"anterior": 0.0, "left": 0.5 * np.pi, "right": -0.5 * np.pi}  # polar angle, 0 anterior, +y left
    directions = {}
    for b in branches:  # to the middle of the front or side of the body, at the foramen's height
        xy = np.asarray(geometry.outline(angle[b]), float) * float(geometry.waist_scale(0.5))
        d = np.array([xy[0], xy[1], foramen[2]]) - confluence
        directions[b] = d / np.linalg.norm(d)
    cx = cc[np.asarray(cortex)]
    axes = {"trunk": (foramen, confluence)}
    outlets = {}
    for b in branches:
        exit_cells, end = _exit(cx, np.asarray(cortex), confluence, directions[b], a)
        outlets[f"outlet_vein_{b}"] = exit_cells
        axes[b] = (confluence, end)
    k = np.zeros(mesh.n_cells)
    vessels = {}
    for name, (p, q) in axes.items():  # the trunk and up to three branches
        r = float(radius) if name == "trunk" else rb
        cells = fracture_line_cells(mesh, tissue, p, q[None], cc, half_width=a)
        length = float(np.linalg.norm(q - p))
        if cells.size == 0 or length <= 0:
            raise ValueError(f"vein {name!r} has no flow cells within {a:.2f} mm of its axis")
        area = float(vol[cells].sum()) / length
        k[cells] = np.maximum(k[cells], vessel_permeability(r, area))  # shared cells: the larger vessel
        vessels[name] = (p, q, cells)
        log.debug("vein %s: r %.2f mm, %.1f mm, %d cells, band %.1f mm², k %.3g mm²", name, r, length, cells.size,
                  area, vessel_permeability(r, area))
    return VenousNetwork(permeability=k, outlets=outlets, vessels=vessels, radius=float(radius), branch_radius=rb)




def _exit(cortex_centroids, cortex, origin, direction, reach):
    """Cortex cells where the ray ``origin + s·direction`` (s > 0) leaves the body, and that point.

    The first cortex cells within ``reach`` of the ray (smallest ``s``), those within ``reach`` of it."""
    x = cortex_centroids - origin
    s = x @ direction
    perp = np.linalg.norm(x - s[:, None] * direction[None], axis=1)
    near = (s > 0) & (perp <= max(reach, 1e-9))
    if not near.any():  # a coarse cortex: the nearest to the ray ahead of the origin
        ahead = s > 0
        if not ahead.any():
            raise ValueError("no cortex ahead of the venous confluence")
        near = ahead & (perp <= perp[ahead].min() * (1 + 1e-9))
    s_hit = float(s[near].min())
    end = origin + s_hit * direction
    sel = near & (np.linalg.norm(cortex_centroids - end, axis=1) <= reach)
    if not sel.any():
        sel = near & (s <= s_hit * (1 + 1e-12))
    return np.asarray(cortex)[sel], end
