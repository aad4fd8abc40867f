"""Which discretisation moves the VP strength with the mesh: the displacement field's or the material field's
(issue 18, the VP strength's mesh convergence): a table.

Run (from the repository root): python benchmarks/bench_strength_split.py [--sizes 3 2] [--states VP intact]

For each size, the validation study's states are built at that size (mesher, fracture, the VP flow, the
material maps) and the nonlinear compression test (:func:`vbfem.mechanics.failure.compression_curves`, the
pipeline's travel of 3 % of the intact height) is run twice: on the mesh as it is, and on the same model with
every hex split into eight (:func:`vbfem.fem.refine.split_hex`), the children keeping their parent's
material, i.e. the cloud and every material field of the coarse mesh with a displacement field of half the
cell size. If the split reproduces the pipeline at half the size, the mesh dependence is the displacement
field's. Measured 2026-12-08 (2-core machine, idle): VP 4742 -> 4528 N split at 3 mm (pipeline at 1.5 mm:
4539 N), 4611 -> 4483 N at 2 mm (pipeline at 1.25 mm: 4502 N); intact 3833 -> 3797 N at 3 mm, 3824 -> 3798 N
at 2 mm; the split runs took 62 / 164 s (VP) and 37 / 249 s (intact).
"""

import argparse
import time

import _common  # noqa: F401  (puts the checkout on sys.path)

from vbfem.fem.refine import split_hex
from vbfem.mechanics.failure import STRENGTH_STRAIN, compression_curves, endplate_height
from vbfem.study.pipeline import build_states
from vbfem.study.schema import Study


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[3.0, 2.0])
    ap.add_argument("--states", nargs="+", default=["VP", "intact"], help="state names of the validation study")
    a = ap.parse_args()
    base = Study(name="validation")
    vp = [t for t in base.treatments if t.kind == "vertebroplasty"]
    print(f"{'h mm':>5} {'state':<9}{'cells':>8}{'force N':>10}{'split cells':>12}{'split N':>10}{'change %':>9}"
          f"{'wall s':>8}{'split s':>8}")
    for h in a.sizes:
        study = base.replace(mesh=dict(base.mesh.to_dict(), size=h), treatments=[t.to_dict() for t in vp])
        _, states = build_states(study)
        by_name = {s.name: s for s in states}
        d = STRENGTH_STRAIN * endplate_height(by_name["intact"].mesh)
        for name in a.states:
            state = by_name[name]
            t0 = time.perf_counter()
            f0 = compression_curves({name: (state.mesh, state.materials)}, displacement=d)[name].force[-1]
            t1 = time.perf_counter()
            mesh, mat, _ = split_hex(state.mesh, state.materials)
            f1 = compression_curves({name: (mesh, mat)}, displacement=d)[name].force[-1]
            t2 = time.perf_counter()
            print(f"{h:>5g} {name:<9}{state.mesh.n_cells:>8}{f0:>10.1f}{mesh.n_cells:>12}{f1:>10.1f}"
                  f"{100 * (f1 / f0 - 1):>9.2f}{t1 - t0:>8.0f}{t2 - t1:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
