"""leakage_rates (the credibility report's leakage rows) runs the leakage risk over sampled patients (issue 19)."""

from types import SimpleNamespace

import numpy as np
import pytest

from vbfem.records import tissue_code
from vbfem.study.schema import Study


def test_leakage_rates_samples_patients_on_the_studys_fracture(monkeypatch):
    import vbfem.treatment.leakage as lk
    from vbfem.study.validation import leakage_rates

    calls = []

    def fake(mesh, materials, geometry, **kw):
        calls.append((mesh, materials, kw))
        leak = np.array([True, False, False, False]) if kw["kind"] == "vertebroplasty" else np.zeros(4, bool)
        return SimpleNamespace(probability=float(leak.mean()), leak=leak,
                               leaked={"venous": np.where(leak, 20.0, 0.0), "cortical": np.where(leak, 5.0, 0.0),
                                       "disc": np.zeros(4)})

    monkeypatch.setattr(lk, "patient_leakage_risk", fake)
    study = Study(name="t", seed=3, fracture={"kind": "crush", "grade": 1})
    out = leakage_rates(study, n=4, size=4.0, patient_options={"vein_share": 0.5})
    assert [c[2]["kind"] for c in calls] == ["vertebroplasty", "kyphoplasty"]
    for mesh, materials, kw in calls:
        assert kw["fracture"] == {"kind": "crush", "grade": 1, "height_loss": None, "seed": 3}
        assert kw["seed"] == 3 and kw["n"] == 4
        assert not np.any(materials.tissue == tissue_code("damaged"))
        assert "cleft" not in mesh.cell_sets  # the intact body: each patient is fractured with its own features
        assert "vein_radius" not in kw  # each patient's own venous network (the study's vein_radius is 0)
        assert "own_volume" not in kw  # each patient's own cement volume (CEMENT_VOLUMES), the default
        assert kw["patient_options"] == {"vein_share": 0.5}
    assert out["VP"] == pytest.approx(25.0) and out["KP"] == 0.0 and out["KP_minus_VP"] == pytest.approx(-25.0)
    # per outlet class, the share of leaking patients with a leak above the detection volume (10 mm³)
    assert out["VP_venous_share"] == pytest.approx(100.0) and out["VP_disc_share"] == 0.0
    assert out["VP_cortical_share"] == 0.0  # 5 mm³ is below detection
    assert np.isnan(out["KP_venous_share"])  # no leak: no share
    calls.clear()
    leakage_rates(Study(name="t", seed=3, fracture={"kind": "wedge", "grade": 2},
                        treatments=[{"name": "VP", "kind": "vertebroplasty", "vein_radius": 1.5}]), n=4, size=4.0)
    assert [c[2]["vein_radius"] for c in calls] == [1.5]  # a study's own radius is every patient's
    assert calls[0][2]["patient_options"] is None  # the published prevalences and the assumed vein share
    with pytest.raises(ValueError, match="fracture"):
        leakage_rates(Study(name="t", fracture={"kind": "none"}, treatments=[]), n=2)
