"""The ex vivo protocol as a load history: crush, unload, treat, and the heights read at each stage.

The cement-augmentation experiments (Belkoff et al., Spine 2001;26:151 and 26:1537; Wegrzyn
et al., J Bone Miner Res 2011;26:739) compress each body to a deformity, unload it, treat it
in that unloaded state and compress it again. Heights are read before the crush, at the end of
the crush and after the treatment; "height restored" is the share of the crush's height loss
that the treated body has regained:

    restored = (h_treated - h_crushed) / (h_intact - h_crushed)

In vbfem the fractured state's geometry (:func:`vbfem.fracture.deformity.apply_fracture`)
is the body at the end of the crush, still under the crushing force. The stages of the
history and the mechanisms that change the height between them:

1. **Unloading: elastic recovery.** Removing the crushing force lets the crushed body
   spring back by its elastic displacement under that force, computed with the fractured
   material map (the damaged band re-loads with its reduced modulus, so its unloading
   stiffness is the fractured body's). The crushing force is the force the body carried at
   the end of the crush: the fractured body's strength, the force at which it keeps
   crushing. The platen stays flat, so every station recovers the same.
2. **Rest: time-dependent recovery.** An unloaded crushed vertebra keeps springing back for
   many minutes (viscoelastic recovery of the bone and the disc remnants): Wegrzyn et al.
   measured a deformation recovery of 31 ± 7 % after 30 minutes of relaxation (21 L3 bodies
   crushed to a 25 % deformity), far more than the elastic part alone. The model does not
   simulate the viscoelastic process: it takes the measured share (:data:`RECOVERY_FRACTION`,
   the study key ``[fracture] recovery``) of each station's height loss, and never less than
   the elastic recovery. A body treated at once, with no rest, is ``recovery_fraction = 0``
   (elastic recovery only). The treatments start from the rested body.
3. **Treatment, vertebroplasty: endplate lift by the injection pressure.** The cement's
   pressure pushes the endplates apart while the body is unloaded; its largest effect is the
   peak needle pressure on the whole superior endplate (its projection on the transverse
   plane) against the fractured body's axial stiffness. That is an upper bound (the cement
   touches a part of the endplate, at a pressure below the needle's); the cement then holds
   the lift.
4. **Treatment, kyphoplasty: the balloon's lift** (:mod:`vbfem.treatment.kyphoplasty`),
   computed from the crushed geometry; a station the balloon lifts less than the rest's
   recovery keeps the recovered height.

The heights are the protocol's; the stiffness and strength of every treated state are computed
on the crushed geometry (the recovery's few millimetres of height are not put back into the mesh).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..anatomy.heights import Heights, measure_heights
from ..fem.static import solve_static
from ..records import MaterialMap, Mesh
from .loadcases import compression_test
from .response import stiffness as platen_stiffness
from .response import surface_faces

__all__ = ["RECOVERY_FRACTION", "CrushHistory", "crush_history", "endplate_area", "height_restored_pct", "injection_lift",
           "treated_heights"]


#: Share of the crush deformation an unloaded vertebral body recovers before it is treated: 31 ± 7 %
#: after 30 minutes of relaxation (Wegrzyn et al., J Bone Miner Res 2011;26:739, 21 L3 bodies crushed to
#: a 25 % deformity; the abstract's "vertebral deformation recovery"). Elastic and viscoelastic parts
#: together. Not fitted to any comparison of the validation table.
RECOVERY_FRACTION = 0.31


@dataclass(frozen=True)
class CrushHistory:
    """Heights (mm) of a body through the ex vivo protocol, up to its treatment.

    Attributes
    ----------
    intact : Heights
        Before the crush.
    crushed : Heights
        At the end of the crush, under ``crush_force`` (the fractured geometry).
    unloaded : Heights
        Just after the crushing force is removed (elastic recovery).
    rested : Heights
        After the rest before the treatment (the larger of ``recovery_fraction`` of each station's
        height loss and the elastic recovery): the body the treatment starts from.
    crush_force : float
        Force at the end of the crush, N.
    recovery : float
        Elastic recovery of the platen on unloading, mm (the same at every station).
    stiffness : float
        Axial stiffness of the crushed body, N/mm (its unloading stiffness).
    recovery_fraction : float
        Share of each station's height loss recovered during the rest (dimensionless).
    """

    intact: Heights
    crushed: Heights
    unloaded: Heights
    rested: Heights
    crush_force: float
    recovery: float
    stiffness: float
    recovery_fraction: float


def _shifted(h: Heights, dz: float) -> Heights:
    return Heights(h.anterior + dz, h.middle + dz, h.posterior + dz, h.x_anterior, h.x_middle, h.x_posterior, h.y)


def _recovered(intact: Heights, crushed: Heights, elastic: float, fraction: float) -> Heights:
    """Crushed heights raised at each station by the larger of ``fraction`` of its loss and ``elastic`` mm."""
    def up(station):
        h0, h1 = getattr(intact, station), getattr(crushed, station)
        return h1 + max(elastic, fraction * max(h0 - h1, 0.0))
    return dataclasses.replace(crushed, anterior=up("anterior"), middle=up("middle"), posterior=up("posterior"))


def crush_history(intact: Mesh, crushed: Mesh, materials: MaterialMap, *, crush_force: float,
                  stiffness: float | None = None, recovery_fraction: float = RECOVERY_FRACTION,
                  solver: str = "auto") -> CrushHistory:
    """The heights of :class:`CrushHistory`: the crushed body unloaded from ``crush_force``, then rested.

    Parameters
    ----------
    intact : Mesh
        The body before the crush.
    crushed : Mesh
        The fractured body at the end of the crush (the same node sets ``superior`` and ``inferior``).
    materials : MaterialMap
        The fractured body's material map (damaged band included).
    crush_force : float, keyword-only
        Force at the end of the crush, N (> 0); the pipeline uses the fractured body's strength.
    stiffness : float, optional, keyword-only
        The crushed body's axial stiffness in the compression test, N/mm, if already solved (e.g. by
        :func:`vbfem.mechanics.compare.compare_states`); else it is solved here.
    recovery_fraction : float, keyword-only
        Share of each station's height loss recovered during the rest before the treatment, in
        [0, 1) (default :data:`RECOVERY_FRACTION`, Wegrzyn 2011); the elastic recovery is the least.
    solver : str, keyword-only
        See :func:`vbfem.fem.static.solve_static`.

    Returns
    -------
    CrushHistory
    """
    if not (np.isfinite(crush_force) and crush_force > 0):
        raise ValueError(f"crush_force = {crush_force!r}: must be a force > 0 N")
    if not (np.isfinite(recovery_fraction) and 0 <= recovery_fraction < 1):
        raise ValueError(f"recovery_fraction = {recovery_fraction!r}: must be a share of the height loss in [0, 1)")
    if stiffness is None:
        res = solve_static(crushed, materials, compression_test(crushed, force=float(crush_force)), solver=solver)
        stiffness = platen_stiffness(res)
    k = float(stiffness)
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"stiffness = {stiffness!r}: must be > 0 N/mm")
    recovery = float(crush_force) / k  # the platen's travel under the force, given back on unloading
    h_intact, h_crushed = measure_heights(intact), measure_heights(crushed)
    return CrushHistory(intact=h_intact, crushed=h_crushed, unloaded=_shifted(h_crushed, recovery),
                        rested=_recovered(h_intact, h_crushed, recovery, float(recovery_fraction)),
                        crush_force=float(crush_force), recovery=recovery, stiffness=k,
                        recovery_fraction=float(recovery_fraction))


def endplate_area(mesh: Mesh, *, superior: str = "superior") -> float:
    """Area (mm²) of the ``superior`` endplate surface projected on the transverse (x, y) plane."""
    faces, _ = surface_faces(mesh, mesh.node_set(superior))
    xy = mesh.points[:, :2]
    area = 0.0
    for k in range(1, faces.shape[1] - 1):  # fan triangulation of each face (triangles or quads)
        a, b, c = xy[faces[:, 0]], xy[faces[:, k]], xy[faces[:, k + 1]]
        area += 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])).sum()
    return float(area)


def injection_lift(history: CrushHistory, pressure: float, area: float) -> float:
    """Upper bound of the endplate lift (mm) by an injection pressure (MPa) on an endplate of ``area`` mm²."""
    if not (np.isfinite(pressure) and pressure >= 0):
        raise ValueError(f"pressure = {pressure!r}: must be >= 0 MPa")
    return float(pressure) * float(area) / history.stiffness


def treated_heights(history: CrushHistory, *, lift: float = 0.0, balloon: Heights | None = None) -> Heights:
    """Heights (mm) after a treatment of the rested body: raised by ``lift`` (mm; VP's injection lift),
    and, with the heights ``balloon`` a balloon gave the crushed body (KP), the larger of the two at
    each station (a station the balloon lifts less keeps its recovery)."""
    h = _shifted(history.rested, lift)
    if balloon is None:
        return h
    return dataclasses.replace(balloon, anterior=max(balloon.anterior, h.anterior),
                               middle=max(balloon.middle, h.middle), posterior=max(balloon.posterior, h.posterior))


def height_restored_pct(history: CrushHistory, treated: Heights, *, station: str = "anterior") -> float:
    """Share (%) of the crush's height loss at ``station`` regained by ``treated``, as the experiments read it."""
    loss = getattr(history.intact, station) - getattr(history.crushed, station)
    if loss <= 0:
        return float("nan")
    return 100.0 * (getattr(treated, station) - getattr(history.crushed, station)) / loss
