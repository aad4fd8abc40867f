"""The two VP pressure rows of the credibility report, each in its paper's protocol (vbfem.study.protocols).

Prints the model's peak syringe pressure in Krebs et al. 2005's protocol (the study's VP started at 300 s and
at 500 s after mixing) and its peak tip pressure in Li et al. 2015's (unipedicular, 20 % of the intact body at
3 mL/min), beside the published ranges, without the rest of ``vbfem validate``.

Run (from the repository root): python examples/pressure_rows.py [--size 1.5]
(1.5 mm is the size of the report's comparisons, about a minute; 3 mm takes about as long on a loaded machine.)
"""

import argparse
import time

from vbfem.study.pipeline import run_study
from vbfem.study.protocols import pressure_comparisons
from vbfem.study.published import PUBLISHED
from vbfem.study.schema import Study


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=1.5, help="mesh size, mm (the report's comparisons: 1.5)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    study = Study(name="validation")
    base = study.replace(mesh=dict(study.mesh.to_dict(), size=args.size), treatments=[],
                         load=dict(study.load.to_dict(), strength="none"),
                         output={"vtu": False, "pictures": False, "report": False})
    res = run_study(base)
    vp = next(t for t in study.treatments if t.kind == "vertebroplasty")
    out = pressure_comparisons(res.state("intact"), res.state("fractured"), res.geometry, vp, seed=study.seed)
    print(f"study VP: {vp.approach}, {vp.volume:g} mL, {vp.rate:g} mL/min per needle, cannula {vp.cannula_gauge} G x "
          f"{vp.cannula_length:g} mm, cement {vp.cement}; mesh {args.size:g} mm")
    print(f"Krebs protocol: early (300 s) {out['vp_syringe_pressure_krebs_early_kPa']:.0f} kPa, late (500 s) "
          f"{out['vp_syringe_pressure_krebs_late_kPa']:.0f} kPa")
    print(f"Li protocol: {out['li_volume_ml']:.2f} mL ({out['li_fill_pct']:.1f} % of the body)")
    print(f"{'row':<62} {'model':>8} {'range':>14}  in range")
    for ref in PUBLISHED:
        state, key, offset = ref["key"]
        if state == "comparisons" and key in out:
            v = out[key] + offset
            ok = "yes" if ref["low"] <= v <= ref["high"] else "NO"
            print(f"{ref['quantity']:<62} {v:>8.1f} {ref['low']:>6g}-{ref['high']:<7g}  {ok}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
