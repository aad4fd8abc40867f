"""Vertebroplasty: cement injection through needles into the vertebral body (two-phase Darcy flow).

See :mod:`vbfem.treatment.flow` for the model and :mod:`vbfem.materials.cement` for the cement.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from scipy.spatial import cKDTree

from ..fem.faces import connected_to, mesh_faces
from ..fracture.defects import FRACTURE_LINE_HALF_WIDTH
from ..materials.cement import cement_preset
from ..materials.porous import porous_medium
from ..records import CementFill, MaterialMap, Mesh
from . import flow as _flow
from .cannula import syringe_pressure
from .fracture_line import fracture_line_permeability
from .needles import Needle, TipPlacementError, check_tip
from .network import flow_network
from .outlets import leak_summary
from .source import spread_source

log = logging.getLogger(__name__)

#: Radius of the basivertebral-foramen outlet, mm (assumption, unverified: the
#: foramen and its veins span a few mm on the posterior wall).
FORAMEN_RADIUS = 3.0
#: Depth of the basivertebral canal behind its foramen, as a fraction of the body's anterior–posterior
#: diameter: mean 12–21.8 % by level (Tzika et al., Surg Radiol Anat 2021;43:889, CT of 10 spines). The
#: canal holds the basivertebral vein, which drains the body's venous sinuses to the epidural plexus.
BASIVERTEBRAL_CANAL_DEPTH = (0.12, 0.218)
#: Saturation above which a cell counts as filled (metrics, arrival time).
FILLED = 0.5


def foramen_outlet(mesh: Mesh, geometry, *, radius: float = FORAMEN_RADIUS) -> np.ndarray:
    """Cortex cells within ``radius`` of ``geometry.basivertebral_foramen`` (at least the nearest one)."""
    cortex = mesh.cell_sets.get("cortex")
    if cortex is None or len(cortex) == 0:
        raise ValueError("the mesh has no 'cortex' cell set to place the basivertebral outlet in")
    from ..fem.cells import cell_centroids

    c = cell_centroids(mesh, cortex)
    d = np.linalg.norm(c - geometry.basivertebral_foramen, axis=1)
    sel = d <= radius
    if not sel.any():
        sel = d == d.min()
    return np.asarray(cortex)[sel]


def basivertebral_canal_cells(mesh: Mesh, geometry, *, depth_fraction: float, radius: float = FORAMEN_RADIUS) -> np.ndarray:
    """Cells of the basivertebral canal: within ``radius`` (mm) of the segment from the foramen
    (``geometry.basivertebral_foramen``) anteriorly over ``depth_fraction`` of the body's depth.

    The canal holds the basivertebral vein (:data:`BASIVERTEBRAL_CANAL_DEPTH`); as an outlet
    (``"outlet_basivertebral_canal"``, the venous class) cement that reaches it leaves the body into
    the epidural venous plexus. Its radius is the foramen's (:data:`FORAMEN_RADIUS`, an assumption).
    """
    from ..fem.cells import cell_centroids

    if not (np.isfinite(depth_fraction) and 0.0 < depth_fraction <= 0.5):
        raise ValueError(f"basivertebral_canal={depth_fraction!r} must lie in (0, 0.5] of the body's depth "
                         f"(Tzika 2021: {BASIVERTEBRAL_CANAL_DEPTH[0]:g}-{BASIVERTEBRAL_CANAL_DEPTH[1]:g})")
    a = np.asarray(geometry.basivertebral_foramen, float)
    axis = -np.asarray(geometry.canal_direction, float)  # anterior
    length = depth_fraction * geometry.depth
    x = cell_centroids(mesh) - a
    along = np.clip(x @ axis, 0.0, length)
    d = np.linalg.norm(x - along[:, None] * axis[None], axis=1)
    return np.flatnonzero(d <= radius)


def simulate_vertebroplasty(mesh: Mesh, materials: MaterialMap, geometry=None, *, needles, cement="pmma",
                            marrow_viscosity: float = _flow.MARROW_VISCOSITY, corey=_flow.COREY_EXPONENTS,
                            porosity=None, permeability=None, saturation=None, outlets=None,
                            open_boundary: bool = False, foramen_radius: float = FORAMEN_RADIUS,
                            heterogeneity: float = 0.0, seed=None, correlation_length: float = 0.0,
                            cfl: float = 0.9,
                            pressure_update: float = 0.2, outlet_pressure: float = _flow.VENOUS_PRESSURE,
                            use_numba: bool = True, medium_options=None, outlet_resistance=None,
                            basivertebral_canal: float = 0.0, fracture_line_aperture: float = 0.0,
                            vein_radius: float = 0.0) -> CementFill:
    """Inject cement through ``needles`` and return where it went.

    Parameters
    ----------
    mesh, materials : Mesh, MaterialMap
        Vertebra (or block) with apparent density; ``"outlet_*"`` cell sets
        are outlets, "void" cells (cleft) fill first.
    geometry : Geometry, optional
        Needle-tip checks and the basivertebral outlet (built from
        ``basivertebral_foramen`` and the cortex when the mesh lacks
        ``"outlet_basivertebral"``).
    needles : Needle or sequence of Needle, keyword-only
        Injections (rate mL/min, volume mL, start s after mixing); sequential
        injections by their start times.
    cement : Cement or str
        Preset name or :class:`vbfem.materials.cement.Cement`; its ``flow_index``,
        ``shear_rate_reference`` and ``shear_rate_min`` make it shear-thinning
        (default Newtonian; e.g. ``Cement(flow_index=0.5)`` or the preset
        ``"pmma_shear_thinning"``).
    marrow_viscosity : float
        Pa·s.
    porosity, permeability, saturation : array_like (n_cells,), optional
        Per-cell overrides (NaN keeps the computed value; permeability m²) and
        initial cement saturation (kyphoplasty cavity / shell).
    outlets : mapping, optional
        Extra outlet cell sets.
    open_boundary : bool
        Mesh boundary is an outlet (blocks).
    basivertebral_canal : float
        Depth of the basivertebral canal as a fraction of the body's depth (0: none, the foramen alone;
        :data:`BASIVERTEBRAL_CANAL_DEPTH` gives the measured range): its cells become the venous outlet
        ``"outlet_basivertebral_canal"`` (:func:`basivertebral_canal_cells`; needs ``geometry``).
    fracture_line_aperture : float, keyword-only, default 0
        Aperture (mm) of the fluid-filled fracture line (cell set ``"fracture_line"`` of
        :func:`vbfem.fracture.deformity.apply_fracture`): its cells get the cubic-law permeability
        :func:`vbfem.treatment.fracture_line.fracture_line_permeability` in addition to the bone's.
        0: none. No published aperture was found: a user's value.
    vein_radius : float, keyword-only, default 0
        Radius (mm) of the basivertebral vein's trunk (:mod:`vbfem.treatment.veins`): the trunk from the foramen
        and its branches to the front and sides of the body (Murray's law radius) become preferential channels
        (Poiseuille, smeared over their cells) ending in venous outlets. 0: none; > 0 needs ``geometry``. The
        patients of :func:`vbfem.treatment.leakage.patient_leakage_risk` have their own, from the measured
        foramen (:data:`vbfem.fracture.cohort.FORAMEN_HEIGHT`).
    outlet_resistance : mapping, optional
        Geometric resistance (mm⁻³, ``8 L/(π r⁴)`` of a draining vessel) per outlet name, in series with the
        outlet (:func:`vbfem.treatment.network.flow_network`); checked before the flow starts.
    heterogeneity, seed, correlation_length
        Seeded log-normal permeability scatter (fingering studies): ``σ`` of its log, the seed and its
        correlation length in mm (0: cell-wise; :func:`vbfem.materials.porous.porous_medium`).

    Returns
    -------
    CementFill
        ``metrics``: ``fill_fraction`` (cement volume / body volume),
        ``filled_volume_fraction`` (volume of cells with S >= 0.5 / body
        volume), ``bridging_superior``, ``bridging_inferior``, ``bridging``,
        ``left_right_balance`` ((L-R)/(L+R) of cement volume, y > 0 is left),
        ``posterior_distance`` (mm from the nearest filled centroid to the
        ``posterior_wall`` nodes), ``leaked_fraction``, ``mass_error``, ``seed``; the leakage report of
        :func:`vbfem.treatment.outlets.leak_summary` (``leaked_venous``, ``leaked_cortical``,
        ``leaked_disc``, ``leaked_other`` mm³, ``leak``, ``first_leak_time`` s after the first needle's
        start, ``first_leak_class``); ``peak_tip_pressure``, ``peak_syringe_pressure`` (MPa) and
        ``cannula_pressure_share``.
    """
    if isinstance(needles, Needle):
        needles = (needles,)
    needles = tuple(needles)
    if not needles or not all(isinstance(n, Needle) for n in needles):
        raise TypeError(f"needles must be a Needle or a non-empty sequence of Needle, got {needles!r}")
    cement = cement_preset(cement)
    if not (np.isfinite(marrow_viscosity) and marrow_viscosity > 0):
        raise ValueError(f"marrow_viscosity={marrow_viscosity!r} must be > 0 Pa·s")
    for nd in needles:
        if nd.stop > cement.setting_time:
            raise ValueError(f"needle {nd.name!r} injects until {nd.stop:.0f} s after mixing, after the setting "
                             f"time {cement.setting_time:.0f} s of cement {cement.name!r}")
        cement.viscosity(nd.start)  # a ValueError outside the cement's viscosity curve, before the flow starts
        cement.viscosity(nd.stop)
        check_tip(nd, geometry)
    if fracture_line_aperture and "fracture_line" not in mesh.cell_sets:
        raise ValueError(f"fracture_line_aperture={fracture_line_aperture!r} mm but the mesh has no 'fracture_line' "
                         "cell set (apply_fracture(..., fracture_line=True))")
    if vein_radius and geometry is None:
        raise ValueError("vein_radius needs the geometry (the foramen and the body's depth)")
    veins = None
    if vein_radius:
        from .veins import venous_network

        veins = venous_network(mesh, geometry, materials.tissue, radius=vein_radius)
    extra = dict(outlets or {})
    if veins is not None:
        extra.update(veins.outlets)
    if geometry is not None and not any(k.startswith("outlet_basivertebral") for k in mesh.cell_sets):
        extra["outlet_basivertebral"] = foramen_outlet(mesh, geometry, radius=foramen_radius)
    if basivertebral_canal:
        if geometry is None:
            raise ValueError("basivertebral_canal needs the geometry (its foramen and depth)")
        extra["outlet_basivertebral_canal"] = basivertebral_canal_cells(mesh, geometry, depth_fraction=basivertebral_canal,
                                                                       radius=foramen_radius)
    medium = porous_medium(mesh, materials, porosity=porosity, permeability=permeability, outlets=extra,
                                 heterogeneity=heterogeneity, seed=seed, correlation_length=correlation_length,
                                 **dict(medium_options or {}))
    if fracture_line_aperture:
        medium = _with_fracture_line(mesh, materials, medium, fracture_line_aperture)
    if veins is not None:
        k = np.array(medium.permeability)
        k += veins.permeability[:, None] * medium.flow[:, None]
        medium = dataclasses.replace(medium, permeability=k)
    net = flow_network(mesh, medium, open_boundary=open_boundary, outlet_resistance=outlet_resistance)
    loc = np.full(mesh.n_cells, -1, np.int64)
    loc[net.cells] = np.arange(net.cells.size)
    tree = cKDTree(net.centroid)
    inj = []
    for nd in needles:
        d, c = tree.query(nd.tip)
        h = np.cbrt(net.volume[c])
        if d > 1.5 * h:
            raise TipPlacementError(f"needle {nd.name!r}: tip {np.round(nd.tip, 2).tolist()} mm is not in a flow cell "
                             f"(nearest flow cell {d:.1f} mm away); it must lie in the trabecular bone")
        cells, weights = spread_source(net.centroid, net.volume, nd.tip, tree=tree)
        inj.append(_flow.Injection(cell=int(c), rate=nd.rate * 1000.0 / 60.0, start=nd.start, stop=nd.stop,
                                   bore=nd.bore, name=nd.name, cells=tuple(cells.tolist()),
                                   weights=tuple(weights.tolist())))
    total = sum(nd.volume for nd in needles) * 1000.0
    # pore space the needles reach: the flow cells face-connected to a needle cell
    reached = connected_to(net.fi, net.fj, net.cells.size, [q.cell for q in inj])
    reach = float(net.pv[reached].sum())
    s0 = None
    if saturation is not None:
        s_full = np.asarray(saturation, float)
        if s_full.shape != (mesh.n_cells,):
            raise ValueError(f"saturation must have shape ({mesh.n_cells},), got {s_full.shape}")
        s0 = s_full[net.cells]
        reach -= float(net.pv[reached] @ s0[reached])
    if total > reach:
        raise ValueError(f"needles inject {total / 1000:.2f} mL but the pore volume connected to the needle "
                         f"tips is only {reach / 1000:.2f} mL")
    res = _flow.run_impes(net, inj, cement_viscosity=cement.viscosity, marrow_viscosity=marrow_viscosity,
                          corey=corey, saturation=s0, outlet_pressure=outlet_pressure, cfl=cfl,
                          pressure_update=pressure_update, use_numba=use_numba, flow_index=cement.flow_index,
                          shear_rate_reference=cement.shear_rate_reference, shear_rate_min=cement.shear_rate_min)
    s = np.zeros(mesh.n_cells)
    s[net.cells] = res["saturation"]
    arrival = np.full(mesh.n_cells, np.nan)
    arrival[net.cells] = res["arrival"]
    frac = s * medium.porosity
    syringe = syringe_history(res["needle_pressure"], res["viscosity"], needles, cement)
    metrics = fill_metrics(mesh, medium, s)
    metrics.update(leak_summary(res["times"], res["leaked_outlets"], net.outlet_names,
                                start=min(nd.start for nd in needles)))
    metrics.update(peak_tip_pressure=_peak(res["needle_pressure"]), peak_syringe_pressure=_peak(syringe),
                   cannula_pressure_share=_cannula_share(res["needle_pressure"], syringe))
    metrics.update(mass_error=res["mass_error"], seed=seed,
                   leaked_fraction=sum(res["leaked"].values()) / max(res["injected"][-1] if res["injected"].size else 1, 1e-30))
    return CementFill(saturation=s, fraction=frac, arrival_time=arrival,
                      injected=float(res["injected"][-1]), leaked=res["leaked"], times=res["times"],
                      needle_pressure=res["needle_pressure"], injected_history=res["injected"],
                      body_history=res["in_body"], leaked_history=res["leaked_total"], metrics=metrics,
                      syringe_pressure=syringe,
                      params={"needles": [_needle_params(nd) for nd in needles], "cement": _asdict(cement),
                              "marrow_viscosity": marrow_viscosity, "corey": tuple(corey),
                              "n_pressure_solves": res["n_pressure"], "n_transport_steps": res["n_transport"],
                              "n_halved": res["n_halved"], "n_amg_setup": res["n_amg_setup"],
                              "n_amg_reused": res["n_amg_reused"], "n_direct_solves": res["n_direct"], "outlet_pressure_MPa": outlet_pressure,
                              "outlets": list(net.outlet_names),
                              "outlet_cells": {k: np.asarray(v, np.int64) for k, v in medium.outlets.items()},
                              "leaked_outlets_at_first_leak": _leaked_at_first_leak(res, net.outlet_names),
                              "veins": None if veins is None else {
                                  "radius_mm": veins.radius, "branch_radius_mm": veins.branch_radius,
                                  "cells": int(veins.cells.size),
                                  "vessels": {n: int(v[2].size) for n, v in veins.vessels.items()}},
                              **dict(medium.params)})


def _leaked_at_first_leak(res, names) -> dict:
    """Leaked volume per outlet (mm³) at the first recorded step where the total exceeds
    :data:`vbfem.treatment.outlets.LEAK_DETECTION`; empty without a leak."""
    from .outlets import LEAK_DETECTION

    total = np.asarray(res["leaked_total"], float)
    over = total > LEAK_DETECTION
    if not over.any():
        return {}
    row = np.asarray(res["leaked_outlets"], float).reshape(total.size, len(names))[int(np.argmax(over))]
    return {n: float(v) for n, v in zip(names, row)}


def syringe_history(tip_pressure, viscosity, needles, cement) -> np.ndarray:
    """Syringe pressure history (MPa, (n_t, n_needles)): each needle's tip pressure plus its cannula's drop.

    ``tip_pressure`` (n_t, n_needles) MPa from :func:`vbfem.treatment.flow.run_impes` (NaN while a needle
    is idle), ``viscosity`` (n_t,) the curing viscosity in Pa·s at those times. The rate is each needle's
    constant rate (:mod:`vbfem.treatment.cannula`).
    """
    tip = np.asarray(tip_pressure, float).reshape(len(viscosity), len(needles))
    out = np.full_like(tip, np.nan)
    mu = np.asarray(viscosity, float)
    for k, nd in enumerate(needles):  # a loop over the needles (one or two), not over time
        on = np.isfinite(tip[:, k]) & np.isfinite(mu) & (mu > 0)
        if on.any():
            out[on, k] = syringe_pressure(tip[on, k], nd.rate * 1000.0 / 60.0, mu[on], nd.cannula,
                                          flow_index=cement.flow_index,
                                          shear_rate_reference=cement.shear_rate_reference,
                                          shear_rate_min=cement.shear_rate_min)
    return out


def _cannula_share(tip, syringe) -> float:
    """Share of the syringe pressure spent in the cannula, ``1 - tip/syringe``, at the peak syringe pressure."""
    syr = np.asarray(syringe, float)
    if not np.any(np.isfinite(syr)):
        return float("nan")
    k = np.nanargmax(syr)
    return float(1.0 - np.asarray(tip, float).reshape(syr.shape).flat[k] / syr.flat[k])


def _peak(values) -> float:
    """Largest finite value, NaN if none."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else float("nan")


def _needle_params(nd: Needle) -> dict:
    """Provenance of a needle, its cannula as a plain dict."""
    return _asdict(nd)


def _asdict(record) -> dict:
    """A frozen record (and the records it holds) as plain dicts."""
    from dataclasses import asdict

    return asdict(record)


def fill_metrics(mesh: Mesh, medium, s) -> dict:
    """Fill metrics (see :func:`simulate_vertebroplasty`) from the per-cell saturation ``s``."""
    vol = medium.volume
    cem = s * medium.porosity * vol
    filled = s >= FILLED
    body = float(vol.sum())
    out = {"fill_fraction": float(cem.sum() / body), "filled_volume_fraction": float(vol[filled].sum() / body)}
    y = medium.centroid[:, 1]
    L, R = cem[y > 0].sum(), cem[y < 0].sum()
    out["left_right_balance"] = float((L - R) / (L + R)) if L + R > 0 else 0.0
    faces = mesh_faces(mesh)
    for side in ("superior", "inferior"):
        name = f"{side}_endplate"
        if name not in mesh.cell_sets:
            out[f"bridging_{side}"] = None
            continue
        ep = np.zeros(mesh.n_cells, bool)
        ep[mesh.cell_sets[name]] = True
        i, j = faces.inner_i, faces.inner_j
        touch = (ep[i] & filled[j]) | (ep[j] & filled[i])
        out[f"bridging_{side}"] = bool(touch.any())
    if out["bridging_superior"] is not None and out["bridging_inferior"] is not None:
        out["bridging"] = out["bridging_superior"] and out["bridging_inferior"]
    if "posterior_wall" in mesh.node_sets and filled.any():
        d, _ = cKDTree(mesh.points[mesh.node_sets["posterior_wall"]]).query(medium.centroid[filled])
        out["posterior_distance"] = float(d.min())
    else:
        out["posterior_distance"] = None
    return out


def _with_fracture_line(mesh, materials, medium, aperture):
    """``medium`` with the cubic-law permeability of the fracture line added to its cells."""
    info = (materials.params.get("fracture") or {}).get("fracture_line") or {}
    k_line = fracture_line_permeability(aperture, info.get("half_width", FRACTURE_LINE_HALF_WIDTH))
    k = np.array(medium.permeability)
    k[mesh.cell_sets["fracture_line"]] += k_line
    return dataclasses.replace(medium, permeability=k)
