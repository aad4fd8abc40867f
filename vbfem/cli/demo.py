"""Run the built-in study and print its table.

An osteoporotic L1 with a Genant grade-2 wedge fracture, treated by
bipedicular vertebroplasty (4 mL PMMA) and by bipedicular kyphoplasty
(2 x 2 mL balloons, then 4 mL PMMA), each compared with the intact and the
fractured body under the ex vivo compression test (inferior endplate potted,
superior endplate under a rigid platen). Prints stiffness, strength, % of intact
and % restored, height restored, cement fill, bridging and leakage; writes the
resolved study, the results table, a VTU per state, pictures and an HTML report
into the output folder.

Examples:
    vbfem demo
    vbfem demo --out results/ --size 1.5
    vbfem demo --write-study demo.toml && vbfem run demo.toml
"""

from __future__ import annotations

from pathlib import Path

HELP = "run the built-in study: osteoporotic L1, grade-2 wedge, vertebroplasty vs kyphoplasty"

def demo_study(*, size: float | None = None, out: str = "vbfem-demo"):
    """The demo's :class:`~vbfem.study.schema.Study` (all defaults: see ``Study().to_dict()``)."""
    from ..study.schema import Study

    mesh = {} if size is None else {"size": size}
    return Study(name="demo", mesh=mesh, output={"folder": out})


def add_args(parser):
    from .common import add_memory_arg, add_workers_arg

    parser.add_argument("--out", default="vbfem-demo", help="output folder (default: %(default)s)")
    parser.add_argument("--size", type=float, help="element size in mm (default: the study default, 2.0)")
    parser.add_argument("--no-pictures", action="store_true", help="skip the PNG pictures and the report")
    add_workers_arg(parser)
    add_memory_arg(parser)
    parser.add_argument("--write-study", metavar="FILE",
                        help="write the demo study as TOML to FILE and exit (edit it, then 'vbfem run FILE')")


def run(args) -> int:
    from ..output.atomic import folder_lock
    from ..study.columns import summary_columns
    from ..study.pipeline import check_inputs, run_study
    from ..study.schema import dumps_study
    from .common import check_workers, describe_run, files_line, format_table, progress_bar

    study = demo_study(size=args.size, out=args.out)
    if args.no_pictures:
        study = study.replace(output=dict(study.output.to_dict(), pictures=False, report=False))
    if args.write_study:
        from ..output.atomic import write_text

        path = write_text(args.write_study, dumps_study(study))
        print(f"wrote {path}")
        return 0
    out = Path(args.out)
    check_workers(args)
    check_inputs(study, out, workers=args.workers)  # the memory with its strength-curve worker processes
    with folder_lock(out), progress_bar("stages", quiet=args.quiet, estimate=False) as update:  # one live run per folder
        result = run_study(study, out=out, progress=update, workers=args.workers)
    print("\n".join(describe_run(study, result, command="vbfem demo")))
    print()
    print(format_table(result.rows, summary_columns(study.load.strength)))
    print()
    print(files_line(result, out, seconds=sum(result.timings.values())))
    return 0
