"""Run a study file: geometry, mesh, bone, fracture, treatments, load, comparison table.

Writes into the study's output folder (``[output] folder``, or --out): the
resolved study (defaults filled in), provenance, results.csv, a VTU per state,
pictures and an HTML report.

Examples:
    vbfem run study.toml
    vbfem run examples/vp_vs_kp.toml --out results/
    vbfem demo --write-study demo.toml && vbfem run demo.toml
"""

from __future__ import annotations

from pathlib import Path

HELP = "run a study file (TOML)"


def add_args(parser):
    from .common import add_memory_arg, add_workers_arg

    parser.add_argument("study", help="study file (TOML, schema version 1)")
    parser.add_argument("--out", help="output folder (default: the study's [output] folder)")
    add_workers_arg(parser)
    add_memory_arg(parser)


def run(args) -> int:
    from ..output.atomic import folder_lock
    from ..study.columns import summary_columns
    from ..study.pipeline import check_inputs, run_study
    from ..study.schema import load_study, output_folder
    from .common import check_workers, describe_run, files_line, format_table, progress_bar

    path = Path(args.study)
    study = load_study(path)
    out = Path(args.out) if args.out else output_folder(study, path.parent)
    check_workers(args)
    check_inputs(study, out, workers=args.workers)  # the memory with its strength-curve worker processes
    with folder_lock(out), progress_bar("stages", quiet=args.quiet, estimate=False) as update:  # one live run per folder
        result = run_study(study, out=out, progress=update, workers=args.workers)
    print("\n".join(describe_run(study, result, command=f"vbfem run {path.name}")))
    print()
    print(format_table(result.rows, summary_columns(study.load.strength)))
    print()
    print(files_line(result, out, seconds=sum(result.timings.values())))
    return 0
