"""Helpers shared by the subcommands."""

from __future__ import annotations

import contextlib
import sys
import time


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def add_workers_arg(parser):
    """``--workers N``: processes for the states' strength curves (default: the available cores)."""
    cores = available_cores()
    parser.add_argument("--workers", type=int, default=cores, metavar="N",
                        help="processes for the states' nonlinear strength curves (default: the cores, %(default)s)")


def add_memory_arg(parser):
    """``--max-memory GIB``: the memory a study may take (sets ``VBFEM_MAX_MEMORY`` for this run)."""
    parser.add_argument("--max-memory", type=float, metavar="GIB",
                        help="GiB a study may take: a mesh estimated to need more is refused before it is built "
                             "(default: 75 %% of the physical memory)")


def apply_memory_arg(args):
    """Put ``--max-memory`` (if given) into the environment, where every stage and worker process reads it."""
    import math
    import os

    from ..anatomy.mesher import MEMORY_ENV

    value = getattr(args, "max_memory", None)
    if value is None:
        return
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--max-memory {value!r}: must be a number of GiB > 0")
    os.environ[MEMORY_ENV] = repr(value)


def check_workers(args):
    if args.workers < 1:
        raise ValueError(f"--workers {args.workers}: must be an integer >= 1")


#: Seconds of work before a progress bar appears.
DELAY = 1.0
#: Seconds between redraws of a bar while no step finishes (its clock keeps moving).
HEARTBEAT = 1.0
#: A bar without tqdm's estimate of the time left: the stages of a study take very unequal times (the
#: demo's mechanics, one step of twelve, takes three quarters of the run), so a per-step rate misleads.
NO_ESTIMATE = "{l_bar}{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed} elapsed]"


@contextlib.contextmanager
def progress_bar(unit: str, *, quiet: bool = False, total: int | None = None, desc: str | None = None,
                 estimate: bool = True):
    """A tqdm progress bar on stderr; yields ``update(done, total, label=None)``.

    Disabled with ``--quiet``; the library reports progress through a plain
    callback and never prints itself. ``label`` names the step that just finished (shown as
    "<label> done" after ``desc``). ``estimate=False`` shows the elapsed time only, for steps of very
    unequal length. On a terminal the bar is redrawn every :data:`HEARTBEAT` s, so that its clock moves
    during a long step (not into a log file or a pipe, which would get a line a second).
    """
    import threading

    from tqdm import tqdm

    fmt = None if estimate else NO_ESTIMATE
    # delay: only work that takes more than a second shows a bar
    bar = tqdm(total=total, unit=unit, disable=quiet, file=sys.stderr, leave=False, dynamic_ncols=True, delay=DELAY,
               desc=desc, bar_format=fmt)
    prefix = f"{desc}, " if desc else ""

    def shown() -> bool:
        return not bar.disable and time.time() - bar.start_t >= DELAY  # as tqdm's delay: no bar under a second

    def update(done, total=None, label=None):
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        if label:
            bar.set_description_str(f"{prefix}{label} done", refresh=False)
        if shown():
            bar.refresh()

    stop = threading.Event()

    def heartbeat():
        while not stop.wait(HEARTBEAT):
            if shown():
                bar.refresh()

    beat = threading.Thread(target=heartbeat, name="vbfem-progress", daemon=True)
    isatty = getattr(sys.stderr, "isatty", None)
    if not bar.disable and isatty is not None and isatty():  # a terminal: a log file gets no line a second
        beat.start()
    try:
        yield update
    finally:
        stop.set()
        if beat.is_alive():
            beat.join()
        bar.close()


def format_table(rows, columns=None) -> str:
    """Fixed-width text table of the ``columns`` present in ``rows`` ("-" where a row has no value).

    Parameters
    ----------
    rows : sequence of dict
    columns : sequence of (key, header, format), optional
        Default :data:`vbfem.study.columns.SUMMARY`. A text value (a bone-quality word in a numeric
        sweep column) is shown as it is; a flag as yes / no. Columns holding numbers are right-aligned,
        the others left-aligned.
    """
    import math

    from ..study.columns import SUMMARY

    cols = [c for c in (SUMMARY if columns is None else columns) if any(c[0] in r for r in rows)]

    def cell(row, key, fmt):
        v = row.get(key)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, str):
            return v
        return fmt.format(v)

    table = [[h for _, h, _ in cols]] + [[cell(r, k, f) for k, _, f in cols] for r in rows]
    widths = [max(len(line[j]) for line in table) for j in range(len(cols))]
    # numbers right-aligned, text (state names, flags) left-aligned
    numeric = [any(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows)
               for k, _, _ in cols]
    lines = ["  ".join(s.rjust(w) if numeric[j] else s.ljust(w) for j, (s, w) in enumerate(zip(line, widths)))
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe_run(study, result, *, command: str) -> list[str]:
    """Lines that say what a study computed (body, bone, fracture, mesh, treatments, load, warnings),
    printed above its table by ``vbfem demo`` and ``vbfem run``."""
    g, f = study.geometry, study.fracture
    body = f"surface {g.surface}" if g.surface else g.level
    fracture = ("no fracture" if f.kind == "none" else
                f"{f.kind} fracture " + (f"grade {f.grade}" if f.grade else f"height loss {f.height_loss:g}"))
    bmd = study.bone.bmd if isinstance(study.bone.bmd, str) else f"{study.bone.bmd:g} g/cm3"
    mesh = f"{study.mesh.cell_type} mesh {study.mesh.size:g} mm, {result.states[0].mesh.n_cells} cells"
    if g.image:  # image route: the bone comes from the scan's densities, the mesh from its voxels
        info = result.states[0].info
        body = f"image {g.image} (axes {info.get('image_axes', '?')})"
        bmd = f"calibrated ({g.calibration}; {info.get('density_clipped', 0)} voxels clipped)"
        mesh = f"voxel hex8 mesh x{g.coarsen}, {result.states[0].mesh.n_cells} cells"
    lines = [f"{command}: {body}, {bmd} bone, {fracture}; {mesh}"]
    for t in study.treatments:
        extra = f", balloons {t.balloon_volume_ml:g} mL each" if t.kind == "kyphoplasty" else ""
        lines.append(f"  {t.name}: {t.kind}, {t.approach}, {t.volume:g} mL {t.cement} at {t.rate:g} mL/min{extra}")
    how = {"linear": "linear screen (Pistoia 2002; not a failure load: `[load] strength = \"nonlinear\"`)",
           "nonlinear": "peak of the elastic-plastic curve"}.get(study.load.strength, study.load.strength)
    lines.append(f"  load: {study.load.case} test, strength: {how}")
    for row in result.rows:
        if (row.get("cavity_unfilled_pct") or 0.0) > 1.0:
            lines.append(f"  warning: {row['state']}: {row['cavity_unfilled_pct']:.0f} % of the cavity left empty")
    return lines


def files_line(result, out, *, seconds: float) -> str:
    """The closing line of ``vbfem demo`` / ``vbfem run``: time, folder and what is in it, and what
    was not written for want of an optional package (results.parquet without pyarrow)."""
    files = result.files
    kinds = ["results.csv"] + (["results_units.json"] if "units" in files else [])
    kinds += ["results.parquet"] if "parquet" in files else []
    kinds += ["*.vtu"] if any(k.startswith("vtu:") for k in files) else []
    kinds += ["pictures"] if any(k.startswith(("picture:", "plot:")) for k in files) else []
    kinds += ["report.html"] if "report" in files else []
    line = f"{seconds:.1f} s; wrote {out}/ ({', '.join(kinds)})"
    if "parquet" not in files:
        line += "; results.parquet not written: pyarrow is not installed (pip install pyarrow)"
    return line


def sweep_table(rows, keys, *, strength: str = "nonlinear") -> str:
    """The readable table of a sweep: one line per case and state, the case number and its swept keys
    (with their units) on the first line of each case, then the :data:`~vbfem.study.columns.SUMMARY`
    columns. Failed cases (an ``error`` column) are left out: the caller lists them.

    Parameters
    ----------
    rows : sequence of dict
        The sweep's rows (:attr:`vbfem.study.sweep.SweepResult.rows`).
    keys : sequence of str
        The swept key paths (``"treatments[0].volume"``), in order.
    strength : {"nonlinear", "linear", "none"}, default "nonlinear", keyword-only
        The base study's ``load.strength`` (names the strength columns).
    """
    from ..study.columns import column_unit, summary_columns

    head = [("case", "case", "{}")]
    head += [(k, f"{k} {column_unit(k)}".strip(), "{:.4g}") for k in keys]
    shown, last = [], None
    for r in rows:
        if "error" in r:
            continue
        first = r["case"] != last
        last = r["case"]
        shown.append({**r, **({} if first else {k: "" for k, _, _ in head})})
    return format_table(shown, head + list(summary_columns(strength)))
