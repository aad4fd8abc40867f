"""Helpers shared by the benchmark scripts (not part of the vbfem package).

Every benchmark case runs in a fresh Python subprocess so that its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which counts
C and Fortran allocations too) belongs to that case alone, and so that one
case cannot warm the caches of the next.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

_MARK = "@@BENCH-RESULT@@"


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def emit(result: dict) -> None:
    """Worker side: print the result dictionary on one marked line (the driver keeps the last one)."""
    print(_MARK + json.dumps(result), flush=True)


def run_worker(script: str, case: dict, *, timeout: float | None = None, env_threads: int | None = None,
               mem_limit_gib: float | None = None) -> dict:
    """Run ``script --worker JSON`` in a fresh interpreter and return its result dict.

    ``mem_limit_gib`` caps the worker's address space (``RLIMIT_AS``) so that a
    runaway case fails with ``MemoryError`` instead of exhausting a shared
    machine. On failure (non-zero exit, memory limit, timeout) returns
    ``{"error": ...}`` with the tail of stderr.
    """
    preexec = None
    if mem_limit_gib:
        limit = int(mem_limit_gib * 2**30)

        def preexec():
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ)
    if env_threads:
        env["NUMBA_NUM_THREADS"] = str(env_threads)
    cmd = [sys.executable, script, "--worker", json.dumps(case)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, preexec_fn=preexec,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        partial = _last_result(exc.stdout) or {}  # a worker may emit partial results along the way
        partial["error"] = f"timeout after {timeout:.0f} s"
        return partial
    result = _last_result(proc.stdout)
    if result is not None and proc.returncode == 0:
        return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    result = result or {}
    result["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
    return result


def _last_result(stdout) -> dict | None:
    if isinstance(stdout, bytes):
        stdout = stdout.decode(errors="replace")
    found = None
    for line in (stdout or "").splitlines():
        if line.startswith(_MARK):
            found = json.loads(line[len(_MARK):])
    return found


def machine_line() -> str:
    import numba
    import numpy
    import scipy

    load = os.getloadavg()
    return (
        f"python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy during ``seconds`` (from /proc/stat; 0 where unavailable)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)  # idle + iowait, total

    try:
        i0, t0 = snap()
        time.sleep(seconds)
        i1, t1 = snap()
    except OSError:
        return 0.0
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def load_warning() -> str | None:
    """A warning when other processes use the CPUs right now (timings then too slow)."""
    busy = cpu_busy()
    if busy > 0.2:
        return (f"WARNING: the CPUs were {100 * busy:.0f}% busy before the run: other processes compete, "
                "timings are pessimistic.")
    return None


def table(rows: list[list], header: list[str], align: str | None = None) -> str:
    """A plain-text table; ``align`` is a string of 'l' / 'r' per column (default: first left)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    align = align or "l" + "r" * (len(header) - 1)

    def fmt(r):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align))

    lines = [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


class Timer:
    """``with Timer() as t: ...`` then ``t.s`` holds the elapsed wall seconds."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self._t0
        return False


def fmt_s(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_rate(n, s) -> str:
    if s is None or s <= 0:
        return "-"
    return f"{n / s / 1e6:.2f}"
