"""The CT route: calibration, hygiene, caps, per-voxel materials, axes, sliding platens."""
import json

import numpy as np
import pytest

from vbfem.anatomy.calibration import Calibration, mineral_density, read_calibration
from vbfem.anatomy.caps import add_caps, body_axis
from vbfem.anatomy.ct import ct_mesh
from vbfem.anatomy.image import coarsen, largest_component, read_volume, volume_from_array
from vbfem.fem.static import solve_static
from vbfem.materials.image import KELLER1994_YIELD, apparent_from_mineral, ct_materials
from vbfem.materials.laws import convert_density, modulus_from_density
from vbfem.mechanics.loadcases import compression_test
from vbfem.mechanics.sliding import sliding_compression, sliding_stiffness
from vbfem.records import MaterialMap


def block(shape=(8, 6, 5), inner=(slice(1, 7), slice(1, 5), slice(1, 4)), value=150.0):
    lab = np.zeros(shape, int)
    lab[inner] = 1
    return lab, np.full(shape, value)


# ------------------------------------------------------------------ 1. calibration
def test_calibration_from_text_and_json(tmp_path):
    (tmp_path / "c.txt").write_text("# phantom fit\nunit = HU\nslope = 0.8  # mg/cm3 per HU\nintercept = -2\n")
    cal = read_calibration(tmp_path / "c.txt")
    assert (cal.unit, cal.slope, cal.intercept) == ("HU", 0.8, -2.0)
    assert np.allclose(mineral_density([0.0, 100.0], cal), [-0.002, 0.078])
    (tmp_path / "c.json").write_text(json.dumps({"unit": "mg/cm3"}))
    assert np.allclose(mineral_density([120.0], read_calibration(tmp_path / "c.json")), [0.120])
    with pytest.raises(ValueError, match="unknown key"):
        (tmp_path / "bad.txt").write_text("slop = 1\n")
        read_calibration(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="slope"):
        Calibration(unit="HU", slope=-1.0)
    with pytest.raises(ValueError, match="unit"):
        Calibration(unit="g/l")
    with pytest.raises(ValueError, match="already in mg/cm3"):
        Calibration(unit="mg/cm3", slope=0.8)


def test_dense_cortical_voxels_are_clipped_with_a_report_not_a_crash():
    rho_qct = np.array([-0.01, 0.06, 0.12, 1.3, 1.5])  # 1.3 and 1.5 g/cm3 QCT -> apparent > 2
    app, rep = apparent_from_mineral(rho_qct, where=np.array([10, 11, 12, 13, 14]))
    assert rep.n_low == 1 and rep.n_high == 2 and rep.where_low == (10,) and rep.where_high == (13, 14)
    assert np.allclose(app, [0.01, 0.1, 0.2, 2.0, 2.0])
    assert np.allclose(app[1:3], convert_density(rho_qct[1:3], source="qct", target="apparent"))


# ------------------------------------------------------------------ 2. hygiene
def test_largest_face_connected_component_drops_edge_touching_islands():
    m = np.zeros((6, 6, 6), bool)
    m[0:3, 0:3, 0:3] = True
    m[3, 3, 2] = True  # touches the block along an edge only
    m[5, 5, 5] = True
    out, dropped = largest_component(m)
    assert out.sum() == 27 and dropped == 2


def test_coarsen_averages_values_and_takes_the_majority_label():
    lab = np.zeros((4, 4, 4), int)
    lab[:2, :2, :2] = 1
    lab[2:, :, :] = 2
    lab[2, 0, 0] = 0
    vals = np.arange(64.0).reshape(4, 4, 4)
    c = coarsen(volume_from_array(vals, spacing=(0.5, 0.6, 0.7), labels=lab), 2)
    assert c.values.shape == (2, 2, 2) and c.spacing == (1.0, 1.2, 1.4)
    assert c.values[1, 0, 1] == pytest.approx(vals[2:, :2, 2:].mean())
    assert c.labels[0, 0, 0] == 1 and c.labels[1, 0, 0] == 2 and c.labels[0, 1, 1] == 0


# ------------------------------------------------------------------ 4. caps
@pytest.mark.parametrize("nu", [0.0, 0.3])
def test_capped_homogeneous_block_gives_EA_over_L(nu):
    lab, vals = block()
    s = (1.0, 1.2, 1.5)
    mesh, info = ct_mesh(volume_from_array(vals, spacing=s, labels=lab), tissues={1: "body"}, cap_thickness=3.0)
    assert info.caps.tilt == 0 and info.caps.n_superior == info.caps.n_inferior == 6 * 4 * 2
    z = mesh.points[:, 2]
    assert np.ptp(z[mesh.node_sets["superior"]]) == 0 and np.ptp(z[mesh.node_sets["inferior"]]) == 0
    E = 700.0
    mat = MaterialMap(E=np.full(mesh.n_cells, E), nu=np.full(mesh.n_cells, nu))
    A, L = 6 * 1.0 * 4 * 1.2, 3 * 1.5 + 2 * 3.0
    sliding = solve_static(mesh, mat, sliding_compression(mesh, displacement=0.01))
    assert sliding_stiffness(mesh, sliding, displacement=0.01) == pytest.approx(E * A / L, rel=1e-9)
    if nu == 0.0:  # bonded platens restrain lateral expansion: exact only without it
        bonded = solve_static(mesh, mat, compression_test(mesh, displacement=0.01))
        assert bonded.stiffness("platen") == pytest.approx(E * A / L, rel=1e-9)
        # caps stiffer than the bone: springs in series
        Ev = np.where(np.isin(np.arange(mesh.n_cells), mesh.cell_sets["body"]), E, 2000.0)
        res = solve_static(mesh, MaterialMap(E=Ev, nu=0.0), compression_test(mesh, displacement=0.01))
        assert res.stiffness("platen") == pytest.approx(A / (4.5 / E + 6.0 / 2000.0), rel=1e-9)


def test_caps_fill_a_concave_endplate_to_a_flat_plane_and_skip_posterior_voxels():
    lab = np.zeros((12, 12, 12), int)
    lab[2:10, 2:10, 3:9] = 1
    lab[5:7, 5:7, 8] = 0  # a dimple in the superior endplate
    lab[0:2, 4:8, 3:11] = 2  # posterior element above the endplate level, outside the body footprint
    body = lab == 1
    out, _, info = add_caps(lab, (1.0, 1.0, 1.0), body=body, thickness=2.0)
    p = info.pad
    sup = out == info.superior_label
    assert sup[p[0] + 5, p[1] + 5, p[2] + 8]  # the dimple is filled
    top = np.argwhere(sup)[:, 2].max()
    assert top == p[2] + 8 + 2 and np.all(np.argwhere(sup)[:, 2] >= p[2] + 8)
    assert not np.any(sup[p[0]:p[0] + 2])  # never in the posterior element's columns
    assert np.all(out[np.pad(lab == 2, [(q, q) for q in p])] == 2)


def test_body_axis_follows_a_tilted_body_and_rejects_ambiguous_ones():
    n = 40
    X, Y, Z = np.meshgrid(*(np.arange(n) + 0.5 - n / 2,) * 3, indexing="ij")
    t = np.radians(20.0)
    zr = Z * np.cos(t) - X * np.sin(t)
    xr = X * np.cos(t) + Z * np.sin(t)
    disc = (xr ** 2 + Y ** 2 <= 15.0 ** 2) & (np.abs(zr) <= 5.0)
    axis, _ = body_axis(disc, (1.0, 1.0, 1.0))
    assert np.degrees(np.arccos(axis @ [-np.sin(t), 0.0, np.cos(t)])) < 1.5
    with pytest.raises(ValueError, match="superior direction cannot be found"):
        body_axis(np.swapaxes(disc, 0, 2), (1.0, 1.0, 1.0))  # lying on its side: header axes swapped
    upright = (X ** 2 + Z ** 2 <= 15.0 ** 2) & (np.abs(Y) <= 5.0)
    with pytest.raises(ValueError, match="superior direction cannot be found.*wider than tall"):
        body_axis(upright, (1.0, 1.0, 1.0))
    wedge = (X ** 2 + Y ** 2 <= 15.0 ** 2) & (Z >= -5.0) & (Z <= 5.0 + np.tan(np.radians(12.0)) * X)
    axis, _ = body_axis(wedge, (1.0, 1.0, 1.0))
    assert abs(np.degrees(np.arctan2(-axis[0], axis[2])) - 6.0) < 1.0  # the bisector of a 12 deg wedge
    steep = (X ** 2 + Y ** 2 <= 15.0 ** 2) & (Z >= -9.0 + 1.3 * X) & (Z <= 9.0 + 1.3 * X)
    with pytest.raises(ValueError, match="superior direction cannot be found.*from the scan's superior axis"):
        body_axis(steep, (1.0, 1.0, 1.0))  # endplates 52 deg from the image's xy plane
    with pytest.raises(ValueError, match="body label is empty"):
        body_axis(np.zeros((3, 3, 3), bool), (1.0, 1.0, 1.0))


# ------------------------------------------------------------------ 3. per-voxel materials
def test_per_voxel_modulus_and_yield_for_trabecular_and_cortical_voxels():
    lab, vals = block()
    vals = vals + np.arange(vals.size).reshape(vals.shape) * 3.0  # mg/cm3
    lab[1:7, 1:5, 3] = 3  # a 'cortex' layer with its own law
    vals[1:7, 1:5, 3] = 1400.0  # dense: apparent > 2 before clipping
    mesh, _ = ct_mesh(volume_from_array(vals, spacing=1.0, labels=lab), tissues={1: "body", 3: "cortex"})
    mat, rep = ct_materials(mesh, cortical_law="kopperdahl1998")
    trab = mesh.cell_sets["trabecular"]
    rho = convert_density(mesh.cell_data["mineral_density"][trab], source="qct", target="apparent")
    assert np.allclose(mat.density[trab], rho)
    assert np.allclose(mat.E[trab], 4730.0 * rho ** 1.56)
    cortex = mesh.cell_sets["cortex"]
    assert rep.n_high == cortex.size and np.all(mat.density[cortex] == 2.0)
    assert np.allclose(mat.E[cortex], modulus_from_density(2.0, "kopperdahl1998"))
    assert np.allclose(mat.yield_stress[trab], 284.0 * (0.6 * rho) ** 2.27)
    assert KELLER1994_YIELD.density_type == "ash"
    caps = mesh.cell_sets["cap_superior"]
    assert np.all(mat.E[caps] == 2000.0) and np.all(np.isnan(mat.density[caps]))
    # the caps stay elastic (no yield by a tissue strain: the caps yielding at 21 MPa)
    from vbfem.materials.image import CAP_YIELD

    assert np.all(mat.yield_stress[caps] == CAP_YIELD) and CAP_YIELD > 1e3 * mat.yield_stress[trab].max()


# ------------------------------------------------------------------ 5. axes
def _write(nib, path, data, affine):
    nib.save(nib.Nifti1Image(data, affine), str(path))


def test_flipped_and_permuted_scans_give_the_same_stiffness(tmp_path):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(3)
    lab = np.zeros((12, 10, 8), np.int16)
    lab[2:10, 2:8, 2:6] = 1
    lab[0:2, 4:6, 3:5] = 2  # posterior: -x
    vals = (100.0 + 40.0 * rng.random(lab.shape)).astype(np.float32)
    spacing = np.array([1.0, 1.1, 1.3])
    # reference: array axes = (A, L, S); NIfTI world is RAS: A = +y_world, L = -x_world, S = +z_world
    ref_aff = np.zeros((4, 4))
    ref_aff[1, 0], ref_aff[0, 1], ref_aff[2, 2], ref_aff[3, 3] = spacing[0], -spacing[1], spacing[2], 1.0
    stiff = []
    for k, (perm, flips) in enumerate([((0, 1, 2), ()), ((2, 0, 1), (0,)), ((1, 2, 0), (1, 2))]):
        d_lab, d_val, aff = lab, vals, ref_aff.copy()
        for ax in flips:  # flip array axis ax: the world position of index i becomes that of n-1-i
            d_lab, d_val = np.flip(d_lab, ax), np.flip(d_val, ax)
            aff[:3, 3] += aff[:3, ax] * (lab.shape[ax] - 1)
            aff[:3, ax] *= -1
        d_lab, d_val = np.transpose(d_lab, perm), np.transpose(d_val, perm)
        aff[:3, :3] = aff[:3, list(perm)]
        _write(nib, tmp_path / f"s{k}.nii.gz", d_val, aff)
        _write(nib, tmp_path / f"l{k}.nii.gz", d_lab, aff)
        vol = read_volume(tmp_path / f"s{k}.nii.gz", labels=tmp_path / f"l{k}.nii.gz")
        assert vol.spacing == pytest.approx(tuple(spacing))
        assert np.array_equal(vol.labels, lab)
        mesh, _ = ct_mesh(vol, tissues={1: "body", 2: "posterior"}, cap_thickness=2.6)
        mat, _ = ct_materials(mesh)
        stiff.append(solve_static(mesh, mat, compression_test(mesh, displacement=0.01)).stiffness("platen"))
    assert np.allclose(stiff, stiff[0], rtol=1e-9, atol=0)


# ------------------------------------------------------------------ 8. bad input
def test_bad_input_names_the_file_and_the_fix(tmp_path):
    lab, vals = block()
    vol = volume_from_array(vals, spacing=1.0, labels=lab, source="scan.nii.gz")
    with pytest.raises(ValueError, match=r"scan.nii.gz: label\(s\) \[1\].*not in the label -> tissue table"):
        ct_mesh(vol, tissues={5: "body"})
    with pytest.raises(ValueError, match="label image has shape"):
        volume_from_array(vals, spacing=1.0, labels=lab[:-1])
    with pytest.raises(ValueError, match="negative or zero.*fix"):
        ct_mesh(vol, tissues={1: "body"}, calibration=Calibration(unit="HU", slope=0.8, intercept=-200.0))
    empty = volume_from_array(vals, spacing=1.0, labels=np.where(lab == 1, 2, 0), source="scan.nii.gz")
    with pytest.raises(ValueError, match="no voxel"):
        ct_mesh(empty, tissues={1: "body", 2: "posterior"})
    nib = pytest.importorskip("nibabel")
    img = nib.Nifti1Image(vals.astype(np.float32), None)
    img.header.set_zooms((0.0, 1.0, 1.0))
    nib.save(img, str(tmp_path / "nospacing.nii"))
    with pytest.raises(ValueError, match="nospacing.nii: the header has no valid voxel spacing"):
        read_volume(tmp_path / "nospacing.nii")
    img = nib.Nifti1Image(vals.astype(np.float32), None)
    nib.save(img, str(tmp_path / "noorient.nii"))
    with pytest.raises(ValueError, match="noorient.nii: the header has no orientation"):
        read_volume(tmp_path / "noorient.nii")


def test_caps_on_a_tilted_body_end_within_a_voxel_of_planes_normal_to_its_axis():
    n = 36
    X, Y, Z = np.meshgrid(*(np.arange(n) + 0.5 - n / 2,) * 3, indexing="ij")
    t = np.radians(10.0)
    zr = Z * np.cos(t) - X * np.sin(t)
    xr = X * np.cos(t) + Z * np.sin(t)
    body = (xr ** 2 + Y ** 2 <= 12.0 ** 2) & (np.abs(zr) <= 4.5)
    vol = volume_from_array(np.where(body, 150.0, 0.0), spacing=1.0, labels=body.astype(int))
    mesh, info = ct_mesh(vol, tissues={1: "body"}, cap_thickness=3.0, align=False)
    assert abs(info.caps.tilt - 10.0) < 1.0
    s = mesh.points @ info.caps.axis
    for name, sign in (("superior", 1), ("inferior", -1)):
        d = s[mesh.node_sets[name]]
        assert np.ptp(d) < np.abs(info.caps.axis).sum()  # one voxel along the axis
    # the body still carries load through its caps
    mat, _ = ct_materials(mesh)
    assert solve_static(mesh, mat, compression_test(mesh, displacement=0.01)).stiffness("platen") > 0


def test_capped_image_model_matches_calculix(ccx, tmp_path):
    from vbfem.output.ccx import ccx_platen_reaction

    rng = np.random.default_rng(5)
    lab = np.zeros((9, 8, 6), int)
    lab[1:8, 1:7, 1:5] = 1
    lab[1:8, 1:7, 4] = 3
    lab[4, 3, 4] = 0  # a dimple in the superior endplate, filled by the cap
    vals = 60.0 + 200.0 * rng.random(lab.shape)
    mesh, _ = ct_mesh(volume_from_array(vals, spacing=(1.0, 1.1, 1.2), labels=lab),
                      tissues={1: "body", 3: "cortex"}, cap_thickness=2.4)
    mat, _ = ct_materials(mesh)
    load = compression_test(mesh, displacement=0.05)
    ref = solve_static(mesh, mat, load, solver="direct").platen_reaction["platen"]
    out = ccx_platen_reaction(mesh, mat, load, "platen", tmp_path)
    assert np.linalg.norm(out.reaction[:3] - ref[:3]) < 1e-6 * np.linalg.norm(ref[:3])


def test_nonlinear_strength_of_an_image_model_follows_the_per_voxel_yield_stress():
    from vbfem.mechanics.compare import compare_states

    lab, _ = block(shape=(8, 8, 5), inner=(slice(1, 7), slice(1, 7), slice(1, 4)))
    peaks = []
    for mg in (90.0, 180.0):
        vals = np.full(lab.shape, mg)
        mesh, _ = ct_mesh(volume_from_array(vals, spacing=1.5, labels=lab), tissues={1: "body"}, cap_thickness=3.0)
        mat, _ = ct_materials(mesh)
        sy = mat.yield_stress[mesh.cell_sets["body"]][0]
        assert sy == pytest.approx(284.0 * (mg * 1e-3) ** 2.27)  # ash = QCT density
        c = compare_states({"intact": (mesh, mat)}, load="compression_test", load_options={"displacement": 0.05},
                           strength="nonlinear", strength_options={"hardening_ratio": 0.0})
        peaks.append(c.rows[0].strength / (sy * (6 * 1.5) ** 2))
    # perfectly plastic: the peak platen force is the yield stress times the area, raised by the bonded caps'
    # confinement of this squat block (pressure-dependent Drucker-Prager yield) by the same factor at both densities
    assert all(1.0 < p < 1.6 for p in peaks), peaks
    assert peaks[0] == pytest.approx(peaks[1], rel=0.02)


def test_binned_moduli_keep_each_bins_mean_and_the_caps():
    from vbfem.materials.image import bin_moduli

    lab, vals = block()
    vals = vals + np.random.default_rng(2).uniform(0.0, 300.0, vals.shape)
    mesh, _ = ct_mesh(volume_from_array(vals, spacing=1.0, labels=lab), tissues={1: "body"}, cap_thickness=2.0)
    mat, _ = ct_materials(mesh)
    bone = mesh.cell_sets["body"]
    binned = bin_moduli(mat, 4, cells=bone)
    assert np.unique(binned.E[bone]).size <= 4
    assert binned.E[bone].sum() == pytest.approx(mat.E[bone].sum(), rel=1e-12)
    caps = mesh.cell_sets["cap_superior"]
    assert np.array_equal(binned.E[caps], mat.E[caps])
    width = np.ptp(mat.E[bone]) / 4
    assert np.abs(binned.E[bone] - mat.E[bone]).max() <= width
    assert np.array_equal(bin_moduli(mat, 10 ** 6, cells=bone).E, mat.E)
    with pytest.raises(ValueError, match="n_bins"):
        bin_moduli(mat, 0)


def test_every_load_case_runs_on_a_capped_image_model_and_disc_like_layers_are_caps_of_disc_material():
    from vbfem.mechanics.loadcases import DISC_E, DISC_NU, load_case_names, make_load_case

    lab, vals = block(shape=(10, 8, 6), inner=(slice(1, 9), slice(1, 7), slice(1, 5)))
    mesh, _ = ct_mesh(volume_from_array(vals, spacing=1.0, labels=lab), tissues={1: "body"}, cap_thickness=2.0)
    mat, _ = ct_materials(mesh)
    for name in load_case_names():
        res = solve_static(mesh, mat, make_load_case(mesh, name))
        assert np.all(np.isfinite(res.displacement)) and res.platen_reaction["platen"][2] < 0, name
    soft, _ = ct_materials(mesh, cap_E=DISC_E, cap_nu=DISC_NU)
    load = compression_test(mesh, displacement=0.01)
    assert solve_static(mesh, soft, load).stiffness("platen") < 0.5 * solve_static(mesh, mat, load).stiffness("platen")


def test_a_tilted_scan_is_resampled_into_the_body_frame_and_gives_the_untilted_stiffness():
    n = 44
    X, Y, Z = np.meshgrid(*(np.arange(n) + 0.5 - n / 2,) * 3, indexing="ij")

    def disc(tilt_deg):
        t = np.radians(tilt_deg)
        zr = Z * np.cos(t) - X * np.sin(t)
        xr = X * np.cos(t) + Z * np.sin(t)
        return (xr ** 2 + Y ** 2 <= 14.0 ** 2) & (np.abs(zr) <= 5.0)

    k = {}
    for tilt in (0.0, 15.0):
        body = disc(tilt)
        mesh, info = ct_mesh(volume_from_array(np.where(body, 150.0, 0.0), spacing=1.0, labels=body.astype(int)),
                             tissues={1: "body"}, cap_thickness=3.0)
        assert info.caps.tilt == 0.0 and (info.aligned > 14.0) == (tilt > 0)
        z = mesh.points[:, 2]
        assert np.ptp(z[mesh.node_sets["superior"]]) == 0 and np.ptp(z[mesh.node_sets["inferior"]]) == 0
        body_cells = mesh.cell_sets["body"]
        assert body_cells.size == pytest.approx(body.sum(), rel=0.03)
        E = np.where(np.isin(np.arange(mesh.n_cells), body_cells), 500.0, 2000.0)
        k[tilt] = solve_static(mesh, MaterialMap(E=E, nu=0.3), compression_test(mesh, displacement=0.01)
                               ).stiffness("platen")
    assert k[15.0] == pytest.approx(k[0.0], rel=0.05)


def _write_dicom_series(folder, hu, spacing, *, iop=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), origin=(10.0, -20.0, 30.0),
                        drop=None):
    """One axial slice per file; ``hu[j, i, k]`` is column j, row i of slice k (LPS patient axes)."""
    pytest.importorskip("pydicom")
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder.mkdir()
    r, c = np.asarray(iop[:3]), np.asarray(iop[3:])
    normal = np.cross(r, c)
    order = np.random.default_rng(0).permutation(hu.shape[2])  # files not in slice order
    for n, k in enumerate(order):
        meta = FileMetaDataset()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        ds = FileDataset(str(folder / f"im{n:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.Rows, ds.Columns = hu.shape[1], hu.shape[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.ImageOrientationPatient = list(iop)
        ds.ImagePositionPatient = list(np.asarray(origin) + normal * k * spacing[2])
        if drop is not None:
            delattr(ds, drop)
        ds.PixelData = (np.round(hu[:, :, k].T) + 1024).astype(np.int16).tobytes()
        ds.save_as(str(folder / f"im{n:03d}.dcm"), enforce_file_format=True)


def test_dicom_series_reads_into_the_same_volume_as_its_nifti(tmp_path):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(1)
    hu = np.round(rng.uniform(-100.0, 900.0, (7, 6, 5)))
    spacing = (0.7, 0.8, 1.5)
    _write_dicom_series(tmp_path / "series", hu, spacing)
    vol = read_volume(tmp_path / "series")
    # the same voxels as NIfTI: LPS -> RAS flips the first two world axes
    aff = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    aff[:3, 3] = (-10.0, 20.0, 30.0)
    nib.save(nib.Nifti1Image(hu.astype(np.float32), aff), str(tmp_path / "same.nii"))
    ref = read_volume(tmp_path / "same.nii")
    assert vol.axcodes == ref.axcodes == ("L", "P", "S")
    assert vol.spacing == pytest.approx(ref.spacing) and vol.spacing == pytest.approx((0.8, 0.7, 1.5))
    assert np.array_equal(vol.values, ref.values)
    _write_dicom_series(tmp_path / "bad", hu, spacing, drop="PixelSpacing")
    with pytest.raises(ValueError, match="has no PixelSpacing.*fix"):
        read_volume(tmp_path / "bad")


def test_discs_on_an_image_model_equal_discs_on_a_parametric_flat_body_and_load_like_them():
    """Through discs: disc layers of thickness t above and below a homogeneous flat voxel block (with_discs on
    its flat faces, as on a parametric body) and caps of disc material of the same thickness (the image
    route's disc-like layers) both give the series stiffness A / (L / E_bone + 2 t / E_disc) (nu = 0); on a
    capped image model with_discs builds on the caps' flat faces and every load case runs through the discs."""
    from vbfem.mechanics.loadcases import DISC_E, load_case_names, make_load_case, with_discs, with_potting

    lab, vals = block(shape=(8, 7, 6), inner=(slice(1, 7), slice(1, 6), slice(1, 5)))
    h, t = 1.5, 3.0
    area, length = (6 * h) * (5 * h), 4 * h
    bare, _ = ct_mesh(volume_from_array(vals, spacing=h, labels=lab), tissues={1: "body"}, caps=False)
    bare = bare.replace(node_sets={**bare.node_sets, "superior": bare.node_sets["top"],
                                   "inferior": bare.node_sets["bottom"]})
    mat, _ = ct_materials(bare, nu=0.0)
    E = float(mat.E[0])
    expect = area / (length / E + 2 * t / DISC_E)
    dm, dmat = with_discs(bare, mat, thickness=t, nu=0.0)
    load = compression_test(dm, displacement=0.01, superior="disc_superior_top", inferior="disc_inferior_bottom")
    assert solve_static(dm, dmat, load).stiffness("platen") == pytest.approx(expect, rel=1e-9)
    capped, _ = ct_mesh(volume_from_array(vals, spacing=h, labels=lab), tissues={1: "body"}, cap_thickness=t)
    cmat, _ = ct_materials(capped, nu=0.0, cap_E=DISC_E, cap_nu=0.0)
    assert solve_static(capped, cmat, compression_test(capped, displacement=0.01)).stiffness("platen") == \
        pytest.approx(expect, rel=1e-9)
    # discs (and potting) on the flat outer faces of PMMA caps; every load case through the discs
    pmat, _ = ct_materials(capped)
    m2, mat2 = with_discs(capped, pmat)
    for name in load_case_names():
        res = solve_static(m2, mat2, make_load_case(m2, name, superior="disc_superior_top",
                                                    inferior="disc_inferior_bottom"))
        assert np.all(np.isfinite(res.displacement)) and res.platen_reaction["platen"][2] < 0, name
    m3, mat3 = with_potting(capped, pmat)
    k = solve_static(m3, mat3, compression_test(m3, displacement=0.01, potting="pmma")).stiffness("platen")
    assert 0 < k < solve_static(capped, pmat, compression_test(capped, displacement=0.01)).stiffness("platen")


def _nifti(path, data, *, affine=True, zooms=None):
    nib = pytest.importorskip("nibabel")
    img = nib.Nifti1Image(np.asarray(data, np.float32), np.eye(4) if affine else None)
    if zooms is not None:
        img.header.set_zooms(zooms)
    nib.save(img, str(path))
    return path


def _case_no_spacing(d, lab, vals):
    read_volume(_nifti(d / "nospacing.nii", vals, affine=False, zooms=(0.0, 1.0, 1.0)))


def _case_label_shape(d, lab, vals):
    read_volume(_nifti(d / "scan.nii", vals), labels=_nifti(d / "seg_other.nii", lab[:, :, :-1]))


def _case_missing_label(d, lab, vals):
    vol = read_volume(_nifti(d / "scan.nii", vals), labels=_nifti(d / "seg.nii", np.where(lab == 1, 4, 0)))
    ct_mesh(vol, tissues={1: "body"})


def _case_negative_density(d, lab, vals):
    vol = read_volume(_nifti(d / "scan.nii", vals), labels=_nifti(d / "seg.nii", lab))
    ct_mesh(vol, tissues={1: "body"}, calibration=Calibration(unit="HU", slope=0.8, intercept=-200.0))


def _case_empty_body(d, lab, vals):
    vol = read_volume(_nifti(d / "scan.nii", vals), labels=_nifti(d / "seg.nii", np.where(lab == 1, 2, 0)))
    ct_mesh(vol, tissues={1: "body", 2: "posterior"})


def _case_no_orientation(d, lab, vals):
    read_volume(_nifti(d / "noorient.nii", vals, affine=False))


def _case_body_taller_than_wide(d, lab, vals):
    tall = np.zeros((6, 6, 14), int)
    tall[2:4, 2:4, 1:13] = 1  # a bar along the scan's z axis: superior cannot be told from the body's shape
    vol = read_volume(_nifti(d / "scan.nii", np.full(tall.shape, 150.0)), labels=_nifti(d / "seg.nii", tall))
    ct_mesh(vol, tissues={1: "body"})


@pytest.mark.parametrize("case, file, what", [
    (_case_no_spacing, "nospacing.nii", "no valid voxel spacing"),
    (_case_label_shape, "seg_other.nii", "label image has shape"),
    (_case_missing_label, "seg.nii", r"label\(s\) \[4\].*not in the label -> tissue table"),
    (_case_negative_density, "scan.nii", "negative or zero"),
    (_case_empty_body, "seg.nii", r"body label\(s\) \[1\] have no voxel"),
    (_case_no_orientation, "noorient.nii", "superior and anterior directions are unknown"),
    (_case_body_taller_than_wide, "scan.nii", "superior direction cannot be found"),
])
def test_each_bad_input_is_an_error_naming_the_file_and_the_fix(tmp_path, case, file, what):
    """The issue's bad inputs, read from files as a study reads them: each a ValueError that names the file,
    what is wrong and the fix, before any mesh is solved."""
    import re

    lab, vals = block()
    with pytest.raises(ValueError) as err:
        case(tmp_path, lab, vals)
    msg = str(err.value)
    assert str(tmp_path / file) in msg and "fix:" in msg and re.search(what, msg), msg
