"""Needle-tip offsets and the balloon position on an image (CT) model (treatments.tip_offset_x/y/z, balloon_start)."""

import numpy as np
import pytest

OFFSET = (1.5, 2.0, -1.0)




def _study(d, treatments):
    from vbfem.study.schema import Study

    return Study(geometry={"image": str(d / "scan.nii.gz"), "labels": str(d / "labels.nii.gz"),
                           "tissues": "1:body, 2:cortex", "calibration": str(d / "phantom.txt")},
                 load={"strength": "none", "displacement": 0.05}, treatments=treatments)


def test_offsets_move_the_tips_and_balloons_of_an_image_model_by_exactly_the_offset(ct_study_dir):
    from vbfem.study.pipeline import _balloons, build_base, run_study
    from vbfem.study.schema import TreatmentSpec

    keys = dict(zip(("tip_offset_x", "tip_offset_y", "tip_offset_z"), OFFSET))
    study = _study(ct_study_dir, [{"name": "vp", "volume": 3.0}, {"name": "vpoff", "volume": 3.0, **keys},
                               {"name": "kpoff", "kind": "kyphoplasty", "volume": 3.0, "balloon_start": 6.0, **keys}])
    res = run_study(study, base=build_base(study))
    st = {s.name: s for s in res.states}
    g = res.geometry
    assert type(g).__name__ == "CTGeometry"
    tips = {k: np.array([n["tip"] for n in st[k].treatment.params["needles"]]) for k in ("vp", "vpoff")}
    assert np.allclose(tips["vpoff"] - tips["vp"], OFFSET, rtol=0, atol=1e-12)
    default = _balloons(TreatmentSpec(kind="kyphoplasty", volume=3.0), g)
    for b, d in zip(st["kpoff"].treatment.balloons, default):
        axis = g.needle_axis(b.side) / np.linalg.norm(g.needle_axis(b.side))
        assert np.allclose(np.subtract(b.start, d.start), np.add(OFFSET, axis), atol=1e-12)
    rows = {r["state"]: r for r in res.rows}
    assert [rows["kpoff"][f"tip_offset_{a}_mm"] for a in "xyz"] == list(OFFSET)
    assert rows["vpoff"]["fill_pct"] > 0 and rows["kpoff"]["cavity_ml"] > 0


def test_a_tip_outside_the_core_of_an_image_model_is_refused_before_the_fracture(ct_study_dir):
    from vbfem.study.pipeline import build_states
    from vbfem.study.schema import StudyError

    stages = []

    class Timer:
        def __call__(self, name):
            stages.append(name)
            import contextlib

            return contextlib.nullcontext()

    with pytest.raises(StudyError, match=r"treatments\[0\]\.tip_offset_x = 14\.0: the tip of needle "
                                         r"'transpedicular_left' .* outside the vertebral body's trabecular core "
                                         r"\(inside the body and at least 3 mm"):
        build_states(_study(ct_study_dir, [{"name": "vp", "tip_offset_x": 14.0}]), timer=Timer())
    assert "fracture" not in stages
