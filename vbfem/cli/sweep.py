"""Run a sweep file: a base study and its cases (grid, list, Monte Carlo), resumable.

Cases run on local processes by default, on a local Dask cluster with
--workers N, or on a running Dask scheduler with --scheduler. A case whose
result exists (same resolved study, same hash) is not computed again, so an
interrupted sweep resumes where it stopped. Writes results.csv (and
results.parquet) with one row per case and state, and cases/<hash>/ folders.

Examples:
    vbfem sweep examples/volume_sweep.toml --out sweep-out/
    vbfem sweep sweep.toml --workers 2
    vbfem sweep sweep.toml --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import logging
from pathlib import Path

HELP = "run a sweep file (TOML): many cases, resumable, locally or on Dask"


def add_args(parser):
    from .common import add_memory_arg

    parser.add_argument("sweep", help="sweep file (TOML, schema version 1)")
    parser.add_argument("--out", help="output folder (default: <sweep file stem>-out beside the sweep file)")
    parser.add_argument("--workers", type=int, help="start a local Dask cluster of N worker processes")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    add_memory_arg(parser)


def run(args) -> int:
    from ..study.sweep import load_sweep, run_sweep
    from .common import progress_bar, sweep_table

    try:  # Dask sets up its own loggers (at INFO) when imported: quiet them unless --verbose
        import distributed  # noqa: F401
    except ImportError:
        pass
    else:
        logging.getLogger("distributed").setLevel(logging.INFO if args.verbose else logging.WARNING)
    path = Path(args.sweep)
    sweep = load_sweep(path)
    out = Path(args.out) if args.out else path.with_name(path.stem + "-out")
    with progress_bar("cases", quiet=args.quiet, total=len(sweep.cases), desc=f"sweep {path.name}") as update:
        res = run_sweep(sweep, out, scheduler=args.scheduler, workers=args.workers, progress=update)
    keys = list(dict.fromkeys(k for case in sweep.cases for k in case))
    if any("error" not in r for r in res.rows):
        print(sweep_table(res.rows, keys, strength=sweep.base.load.strength))
        print()
    print(f"{len(sweep.cases)} case(s): {res.computed} computed, {res.reused} reused, {len(res.failed)} failed")
    for row in res.rows:
        if "error" in row:
            print(f"  case {row['case']}: {row['error']}")
    print(f"wrote {res.csv} (units: {res.csv.with_name('results_units.json').name})"
          + (f" and {res.parquet}" if res.parquet else "; results.parquet not written: pyarrow is not installed"))
    return 1 if res.failed else 0
