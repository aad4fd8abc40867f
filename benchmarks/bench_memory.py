"""Estimated against measured peak memory of a study (issue 22: within 30 % at three sizes).

Each size runs in a fresh process: a study of the default L1 (intact, fractured, VP, KP; no outputs)
on the linear screen, or with ``--workers N`` on the nonlinear strength with N strength-curve worker
processes. The peak resident set of the process and of its children together (summed every 20 ms
with psutil; ``ru_maxrss`` of the process alone) is compared with
``vbfem.anatomy.mesher.estimate_memory`` of its cell count, the estimate that ``mesh_vertebra`` and
the command line hold against the memory budget before anything is built.

Usage (from the repository root)::

    python benchmarks/bench_memory.py                                  # hex8 at 2.5, 2 and 1.5 mm, about 2 min
    python benchmarks/bench_memory.py --cell-type tet4                 # 4, 3 and 2.5 mm
    python benchmarks/bench_memory.py --cell-type tet10                # 5, 4 and 3 mm
    python benchmarks/bench_memory.py --workers 2 --sizes 2.5 2 1.5    # nonlinear strength, 2 curve workers
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

#: Default sizes (mm) per cell type: tets have six times the cells of hex8 at a size, and the cement
#: flow on them is slower (the VP and KP of a 2 mm tet4 study take minutes each).
SIZES = {"hex8": [2.5, 2.0, 1.5], "tet4": [4.0, 3.0, 2.5], "tet10": [5.0, 4.0, 3.0]}

CHILD = """
import resource, sys, threading, time
import psutil
from vbfem.study.pipeline import run_study
from vbfem.study.schema import Study

size, cell_type, workers = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
me, peak, child_peak, stop = psutil.Process(), [0], [0], threading.Event()

def sample():
    while not stop.is_set():
        total = me.memory_info().rss
        for c in me.children(recursive=True):
            try:
                rss = c.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            child_peak[0] = max(child_peak[0], rss)
        peak[0] = max(peak[0], total)
        time.sleep(0.02)

t = threading.Thread(target=sample, daemon=True)
t.start()
strength = "linear" if workers == 0 else "nonlinear"
res = run_study(Study(name="m", mesh={"size": size, "cell_type": cell_type}, load={"strength": strength}),
                workers=max(workers, 1))
stop.set(); t.join()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(res.states[0].mesh.n_cells, len(res.states), own / 2**30, child_peak[0] / 2**30, peak[0] / 2**30)
"""


def measure(size: float, cell_type: str, workers: int) -> tuple[int, int, float, float, float]:
    """``(cells, states, own peak GiB, largest child GiB, peak of the process tree GiB)`` of one study."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", CHILD, str(size), cell_type, str(workers)], capture_output=True,
                         text=True, check=True, env=env).stdout.split()
    return int(out[-5]), int(out[-4]), float(out[-3]), float(out[-2]), float(out[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="+")
    ap.add_argument("--cell-type", default="hex8", choices=sorted(SIZES))
    ap.add_argument("--workers", type=int, default=0,
                    help="strength-curve worker processes (0: the linear screen, no workers; default 0)")
    a = ap.parse_args()
    from vbfem.anatomy.mesher import estimate_memory

    sizes = a.sizes or SIZES[a.cell_type]
    print(f"{a.cell_type}, {'linear screen' if a.workers == 0 else f'nonlinear strength, {a.workers} curve workers'}")
    print(f"{'size mm':>7} {'cells':>8} {'main GiB':>9} {'worker GiB':>10} {'total GiB':>9} {'estimate GiB':>12} "
          f"{'error %':>8}  within 30 %")
    for size in sizes:
        cells, n_states, own, child, total = measure(size, a.cell_type, a.workers)
        total = max(total, own)  # the 20 ms samples can miss a short peak that ru_maxrss keeps
        curve_workers = min(a.workers, n_states) if a.workers > 1 else 0
        est = estimate_memory(cells, a.cell_type, curve_workers=curve_workers)
        err = 100.0 * (est - total) / total
        print(f"{size:7.2f} {cells:8d} {own:9.3f} {child:10.3f} {total:9.3f} {est:12.3f} {err:8.1f}  "
              f"{'yes' if abs(err) <= 100 * TOLERANCE else 'NO'}", flush=True)


if __name__ == "__main__":
    main()
