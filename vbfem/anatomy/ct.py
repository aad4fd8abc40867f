"""Patient CT -> voxel vertebra model: labels, hygiene, caps and the hex8 mesh.

The stage between a calibrated scan (:class:`vbfem.anatomy.image.ImageVolume`)
and the material stage (:func:`vbfem.materials.image.ct_materials`):

1. the label -> tissue table picks the voxels (``body``, ``cortex``,
   ``posterior``; ``exclude`` and 0 are not meshed);
2. optional coarsening (2 x 2 x 2 averaging, :func:`vbfem.anatomy.image.coarsen`);
3. the largest face-connected component is kept;
4. a body tilted against the grid is resampled into its own frame (axis from
   the endplates, :func:`vbfem.anatomy.caps.align_to_axis`), then PMMA caps
   are cast on both endplates (:func:`vbfem.anatomy.caps.add_caps`);
5. one hex8 per voxel (:func:`vbfem.anatomy.image.mesh_from_image`), with the
   cell sets ``body``, ``cortex``, ``posterior``, ``cap_superior``,
   ``cap_inferior``, cell data ``mineral_density`` (g/cm³) and the node sets
   ``superior`` / ``inferior`` on the caps' outer faces, so
   :func:`vbfem.mechanics.loadcases.compression_test` works on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..records import Mesh
from .calibration import CALIBRATED, Calibration, mineral_density
from .caps import CapInfo, add_caps, align_to_axis, body_axis, cap_node_sets
from .image import ImageVolume, coarsen, largest_component, mesh_from_image

logger = logging.getLogger(__name__)

__all__ = ["CTMeshInfo", "check_tissue_table", "ct_mesh"]

_TISSUES = ("body", "cortex", "posterior", "exclude")


@dataclass(frozen=True)
class CTMeshInfo:
    """What :func:`ct_mesh` did: source, axes, voxel counts, caps."""

    source: str
    axcodes: tuple
    spacing: tuple
    coarsen: int
    n_bone: int
    dropped: int
    caps: CapInfo | None
    aligned: float = 0.0


def check_tissue_table(tissues, labels, *, source: str = "image") -> dict[int, str]:
    """Check a label -> tissue table against a label image; returns ``{int label: tissue}``."""
    if not isinstance(tissues, Mapping) or not tissues:
        raise ValueError(f"{source}: tissues must be a non-empty table label -> tissue "
                         f"({', '.join(_TISSUES)}), got {tissues!r}")
    table = {}
    for key, value in tissues.items():
        try:
            lab = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: tissue table key {key!r} is not an integer label") from None
        if value not in _TISSUES:
            raise ValueError(f"{source}: label {lab} has tissue {value!r}; allowed: {', '.join(_TISSUES)}")
        table[lab] = value
    present = set(np.unique(labels).tolist()) - {0}
    missing = sorted(present - set(table))
    if missing:
        raise ValueError(f"{source}: label(s) {missing} of the label image are not in the label -> tissue table "
                         f"{table}; fix: add them (e.g. as 'exclude')")
    if not any(t in ("body", "cortex") for t in table.values()):
        raise ValueError(f"{source}: no label is 'body' or 'cortex' in the tissue table {table}")
    return table


def ct_mesh(volume: ImageVolume, *, tissues: Mapping, calibration: Calibration = CALIBRATED, coarsen_by: int = 1,
            caps: bool = True, cap_thickness: float = 5.0, align="auto",
            cut_x: float | None = None) -> tuple[Mesh, CTMeshInfo]:
    """Voxel hex8 mesh of a labelled, calibrated scan, with endplate caps.

    Parameters
    ----------
    volume : ImageVolume
        Scan and label image in vbfem's axes (:func:`vbfem.anatomy.image.read_volume`).
    tissues : mapping int -> str, keyword-only
        Label -> ``"body"`` | ``"cortex"`` | ``"posterior"`` | ``"exclude"``.
    calibration : Calibration, keyword-only
        Image values -> equivalent mineral density.
    coarsen_by : int, keyword-only, default 1
        Coarsening factor (2: 2 x 2 x 2 averaging).
    caps : bool, keyword-only, default True
        Cast PMMA caps and make the node sets ``superior`` / ``inferior``.
    cap_thickness : float, keyword-only, default 5 mm
    align : {"auto", True, False}, keyword-only
        Resample the scan so that the body's axis (:func:`vbfem.anatomy.caps.body_axis`)
        is +z, so the caps are flat and the load cases act along the body's
        axis. ``"auto"``: when the tilt makes the endplate planes rise by more
        than one voxel across the body (below that the caps' planes are flat
        on the grid to within a voxel anyway).
    cut_x : float or None, keyword-only
        A frontal cut plane at the pedicles, for label images whose body label
        also covers the posterior elements: body voxels whose centre lies
        behind ``x = cut_x`` become posterior elements (no caps over them,
        cell set ``posterior``). mm along vbfem's +x (anterior) in the scan's
        frame, where voxel ``i`` (after reorientation and coarsening) has its
        centre at ``(i + 0.5) * spacing[0]``.

    Returns
    -------
    mesh : Mesh
    info : CTMeshInfo
    """
    if not isinstance(volume, ImageVolume):
        raise TypeError(f"volume must be an ImageVolume (read_volume / volume_from_array), got {type(volume).__name__}")
    if volume.labels is None:
        raise ValueError(f"{volume.source}: a label image is needed (body and posterior labels); "
                         "fix: pass labels= (NIfTI segmentation on the same grid)")
    if not isinstance(calibration, Calibration):
        raise TypeError(f"calibration must be a Calibration record, got {type(calibration).__name__}")
    table = check_tissue_table(tissues, volume.labels, source=volume.source)
    vol = coarsen(volume, coarsen_by)
    lab = vol.labels
    wanted = [k for k, t in table.items() if t != "exclude"]
    fg, dropped = largest_component(np.isin(lab, wanted))
    lab = np.where(fg, lab, 0)
    body_labels = [k for k, t in table.items() if t in ("body", "cortex")]
    if cut_x is not None:
        lab, table = _cut_posterior(lab, table, body_labels, vol.spacing, cut_x, volume.source)
    body = np.isin(lab, body_labels)
    if not body.any():
        raise ValueError(f"{volume.source}: the body label(s) {body_labels} have no voxel (after the connectivity "
                         "filter); fix: check the label image and the tissue table")
    aligned = 0.0
    cap_axis = None  # the body's own axis: tilted caps (align=False)
    if align not in ("auto", True, False):
        raise ValueError(f"align={align!r}: allowed 'auto', True, False")
    if caps and align is not False:
        axis, centre = body_axis(body, vol.spacing, source=volume.source)
        tilt = float(np.degrees(np.arccos(min(1.0, abs(axis[2])))))
        width = float(np.ptp(np.argwhere(body)[:, :2], axis=0).max() + 1) * min(vol.spacing[:2])
        if align is True or width * np.tan(np.radians(tilt)) > vol.spacing[2]:
            values, lab, _ = align_to_axis(vol.values, lab, vol.spacing, axis, centre)
            vol = ImageVolume(values, lab, vol.spacing, source=vol.source, axcodes=vol.axcodes, info=vol.info)
            fg, more = largest_component(lab != 0)  # nearest-neighbour resampling can detach single voxels
            lab = np.where(fg, lab, 0)
            dropped += more
            body = np.isin(lab, body_labels)
            aligned = tilt
            logger.info("%s: resampled into the body's frame (axis %.1f° from +z)", volume.source, tilt)
        cap_axis = (0.0, 0.0, 1.0)  # aligned, or flat on the grid to within a voxel: caps normal to z
    rho = mineral_density(vol.values[body], calibration)
    if np.median(rho) <= 0:
        raise ValueError(f"{volume.source}: the calibration {calibration.to_dict()} gives a median density of "
                         f"{np.median(rho) * 1e3:.3g} mg/cm³ in the body (negative or zero); fix: check the unit "
                         "(HU or mg/cm3) and the phantom fit's slope and intercept")
    values = vol.values
    info_caps = None
    if caps:
        lab, body, info_caps = add_caps(lab, vol.spacing, body=body, thickness=cap_thickness, axis=cap_axis,
                                        source=volume.source)
        values = np.pad(values, [(p, p) for p in info_caps.pad])

    def to_density(v):
        return mineral_density(v, calibration)

    mesh = mesh_from_image(lab, spacing=vol.spacing, hu=values, calibration=to_density)
    label = mesh.cell_data["label"]
    sets = dict(mesh.cell_sets)
    for name, kind in (("body", ("body", "cortex")), ("cortex", ("cortex",)), ("posterior", ("posterior",))):
        sets[name] = np.flatnonzero(np.isin(label, [k for k, t in table.items() if t in kind]))
    sets["trabecular"] = np.flatnonzero(np.isin(label, [k for k, t in table.items() if t in ("body", "posterior")]))
    node_sets = dict(mesh.node_sets)
    cell_data = {**mesh.cell_data, "mineral_density": mesh.cell_data["density"]}
    if info_caps is not None:
        sets["cap_superior"] = np.flatnonzero(label == info_caps.superior_label)
        sets["cap_inferior"] = np.flatnonzero(label == info_caps.inferior_label)
        caps_cells = np.concatenate([sets["cap_superior"], sets["cap_inferior"]])
        cell_data["mineral_density"] = cell_data["mineral_density"].copy()
        cell_data["mineral_density"][caps_cells] = np.nan
        node_sets.update(cap_node_sets(mesh, info_caps, lab.shape))
    del cell_data["density"]  # QCT density lives in 'mineral_density'; 'density' would be read as apparent elsewhere
    mesh = mesh.replace(cell_sets=sets, node_sets=node_sets, cell_data=cell_data)
    info = CTMeshInfo(volume.source, tuple(volume.axcodes), tuple(vol.spacing), int(coarsen_by),
                      int(sets["body"].size + sets["posterior"].size), dropped, info_caps, aligned)
    logger.info("ct_mesh %s: %d bone voxels (%d dropped by the connectivity filter), %d cells, %d nodes",
                volume.source, info.n_bone, dropped, mesh.n_cells, mesh.n_points)
    return mesh, info


def _cut_posterior(lab, table, body_labels, spacing, cut_x, source):
    """Body voxels behind the plane ``x = cut_x`` (mm, voxel centres at (i + 0.5) spacing) -> a new posterior label."""
    x = (np.arange(lab.shape[0]) + 0.5) * float(spacing[0])
    if not np.isfinite(cut_x):
        raise ValueError(f"cut_x={cut_x!r} must be a finite x in mm")
    body = np.isin(lab, body_labels)
    behind = body & (x < float(cut_x))[:, None, None]
    if behind.sum() == body.sum():
        raise ValueError(f"{source}: cut_x={cut_x!r} mm leaves no body voxel in front of the cut plane (the body "
                         f"spans x = {x[body.any(axis=(1, 2))].min():.4g}..{x[body.any(axis=(1, 2))].max():.4g} mm); "
                         "fix: put the plane at the pedicles, behind the posterior wall")
    label = int(max(lab.max(), max(table))) + 1
    out = lab.copy()
    out[behind] = label
    logger.info("%s: %d body voxels behind the cut plane x = %.4g mm became posterior elements", source,
                int(behind.sum()), cut_x)
    return out, {**table, label: "posterior"}
