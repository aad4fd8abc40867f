"""Estimated against measured peak memory of a study (issue 22: within 30 % at three sizes).

Each size runs in a fresh process: a linear-screen study of the default L1 (intact, fractured, VP, KP;
no outputs), whose peak resident set (``ru_maxrss``) is compared with
``vbfem.anatomy.mesher.estimate_memory`` of its cell count, the estimate that ``mesh_vertebra`` and
``check_inputs`` hold against the memory budget before anything is built.

Usage (from the repository root)::

    python benchmarks/bench_memory.py                    # 2.5, 2 and 1.5 mm hex8, about 2 min
    python benchmarks/bench_memory.py --sizes 3 2 1.25
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

TOLERANCE = 0.30

CHILD = """
import resource, sys
from vbfem.study.pipeline import run_study
from vbfem.study.schema import Study
size, cell_type = float(sys.argv[1]), sys.argv[2]
res = run_study(Study(name="m", mesh={"size": size, "cell_type": cell_type}, load={"strength": "linear"}))
print(res.states[0].mesh.n_cells, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="+", default=[2.5, 2.0, 1.5])
    ap.add_argument("--cell-type", default="hex8")
    a = ap.parse_args()
    from vbfem.anatomy.mesher import estimate_memory

    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print(f"{'size mm':>7} {'cells':>8} {'estimate GiB':>12} {'measured GiB':>12} {'error %':>8}  within 30 %")
    for size in a.sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(size), a.cell_type], capture_output=True, text=True,
                             check=True, env=env).stdout.split()
        cells, peak = int(out[-2]), float(out[-1])
        est = estimate_memory(cells, a.cell_type)
        err = 100.0 * (est - peak) / peak
        print(f"{size:7.2f} {cells:8d} {est:12.3f} {peak:12.3f} {err:8.1f}  {'yes' if abs(err) <= 100 * TOLERANCE else 'NO'}")


if __name__ == "__main__":
    main()
