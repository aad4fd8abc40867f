"""Produce the credibility evidence: verification, mesh convergence, CalculiX, validation, sensitivity.

Runs the code verification problems (patch test, manufactured-solution rates),
the mesh convergence of the intact / fractured / VP / KP stiffness of the demo
study (Richardson extrapolation, GCI), the same states in CalculiX, the table of
model values beside published experiments, a one-at-a-time sensitivity study
(tornado) and, with --surface, a real vertebra through the whole pipeline.
Writes validation.md and validation.html (plots embedded). The full report takes
several minutes; --reduced runs the coarse version the test suite runs.

Examples:
    vbfem validate
    vbfem validate --reduced --out validation-quick/
    vbfem validate --surface ../shared/data/lumbar_ssm/L3.stl
"""

from __future__ import annotations

from pathlib import Path

HELP = "verification, mesh convergence, CalculiX, validation and sensitivity report"


def add_args(parser):
    from .common import add_workers_arg

    parser.add_argument("--out", default="vbfem-validation", help="output folder (default: %(default)s)")
    parser.add_argument("--reduced", action="store_true", help="coarse meshes, fewer cases (about a minute)")
    parser.add_argument("--surface", help="a real vertebra surface (STL ...) to run through the whole pipeline")
    add_workers_arg(parser)


def run(args) -> int:
    from ..output.report import markdown_table
    from ..study.validation import run_validation
    from .common import check_workers, progress_bar

    check_workers(args)
    if args.surface is not None and not Path(args.surface).is_file():
        raise FileNotFoundError(f"--surface {args.surface!r}: no such file")
    with progress_bar("parts", quiet=args.quiet, estimate=False) as update:
        v = run_validation(args.out, reduced=args.reduced, surface=args.surface, progress=update,
                           workers=args.workers)
    print("code verification\n" + markdown_table(v.code))
    print("\nmodel verification\n" + markdown_table(v.model))
    print("\nmesh convergence\n" + markdown_table(v.convergence))
    if v.time_steps:
        print("\ntime-step convergence\n" + markdown_table(v.time_steps))
    print("\ncross-code (CalculiX)\n" + markdown_table(v.cross_code))
    print("\nvalidation\n" + markdown_table(v.validation))
    print(f"\n{v.seconds:.0f} s; wrote {v.files['html']} and {v.files['markdown']}")
    return 0
