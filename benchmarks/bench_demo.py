"""`vbfem demo` end to end, from a cold start and again with the numba cache warm (issue 7: < 60 s).

Each run is a fresh process (`python -m vbfem.cli demo`) with its own output folder. The cold run
gets an empty NUMBA_CACHE_DIR, so every kernel is compiled; the warm runs reuse that cache
(cache=True), which is what a user sees from the second run on.

Usage (from the repository root)::

    python benchmarks/bench_demo.py               # cold + 2 warm runs, about 3 min
    python benchmarks/bench_demo.py --warm 1 --size 3.0
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

TARGET = 60.0


def run(cache: str, out: str, size: float | None) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    cmd = [sys.executable, "-m", "vbfem.cli", "-q", "demo", "--out", out]
    if size is not None:
        cmd += ["--size", str(size)]
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warm", type=int, default=2, help="number of warm runs")
    ap.add_argument("--size", type=float, help="mesh size, mm (default: the demo's)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "numba-cache")
        rows = [("cold (JIT compile)", run(cache, os.path.join(tmp, "out0"), a.size))]
        for k in range(a.warm):
            rows.append((f"warm {k + 1} (numba cache)", run(cache, os.path.join(tmp, f"out{k + 1}"), a.size)))
    print(f"{'vbfem demo run':<26} {'wall s':>8}   target < {TARGET:.0f} s")
    for name, t in rows:
        print(f"{name:<26} {t:8.1f}   {'PASS' if t < TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
