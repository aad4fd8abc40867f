import numpy as np
import pytest

from vbfem.anatomy.image import calibrate, mesh_from_image
from vbfem.fem.assembly import check_mesh
from vbfem.fem.cells import cell_volumes
from vbfem.fem.loads import platen_compression
from vbfem.fem.static import solve_static
from vbfem.materials.image import apparent_density, bone_from_image
from vbfem.materials.laws import convert_density, modulus_from_density
from vbfem.records import MaterialMap, tissue_code


def sphere_image(n=16, radius=6.0):
    c = (np.arange(n) + 0.5) - n / 2
    X, Y, Z = np.meshgrid(c, c, c, indexing="ij")
    return (X**2 + Y**2 + Z**2 <= radius**2).astype(np.uint8)


def test_sphere_volume_is_voxel_count_times_voxel_volume():
    img = sphere_image()
    spacing = (0.5, 0.7, 0.9)
    mesh = mesh_from_image(img, spacing=spacing, origin=(1.0, 2.0, 3.0))
    check_mesh(mesh)
    assert mesh.n_cells == img.sum()
    assert cell_volumes(mesh).sum() == pytest.approx(img.sum() * 0.5 * 0.7 * 0.9, rel=1e-12)
    assert np.all(cell_volumes(mesh) > 0)
    # node sharing: every node is a distinct grid point, and the count equals the union of voxel corners
    assert np.unique(mesh.points.round(9), axis=0).shape[0] == mesh.n_points
    corners = np.zeros(np.add(img.shape, 1), bool)
    for di in (0, 1):
        for dj in (0, 1):
            for dk in (0, 1):
                corners[di:di + img.shape[0], dj:dj + img.shape[1], dk:dk + img.shape[2]] |= img.astype(bool)
    assert mesh.n_points == corners.sum()
    # each voxel's centroid is its image position
    vox = mesh.cell_data["voxel"]
    ijk = np.column_stack(np.unravel_index(vox, img.shape))
    centroid = mesh.points[mesh.cells].mean(axis=1)
    assert np.allclose(centroid, (1.0, 2.0, 3.0) + (ijk + 0.5) * spacing)


def test_two_voxels_share_a_face():
    img = np.zeros((2, 1, 1), int)
    img[:] = 1
    mesh = mesh_from_image(img, spacing=1.0)
    assert mesh.n_points == 12 and mesh.n_cells == 2
    assert len(set(mesh.cells[0]) & set(mesh.cells[1])) == 4


def test_labels_density_and_cortex_sets():
    img = np.zeros((4, 4, 4), int)
    img[1:3, 1:3, 1:3] = 2
    img[0] = 1
    hu = np.arange(64, dtype=float).reshape(4, 4, 4) * 10.0
    mesh = mesh_from_image(img, spacing=1.0, hu=hu, calibration=(1e-3, 0.05), cortex_labels=[1])
    assert mesh.cell_set("label_1").size == 16 and mesh.cell_set("label_2").size == 8
    assert np.array_equal(mesh.cell_set("cortex"), mesh.cell_set("label_1"))
    assert np.allclose(mesh.cell_data["density"], 1e-3 * hu.ravel()[mesh.cell_data["voxel"]] + 0.05)
    only2 = mesh_from_image(img, spacing=1.0, labels=2)
    assert only2.n_cells == 8
    # callable calibration
    m2 = mesh_from_image(img, spacing=1.0, hu=hu, calibration=lambda h: 0.002 * h + 0.1)
    assert np.allclose(m2.cell_data["density"], 0.002 * m2.cell_data["hu"] + 0.1)
    # into assign_bone: trabecular cells get the law's modulus at the apparent density
    mat = bone_from_image(mesh, bmd="osteoporotic")
    trab = mesh.cell_set("trabecular")
    rho_app = convert_density(mesh.cell_data["density"], source="qct", target="apparent")
    assert np.allclose(mat.density[trab], np.maximum(rho_app[trab], 0.01))
    assert np.allclose(mat.E[trab], modulus_from_density(np.maximum(rho_app[trab], 0.01), mat.law,
                                                         density_type="apparent"))
    assert np.all(mat.tissue[mesh.cell_set("cortex")] == tissue_code("cortical"))
    assert np.array_equal(apparent_density(mesh), mat.density)


def test_homogeneous_bar_under_platen_compression_gives_EA_over_L():
    nx, ny, nz = 3, 3, 8
    img = np.ones((nx, ny, nz), np.uint8)
    s = (1.5, 1.5, 2.0)
    mesh = mesh_from_image(img, spacing=s)
    E, nu = 500.0, 0.0  # nu = 0: uniaxial, no lateral constraint effect from the platens
    mat = MaterialMap(E=np.full(mesh.n_cells, E), nu=np.full(mesh.n_cells, nu))
    res = solve_static(mesh, mat, platen_compression(mesh, displacement=0.1))
    A, L = nx * s[0] * ny * s[1], nz * s[2]
    assert res.stiffness("platen") == pytest.approx(E * A / L, rel=1e-9)


def test_bad_input():
    img = np.ones((2, 2, 2), int)
    with pytest.raises(ValueError, match="spacing is required"):
        mesh_from_image(img)
    with pytest.raises(ValueError, match="spacing"):
        mesh_from_image(img, spacing=(1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        mesh_from_image(img, spacing=-1.0)
    with pytest.raises(ValueError, match="3-D"):
        mesh_from_image(np.ones((2, 2)), spacing=1.0)
    with pytest.raises(ValueError, match="foreground"):
        mesh_from_image(np.zeros((2, 2, 2), int), spacing=1.0)
    with pytest.raises(ValueError, match="hu must have"):
        mesh_from_image(img, spacing=1.0, hu=np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="slope"):
        calibrate([0.0], (0.0, 1.0))
    with pytest.raises(FileNotFoundError, match="nope.nii"):
        mesh_from_image("/nonexistent/nope.nii", spacing=1.0)
    mesh = mesh_from_image(img, spacing=1.0)
    with pytest.raises(ValueError, match="density"):
        apparent_density(mesh)


def test_nifti_path(tmp_path):
    nibabel = pytest.importorskip("nibabel", reason="optional NIfTI support needs nibabel")
    img = sphere_image(8, 3.0)
    affine = np.diag([0.5, 0.5, 0.8, 1.0])
    affine[:3, 3] = (10.0, 0.0, -5.0)
    path = tmp_path / "s.nii.gz"
    nibabel.save(nibabel.Nifti1Image(img, affine), str(path))
    mesh = mesh_from_image(path)
    assert mesh.n_cells == img.sum()
    assert cell_volumes(mesh).sum() == pytest.approx(img.sum() * 0.5 * 0.5 * 0.8)
    assert mesh.points.min(axis=0)[0] >= 10.0
