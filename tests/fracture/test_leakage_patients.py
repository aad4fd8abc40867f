"""The patient sampler of the leakage risk (issue 19): published frequencies, seeds, bad input."""

import numpy as np
import pytest

from vbfem.fracture.cohort import (
    CEMENT_VOLUMES,
    CLEFT_PREVALENCE,
    CORTICAL_DISRUPTION_PREVALENCE,
    FORAMEN_HEIGHT,
    FORAMINA_FREQUENCIES,
    VEIN_SHARE_OF_FORAMEN,
    sample_leakage_patients,
)


def _within(k, n, p, z=4.5):
    """k of n is within z standard errors of the probability p."""
    return abs(k / n - p) <= z * np.sqrt(p * (1 - p) / n)


def test_the_frequencies_converge_to_the_published_ones():
    n = 40000
    ps = sample_leakage_patients(n, seed=11, kind="wedge")
    assert _within(sum(p.cleft for p in ps), n, 30 / 82)  # McKiernan 2003
    assert _within(sum(p.cortical_disruption for p in ps), n, 68 / 101)  # Ikeda 2013
    total = sum(FORAMINA_FREQUENCIES.values())
    tzika = {0: 10.1, 1: 45.1, 2: 36.9, 3: 3.8, 4: 0.6}  # % of the 1561 vertebrae (Tzika 2021), C1 left out
    for count, pct in tzika.items():
        k = sum(p.foramina == count for p in ps)
        assert _within(k, n, pct / sum(tzika.values())), (count, k / n)
        assert FORAMINA_FREQUENCIES[count] / total == pytest.approx(pct / sum(tzika.values()))
    assert CLEFT_PREVALENCE == pytest.approx(0.366, abs=1e-3)
    assert CORTICAL_DISRUPTION_PREVALENCE == pytest.approx(0.673, abs=1e-3)


def test_the_vein_radius_is_half_the_measured_foramen_height():
    """He 2023 (CT of 107 elderly lumbar OVCF patients): foramen height 5.4 ± 1.1 mm; the vein fills it (share 1,
    an assumption); patients without a foramen > 1 mm have none; the features do not depend on the height."""
    assert FORAMEN_HEIGHT == (5.4, 1.1) and VEIN_SHARE_OF_FORAMEN == 1.0
    n = 20000
    ps = sample_leakage_patients(n, seed=5, kind="wedge")
    r = np.array([p.vein_radius for p in ps])
    large = np.array([p.foramina > 0 for p in ps])
    assert np.all(r[~large] == 0.0) and np.all(r[large] >= 0.5)
    se = 0.55 / np.sqrt(large.sum())
    assert abs(r[large].mean() - 2.7) < 4.5 * se
    assert r[large].std() == pytest.approx(0.55, rel=0.05)
    half = sample_leakage_patients(n, seed=5, kind="wedge", vein_share=0.5, foramen_height=(5.4, 1.1))
    np.testing.assert_allclose([p.vein_radius for p in half], 0.5 * r, rtol=1e-12)
    assert [(p.cleft, p.cortical_disruption, p.foramina) for p in half] == \
        [(p.cleft, p.cortical_disruption, p.foramina) for p in ps]
    fixed = sample_leakage_patients(50, seed=5, kind="wedge", foramen_height=(4.0, 0.0), foramina_frequencies={1: 1.0})
    assert {p.vein_radius for p in fixed} == {2.0}
    assert ps[0].as_dict()["vein_radius"] == ps[0].vein_radius


def test_the_cement_volume_has_the_published_mean_and_sd_and_leaves_the_features_alone():
    """Jin 2018 (113 kyphoplasty levels): 4.05 ± 1.20 mL, drawn log-normal; its own stream ([seed, 3])."""
    assert CEMENT_VOLUMES["kyphoplasty"] == (4.05, 1.20)
    n = 40000
    base = sample_leakage_patients(n, seed=5, kind="wedge")
    ps = sample_leakage_patients(n, seed=5, kind="wedge", cement_volume=CEMENT_VOLUMES["kyphoplasty"])
    v = np.array([p.cement_volume for p in ps])
    assert np.all(v > 0)
    assert abs(v.mean() - 4.05) < 4.5 * 1.20 / np.sqrt(n)
    assert v.std(ddof=1) == pytest.approx(1.20, rel=0.05)
    assert np.median(v) < v.mean()  # right-skewed (log-normal)
    assert all(p.cement_volume is None for p in base)
    strip = [(p.cleft, p.cortical_disruption, p.foramina, p.breaches, p.vein_radius) for p in ps]
    assert strip == [(p.cleft, p.cortical_disruption, p.foramina, p.breaches, p.vein_radius) for p in base]
    again = sample_leakage_patients(20, seed=5, kind="wedge", cement_volume=(4.05, 1.20))
    assert again == ps[:20] and again != sample_leakage_patients(20, seed=6, kind="wedge", cement_volume=(4.05, 1.2))
    fixed = sample_leakage_patients(10, seed=5, kind="wedge", cement_volume=(3.0, 0.0))
    assert [p.cement_volume for p in fixed] == pytest.approx([3.0] * 10)
    assert ps[0].as_dict()["cement_volume"] == ps[0].cement_volume


def test_the_vertebroplasty_volume_is_the_mixture_of_the_two_sham_trials():
    """Buchbinder 2009 (2.8 ± 1.2 mL, 78 enrolled) and VAPOUR 2016 (7.5 ± 2.8 mL, 120): the mixture's mean
    5.65 mL and sd 3.26 mL (within and between the trials); the KP-like single component gives the same
    deviates, so adding a component changes no other patient feature."""
    assert CEMENT_VOLUMES["vertebroplasty"] == ((78.0, 2.8, 1.2), (120.0, 7.5, 2.8))
    n = 60000
    v = np.array([p.cement_volume for p in
                  sample_leakage_patients(n, seed=9, kind="wedge", cement_volume=CEMENT_VOLUMES["vertebroplasty"])])
    w = np.array([78.0, 120.0]) / 198.0
    mean = w @ [2.8, 7.5]
    sd = np.sqrt(w @ (np.array([1.2, 2.8]) ** 2 + (np.array([2.8, 7.5]) - mean) ** 2))
    assert mean == pytest.approx(5.65, abs=0.01) and sd == pytest.approx(3.26, abs=0.01)
    assert abs(v.mean() - mean) < 4.5 * sd / np.sqrt(n)
    assert v.std(ddof=1) == pytest.approx(sd, rel=0.05)
    assert abs(np.mean(v < 4.0) - (w[0] * 0.859 + w[1] * 0.059)) < 0.01  # log-normal CDFs at 4 mL
    one = sample_leakage_patients(50, seed=9, kind="wedge", cement_volume=((1.0, 3.0, 0.0), (0.0, 9.0, 1.0)))
    assert [p.cement_volume for p in one] == pytest.approx([3.0] * 50)  # a zero weight is never drawn


def test_a_disrupted_cortex_opens_the_outlets_of_the_fracture_kind():
    ps = sample_leakage_patients(200, seed=3, kind="crush")
    assert {p.breaches for p in ps if p.cortical_disruption} == {("anterior", "endplate_crack")}
    assert {p.breaches for p in ps if not p.cortical_disruption} == {()}
    assert {p.breaches for p in sample_leakage_patients(50, seed=3, kind="biconcave") if p.cortical_disruption} \
        == {("endplate_crack",)}


def test_given_prevalences_are_used_exactly_at_the_ends():
    ps = sample_leakage_patients(100, seed=0, kind="wedge", cleft_prevalence=1.0, cortical_disruption_prevalence=0.0,
                                 foramina_frequencies={2: 1.0})
    assert all(p.cleft and not p.cortical_disruption and p.foramina == 2 for p in ps)


def test_the_same_seed_gives_the_same_patients():
    a = sample_leakage_patients(30, seed=7, kind="wedge")
    assert a == sample_leakage_patients(30, seed=7, kind="wedge")
    assert a != sample_leakage_patients(30, seed=8, kind="wedge")
    assert sample_leakage_patients(0, seed=7, kind="wedge") == []
    assert sample_leakage_patients(12, seed=7, kind="wedge") == a[:12]  # patient i, radius too, does not depend on n


@pytest.mark.parametrize("kwargs, word", [
    ({"cleft_prevalence": 1.2}, "cleft_prevalence"),
    ({"cleft_prevalence": float("nan")}, "cleft_prevalence"),
    ({"cortical_disruption_prevalence": -0.1}, "cortical_disruption_prevalence"),
    ({"cortical_disruption_prevalence": True}, "cortical_disruption_prevalence"),
    ({"foramina_frequencies": {1: 1.5}}, "foramina_frequencies"),
    ({"foramina_frequencies": {7: 0.5}}, "foramina_frequencies"),
    ({"foramina_frequencies": {1: 0.0}}, "foramina_frequencies"),
    ({"kind": "twisted"}, "twisted"),
    ({"n": -1}, "n=-1"),
    ({"seed": None}, "seed"),
    ({"foramen_height": (0.8, 0.2)}, "foramen_height"),
    ({"foramen_height": (5.4, -1.0)}, "foramen_height"),
    ({"foramen_height": 5.4}, "foramen_height"),
    ({"vein_share": 0.0}, "vein_share"),
    ({"vein_share": 1.5}, "vein_share"),
    ({"vein_share": True}, "vein_share"),
    ({"cement_volume": (0.0, 1.0)}, "cement_volume"),
    ({"cement_volume": (4.0, -1.0)}, "cement_volume"),
    ({"cement_volume": (4.0, float("nan"))}, "cement_volume"),
    ({"cement_volume": 4.0}, "cement_volume"),
    ({"cement_volume": ("a", "b")}, "cement_volume"),
    ({"cement_volume": ((1.0, 2.0, 1.0), (1.0, 2.0))}, "cement_volume"),
    ({"cement_volume": ((-1.0, 2.0, 1.0),)}, "cement_volume"),
    ({"cement_volume": ((0.0, 2.0, 1.0),)}, "cement_volume"),
    ({"cement_volume": ()}, "cement_volume"),
])
def test_bad_input_names_the_parameter(kwargs, word):
    args = {"n": 5, "seed": 1, "kind": "wedge", **kwargs}
    with pytest.raises(ValueError, match=word):
        sample_leakage_patients(args.pop("n"), **args)
