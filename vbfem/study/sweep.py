"""Parameter sweeps over studies: grids, case lists and Monte Carlo samples.

A sweep is a base :class:`~vbfem.study.schema.Study` plus a list of cases, each a
set of overrides by key path (``"bone.bmd"``, ``"treatments[0].volume"``,
``"seed"``). Cases come from a full-factorial ``grid``, an explicit ``cases``
list, and/or ``monte_carlo`` sampling of uncertain inputs with a seed.

Every case is identified by the SHA-256 hash of its fully resolved study
(TOML text), so a case whose result folder already exists is not computed
again: a sweep that crashed resumes where it stopped. A case is written to a
temporary folder and renamed into place when complete (atomic on one file
system), so a half-written result never counts as done, and a case that two
workers happened to compute (after a worker was lost) lands exactly once.

Cases that differ only in their treatments share their untreated states: the intact and fractured
bodies and their stiffness and strength (:func:`vbfem.study.pipeline.base_key` of the geometry, mesh,
bone, fracture, load and seed keys) are computed once per sweep, written to
``out/shared/<key>.pkl`` and read by those cases, also on resume; the results are those of
computing them in every case, bit for bit.

Execution goes through an existing engine: local processes
(:class:`concurrent.futures.ProcessPoolExecutor`) by default, or Dask
distributed (a scheduler address, or a local Dask cluster of ``workers``
processes). Results: one tidy table (one row per case and state) as CSV and,
when pyarrow is installed, Parquet.

Sweep file (TOML)::

    version = 1
    study = "study.toml"          # or an inline [base] table with the study keys
    [grid]
    "treatments[0].volume" = [2.0, 4.0, 6.0]
    "bone.bmd" = ["osteopenic", "osteoporotic"]
    [[cases]]
    "fracture.kind" = "crush"
    [monte_carlo]
    n = 20
    seed = 1
    [monte_carlo.sample]
    "bone.bmd" = { dist = "normal", mean = 0.10, sd = 0.015 }
    "treatments[0].start_time" = { dist = "uniform", low = 120.0, high = 480.0 }
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..output.atomic import folder_lock, write_table
from .memory import check_study_memory
from .pipeline import write_units
from .schema import Study, StudyError, dumps_study, load_study, read_toml, resolve_path, with_paths_from

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

SWEEP_SCHEMA_VERSION = 1
_KEY = re.compile(r"^(?P<section>[a-z_]+)(\[(?P<index>\d+)\])?(\.(?P<key>[a-z_]+))?$")
DISTRIBUTIONS = {"normal": ("mean", "sd"), "lognormal": ("mean", "sd"), "uniform": ("low", "high")}
#: Marker file written last into a finished case folder.
DONE = "result.json"
#: Most cases one sweep may have (grid x listed cases x Monte Carlo samples): checked from the counts,
#: before any case is built. A 100-case sweep of the default L1 at 3 mm takes about 160 s on 2 workers,
#: so this is about 4.5 h of such cases; split a larger design into several sweeps.
MAX_CASES = 10_000


def set_key(study: Study, path: str, value) -> Study:
    """A copy of ``study`` with the value at key ``path`` replaced (validated).

    ``path`` is ``"seed"``, ``"name"``, ``"<section>.<key>"`` or ``"treatments[<i>].<key>"``.
    """
    m = _KEY.match(path)
    if m is None:
        raise StudyError(f"{path}: not a key path (use e.g. 'bone.bmd' or 'treatments[0].volume')")
    data = study.to_dict()
    section, index, key = m["section"], m["index"], m["key"]
    if section == "spine":  # omitted from to_dict while off
        data.setdefault("spine", {})
    if key is None:
        if index is not None or section not in ("seed", "name"):
            raise StudyError(f"{path}: not a key path (use e.g. 'bone.bmd' or 'treatments[0].volume')")
        data[section] = value
        return Study.from_dict(data)
    if section not in data or (section == "treatments") != (index is not None):
        raise StudyError(f"{path}: unknown key path")
    target = data[section]
    if index is not None:
        if int(index) >= len(target):
            raise StudyError(f"{path}: the study has only {len(target)} treatment(s)")
        target = target[int(index)]
    target[key] = value
    return Study.from_dict(data)


def get_key(study: Study, path: str):
    """The value at key ``path`` of ``study`` (as :func:`set_key` names it; None for an unset optional key).

    Raises
    ------
    StudyError
        If ``path`` is not a key path of the study.
    """
    m = _KEY.match(path)
    if m is None:
        raise StudyError(f"{path}: not a key path (use e.g. 'bone.bmd' or 'treatments[0].volume')")
    section, index, key = m["section"], m["index"], m["key"]
    if key is None:
        if index is not None or section not in ("seed", "name"):
            raise StudyError(f"{path}: not a key path (use e.g. 'bone.bmd' or 'treatments[0].volume')")
        return getattr(study, section)
    target = getattr(study, section, None)
    if target is None or (section == "treatments") != (index is not None):
        raise StudyError(f"{path}: unknown key path")
    if index is not None:
        if int(index) >= len(target):
            raise StudyError(f"{path}: the study has only {len(target)} treatment(s)")
        target = target[int(index)]
    if not hasattr(target, "__dataclass_fields__") or key not in target.__dataclass_fields__:
        raise StudyError(f"{path}: unknown key path")
    return getattr(target, key)


def study_hash(study: Study) -> str:
    """SHA-256 of the resolved study text: equal hashes mean equal inputs."""
    return hashlib.sha256(dumps_study(study).encode()).hexdigest()


def _sample(spec: dict, n: int, rng, path: str) -> list:
    if not isinstance(spec, dict) or spec.get("dist") not in DISTRIBUTIONS:
        raise StudyError(f"monte_carlo.sample.{path}: needs dist = one of {', '.join(DISTRIBUTIONS)}")
    need = DISTRIBUTIONS[spec["dist"]]
    extra = sorted(set(spec) - {"dist", *need})
    if extra or any(k not in spec for k in need):
        raise StudyError(f"monte_carlo.sample.{path}: dist {spec['dist']!r} takes exactly {', '.join(need)}")
    a, b = (float(spec[k]) for k in need)
    if spec["dist"] == "uniform":
        if not a < b:
            raise StudyError(f"monte_carlo.sample.{path}: low = {a} must be < high = {b}")
        return rng.uniform(a, b, n).tolist()
    if not b > 0:
        raise StudyError(f"monte_carlo.sample.{path}: sd = {b} must be > 0")
    if spec["dist"] == "normal":
        return rng.normal(a, b, n).tolist()
    if not a > 0:
        raise StudyError(f"monte_carlo.sample.{path}: lognormal mean = {a} must be > 0")
    s2 = math.log(1.0 + (b / a) ** 2)  # moments of the lognormal match mean and sd
    return rng.lognormal(math.log(a) - 0.5 * s2, math.sqrt(s2), n).tolist()


@dataclass(frozen=True)
class Sweep:
    """A base study and the cases to run.

    Attributes
    ----------
    base : Study
    cases : tuple of dict
        Overrides of each case, key path -> value; ``{}`` runs the base study.
    """

    base: Study
    cases: tuple = field(default_factory=lambda: ({},))

    def __post_init__(self):
        object.__setattr__(self, "cases", tuple(dict(c) for c in self.cases))
        if not self.cases:
            raise StudyError("sweep: no cases")
        if len(self.cases) > MAX_CASES:
            raise StudyError(f"sweep: {len(self.cases)} cases; a sweep may have at most {MAX_CASES} "
                             "(vbfem.study.sweep.MAX_CASES)")

    def studies(self) -> list[Study]:
        """The resolved study of every case (validates every override)."""
        out = []
        for i, overrides in enumerate(self.cases):
            s = self.base  # the name stays: a case is identified by its content, not its position
            for path, value in overrides.items():
                try:
                    s = set_key(s, path, value)
                except StudyError as exc:
                    raise StudyError(f"case {i}: {exc}") from None
            out.append(s)
        return out

    @classmethod
    def from_dict(cls, data: dict, *, root: Path = Path(".")) -> Sweep:
        """Build from the sweep-file layout (see the module docstring)."""
        allowed = {"version", "study", "base", "grid", "cases", "monte_carlo"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise StudyError(f"{unknown[0]}: unknown key; allowed sweep keys: {', '.join(sorted(allowed))}")
        if data.get("version", SWEEP_SCHEMA_VERSION) != SWEEP_SCHEMA_VERSION:
            raise StudyError(f"version = {data['version']!r}: this vbfem reads sweep schema {SWEEP_SCHEMA_VERSION}")
        if ("study" in data) == ("base" in data):
            raise StudyError("sweep: give exactly one of study = 'file.toml' or a [base] table")
        base = (load_study(root / data["study"]) if "study" in data
                else Study.from_dict(with_paths_from(data["base"], root)))
        grid = data.get("grid", {})
        if not isinstance(grid, dict) or any(not isinstance(v, list) or not v for v in grid.values()):
            raise StudyError("grid: every key must map to a non-empty list of values")
        listed = data.get("cases", [])
        if not isinstance(listed, list) or not all(isinstance(c, dict) for c in listed):
            raise StudyError("cases: must be a list of tables ([[cases]])")
        n_grid = math.prod(len(v) for v in grid.values()) if grid else 0
        if n_grid > MAX_CASES:
            raise StudyError(f"grid: {' x '.join(str(len(v)) for v in grid.values())} = {n_grid} cases; "
                             f"a sweep may have at most {MAX_CASES} (vbfem.study.sweep.MAX_CASES)")
        cases = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else []
        cases += [dict(c) for c in listed]
        if len(cases) > MAX_CASES:
            raise StudyError(f"cases: {len(cases)} cases with the grid; a sweep may have at most {MAX_CASES} "
                             "(vbfem.study.sweep.MAX_CASES)")
        mc = data.get("monte_carlo")
        if mc is not None:
            unknown = sorted(set(mc) - {"n", "seed", "sample"})
            if unknown:
                raise StudyError(f"monte_carlo.{unknown[0]}: unknown key; allowed: n, sample, seed")
            n = mc.get("n")
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise StudyError(f"monte_carlo.n = {n!r}: must be an integer >= 1")
            n_total = n * max(1, len(cases))
            if n_total > MAX_CASES:
                raise StudyError(f"monte_carlo.n = {n!r}: {n_total} cases with the grid and listed cases; a sweep "
                                 f"may have at most {MAX_CASES} (vbfem.study.sweep.MAX_CASES), so n <= "
                                 f"{MAX_CASES // max(1, len(cases))} here")
            seed = mc.get("seed")
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise StudyError(f"monte_carlo.seed = {seed!r}: must be an integer >= 0 (sampling is seeded)")
            rng = np.random.default_rng(seed)
            samples = {p: _sample(spec, n, rng, p) for p, spec in mc.get("sample", {}).items()}
            mc_cases = [{p: v[i] for p, v in samples.items()} for i in range(n)]
            cases = [dict(c, **m) for c in (cases or [{}]) for m in mc_cases]
        # file paths of the cases resolve against the sweep file's folder, as the base study's do
        cases = [{k: resolve_path(v, root) if k == "geometry.surface" and isinstance(v, str) else v
                  for k, v in c.items()} for c in cases]
        sweep = cls(base=base, cases=tuple(cases or [{}]))
        sweep.studies()  # validate every case now, before anything runs
        return sweep


def load_sweep(path) -> Sweep:
    """Read and validate a sweep TOML file (a study file it names is read relative to it)."""
    path = Path(path)
    return Sweep.from_dict(read_toml(path, what="sweep file"), root=path.parent)


# ----------------------------------------------------------------- running


def staging_name(case_name: str, owner: str) -> str:
    """Name of the temporary folder of case ``case_name`` computed for sweep ``owner`` (see :func:`run_case`)."""
    return f".{case_name}.tmp-{owner}-{uuid.uuid4().hex[:8]}"


def sweep_owner() -> str:
    """This sweep's tag in the names of its staging folders: its process id. Two sweeps sharing an
    output folder then remove only their own staging folders."""
    return str(os.getpid())


def build_shared(study_text: str, path: str, owner: str | None = None) -> str:
    """Compute the untreated states of a study (:func:`vbfem.study.pipeline.build_base`) into ``path``,
    unless that file exists; return ``path``. Runs in a worker process, as :func:`run_case` (``owner``
    tags the temporary file)."""
    from .pipeline import build_base, save_base

    if not Path(path).is_file():
        t0 = time.perf_counter()
        save_base(build_base(Study.from_dict(tomllib.loads(study_text))), path, tag=owner or sweep_owner())
        log.info("shared states %s: %.1f s", Path(path).name, time.perf_counter() - t0)
    return path


def run_case(study_text: str, case_dir: str, owner: str | None = None, shared: str | None = None) -> list[dict]:
    """Run one case into ``case_dir`` atomically; return its table rows.

    Runs in a worker process: the study travels as TOML text. The case is
    computed in a sibling temporary folder (``.<case>.tmp-<owner>-<random>``,
    ``owner`` the sweep's :func:`sweep_owner`, default this process's id) that
    is renamed to ``case_dir`` only when complete. If ``case_dir`` appeared
    meanwhile (another worker finished the same case), the duplicate is discarded.
    ``shared``: the file of the case's untreated states (:func:`build_shared`); one that cannot be
    read, or is of other states, is ignored and the case computes them itself.
    """
    from .pipeline import base_key, load_base, run_study
    from .schema import Study

    final = Path(case_dir)
    if (final / DONE).is_file():
        return json.loads((final / DONE).read_text())["rows"]
    data = tomllib.loads(study_text)
    tmp = final.with_name(staging_name(final.name, owner or sweep_owner()))
    tmp.mkdir(parents=True)
    try:
        study = Study.from_dict(data)  # as hashed: its provenance carries the case's input hash
        t0 = time.perf_counter()
        base = load_base(shared, key=base_key(study)) if shared is not None else None
        result = run_study(study, out=tmp, base=base)
        rows = [dict(r) for r in result.rows]
        payload = {"rows": rows, "input_hash": hashlib.sha256(study_text.encode()).hexdigest(),
                   "seconds": time.perf_counter() - t0}
        (tmp / "study.toml").write_text(study_text)
        (tmp / DONE).write_text(json.dumps(payload, indent=1, default=float))
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / DONE).is_file():
                raise
            log.info("case %s was completed by another worker; discarding the duplicate", final.name)
            shutil.rmtree(tmp, ignore_errors=True)
        return rows
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass(frozen=True)
class SweepResult:
    """Rows of all cases (one per case and state) and where they were written.

    ``failed`` lists the indices of cases that raised; they have one row with
    an ``error`` column, are not marked done and run again on the next call.
    """

    rows: tuple
    csv: Path
    parquet: Path | None
    computed: int
    reused: int
    failed: tuple = ()


def run_sweep(sweep: Sweep, out, *, scheduler: str | None = None, workers: int | None = None,
              progress=None, share_states: bool = True) -> SweepResult:
    """Run every case of ``sweep`` into folder ``out`` and write the tidy table.

    Parameters
    ----------
    sweep : Sweep
    out : path
        Output folder; each case goes to ``out/cases/<hash12>/``.
    scheduler : str, optional, keyword-only
        Address of a running Dask scheduler (``"tcp://host:8786"``).
    workers : int, optional, keyword-only
        Start a local Dask cluster of this many single-threaded worker
        processes (ignored with ``scheduler``). With neither, cases run on a
        local process pool of one process per CPU.
    progress : callable, optional, keyword-only
        Called as ``progress(done, total)`` after every finished case.
    share_states : bool, keyword-only
        Compute the untreated states once for the cases to run that share them (see the module
        docstring; ``out/shared/``, a pickle per set: keep a sweep folder as private as its code).
        False computes them in every case, as before; the results are the same.

    Returns
    -------
    SweepResult
    """
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers = {workers!r}: must be an integer >= 1")
    out = Path(out).resolve()  # workers of a remote scheduler get absolute case folders
    studies = sweep.studies()
    texts = [dumps_study(s) for s in studies]
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    if scheduler is not None:
        check_scheduler(scheduler)  # before anything is written
    else:  # the cases running at once on this machine (a local pool of one process per CPU, or `workers`)
        check_study_memory(studies, processes=min(len(studies), workers or os.cpu_count() or 1))
    with folder_lock(out):  # a second live sweep (or run) into this folder is refused, naming this process
        (out / "cases").mkdir(parents=True, exist_ok=True)
        dirs = [out / "cases" / h[:12] for h in hashes]
        first = {}
        for i, d in enumerate(dirs):
            first.setdefault(d, i)
        todo = [i for i, d in enumerate(dirs) if first[d] == i and not (d / DONE).is_file()]
        log.info("sweep: %d case(s), %d already done, %d to run", len(dirs), len(dirs) - len(todo), len(todo))
        results: dict[int, list[dict]] = {}
        failed: dict[int, str] = {}
        done = len(dirs) - len(todo)
        if progress:
            progress(done, len(dirs))
        owner = sweep_owner()
        shared = _shared_plan(studies, texts, todo, out / "shared") if share_states else {}
        interrupted = None
        try:
            if todo:
                for i, outcome in _execute(todo, texts, dirs, scheduler=scheduler, workers=workers, owner=owner,
                                           shared=shared):
                    if isinstance(outcome, Exception):
                        failed[i] = f"{type(outcome).__name__}: {outcome}"
                        log.error("case %d (%s) failed: %s", i, hashes[i][:12], failed[i])
                    else:
                        results[i] = outcome
                    done += 1
                    if progress:
                        progress(done, len(dirs))
        except BaseException as exc:  # noqa: BLE001 -- Ctrl-C, SIGTERM: the table of the cases finished so far is written, then it is re-raised
            interrupted = exc
        finally:  # also on Ctrl-C: this sweep's staging folders (of a worker that died mid-case), never another's
            for stale in (out / "cases").glob(f".*.tmp-{owner}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            for stale in (out / "shared").glob(f".*.tmp-{owner}-*"):
                stale.unlink(missing_ok=True)
        rows, failed_cases, reused = [], [], 0
        for i, d in enumerate(dirs):
            head = {"case": i, "case_id": hashes[i][:12], **sweep.cases[i]}
            src = first[d]  # a case identical to an earlier one shares its result
            if src in failed:
                rows.append({**head, "error": failed[src]})
                failed_cases.append(i)
                continue
            if src not in results and not (dirs[src] / DONE).is_file():
                continue  # interrupted before this case finished: a rerun computes it
            reused += not (src == i and i in results)
            case_rows = results[src] if src in results else json.loads((d / DONE).read_text())["rows"]
            rows += [{**head, **r} for r in case_rows]
        csv_path, pq_path = write_table(rows, out)
        write_units(list(dict.fromkeys(k for r in rows for k in r)), out)
        _write_leakage(rows, out)
        if interrupted is not None:
            log.warning("sweep interrupted: %s holds the %d case(s) finished; run the sweep again to compute the rest",
                        csv_path, len({r["case"] for r in rows}))
            raise interrupted
        return SweepResult(tuple(rows), csv_path, pq_path, computed=len(results), reused=reused,
                           failed=tuple(failed_cases))


def _write_leakage(rows, out: Path) -> Path | None:
    """``out/leakage_risk.csv``: leak probability (95 % Wilson interval), mean leaked mL per outlet class and
    median first leak per treated state over the cases (:func:`vbfem.treatment.leakage.leakage_table`)."""
    import csv

    from ..treatment.leakage import leakage_table

    table = leakage_table(rows)
    if not table:
        return None
    path = out / "leakage_risk.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    return path


def _shared_plan(studies, texts, todo, folder: Path) -> dict:
    """``{file: (study text, [case indices])}``: the untreated states to compute once (or read again) for
    the cases to run, one file per :func:`~vbfem.study.pipeline.base_key` that two or more of them share
    or whose file an earlier run left."""
    from .pipeline import base_key

    groups: dict[str, list[int]] = {}
    for i in todo:
        if studies[i].treatments:  # a case without treatments has nothing else to compute
            groups.setdefault(base_key(studies[i]), []).append(i)
    plan = {}
    for key, cases in groups.items():
        path = folder / f"{key[:16]}.pkl"
        if len(cases) > 1 or path.is_file():
            plan[path] = (texts[cases[0]], cases)
    if plan:
        folder.mkdir(exist_ok=True)
        log.info("sweep: %d case(s) share %d set(s) of untreated states", sum(len(c) for _, c in plan.values()),
                 len(plan))
    return plan


def _drive(submit, wait_first, todo, texts, dirs, owner, shared):
    """Yield ``(index, rows or exception)`` as cases finish: each set of ``shared`` states first
    (:func:`build_shared`), then its cases; the other cases at once. ``submit(fn, *args, key=)`` returns a
    future, ``wait_first(futures)`` those done. If a set fails, its cases compute their states themselves."""
    def case(i, path):
        return submit(run_case, texts[i], str(dirs[i]), owner, path, key=f"vbfem-case-{dirs[i].name}")

    grouped = {i for _, cases in shared.values() for i in cases}
    # the Dask key names the file with its folder: two sweeps on one scheduler have their own tasks
    pending = {submit(build_shared, text, str(path), owner,
                      key=f"vbfem-shared-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}"): ("shared", path)
               for path, (text, _) in shared.items()}
    pending.update({case(i, None): ("case", i) for i in todo if i not in grouped})
    while pending:
        for fut in wait_first(list(pending)):
            kind, what = pending.pop(fut)
            if kind == "case":
                yield what, _outcome(fut)
                continue
            outcome = _outcome(fut)
            path = None
            if isinstance(outcome, Exception):
                log.warning("shared states %s failed (%s: %s); their cases compute them", what.name,
                            type(outcome).__name__, outcome)
            else:
                path = outcome
            pending.update({case(i, path): ("case", i) for i in shared[what][1]})


def _execute(todo, texts, dirs, *, scheduler, workers, owner, shared=None):
    """Yield ``(index, rows)`` as cases finish, on Dask or on local processes.

    On an interrupt (KeyboardInterrupt or another BaseException) the local cases not started are
    cancelled and the worker processes stopped, instead of running every case to its end.
    """
    shared = shared or {}
    if scheduler is not None or workers is not None:
        yield from _execute_dask(todo, texts, dirs, scheduler=scheduler, workers=workers, owner=owner, shared=shared)
        return
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(mp_context=ctx)
    try:
        yield from _drive(lambda fn, *args, key: pool.submit(fn, *args),
                          lambda fs: wait(fs, return_when=FIRST_COMPLETED).done, todo, texts, dirs, owner, shared)
    except BaseException:
        for child in mp.active_children():  # the pool's workers (spawned by this process)
            child.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _outcome(fut):
    """The rows of a finished future, or the exception it raised."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a failed case is reported, the sweep goes on
        return exc


#: Seconds to wait for a Dask scheduler to answer.
SCHEDULER_TIMEOUT = 5.0


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError("Dask distributed is needed for --scheduler/--workers: pip install 'dask[distributed]'",
                          name="distributed") from None
    return distributed


def _connect(scheduler: str):
    try:
        return _distributed().Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT:g}s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"scheduler = {scheduler!r}: no Dask scheduler answers there ({exc})") from None


def check_scheduler(scheduler: str) -> None:
    """ValueError naming ``scheduler`` unless a Dask scheduler answers there within :data:`SCHEDULER_TIMEOUT`.

    The connection runs in a daemon thread with an overall deadline, since a
    server that accepts the connection but does not speak Dask can stall it.
    """
    import threading

    outcome = []

    def probe():
        try:
            _connect(scheduler).close()
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(3 * SCHEDULER_TIMEOUT)
    if not outcome:
        raise ValueError(f"scheduler = {scheduler!r}: no Dask scheduler answers there (no reply within "
                         f"{3 * SCHEDULER_TIMEOUT:g} s)")
    if outcome[0] is not None:
        raise outcome[0]


def _execute_dask(todo, texts, dirs, *, scheduler, workers, owner, shared):
    _distributed()
    from distributed import Client, LocalCluster, wait

    cluster = None
    if scheduler is not None:
        client = _connect(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        yield from _drive(lambda fn, *args, key: client.submit(fn, *args, key=key),
                          lambda fs: wait(fs, return_when="FIRST_COMPLETED").done, todo, texts, dirs, owner, shared)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
