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

#: Columns of the printed table: (row key, header, format).
SUMMARY = (
    ("state", "state", "{}"),
    ("stiffness", "stiffness N/mm", "{:.0f}"),
    ("strength", "strength N", "{:.0f}"),
    ("stiffness_pct_intact", "stiff. % intact", "{:.0f}"),
    ("stiffness_pct_restored", "stiff. % restored", "{:.0f}"),
    ("strength_pct_restored", "str. % restored", "{:.0f}"),
    ("anterior_height_mm", "ant. height mm", "{:.1f}"),
    ("height_restored_pct", "height % restored", "{:.0f}"),
    ("fill_pct", "fill % body", "{:.1f}"),
    ("bridging", "bridging", "{}"),
    ("leaked_ml", "leaked mL", "{:.2f}"),
)


def summary_columns(strength: str):
    """:data:`SUMMARY` with the strength columns named for how strength was computed: the linear
    estimate is a screen (Pistoia 2002), never to be read as the nonlinear peak force."""
    if strength == "nonlinear":
        return SUMMARY
    names = {"strength": "lin. screen N", "strength_pct_restored": "screen % restored"}
    return tuple((k, names.get(k, h), f) for k, h, f in SUMMARY if strength == "linear" or k not in names)


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


def format_table(rows, columns=SUMMARY) -> str:
    """Fixed-width text table of the ``columns`` present in ``rows`` ("-" where a state has no value)."""
    import math

    cols = [c for c in columns if any(c[0] in r for r in rows)]

    def cell(row, key, fmt):
        v = row.get(key)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        return fmt.format(v)

    table = [[h for _, h, _ in cols]] + [[cell(r, k, f) for k, _, f in cols] for r in rows]
    widths = [max(len(line[j]) for line in table) for j in range(len(cols))]
    lines = ["  ".join(s.rjust(w) if j else s.ljust(w) for j, (s, w) in enumerate(zip(line, widths)))
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args) -> int:
    from ..study.pipeline import check_inputs, run_study
    from ..study.schema import dumps_study
    from .common import check_workers, progress_bar

    study = demo_study(size=args.size, out=args.out)
    if args.no_pictures:
        study = study.replace(output=dict(study.output.to_dict(), pictures=False, report=False))
    if args.write_study:
        from ..output.atomic import write_text

        path = write_text(args.write_study, dumps_study(study))
        print(f"wrote {path}")
        return 0
    out = Path(args.out)
    check_inputs(study, out)
    check_workers(args)
    with progress_bar("stages", quiet=args.quiet) as update:
        result = run_study(study, out=out, progress=update, workers=args.workers)
    g, f = study.geometry, study.fracture
    print(f"vbfem demo: {g.level}, {study.bone.bmd} bone, {f.kind} fracture grade {f.grade}; "
          f"{study.mesh.cell_type} mesh {study.mesh.size:g} mm, {result.states[0].mesh.n_cells} cells")
    for t in study.treatments:
        extra = f", balloons {t.balloon_volume_ml:g} mL each" if t.kind == "kyphoplasty" else ""
        print(f"  {t.name}: {t.kind}, {t.approach}, {t.volume:g} mL {t.cement} at {t.rate:g} mL/min{extra}")
    how = {"linear": "linear screen (Pistoia 2002; not a failure load: `[load] strength = \"nonlinear\"`)",
           "nonlinear": "peak of the elastic-plastic curve"}.get(study.load.strength, study.load.strength)
    print(f"  load: {study.load.case} test, strength: {how}")
    for row in result.rows:
        if row.get("cavity_unfilled_pct", 0.0) > 1.0:
            print(f"  warning: {row['state']}: {row['cavity_unfilled_pct']:.0f} % of the cavity left empty")
    print()
    print(format_table(result.rows, summary_columns(study.load.strength)))
    print()
    total = sum(result.timings.values())
    print(f"{total:.1f} s; wrote {out}/ (results.csv, *.vtu"
          + (", pictures, report.html)" if study.output.report else ")"))
    return 0
