"""Kyphoplasty height restoration: the balloon lifts a collapsed endplate back.

Stage 4 of :func:`vbfem.treatment.kyphoplasty.simulate_kyphoplasty`: :func:`restore_height`
moves the fractured mesh back towards the intact one, and :func:`lifted_cavity`
resolves the balloon's cavity again on the lifted mesh.

When the cavity bears on the damaged band beneath a collapsed endplate (it
contains or touches a ``"damaged"`` cell), the balloon pushes the endplate up
with force ``F = p · A`` (``p`` the final balloon pressure, ``A`` the cavity's
mean cross-section ``V / H``). The fracture resists with
``F_r = σ_c(ρ_d) · A_c``: re-lifting a collapsed endplate means re-yielding
the compacted band of density ``ρ_d`` (mean density of the damaged cells)
over the collapsed area ``A_c`` of the endplate (**modelling choice, not
calibrated**). The fraction of the lost height restored is
``min(F / F_r, 1)``, or the user's ``restoration``. The fractured mesh is
moved back along the fracture's own deformation: ``x = x_f + f (x_0 - x_f)``
with ``x_0`` the intact mesh the fracture was applied to (the fracture map of
:func:`vbfem.fracture.deformity.apply_fracture` is z-only and monotone in each column,
so the blend of the two valid meshes stays valid; checked by
:func:`vbfem.fem.assembly.check_mesh`). Each cell keeps its mass (density times
the volume ratio). Vertebroplasty restores nothing of its own here; the heights it regains in the
ex vivo protocol (recovery on unloading and at rest) are in :mod:`vbfem.mechanics.protocol`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from ..anatomy.heights import measure_heights
from ..fem.assembly import check_mesh
from ..fem.cells import cell_volumes
from ..fem.faces import mesh_faces
from ..materials.laws import DEFAULT_STRENGTH_LAW
from ..records import MaterialMap, Mesh
from .balloon import Inflation, _cavity_fraction, _number, bone_strength, cavity_cells, resolve_cavity

log = logging.getLogger(__name__)

__all__ = ["HeightRestoration", "collapsed_endplate_area", "lifted_cavity", "restore_height"]


@dataclass(frozen=True, eq=False)
class HeightRestoration:
    """Endplate lift by the balloon.

    Attributes
    ----------
    mesh : Mesh
    materials : MaterialMap
    fraction : float
        Fraction of the lost anterior height restored, 0..1.
    restored_mm : float
        Anterior height gained, mm.
    anterior_height : float
        Anterior height after restoration, mm.
    force, resistance : float
        Balloon force and fracture resistance, N (NaN when the user gave the fraction).
    """

    mesh: Mesh
    materials: MaterialMap
    fraction: float
    restored_mm: float
    anterior_height: float
    force: float
    resistance: float


def restore_height(mesh: Mesh, materials: MaterialMap, intact: Mesh, *, cavity, pressure: float,
                   fraction: float | None = None, strength_law=DEFAULT_STRENGTH_LAW) -> HeightRestoration:
    """Lift the collapsed endplate of a fractured body (module docstring).

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
        Fractured body from :func:`vbfem.fracture.deformity.apply_fracture` (cell set
        ``"damaged"``, ``materials.params["fracture"]``).
    intact : Mesh
        The intact mesh the fracture was applied to (same topology).
    cavity : array_like (n_cells,)
        The balloon cavity: fraction of each cell (or a boolean mask).
    pressure : float
        Final balloon pressure, MPa.
    fraction : float, optional
        User-given fraction of the lost height restored, in [0, 1]; default
        from force against resistance.
    strength_law : str
        Strength law of the damaged band.

    Returns
    -------
    HeightRestoration
    """
    if not isinstance(intact, Mesh):
        raise TypeError(f"intact must be the intact vbfem Mesh the fracture was applied to, got {type(intact).__name__}")
    if intact.n_points != mesh.n_points or intact.cells.shape != mesh.cells.shape \
            or not np.array_equal(intact.cells, mesh.cells):
        raise ValueError("intact must have the same cells and nodes as the fractured mesh")
    cavity = _cavity_fraction(cavity, mesh)
    if fraction is not None:
        fraction = _number(fraction, "restoration", lo=0, lo_open=False)
        if fraction > 1:
            raise ValueError(f"restoration={fraction!r} must lie in [0, 1] (fraction of the lost height)")
    rec = materials.params.get("fracture") or {}
    if "intact_heights" in rec and "fractured_heights" in rec:  # measured by apply_fracture on these meshes
        ha_0, ha_f = float(rec["intact_heights"][0]), float(rec["fractured_heights"][0])
    else:
        ha_0, ha_f = measure_heights(intact).anterior, measure_heights(mesh).anterior
    lost = ha_0 - ha_f
    disp = intact.points - mesh.points
    force = resistance = float("nan")
    if fraction is None:
        damaged = np.zeros(mesh.n_cells, bool)
        if "damaged" in mesh.cell_sets:
            damaged[mesh.cell_sets["damaged"]] = True
        faces = mesh_faces(mesh)
        fi, fj = faces.inner_i, faces.inner_j
        held = cavity > 0
        touches = bool((held & damaged).any() or (held[fi] & damaged[fj]).any() or (held[fj] & damaged[fi]).any())
        vol = cell_volumes(mesh)
        core = cavity_cells(cavity)  # the cavity's height: its cells' extent
        z = mesh.points[mesh.cells[core], 2] if core.any() else np.zeros((1, 1))
        area = float(cavity @ vol / max(float(z.max() - z.min()), 1e-12)) if held.any() else 0.0
        force = pressure * area
        a_c = collapsed_endplate_area(mesh, disp)
        rho = materials.density if materials.density is not None else np.full(mesh.n_cells, np.nan)
        band = np.flatnonzero(damaged & np.isfinite(rho) & (rho > 0))
        if touches and band.size and a_c > 0 and lost > 0:
            # the damaged band's mean strength (the same measure the balloon crushes it by) over the collapsed area
            sigma_d = float(np.average(bone_strength(materials, band, strength_law=strength_law), weights=vol[band]))
            resistance = sigma_d * a_c
            fraction = min(force / resistance, 1.0)
        else:
            fraction = 0.0
            log.info("restore_height: the cavity does not bear on a collapsed endplate; nothing lifted (cavity "
                     "touches the damaged band: %s; damaged cells with a density: %d; collapsed endplate area "
                     "%.1f mm2; height lost %.2f mm)", touches, band.size, a_c, lost)
    new = mesh.with_points(mesh.points + fraction * disp)
    try:
        check_mesh(new)
    except ValueError as exc:  # pragma: no cover - blend of two valid z-only column maps
        raise ValueError(f"height restoration by {fraction:.3f} inverted cells: {exc}") from None
    v0, v1 = cell_volumes(mesh), cell_volumes(new)
    dens = materials.density * (v0 / v1) if materials.density is not None else None
    mats = materials.replace(density=dens, params={**materials.params, "kyphoplasty_restoration": {
        "fraction": fraction, "force_N": force, "resistance_N": resistance}})
    h = measure_heights(new)
    return HeightRestoration(mesh=new, materials=mats, fraction=float(fraction),
                             restored_mm=float(h.anterior - ha_f), anterior_height=float(h.anterior),
                             force=float(force), resistance=float(resistance))


def collapsed_endplate_area(mesh: Mesh, disp: np.ndarray) -> float:
    """Axial projected area (mm²) of the endplates the fracture moved.

    The faces whose corners all lie on the node sets ``superior`` / ``inferior``
    and moved (``disp``, the nodes' displacement from the fractured to the
    intact mesh, nonzero): boundary faces of a bare body, inner faces where
    caps or discs cover the endplates (the image route's bone / cap interfaces).
    """
    surf = np.zeros(mesh.n_points, bool)
    for name in ("superior", "inferior"):
        if name in mesh.node_sets:
            surf[mesh.node_sets[name]] = True
    collapsed = surf & (np.linalg.norm(disp, axis=1) > 1e-9)
    faces = mesh_faces(mesh)
    return float(np.abs(faces.bnd_area[collapsed[faces.bnd_nodes].all(axis=1), 2]).sum()
                 + np.abs(faces.inner_area[collapsed[faces.inner_nodes].all(axis=1), 2]).sum())


# ----------------------------------------------------------------- stage 5
def lifted_cavity(mesh: Mesh, inflation: Inflation, crushed: Mesh) -> Inflation:
    """The cavity of ``inflation`` on the height-restored ``mesh``, trimmed back to the balloon's volume.

    Lifting the endplate stretches the cells under it, so the crushed region
    (which moves with the bone: ``crushed`` is the mesh the balloons crushed
    on) holds more than the balloon displaced. The balloon's volume holds
    both the crushed bone and the lift: the cavity is resolved again at the
    inflated volume (:func:`vbfem.treatment.balloon.resolve_cavity`, same strengths,
    gates and points, volumes on the lifted mesh), which gives the points
    crushed at the highest pressure back to the bone. The record keeps the
    balloon's final pressure and pressure-volume curve. The wall's normals
    are those of the crushed mesh (the lift's stretch is not applied to them).
    """
    lifted = resolve_cavity(mesh, inflation, volume=inflation.cavity_volume,
                            cells=np.flatnonzero(inflation.fraction > 0), crushed=crushed)
    return replace(lifted, final_pressure=inflation.final_pressure)  # the balloon's pressure, as its curve ends
