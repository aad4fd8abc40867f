"""Leakage risk of VP and KP over seeded permeability realisations (issue 19; target: >= 50 realisations
at 3 mm in < 5 min on 2 workers per strategy).

Run (from the repository root): python benchmarks/bench_leakage.py [--n 50] [--workers 2] [--sd 0.37] [--ell 5]
[--patients] [--vein-share 0.5]

With --patients each realisation is a sampled patient (vbfem.treatment.leakage.patient_leakage_risk): the
grade-2 wedge plus the patient's intravertebral cleft (McKiernan 2003: 30/82), cortical disruption (Ikeda
2013: 68/101; opens the wedge's anterior breach and its endplate crack in the anterior endplate) and
basivertebral foramina (Tzika 2021; none > 1 mm: the foramen drains through a 0.5 mm vein; otherwise the
basivertebral venous network with the trunk radius of the patient's foramen, half its height drawn from He
2023's 5.4 ± 1.1 mm, an upper bound) and the patient's own cement volume
(vbfem.fracture.cohort.CEMENT_VOLUMES, log-normal: KP 4.05 ± 1.20 mL, Jin 2018; VP the mixture of Buchbinder
2009's 2.8 ± 1.2 mL and VAPOUR 2016's 7.5 ± 2.8 mL, 78 : 120; --study-volume gives every patient the
strategy's volume), instead of one fixed fractured body (--breaches is then unused); the patients' features
are counted under the table.

The default L1 at 3 mm, grade-2 wedge with an anterior cortical breach and an endplate crack (plus the
basivertebral outlet), 4 mL bipedicular at 3 mL/min per needle starting 240 s after mixing (the demo's
treatment), PMMA. The permeability factor exp(σ g): σ = 0.37 is the scatter between lumbar cores (Baroud
et al. 2004: SI permeability 4.45 ± 1.72e-8 m², CV 0.39); the correlation length ℓ = 5 mm (covariance
exp(-r²/(2ℓ²)), the bone density's default, vbfem.materials.bone.CORRELATION_LENGTH) is an assumption
(no published value found). Prints one row per strategy: realisations, leaks, probability with its 95 %
Wilson interval, mean leaked volume per class (mL), median first leak (s after the start) and wall time.
The clinical leakage rates (pooled incidence of a meta-analysis of 22 studies, 4187 vertebrae, World
Neurosurg 2017;101:633, PMID 28192270: VP 54.7 %, KP 18.4 %) are printed beside them; the model is not
tuned to them.
"""

import argparse
import time

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fracture.deformity import apply_fracture
from vbfem.materials.bone import assign_bone
from vbfem.study.validation import class_share
from vbfem.treatment.leakage import leakage_risk, patient_leakage_risk
from vbfem.treatment.needles import bipedicular
from vbfem.treatment.outlets import OUTLET_CLASSES


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sd", type=float, default=0.37)
    ap.add_argument("--ell", type=float, default=5.0)
    ap.add_argument("--size", type=float, default=3.0)
    ap.add_argument("--kinds", default="vertebroplasty,kyphoplasty")
    ap.add_argument("--canal", type=float, default=0.0,
                    help="basivertebral canal depth / body depth as a venous outlet (Tzika 2021: 0.12-0.218)")
    ap.add_argument("--breaches", default="anterior,endplate_crack",
                    help="comma-separated breach names, or 'typical' (the outlets of the fracture kind)")
    ap.add_argument("--aperture", type=float, default=0.0,
                    help="aperture (mm) of a fluid-filled fracture line to the cortical breaches (0: none; "
                         "no published value found)")
    ap.add_argument("--vein-radius", type=float, default=None,
                    help="trunk radius (mm) of the basivertebral veins as channels to venous openings on the front "
                         "and sides of the body (vbfem.treatment.veins; 0: none); default each patient's with "
                         "--patients (from the measured foramen, He 2023), else 0")
    ap.add_argument("--vein-share", type=float, default=None,
                    help="with --patients: the vein's diameter as a share of its foramen's height, (0, 1] (default "
                         "vbfem.fracture.cohort.VEIN_SHARE_OF_FORAMEN, 1: an assumption, an upper bound)")
    ap.add_argument("--kp-volume", type=float, default=4.0,
                    help="kyphoplasty cement volume, mL (the cavity: two balloons of 2 mL; more overflows into the bone)")
    ap.add_argument("--patients", action="store_true",
                    help="sample each realisation's cleft, cortical disruption and foramina (published frequencies)")
    ap.add_argument("--study-volume", action="store_true",
                    help="with --patients: every patient gets the strategy's volume (4 mL VP, --kp-volume KP) instead "
                         "of its own (vbfem.fracture.cohort.CEMENT_VOLUMES)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (patients and permeability fields)")
    a = ap.parse_args()
    if a.vein_share is not None and not a.patients:
        ap.error(f"--vein-share {a.vein_share:g}: the vein's share of the foramen is a sampled patient's; "
                 "give --patients (one fractured body takes --vein-radius)")
    g = build_vertebra("L1")
    m = mesh_vertebra(g, size=a.size)
    mat = assign_bone(m, heterogeneity=0.0)
    breaches = "typical" if a.breaches == "typical" else tuple(a.breaches.split(","))
    fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches=breaches, fracture_line=a.aperture > 0)
    opts = {"vertebroplasty": {"needles": bipedicular(g, volume=4.0, start=240.0), "basivertebral_canal": a.canal},
            "kyphoplasty": {"volume": a.kp_volume, "inflation_volume": 2.0, "intact": m, "start": 240.0,
                            "basivertebral_canal": a.canal}}
    if a.aperture > 0 and not a.patients:
        for o in opts.values():
            o["fracture_line_aperture"] = a.aperture
    if a.vein_radius is not None and (a.vein_radius > 0 or a.patients):
        for o in opts.values():
            o["vein_radius"] = a.vein_radius
    clinical = {"vertebroplasty": "54.7 %", "kyphoplasty": "18.4 %"}
    vein = (f"{a.vein_radius:g}" if a.vein_radius is not None else "each patient's" if a.patients else "0")
    print(f"L1 {a.size:g} mm, {fm.n_cells} cells; sigma {a.sd:g}, correlation length {a.ell:g} mm, "
          f"basivertebral canal {a.canal:g} of the depth, breaches {a.breaches}, fracture-line aperture "
          f"{a.aperture:g} mm, vein radius {vein} mm, KP cement {a.kp_volume:g} mL, {a.n} realisations, "
          f"{a.workers} workers, {'sampled patients' if a.patients else 'one fractured body'}")
    head = (f"{'strategy':<15}{'leaks':>7}{'P(leak)':>9}{'95% CI':>15}{'venous mL':>11}{'cortical mL':>12}"
            f"{'disc mL':>9}{'1st leak s':>11}{'syringe kPa':>12}{'tip kPa':>9}{'clinical':>9}{'wall s':>8}")
    print(head)
    for kind in a.kinds.split(","):
        t0 = time.perf_counter()
        if a.patients:
            r = patient_leakage_risk(m, mat, g, fracture={"kind": "wedge", "grade": 2}, kind=kind, n=a.n, seed=a.seed,
                                     heterogeneity=a.sd, correlation_length=a.ell, workers=a.workers,
                                     own_volume=not a.study_volume, **opts[kind],
                                     patient_options=None if a.vein_share is None else {"vein_share": a.vein_share})
        else:
            r = leakage_risk(fm, fmat, g, kind=kind, n=a.n, seed=a.seed, heterogeneity=a.sd, correlation_length=a.ell,
                             workers=a.workers, **opts[kind])
        s = r.summary()
        wall = time.perf_counter() - t0
        ci = f"{s['leak_probability_low']:.2f}-{s['leak_probability_high']:.2f}"
        print(f"{kind:<15}{s['leaks']:>7}{s['leak_probability']:>9.2f}{ci:>15}{s['leaked_venous_ml']:>11.4f}"
              f"{s['leaked_cortical_ml']:>12.4f}{s['leaked_disc_ml']:>9.4f}{s['first_leak_median_s']:>11.1f}"
              f"{s['peak_syringe_pressure_kPa']:>12.0f}{s['peak_tip_pressure_kPa']:>9.1f}{clinical[kind]:>9}"
              f"{wall:>8.1f}", flush=True)
        print(f"    mass balance: largest |injected - in body - leaked| / injected over the realisations "
              f"{np.nanmax(r.params['mass_error']):.1e}")
        if r.leak.any():  # as on CT: a level can leak through several classes
            shares = {c: class_share(r, c) for c in OUTLET_CLASSES}
            print("    leaking realisations with a leak of each class: "
                  + ", ".join(f"{c} {v:.0f} %" for c, v in shares.items()))
        if a.patients:
            ps = r.params["patients"]
            leak = [bool(x) for x in r.leak]
            for name, has in (("cleft", lambda p: p["cleft"]), ("cortical disruption", lambda p: p["cortical_disruption"]),
                              ("no foramen > 1 mm", lambda p: p["foramina"] == 0),
                              ("vein radius > 2.7 mm", lambda p: p["vein_radius"] > 2.7)):
                w = [lk for p, lk in zip(ps, leak) if has(p)]
                wo = [lk for p, lk in zip(ps, leak) if not has(p)]
                print(f"    {name:<20} {len(w):>3} patients, {sum(w)} leak; without: {len(wo)}, {sum(wo)} leak")
            vols = [p["cement_volume"] for p in ps if p["cement_volume"] is not None]
            print(f"    cement volume: {r.params['cement_volume']}")
            if vols:
                # KP: the two balloons' nominal inflation volume; VP: the study's 4 mL
                cut = 2.0 * opts[kind]["inflation_volume"] if kind == "kyphoplasty" else 4.0
                over = [lk for p, lk in zip(ps, leak) if p["cement_volume"] > cut]
                print(f"    patients' volumes: mean {np.mean(vols):.2f} mL, sd {np.std(vols, ddof=1):.2f} mL, "
                      f"range {min(vols):.2f}-{max(vols):.2f} mL; above {cut:g} mL"
                      f"{' (the nominal cavity)' if kind == 'kyphoplasty' else ''}: {len(over)} patients, "
                      f"{sum(over)} leak; at most {cut:g} mL: {len(vols) - len(over)}, {sum(leak) - sum(over)} leak")


if __name__ == "__main__":
    main()
