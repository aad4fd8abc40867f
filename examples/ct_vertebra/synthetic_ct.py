"""A synthetic calibrated QCT of a vertebral body, made from vbfem's own geometry and density model.

The body is the parametric vertebra of a spinal level
(:func:`vbfem.anatomy.geometry.build_vertebra`), voxelised at ``spacing``; its
one-voxel outer layer is labelled cortex (label 2), the rest trabecular
bone (label 1). Every voxel takes the wet apparent density of vbfem's
density model (:func:`vbfem.materials.bone.assign_bone`, regional pattern);
the outer voxels hold, by partial volume, the geometry's thin shell (0.38 mm)
and endplates (0.5 mm) at the densities where the modulus law gives the
bone-quality level's shell and endplate moduli. Apparent
density becomes K2HPO4-equivalent mineral density (x 0.6, vbfem's QCT ≈ ash
ratio), then CT numbers through an illustrative phantom fit
(:data:`PHANTOM`; synthetic, not a scanner's), plus Gaussian noise in HU.

Run ``python synthetic_ct.py OUTDIR`` to write ``scan.nii.gz``,
``labels.nii.gz`` and ``phantom.txt`` (needs nibabel), then
``vbfem run study.toml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

#: Illustrative phantom fit of the synthetic scan: mg/cm³ K2HPO4 per HU, and mg/cm³ at 0 HU. Made up for the
#: example (a linear fit of this order is typical of QCT phantoms); a real scan comes with its own.
PHANTOM = (0.8, -2.0)


def synthetic_ct(level: str = "L1", *, spacing: float = 1.0, bmd: str = "osteoporotic", noise_hu: float = 0.0,
                 seed: int = 0, margin: int = 2):
    """Arrays of a synthetic QCT in vbfem's axes.

    Returns
    -------
    dict
        ``hu`` (nx, ny, nz) CT numbers, ``labels`` (0 background, 1 trabecular,
        2 shell), ``apparent`` true wet apparent density (g/cm³, NaN outside),
        ``spacing`` (mm), ``origin`` (mm, corner of voxel 0), ``modulus`` the
        true modulus field (MPa, NaN outside) from the same law.
    """
    from scipy import ndimage

    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.image import mesh_from_image
    from vbfem.materials.bone import BONE_QUALITY, assign_bone
    from vbfem.materials.laws import MODULUS_LAWS

    g = build_vertebra(level)
    r = float(np.max(g.radius(np.linspace(-np.pi, np.pi, 721)))) + margin * spacing
    phi = np.linspace(-np.pi, np.pi, 721)
    out = g.outline(phi)
    zlo = float(np.min(g.z_inferior(out[:, 0] * 0, out[:, 1] * 0))) - 20.0
    zhi = float(np.max(g.z_superior(out[:, 0] * 0, out[:, 1] * 0))) + 20.0
    lo = np.array([-r, -r, zlo])
    n = np.ceil((np.array([r, r, zhi]) - lo) / spacing).astype(int)
    centres = lo + (np.indices(n).reshape(3, -1).T + 0.5) * spacing
    inside = g.contains(centres).reshape(n)
    ks = np.flatnonzero(inside.any(axis=(0, 1)))
    keep = slice(max(ks[0] - margin, 0), ks[-1] + margin + 1)
    inside = inside[:, :, keep]
    lo[2] += keep.start * spacing
    boundary = inside & ~ndimage.binary_erosion(inside)
    up = np.zeros_like(inside)
    up[:, :, :-1] = inside[:, :, 1:]
    down = np.zeros_like(inside)
    down[:, :, 1:] = inside[:, :, :-1]
    endplate = boundary & ~(up & down)  # a free face above or below
    labels = np.where(boundary, 2, np.where(inside, 1, 0)).astype(np.int16)
    mesh = mesh_from_image(labels, spacing=spacing, origin=lo)
    mat = assign_bone(mesh, bmd=bmd)  # every voxel trabecular: the regional density pattern
    law = MODULUS_LAWS[mat.law]
    apparent = np.full(labels.shape, np.nan)
    apparent.reshape(-1)[mesh.cell_data["voxel"]] = mat.density
    # partial volume of the thin shell and endplates in their boundary voxels (CT measures the mean mineral
    # density of a voxel): the cortical density is the one at which the law gives the level's shell / endplate
    # modulus (a power law, inverted exactly), mixed with the trabecular density by thickness / spacing
    q = BONE_QUALITY[bmd]
    rho_shell = (q.cortical_E / law.formula.a) ** (1.0 / law.formula.b)
    rho_ep = (q.endplate_E / law.formula.a) ** (1.0 / law.formula.b)
    f_shell = min(1.0, g.shell_thickness / spacing)
    f_ep = min(1.0, g.endplate_thickness / spacing)
    side = boundary & ~endplate
    apparent[side] = f_shell * rho_shell + (1.0 - f_shell) * apparent[side]
    apparent[endplate] = f_ep * rho_ep + (1.0 - f_ep) * apparent[endplate]
    mg = np.where(np.isfinite(apparent), 600.0 * apparent, 0.0)  # mg/cm3 K2HPO4 (x 0.6 x 1000)
    hu = (mg - PHANTOM[1]) / PHANTOM[0]
    hu = np.where(labels > 0, hu, 20.0)  # soft tissue around the body
    if noise_hu > 0:
        hu = hu + np.random.default_rng(seed).normal(0.0, noise_hu, hu.shape)
    modulus = np.where(np.isfinite(apparent), law(np.nan_to_num(apparent, nan=1.0)), np.nan)
    return {"hu": hu, "labels": labels, "apparent": apparent, "spacing": (spacing,) * 3, "origin": tuple(lo),
            "modulus": modulus, "law": law.name}


def nifti_affine(spacing, origin) -> np.ndarray:
    """Affine (RAS world) of an array whose axes are vbfem's (anterior, left, superior)."""
    a = np.zeros((4, 4))
    a[1, 0], a[0, 1], a[2, 2], a[3, 3] = spacing[0], -spacing[1], spacing[2], 1.0
    a[:3, 3] = (-origin[1], origin[0], origin[2])
    return a


def write_ct(folder, **kw) -> dict:
    """Write ``scan.nii.gz`` (HU), ``labels.nii.gz`` and ``phantom.txt`` into ``folder``; returns the arrays."""
    import nibabel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, ornt_transform

    ct = synthetic_ct(**kw)
    aff = nifti_affine(ct["spacing"], ct["origin"])
    # stored the way scanners' NIfTI files often are, in RAS order (vbfem reads it back into A, L, S)
    ornt = ornt_transform(axcodes2ornt(("A", "L", "S")), axcodes2ornt(("R", "A", "S")))
    aff = aff @ inv_ornt_aff(ornt, ct["hu"].shape)
    for name, arr in (("scan", ct["hu"].astype(np.float32)), ("labels", ct["labels"])):
        nibabel.save(nibabel.Nifti1Image(np.ascontiguousarray(apply_orientation(arr, ornt)), aff),
                     str(folder / f"{name}.nii.gz"))
    (folder / "phantom.txt").write_text(
        "# synthetic phantom fit of examples/ct_vertebra (illustrative, not a scanner's)\n"
        f"unit = HU\nslope = {PHANTOM[0]}\nintercept = {PHANTOM[1]}\nphantom = K2HPO4\n")
    return ct


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    ct = write_ct(target, noise_hu=10.0)
    print(f"wrote {target}/scan.nii.gz, labels.nii.gz, phantom.txt: {int((ct['labels'] > 0).sum())} bone voxels")
