"""The ex vivo protocol's heights (crush, unload, rest, treat; vbfem.mechanics.protocol) on image models."""

import dataclasses

import pytest

from vbfem.anatomy.ct_landmarks import swap_surfaces
from vbfem.anatomy.heights import measure_heights


def _study(d, **kw):
    from vbfem.study.schema import Study

    return Study(geometry={"image": str(d / "scan.nii.gz"), "labels": str(d / "labels.nii.gz"),
                           "tissues": "1:body, 2:cortex", "calibration": str(d / "phantom.txt")}, **kw)


def test_protocol_heights_of_an_image_model_are_read_on_its_endplates_and_unloaded_through_its_caps(ct_study_dir):
    """The load history of the parametric demo on a 3 mm synthetic CT: the crushed body is unloaded from a
    given crush force through its caps (the stiffness of the caps' compression test), the heights are the
    body's (bone / cap interfaces), VP starts from the rested body and KP keeps its balloon's lift."""
    from vbfem.fem.static import solve_static
    from vbfem.mechanics.compare import compare_states
    from vbfem.mechanics.loadcases import compression_test
    from vbfem.mechanics.protocol import RECOVERY_FRACTION
    from vbfem.mechanics.response import stiffness
    from vbfem.study.pipeline import build_states, protocol_heights

    study = _study(ct_study_dir, fracture={"kind": "wedge", "grade": 2},
                   treatments=[{"kind": "vertebroplasty", "name": "vp"}, {"kind": "kyphoplasty", "name": "kp"}],
                   load={"strength": "linear", "displacement": 0.05})
    _, states = build_states(study)
    crush = {"intact": 2000.0, "fractured": 1500.0, "vp": 2100.0, "kp": 1900.0}
    cmp = compare_states({s.name: (s.mesh, s.materials) for s in states}, load="compression_test",
                         load_options={"displacement": 0.05}, strength=crush)
    assert protocol_heights(states, cmp) == {}  # the protocol needs the nonlinear strength's crush force
    cmp = dataclasses.replace(cmp, strength_method="nonlinear")  # the crush force as if from the strength test
    out = protocol_heights(states, cmp)
    st = {s.name: s for s in states}
    f = st["fractured"]
    k = stiffness(solve_static(f.mesh, f.materials, compression_test(f.mesh, displacement=0.05)))
    assert k == pytest.approx(cmp.row("fractured").stiffness, rel=1e-12)  # the caps' outer faces are loaded
    h0, h1 = measure_heights(swap_surfaces(st["intact"].mesh)), measure_heights(swap_surfaces(f.mesh))
    assert 20.0 < h0.posterior < 30.0  # the body's height (L1 26.5 mm), without the 2 x 5 mm caps
    assert out["fractured"]["elastic_recovery_mm"] == pytest.approx(1500.0 / k, rel=1e-12)
    assert out["fractured"]["unloaded_anterior_height_mm"] == pytest.approx(h1.anterior + 1500.0 / k, rel=1e-12)
    rested = h1.anterior + max(1500.0 / k, RECOVERY_FRACTION * (h0.anterior - h1.anterior))
    assert out["fractured"]["rested_anterior_height_mm"] == pytest.approx(rested, rel=1e-12)
    vp = out["vp"]
    assert vp["anterior_height_mm"] == pytest.approx(rested + vp["injection_lift_mm"], rel=1e-12)
    assert vp["height_restored_pct"] == pytest.approx(100.0 * (vp["anterior_height_mm"] - h1.anterior)
                                                      / (h0.anterior - h1.anterior), rel=1e-12)
    assert 0.0 < vp["height_restored_pct"] < 100.0
    balloon = measure_heights(swap_surfaces(st["kp"].mesh)).anterior
    assert out["kp"]["anterior_height_mm"] == pytest.approx(max(balloon, rested), rel=1e-12)


@pytest.mark.slow
def test_nonlinear_image_study_runs_the_whole_protocol(ct_study_dir):
    """The whole demo on a scanned body (3 mm synthetic CT): strength curves, crush, unload, rest, VP and KP."""
    from vbfem.study.pipeline import run_study

    res = run_study(_study(ct_study_dir, fracture={"kind": "wedge", "grade": 2},
                           treatments=[{"kind": "vertebroplasty", "name": "vp"}, {"kind": "kyphoplasty", "name": "kp"}],
                           load={"strength": "nonlinear", "displacement": 0.05}))
    rows = {r["state"]: r for r in res.rows}
    assert rows["fractured"]["unloaded_anterior_height_mm"] > rows["fractured"]["anterior_height_mm"]
    for name in ("vp", "kp"):
        assert 0.0 < rows[name]["height_restored_pct"] <= 100.0 + 1e-9
        assert rows[name]["strength"] > rows["fractured"]["strength"] * 0.5


def test_an_image_study_counts_its_steps_and_unloads_a_bent_crush_through_its_caps(ct_study_dir):
    """The progress of an image study ends at its total (its landmarks step counted), and the protocol of a
    study whose comparison is not the compression test (here flexion) unloads the crushed body with the
    stiffness of the compression test through its caps."""
    from vbfem.fem.static import solve_static
    from vbfem.mechanics.compare import compare_states
    from vbfem.mechanics.loadcases import compression_test
    from vbfem.mechanics.response import stiffness
    from vbfem.study.pipeline import protocol_heights, run_study

    steps = []
    res = run_study(_study(ct_study_dir, fracture={"kind": "wedge", "grade": 2},
                           treatments=[{"kind": "vertebroplasty", "name": "vp"}],
                           load={"strength": "linear", "displacement": 0.05}),
                    progress=lambda done, total, label: steps.append((done, total, label)))
    assert [d for d, _, _ in steps] == list(range(1, len(steps) + 1))
    assert steps[-1][0] == steps[-1][1]  # the count ends at its total
    assert "landmarks" in [label for _, _, label in steps]
    states = list(res.states)
    cmp = compare_states({s.name: (s.mesh, s.materials) for s in states}, load="flexion",
                         load_options={"force": 500.0, "moment": 5000.0},
                         strength={"intact": 2000.0, "fractured": 1500.0, "vp": 2100.0})
    cmp = dataclasses.replace(cmp, strength_method="nonlinear")  # the crush force as if from the strength test
    out = protocol_heights(states, cmp)
    f = res.state("fractured")
    k = stiffness(solve_static(f.mesh, f.materials, compression_test(f.mesh, displacement=0.05)))
    assert cmp.row("fractured").stiffness != pytest.approx(k, rel=1e-3)  # not the comparison's own stiffness
    assert out["fractured"]["elastic_recovery_mm"] == pytest.approx(1500.0 / k, rel=1e-9)
