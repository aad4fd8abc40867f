"""Fracture, vertebroplasty and kyphoplasty on image models (vbfem.anatomy.ct_landmarks, the image study route)."""

import numpy as np
import pytest
from _l3_ct import L3, l3_ct
from conftest import CT_EXAMPLE as EXAMPLE
from conftest import ct_example as _example

from vbfem.anatomy.ct import ct_mesh
from vbfem.anatomy.ct_landmarks import centre_on_body, ct_landmarks, swap_surfaces
from vbfem.anatomy.image import volume_from_array
from vbfem.fem.cells import cell_centroids
from vbfem.fracture.deformity import KINDS


def _with_pedicles(ct, *, angle_deg: float, label: int):
    """The synthetic CT's labels with two straight pedicle bars behind the body (``label``), each
    converging medially by ``angle_deg`` towards the front; returns labels and the bars' unit axes."""
    lab = ct["labels"].copy()
    h = float(ct["spacing"][0])
    c = ct["origin"] + (np.indices(lab.shape).transpose(1, 2, 3, 0) + 0.5) * h
    body = lab > 0
    pts = c[body]
    x_back = pts[:, 0].min()
    zc = 0.5 * (pts[:, 2].min() + pts[:, 2].max()) + 3.0
    axes = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        t = np.radians(angle_deg)
        a = np.array([np.cos(t), -sign * np.sin(t), 0.0])  # into the body
        root = np.array([x_back + 2.0, sign * 13.0, zc])
        d = c - root
        s = np.clip(-(d @ a), 0.0, 16.0)  # along the bar, behind the root
        r = np.linalg.norm(d + s[..., None] * a, axis=-1)
        bar = (r <= 3.5) & (-(d @ a) >= -2.0) & (-(d @ a) <= 16.0) & ~body
        lab[bar] = label
        axes[side] = a
    return lab, axes


@pytest.fixture(scope="module")
def ct():
    return _example().synthetic_ct("L1", spacing=2.0, margin=6)  # room behind the body for the pedicles


def test_pedicles_are_found_along_the_posterior_label(ct):
    lab, axes = _with_pedicles(ct, angle_deg=15.0, label=3)
    mg = np.where(lab == 3, 300.0, np.where(lab > 0, 100.0, 0.0))
    mesh, _ = ct_mesh(volume_from_array(mg, spacing=2.0, labels=lab),
                      tissues={1: "body", 2: "cortex", 3: "posterior"})
    mesh, geom = ct_landmarks(centre_on_body(mesh))
    assert geom.pedicles_from == "posterior label"
    for side in ("left", "right"):
        cos = float(geom.needle_axis(side) @ axes[side])
        assert np.degrees(np.arccos(min(cos, 1.0))) < 7.0  # the bar's own direction (2 mm voxels: 9.7° and 15.5° found)
        e = geom.pedicle_entry(side)
        assert geom.contains(e[None])[0] and not geom.contains((e - 2.0 * geom.needle_axis(side))[None])[0]
        assert np.sign(e[1]) == (1 if side == "left" else -1)
    # the endplate layers and surfaces: under / over the caps
    c = cell_centroids(mesh)
    sup = mesh.cell_sets["superior_endplate"]
    assert sup.size > 0 and np.all(np.isin(sup, mesh.cell_sets["body"]))
    assert c[sup, 2].mean() > c[mesh.cell_sets["body"], 2].mean()
    # the same pedicles labelled as body, cut off by a frontal plane at the body's back (scan frame)
    lab_b = np.where(lab == 3, 1, lab)
    vol_b = volume_from_array(mg, spacing=2.0, labels=lab_b)
    whole, _ = ct_mesh(vol_b, tissues={1: "body", 2: "cortex"})
    assert whole.cell_sets["posterior"].size == 0
    x_back = (np.flatnonzero(ct["labels"].any(axis=(1, 2)))[0] + 0.5) * 2.0
    cut, _ = ct_mesh(vol_b, tissues={1: "body", 2: "cortex"}, cut_x=x_back - 0.1)
    n_bars = int(np.count_nonzero(lab == 3))
    assert 0.8 * n_bars <= cut.cell_sets["posterior"].size <= n_bars
    assert cut.cell_sets["body"].size >= mesh.cell_sets["body"].size
    # no caps over the cut-off pedicles: the caps are those of the labelled model
    assert cut.cell_sets["cap_superior"].size <= mesh.cell_sets["cap_superior"].size + 0.2 * n_bars
    assert cut.cell_sets["cap_superior"].size < whole.cell_sets["cap_superior"].size
    with pytest.raises(ValueError, match="cut_x"):
        ct_mesh(vol_b, tissues={1: "body", 2: "cortex"}, cut_x=1e3)



def _study(d, **kw):
    from vbfem.study.schema import Study

    return Study(geometry={"image": str(d / "scan.nii.gz"), "labels": str(d / "labels.nii.gz"),
                           "tissues": "1:body, 2:cortex", "calibration": str(d / "phantom.txt")}, **kw)


def test_an_image_model_is_fractured_injected_ballooned_and_compared_from_a_study(ct_study_dir):
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import load_study

    (ct_study_dir / "treatments.toml").write_text((EXAMPLE / "treatments.toml").read_text())
    study = load_study(ct_study_dir / "treatments.toml")
    assert study.fracture.kind == "wedge" and [t.name for t in study.treatments] == ["vp", "kp"]
    res = run_study(study)
    st = {s.name: s for s in res.states}
    i, f = st["intact"].info, st["fractured"].info
    # heights are the body's (bone / cap interfaces), not the caps' outer faces: Genant grade 2 on Ha/Hp
    assert f["anterior_height_mm"] / f["posterior_height_mm"] == pytest.approx(
        (1 - 0.325) * i["anterior_height_mm"] / i["posterior_height_mm"], rel=1e-6)
    assert 20.0 < i["posterior_height_mm"] < 30.0  # L1 body 26.5 mm; caps (2 x 5 mm) not included
    # the load cases load the caps' outer faces again (flat in the intact state)
    m0 = st["intact"].mesh
    z = m0.points[m0.node_sets["superior"], 2]
    assert np.ptp(z) == 0.0
    nodes_caps = np.unique(m0.cells[m0.cell_sets["cap_superior"]])
    assert np.all(np.isin(m0.node_sets["superior"], nodes_caps))
    # cement in both treated states, the KP cavity, a wedge restored in part or fully
    for name in ("vp", "kp"):
        assert st[name].info["fill_pct"] > 0 and st[name].info["leaked_ml"] >= 0
    assert st["kp"].info["cavity_ml"] > 0 and st["kp"].info["height_restored_mm"] >= 0
    rows = {r["state"]: r for r in res.rows}
    assert rows["fractured"]["stiffness"] < rows["intact"]["stiffness"]
    assert rows["vp"]["stiffness"] > rows["fractured"]["stiffness"]
    assert rows["kp"]["stiffness"] > rows["fractured"]["stiffness"]
    for name in ("fractured", "vp", "kp"):  # the scan's columns in every row
        assert {k: rows[name][k] for k in ("image", "image_axes", "density_clipped")} == \
            {k: rows["intact"][k] for k in ("image", "image_axes", "density_clipped")}


def test_sliding_platens_from_a_study_file_and_their_limits(ct_study_dir):
    from vbfem.anatomy.calibration import read_calibration
    from vbfem.anatomy.image import read_volume
    from vbfem.fem.static import solve_static
    from vbfem.materials.image import ct_materials
    from vbfem.mechanics.loadcases import compression_test
    from vbfem.mechanics.sliding import sliding_compression, sliding_stiffness
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import StudyError

    res = run_study(_study(ct_study_dir, load={"platens": "sliding", "strength": "linear", "displacement": 0.05}))
    cal = read_calibration(ct_study_dir / "phantom.txt")
    mesh, _ = ct_mesh(read_volume(ct_study_dir / "scan.nii.gz", labels=ct_study_dir / "labels.nii.gz"),
                      tissues={1: "body", 2: "cortex"}, calibration=cal)
    mat, _ = ct_materials(mesh, calibration=cal)
    k = sliding_stiffness(mesh, solve_static(mesh, mat, sliding_compression(mesh, displacement=0.05)),
                          displacement=0.05)
    assert res.rows[0]["stiffness"] == pytest.approx(k, rel=1e-9)
    bonded = solve_static(mesh, mat, compression_test(mesh, displacement=0.05)).stiffness("platen")
    assert res.rows[0]["stiffness"] < bonded  # lateral expansion is free
    assert res.rows[0]["strength"] > 0
    # the nonlinear strength test between the same sliding platens (tests/mechanics/test_sliding_strength.py)
    assert _study(ct_study_dir, load={"platens": "sliding", "strength": "nonlinear"}).load.platens == "sliding"
    with pytest.raises(StudyError, match="platens = 'sliding' with case = 'flexion'.*lifts off.*platens = 'bonded'"):
        _study(ct_study_dir, load={"platens": "sliding", "case": "flexion", "strength": "linear"})


@pytest.mark.skipif(not L3.is_file(), reason="the shared lumbar_ssm surfaces are not on this machine")
def test_real_L3_ct_is_fractured_and_injected_along_its_own_pedicles():
    """A CT made from the real L3 surface (body in front of the surface route's pedicle cut, posterior
    elements behind it): needles along the pedicles found in the posterior label, a wedge, VP."""
    from vbfem.fracture.deformity import apply_fracture
    from vbfem.materials.image import ct_materials
    from vbfem.treatment.needles import bipedicular
    from vbfem.treatment.vertebroplasty import simulate_vertebroplasty

    h = 2.0
    volume, _ = l3_ct(h)
    mesh, _ = ct_mesh(volume, tissues={1: "body", 2: "posterior"})
    mat, _ = ct_materials(mesh)
    mesh, geom = ct_landmarks(centre_on_body(mesh))
    assert geom.pedicles_from == "posterior label"
    for side, sign in (("left", 1.0), ("right", -1.0)):
        a = geom.needle_axis(side)
        assert a[0] > 0.8 and -sign * a[1] > 0  # anterior and converging to the midline
        assert abs(geom.pedicle_entry(side)[1]) > 5.0
    body = swap_surfaces(mesh)
    fm, fb = apply_fracture(body, mat, "wedge", grade=1)
    h0, h1 = fb.params["fracture"]["intact_heights"], fb.params["fracture"]["fractured_heights"]
    assert h1[0] / h1[2] == pytest.approx((1 - 0.225) * h0[0] / h0[2], rel=1e-6)
    fill = simulate_vertebroplasty(fm, fb, geom, needles=bipedicular(geom, volume=3.0), seed=0)
    assert fill.metrics["fill_fraction"] > 0


def test_layers_on_a_voxel_staircase_are_refused_naming_the_caps_and_work_on_the_caps(ct):
    from vbfem.materials.image import ct_materials
    from vbfem.mechanics.loadcases import DISC_E, with_discs

    mg = np.where(ct["labels"] > 0, 100.0, 0.0)
    vol = volume_from_array(mg, spacing=2.0, labels=ct["labels"])
    mesh, _ = ct_mesh(vol, tissues={1: "body", 2: "cortex"})
    mat, _ = ct_materials(mesh)
    body, _ = ct_landmarks(centre_on_body(mesh))
    with pytest.raises(ValueError, match=r"staircase.*ct_mesh\(caps=True"):
        with_discs(swap_surfaces(body), mat)  # the bone / cap interfaces: staircases
    m2, mat2 = with_discs(mesh, mat)  # on the caps' flat outer faces
    new = np.arange(mesh.n_cells, m2.n_cells)
    assert new.size > 0 and np.all(mat2.E[new] == DISC_E)
    z = m2.points[m2.node_sets["disc_superior_top"], 2]
    assert np.ptp(z) < 1e-9


@pytest.fixture(scope="module")
def capped_3mm():
    """The synthetic L1 CT at 3 mm as a capped voxel model in the body frame: mesh (caps' outer faces as
    superior / inferior), materials and its intact stiffness (N/mm)."""
    from vbfem.fem.static import solve_static
    from vbfem.materials.image import ct_materials
    from vbfem.mechanics.loadcases import compression_test

    c = _example().synthetic_ct("L1", spacing=3.0)
    mg = np.where(c["labels"] == 2, 300.0, np.where(c["labels"] > 0, 100.0, 0.0))  # shell, trabecular core
    mesh, _ = ct_mesh(volume_from_array(mg, spacing=3.0, labels=c["labels"]), tissues={1: "body", 2: "cortex"})
    mat, _ = ct_materials(mesh)
    mesh, _ = ct_landmarks(centre_on_body(mesh))
    return mesh, mat, solve_static(mesh, mat, compression_test(mesh, displacement=0.05)).stiffness("platen")


@pytest.mark.parametrize("kind", KINDS)
def test_every_fracture_kind_on_an_image_model(capped_3mm, kind):
    """The seven kinds on a capped voxel model: the body's heights (bone / cap interfaces) lose the grade's
    height, no cell (bone or cap) inverts, and the fractured body loads through its caps, softer than intact."""
    from vbfem.anatomy.heights import measure_heights
    from vbfem.fem.assembly import check_mesh
    from vbfem.fem.static import solve_static
    from vbfem.fracture.deformity import GRADE_HEIGHT_LOSS, apply_fracture
    from vbfem.mechanics.loadcases import compression_test

    mesh, mat, k0 = capped_3mm
    body = swap_surfaces(mesh)
    fm, fb = apply_fracture(body, mat, kind, grade=2)
    h0, h1 = measure_heights(body).as_array(), measure_heights(fm).as_array()
    assert np.max(1.0 - h1 / h0) == pytest.approx(GRADE_HEIGHT_LOSS[2], abs=0.02)
    check_mesh(fm)
    loaded = swap_surfaces(fm)  # the caps' outer faces again
    k = solve_static(loaded, fb, compression_test(loaded, displacement=0.05)).stiffness("platen")
    assert 0.0 < k < k0


@pytest.mark.slow
@pytest.mark.skipif(not L3.is_file(), reason="the shared lumbar_ssm surfaces are not on this machine")
def test_the_whole_demo_on_the_real_L3_ct_from_a_study_file(tmp_path):
    """The real L3 surface as a 2 mm labelled CT, stored in another axis order (A, L, S) as NIfTI, run from a
    study: a grade-2 wedge, VP along the pedicles found in its posterior label, KP, compared."""
    nib = pytest.importorskip("nibabel")
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import Study

    h = 2.0
    volume, _ = l3_ct(h)
    aff = np.array([[0.0, -h, 0.0, 0.0], [h, 0.0, 0.0, 0.0], [0.0, 0.0, h, 0.0], [0.0, 0.0, 0.0, 1.0]])
    nib.save(nib.Nifti1Image(volume.values.astype(np.float32), aff), str(tmp_path / "scan.nii"))
    nib.save(nib.Nifti1Image(volume.labels.astype(np.int16), aff), str(tmp_path / "seg.nii"))
    study = Study(geometry={"level": "L3", "image": str(tmp_path / "scan.nii"), "labels": str(tmp_path / "seg.nii"),
                            "tissues": "1:body, 2:posterior"},
                  fracture={"kind": "wedge", "grade": 2},
                  treatments=[{"kind": "vertebroplasty", "name": "vp"}, {"kind": "kyphoplasty", "name": "kp"}],
                  load={"strength": "linear", "displacement": 0.05})
    res = run_study(study)
    assert res.geometry.pedicles_from == "posterior label"
    rows = {r["state"]: r for r in res.rows}
    assert rows["intact"]["image_axes"] == "ALS"
    assert rows["fractured"]["stiffness"] < rows["intact"]["stiffness"]
    assert rows["vp"]["fill_pct"] > 0 and rows["kp"]["cavity_ml"] > 0 and rows["kp"]["height_restored_pct"] > 0
    assert rows["vp"]["stiffness"] > rows["fractured"]["stiffness"] and rows["kp"]["stiffness"] > rows["fractured"]["stiffness"]
