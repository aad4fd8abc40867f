"""The vertebroplasty injections of the pressure rows of the credibility report, each in its paper's protocol.

A measured injection pressure depends on the cement's age (its viscosity rises with the time since mixing),
the rate, the cannula and the bone it flows into. The two pressure rows of :data:`vbfem.study.published.PUBLISHED`
are therefore not compared with the study's own vertebroplasty (which starts at the study's time after
mixing) but with an injection run in the protocol of the paper, as far as its published text gives it.
The inputs a paper reports are taken from it; the others are the study's treatment, and each is named
below. Nothing here is chosen from the row's published value.

Krebs et al., Spine 2005;30:E118 (PMID 15738774; abstract read): syringe pressure in vivo, instrumented
syringe holder, "conventional vertebroplasty"; normal (1.8 mm opening) and wide syringes alternated "such
that each type was evaluated for early (300-500 seconds postmixing) and late (>500 seconds postmixing)
cement polymerization time"; average peak of the normal syringe 1693 ± 653 kPa (over both times).
Taken from the paper: the two injection times. The abstract gives no cannula, rate, volume or cement:
those are the study's treatment (cannula 11 G x 120 mm, Moon et al. 2022; 3 mL/min per needle, the
bench rate of Li et al. 2015; the study's volume, approach and cement). The early window's start
(:data:`KREBS_EARLY_START`) and the late window's start (:data:`KREBS_LATE_START`, the window has no
stated end) are the injection starts; the model value is the mean of the two injections' peak syringe
pressures, as the paper's average pools both times. The windows' starts are their youngest, least viscous
cement, so the value is a lower estimate of the protocol's (the late injection alone: 1041 kPa at 1.5 mm).

Li K, Yan J, Yang Q, Li Z, Li J. The effect of void creation prior to vertebroplasty on intravertebral
pressure and cement distribution in cadaveric spines with simulated metastases. J Orthop Surg Res
2015;10:20 (abstract read): 18 cadaveric vertebrae (T8-L4), not fractured; a central core of cancellous
bone removed and refilled with fresh muscle paste (100 % of the core: no void; 30 %: void creation);
"20% bone cement by volume of the vertebral body" injected "through a unipedicular approach at a rate of
3 mL/min"; average maximum intravertebral pressure 5.09 kPa without and 1.20 kPa with the void. Taken
from the paper: the intact (unfractured) body, the unipedicular approach (:func:`vbfem.treatment.needles.unipedicular`,
tip at the midline), :data:`LI_FILL` of the body's volume and :data:`LI_RATE`. Not modelled: the
muscle-paste core (its size is not in the abstract) and the position of the pressure sensor (the model
reports the pressure at the needle tip, the highest in the body); the start after mixing and the cement
(not in the abstract) are the study's.
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["KREBS_EARLY_START", "KREBS_LATE_START", "LI_FILL", "LI_RATE", "body_volume", "krebs_syringe_pressure",
           "li_tip_pressure", "pressure_comparisons"]

#: Start of Krebs et al. 2005's early injections, s after mixing ("early (300-500 seconds postmixing)").
KREBS_EARLY_START = 300.0
#: Start of Krebs et al. 2005's late injections, s after mixing ("late (>500 seconds postmixing)").
KREBS_LATE_START = 500.0
#: Cement volume of Li et al. 2015 as a fraction of the vertebral body's volume ("20% bone cement by volume").
LI_FILL = 0.20
#: Injection rate of Li et al. 2015, mL/min ("at a rate of 3 mL/min").
LI_RATE = 3.0


def _check_vp(spec) -> None:
    if getattr(spec, "kind", None) != "vertebroplasty":
        raise ValueError(f"spec={spec!r} must be a vertebroplasty TreatmentSpec (kind 'vertebroplasty')")


def krebs_syringe_pressure(fractured, geometry, spec, *, seed: int = 0) -> dict:
    """Peak syringe pressure (kPa) of ``spec``'s vertebroplasty started at Krebs et al. 2005's two times.

    Parameters
    ----------
    fractured : State
        The fractured body (mesh and materials) the cement is injected into.
    geometry : Geometry
        Its geometry (needle placement).
    spec : TreatmentSpec
        The study's vertebroplasty: its approach, volume, rate, cannula and cement (module docstring).
    seed : int, keyword-only
        The flow's seed.

    Returns
    -------
    dict
        ``early_kPa`` and ``late_kPa``: the peak syringe pressures of the injections started at
        :data:`KREBS_EARLY_START` and :data:`KREBS_LATE_START` s after mixing; ``mean_kPa``: their mean.
    """
    from ..treatment.vertebroplasty import simulate_vertebroplasty
    from .pipeline import _needles

    _check_vp(spec)
    out = {}
    for label, start in (("early", KREBS_EARLY_START), ("late", KREBS_LATE_START)):
        s = dataclasses.replace(spec, start_time=start)
        fill = simulate_vertebroplasty(fractured.mesh, fractured.materials, geometry, needles=_needles(s, geometry),
                                       cement=s.cement_record(), seed=seed)
        out[f"{label}_kPa"] = 1e3 * float(fill.metrics["peak_syringe_pressure"])
    out["mean_kPa"] = 0.5 * (out["early_kPa"] + out["late_kPa"])
    return out


def body_volume(mesh, materials) -> float:
    """Volume of the vertebral body (mm³): the denominator of the fill fraction of
    :func:`vbfem.treatment.vertebroplasty.fill_metrics`."""
    from ..materials.porous import porous_medium

    return float(porous_medium(mesh, materials).volume.sum())


def li_tip_pressure(intact, geometry, spec, *, seed: int = 0) -> dict:
    """Peak needle-tip pressure (kPa) of a unipedicular injection in Li et al. 2015's protocol.

    :data:`LI_FILL` of the intact body's volume at :data:`LI_RATE` through one needle
    (:func:`vbfem.treatment.needles.unipedicular`, left), started at ``spec.start_time`` with ``spec``'s cement
    and cannula (module docstring).

    Returns
    -------
    dict
        ``tip_kPa``, ``volume_ml`` (the injected volume) and ``fill_pct`` (the model's fill fraction, %).
    """
    from ..treatment.cannula import Cannula
    from ..treatment.needles import unipedicular
    from ..treatment.vertebroplasty import simulate_vertebroplasty

    _check_vp(spec)
    volume = LI_FILL * body_volume(intact.mesh, intact.materials) / 1000.0
    needle = unipedicular(geometry, "left", volume=volume, rate=LI_RATE, start=spec.start_time,
                          cannula=Cannula(spec.cannula_gauge, spec.cannula_length))
    fill = simulate_vertebroplasty(intact.mesh, intact.materials, geometry, needles=(needle,),
                                   cement=spec.cement_record(), seed=seed)
    return {"tip_kPa": 1e3 * float(fill.metrics["peak_tip_pressure"]), "volume_ml": volume,
            "fill_pct": 100.0 * float(fill.metrics["fill_fraction"])}


def pressure_comparisons(intact, fractured, geometry, spec, *, seed: int = 0) -> dict:
    """The model values of the VP pressure rows of :data:`vbfem.study.published.PUBLISHED` (keys of the
    ``"comparisons"`` state): ``vp_syringe_pressure_krebs_kPa`` (:func:`krebs_syringe_pressure`, the mean) and
    ``vp_tip_pressure_li_kPa`` (:func:`li_tip_pressure`), with their parts (``..._early_kPa``, ``..._late_kPa``,
    ``li_volume_ml``). NaN values without a vertebroplasty ``spec`` (None)."""
    if spec is None:
        return {"vp_syringe_pressure_krebs_kPa": math.nan, "vp_tip_pressure_li_kPa": math.nan}
    k = krebs_syringe_pressure(fractured, geometry, spec, seed=seed)
    li = li_tip_pressure(intact, geometry, spec, seed=seed)
    return {"vp_syringe_pressure_krebs_kPa": k["mean_kPa"], "vp_syringe_pressure_krebs_early_kPa": k["early_kPa"],
            "vp_syringe_pressure_krebs_late_kPa": k["late_kPa"], "vp_tip_pressure_li_kPa": li["tip_kPa"],
            "li_volume_ml": li["volume_ml"], "li_fill_pct": li["fill_pct"]}
