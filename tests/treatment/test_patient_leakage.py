"""Leakage risk over sampled patients (issue 19): one fractured body per patient, seeds, mass balance, bad input."""

import numpy as np
import pytest

from vbfem.fracture.cohort import CEMENT_VOLUMES, sample_leakage_patients
from vbfem.treatment.leakage import patient_leakage_risk, small_foramen_resistance
from vbfem.treatment.needles import bipedicular

FRACTURE = {"kind": "wedge", "grade": 2}


def _kw(g, own_volume=False):
    """1 mL bipedicular for every patient (cheap) unless ``own_volume``."""
    return {"fracture": FRACTURE, "heterogeneity": 0.37, "correlation_length": 5.0,
            "needles": bipedicular(g, volume=1.0, start=240.0), "own_volume": own_volume}


def test_patients_are_reproducible_by_seed_and_balance_their_mass(l1_3mm):
    """Realisation i is patient i of the sampler with the seed; the first realisations of a longer run are
    the same patients with the same leaks; cement is conserved in every patient's body."""
    g, m, mat = l1_3mm
    a = patient_leakage_risk(m, mat, g, n=3, seed=4, **_kw(g))
    b = patient_leakage_risk(m, mat, g, n=2, seed=4, **_kw(g))
    expect = [p.as_dict() for p in sample_leakage_patients(3, seed=4, kind="wedge")]
    assert a.params["patients"] == expect and b.params["patients"] == expect[:2]
    np.testing.assert_array_equal(a.leak[:2], b.leak)
    for c in ("venous", "cortical", "disc"):
        np.testing.assert_array_equal(a.leaked[c][:2], b.leaked[c])
    assert np.all(np.isfinite(a.params["mass_error"])) and np.max(a.params["mass_error"]) < 1e-6
    assert a.params["fracture"] == FRACTURE and a.n == 3


def test_a_patient_without_a_large_foramen_drains_through_a_small_one(l1_3mm, monkeypatch):
    """Foramina < 1 mm only (Tzika 2021): the foramen outlet has the Poiseuille resistance of a 0.5 mm vein
    over the canal depth in series; with a larger foramen it drains freely; each patient's own fractured body."""
    import vbfem.treatment.leakage as lk

    g, m, mat = l1_3mm
    monkeypatch.setattr(lk, "_risk", lambda tasks, seeds, workers, params: (tasks, params))
    tasks, params = patient_leakage_risk(m, mat, g, n=40, seed=2, **_kw(g))
    R = 8 * 0.5 * (0.12 + 0.218) * g.depth / (np.pi * 0.5 ** 4)
    assert small_foramen_resistance(g) == pytest.approx(R)
    for (kind, fm, fmat, geom, s, opts), p in zip(tasks, params["patients"]):
        res = opts["outlet_resistance"]
        assert res == ({} if p["foramina"] > 0 else {"outlet_basivertebral": pytest.approx(R)})
        # the venous network with the patient's own trunk (He 2023's foramen), none without a large foramen
        assert opts["vein_radius"] == p["vein_radius"] and (p["vein_radius"] > 0) == (p["foramina"] > 0)
        assert ("cleft" in fm.cell_sets) == p["cleft"]
        assert ("outlet_breach_anterior" in fm.cell_sets) == p["cortical_disruption"]
        assert ("outlet_endplate_crack" in fm.cell_sets) == p["cortical_disruption"]  # the wedge's endplate (AO A1)
    assert {p["foramina"] == 0 for p in params["patients"]} == {True, False}
    assert len({p["vein_radius"] for p in params["patients"]}) > 30 and params["vein_radius"] == "each patient's"


@pytest.mark.parametrize("given", [0.0, 1.0])
def test_a_given_vein_radius_is_every_patients(l1_3mm, monkeypatch, given):
    """vein_radius=0 leaves the network out for everyone, > 0 gives everyone that trunk."""
    import vbfem.treatment.leakage as lk

    g, m, mat = l1_3mm
    monkeypatch.setattr(lk, "_risk", lambda tasks, seeds, workers, params: (tasks, params))
    tasks, params = patient_leakage_risk(m, mat, g, n=6, seed=2, vein_radius=given, **_kw(g))
    assert {t[5]["vein_radius"] for t in tasks} == {given} and params["vein_radius"] == given


def test_each_kyphoplasty_patient_gets_its_own_cement_volume(l1_3mm, monkeypatch):
    """By default a kyphoplasty patient receives its own volume (Jin 2018: 4.05 ± 1.20 mL), the strategy's
    volume only with own_volume=False; the balloons stay the strategy's; the patients' other features are the
    same either way."""
    import vbfem.treatment.leakage as lk

    g, m, mat = l1_3mm
    monkeypatch.setattr(lk, "_risk", lambda tasks, seeds, workers, params: (tasks, params))
    kw = {"fracture": FRACTURE, "heterogeneity": 0.37, "correlation_length": 5.0, "kind": "kyphoplasty",
          "volume": 4.0, "inflation_volume": 2.0, "n": 30, "seed": 3}
    tasks, params = patient_leakage_risk(m, mat, g, **kw)
    expect = sample_leakage_patients(30, seed=3, kind="wedge", cement_volume=CEMENT_VOLUMES["kyphoplasty"])
    assert params["patients"] == [p.as_dict() for p in expect]
    assert [t[5]["volume"] for t in tasks] == [p.cement_volume for p in expect]
    assert len({t[5]["volume"] for t in tasks}) == 30 and {t[5]["inflation_volume"] for t in tasks} == {2.0}
    assert "each patient's" in params["cement_volume"] and "4.05" in params["cement_volume"]
    tasks0, params0 = patient_leakage_risk(m, mat, g, own_volume=False, **kw)
    assert {t[5]["volume"] for t in tasks0} == {4.0} and params0["cement_volume"] == "the strategy's"
    strip = [{k: v for k, v in p.items() if k != "cement_volume"} for p in params["patients"]]
    assert strip == [{k: v for k, v in p.items() if k != "cement_volume"} for p in params0["patients"]]


def test_a_vertebroplasty_patients_volume_scales_the_needles_and_is_injected(l1_3mm, monkeypatch):
    """By default a VP patient's volume comes from the sham-controlled trials (Buchbinder 2009: 2.8 ± 1.2 mL,
    VAPOUR 2016: 7.5 ± 2.8 mL, mixed 78 : 120); both needles are scaled to the patient's total in their
    proportions, and that volume is what the flow injects; own_volume=False keeps the strategy's needles."""
    import vbfem.treatment.leakage as lk
    from vbfem.treatment.vertebroplasty import simulate_vertebroplasty

    g, m, mat = l1_3mm
    monkeypatch.setattr(lk, "_risk", lambda tasks, seeds, workers, params: (tasks, params))
    tasks, params = patient_leakage_risk(m, mat, g, n=4, seed=1, **_kw(g))
    assert all(t[5]["needles"] == _kw(g)["needles"] for t in tasks) and params["cement_volume"] == "the strategy's"
    tasks, params = patient_leakage_risk(m, mat, g, n=4, seed=1, **_kw(g, own_volume=True))
    expect = sample_leakage_patients(4, seed=1, kind="wedge", cement_volume=CEMENT_VOLUMES["vertebroplasty"])
    assert params["patients"] == [p.as_dict() for p in expect]
    assert "2.8 +- 1.2 mL (39 %)" in params["cement_volume"] and "7.5 +- 2.8 mL (61 %)" in params["cement_volume"]
    for (kind, fm, fmat, geom, s, opts), p in zip(tasks, params["patients"]):
        vols = [nd.volume for nd in opts["needles"]]
        assert sum(vols) == pytest.approx(p["cement_volume"]) and vols[0] == pytest.approx(vols[1])
    tasks, params = patient_leakage_risk(m, mat, g, n=1, seed=1, patient_options={"cement_volume": (1.2, 0.3)},
                                         **_kw(g, own_volume=True))
    _, fm, fmat, geom, s, opts = tasks[0]
    fill = simulate_vertebroplasty(fm, fmat, geom, seed=s, **opts)
    assert fill.injected == pytest.approx(1000.0 * params["patients"][0]["cement_volume"], rel=1e-6)
    assert fill.metrics["mass_error"] < 1e-6


@pytest.mark.parametrize("change, word", [
    ({"patient_options": {"cleft_prevalence": 1.5}}, "cleft_prevalence"),
    ({"patient_options": {"cortical_disruption_prevalence": -0.2}}, "cortical_disruption_prevalence"),
    ({"patient_options": {"foramina_frequencies": {9: 1.0}}}, "foramina_frequencies"),
    ({"fracture": {"grade": 2}}, "kind"),
    ({"fracture": {"kind": "wedge", "grade": 2, "cleft": True}}, "cleft"),
    ({"outlet_resistance": {"outlet_basivertebral": 1.0}}, "outlet_basivertebral"),
    ({"n": 0}, "n=0"),
    ({"heterogeneity": -1.0}, "heterogeneity"),
    ({"vein_radius": -1.0}, "vein_radius"),
    ({"vein_radius": True}, "vein_radius"),
    ({"vein_radius": 27.0}, "vein_radius"),
    ({"patient_options": {"vein_share": 2.0}}, "vein_share"),
    ({"patient_options": {"cement_volume": (-1.0, 0.5)}, "own_volume": True}, "cement_volume"),
    ({"patient_options": {"cement_volume": (2.0, 0.5)}, "own_volume": False}, "own_volume"),
    ({"patient_options": {"cement_volume": ((1.0, 2.0),)}, "own_volume": True}, "cement_volume"),
    ({"own_volume": "yes"}, "own_volume"),
])
def test_bad_input_is_refused_before_the_flow(l1_3mm, monkeypatch, change, word):
    g, m, mat = l1_3mm
    import vbfem.treatment.vertebroplasty as vp

    def no_flow(*a, **k):
        raise AssertionError("the flow started")

    monkeypatch.setattr(vp, "simulate_vertebroplasty", no_flow)
    with pytest.raises(ValueError, match=word):
        patient_leakage_risk(m, mat, g, **{**_kw(g), "n": 2, **change})


def test_the_summary_pressures_are_the_medians_of_the_realisations_that_flowed():
    """A kyphoplasty patient whose cement stays in the cavity has no flow and NaN pressures; the summary's
    median pressures are over the others (all NaN: NaN)."""
    from vbfem.treatment.leakage import LeakageRisk

    z = np.zeros(3)
    risk = LeakageRisk(seeds=(0, 1, 2), leak=np.zeros(3, bool), leaked={c: z for c in ("venous", "cortical", "disc",
                                                                                       "other")},
                       first_leak_time=np.full(3, np.nan), peak_tip_pressure=np.array([np.nan, 0.002, 0.004]),
                       peak_syringe_pressure=np.full(3, np.nan))
    s = risk.summary()
    assert s["peak_tip_pressure_kPa"] == pytest.approx(3.0) and np.isnan(s["peak_syringe_pressure_kPa"])
