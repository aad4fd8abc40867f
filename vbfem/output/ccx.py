"""Run CalculiX (``ccx``) on decks from :mod:`vbfem.output.inp` and read its ``.dat`` tables.

Used to cross-check :func:`vbfem.solve_static` against an independent code.

Precision
---------
CalculiX 2.20 prints ``.dat`` tables with seven significant digits
(Fortran ``1p,e13.6``), so each printed value carries a relative rounding
error of at most 5e-7. The platen reaction force is read from the
``TOTALS=YES`` line, which CalculiX sums in double precision before printing,
so it is good to 5e-7 of its largest component. The platen moment has no
CalculiX total: it is summed here from the per-node reactions, each rounded
to seven digits; its error is a sum of independent roundings, typically
~1e-7 of the moment, but not bounded by 5e-7. A cavity's volume change and
pressure are single printed values, each good to 5e-7.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from ..records import LoadCase, MaterialMap, Mesh
from .inp import cavity_nodes, deck_cavities, platen_nodes, to_inp

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with `apt-get install calculix-ccx` (Debian / Ubuntu) and make sure `ccx` is on PATH"

_HEADER = re.compile(
    r"^\s*(?P<quantity>[A-Za-z][A-Za-z .]*?)\s*\((?P<columns>[^)]*)\)\s+for set\s+(?P<set>\S+)"
    r"\s+and time\s+(?P<time>\S+)\s*$"
)
_FORTRAN_EXP = re.compile(r"(?<=[0-9.])([+-]\d{2,})$")  # 1.234567-100: E dropped for 3-digit exponents


@dataclass(frozen=True)
class CcxRun:
    """A finished CalculiX run.

    Attributes
    ----------
    jobname : str
        Job name (the deck's file name without ``.inp``).
    workdir : Path
        Directory ccx ran in.
    dat, frd, log : Path
        The ``.dat`` (print output) and ``.frd`` (field output) files and the
        captured console output (``<job>.log``).
    seconds : float
        Wall-clock time of the run.
    warnings : tuple of str
        ``*WARNING`` lines of the console output.
    """

    jobname: str
    workdir: Path
    dat: Path
    frd: Path
    log: Path
    seconds: float
    warnings: tuple[str, ...]


class CavityResponse(NamedTuple):
    """A fluid-filled cavity's state computed by CalculiX (:mod:`vbfem.output.inp`, module notes).

    Attributes
    ----------
    volume_change : float
        ``b^T u``: dof 1 of the cavity's auxiliary node, mm³.
    pressure : float
        Fluid pressure (MPa, compression positive): minus the force of the cavity's spring
        (``RF`` of dof 1, ``K_f dV / V``).
    """

    volume_change: float
    pressure: float


class PlatenResponse(NamedTuple):
    """Reaction and motion of a platen computed by CalculiX.

    Attributes
    ----------
    reaction : ndarray, shape (6,)
        Force (N) and moment about the reference point (N·mm) that the platen
        exerts on its nodes, as :attr:`vbfem.records.Result.platen_reaction`.
    motion : ndarray, shape (6,)
        Translation (mm) and rotation (rad) of the reference point, as
        :attr:`vbfem.records.Result.platen_motion`.
    cavities : mapping of str to CavityResponse
        Each fluid-filled cavity of the deck, by name (empty without cavities).
    """

    reaction: np.ndarray
    motion: np.ndarray
    cavities: Mapping = MappingProxyType({})


def _tail(text: str, n: int = 15) -> str:
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "*ERROR" in ln.upper()]
    tail = lines[-n:]
    shown = [ln for ln in errors[:10] if ln not in tail] + tail
    return "\n".join("    " + ln for ln in shown)


def run_ccx(inp_path, *, workdir=None, timeout: float = 600.0, threads: int = 2, executable: str = "ccx") -> CcxRun:
    """Run ``ccx -i <job>`` on an input deck.

    Parameters
    ----------
    inp_path : str or Path
        The deck, ``<job>.inp``.
    workdir : str or Path, optional, keyword-only
        Directory to run in (created if needed; the deck is copied there).
        Default: the deck's directory. Old ``.dat`` / ``.frd`` / ``.sta``
        files of the job are removed first.
    timeout : float, keyword-only
        Seconds before ccx is killed.
    threads : int, keyword-only
        ``OMP_NUM_THREADS`` for ccx.
    executable : str, keyword-only
        Name or path of the CalculiX executable.

    Returns
    -------
    CcxRun
        Paths of the result files and the run time.

    Raises
    ------
    FileNotFoundError
        If the deck or the ccx executable is missing.
    RuntimeError
        If ccx exits with an error, times out, prints ``*ERROR`` or writes no
        ``.dat`` file; the message ends with the tail of ccx's output.
    """
    inp_path = Path(inp_path)
    if inp_path.suffix.lower() != ".inp":
        raise ValueError(f"the deck must be named <job>.inp, got {inp_path.name!r}")
    if not inp_path.is_file():
        raise FileNotFoundError(f"input deck {inp_path} does not exist")
    exe = shutil.which(executable)
    if exe is None:
        raise FileNotFoundError(f"CalculiX executable {executable!r} not found; {INSTALL_HINT}")
    job = inp_path.stem
    wd = inp_path.parent if workdir is None else Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    deck = wd / inp_path.name
    if not (deck.exists() and deck.samefile(inp_path)):
        shutil.copyfile(inp_path, deck)
    for ext in (".dat", ".frd", ".sta", ".cvg", ".12d"):
        (wd / (job + ext)).unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(int(threads)))
    log.info("running %s -i %s in %s", exe, job, wd)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([exe, "-i", job], cwd=wd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else (exc.output or "")
        raise RuntimeError(f"ccx on {deck} did not finish within {timeout:g} s; last output:\n{_tail(out)}") from None
    seconds = time.perf_counter() - t0
    out = proc.stdout or ""
    log_path = wd / f"{job}.log"
    log_path.write_text(out, encoding="utf-8")
    dat = wd / f"{job}.dat"
    problems = []
    if proc.returncode < 0:
        problems.append(f"killed by signal {-proc.returncode}")
    elif proc.returncode != 0:
        problems.append(f"exit code {proc.returncode}")
    if "*ERROR" in out.upper():
        problems.append("*ERROR in the output")
    if "Job finished" not in out:
        problems.append("no 'Job finished'")
    if not dat.is_file():
        problems.append(f"no {dat.name}")
    if problems:
        raise RuntimeError(f"ccx failed on {deck} ({'; '.join(problems)}); full output in {log_path}; "
                           f"tail:\n{_tail(out)}")
    warnings = tuple(ln.strip() for ln in out.splitlines() if "*WARNING" in ln.upper())
    if warnings:
        log.warning("ccx printed %d warning(s) for %s, first: %s", len(warnings), deck, warnings[0])
    log.info("ccx finished %s in %.2f s", job, seconds)
    return CcxRun(job, wd, dat, wd / f"{job}.frd", log_path, seconds, warnings)


def _floats(tokens: list[str]) -> np.ndarray:
    try:
        return np.array(tokens, dtype=float)
    except ValueError:
        return np.array([float(_FORTRAN_EXP.sub(r"E\1", t)) for t in tokens])


def read_dat(path) -> dict[tuple[str, str], np.ndarray]:
    """Tables of a CalculiX ``.dat`` file.

    Parameters
    ----------
    path : str or Path
        The ``.dat`` file.

    Returns
    -------
    dict
        Keyed by ``(quantity, set)`` as ccx prints them, e.g.
        ``("displacements", "VBFEM_P1_REF")``, ``("forces", "TOP")`` or
        ``("total force", "TOP")`` (set names upper case). Node tables are
        structured arrays with fields ``node`` (1-based CalculiX number) and
        ``value`` (one row per node: mm for displacements, N for forces);
        element tables have fields ``element``, ``point`` and ``value``;
        totals are plain arrays (e.g. 3 force components in N). When the file
        holds several steps or increments, the last table of each key is kept.

    Notes
    -----
    Values carry the seven significant digits ccx prints.
    """
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    tables: dict[tuple[str, str], np.ndarray] = {}
    i = 0
    while i < len(lines):
        m = _HEADER.match(lines[i])
        i += 1
        if m is None:
            continue
        quantity, set_name = m["quantity"].strip().lower(), m["set"]
        columns = [c.strip() for c in m["columns"].split(",")]
        rows = []
        while i < len(lines) and not lines[i].strip():
            i += 1
        while i < len(lines) and lines[i].strip() and _HEADER.match(lines[i]) is None:
            rows.append(lines[i].split())
            i += 1
        if not rows:
            continue
        width = {len(r) for r in rows}
        if len(width) != 1:
            raise ValueError(f"{path}: ragged table {quantity!r} for set {set_name}: row lengths {sorted(width)}")
        data = _floats([t for r in rows for t in r]).reshape(len(rows), -1)
        if quantity.startswith("total"):
            table = data[-1]
        elif columns and columns[0].lower().startswith("elem"):
            n_val = data.shape[1] - 2
            table = np.zeros(len(rows), [("element", np.int64), ("point", np.int64), ("value", float, (n_val,))])
            table["element"], table["point"], table["value"] = data[:, 0], data[:, 1], data[:, 2:]
        else:
            n_val = data.shape[1] - 1
            table = np.zeros(len(rows), [("node", np.int64), ("value", float, (n_val,))])
            table["node"], table["value"] = data[:, 0], data[:, 1:]
        tables[(quantity, set_name)] = table
    return tables


def _get(tables, key, dat):
    try:
        return tables[key]
    except KeyError:
        raise KeyError(f"{dat} has no table {key}; found {sorted(tables)}") from None


def ccx_platen_reaction(mesh: Mesh, materials: MaterialMap, load: LoadCase, platen_name: str, workdir, *,
                        jobname: str = "vbfem_platen", timeout: float = 600.0, threads: int = 2,
                        cavities=None) -> PlatenResponse:
    """Solve ``load`` with CalculiX and return one platen's reaction and motion.

    Parameters
    ----------
    mesh, materials, load
        As for :func:`vbfem.solve_static`.
    platen_name : str
        Name of a platen of ``load``.
    workdir : str or Path
        Directory for the deck and the ccx output (created if needed).
    jobname : str, keyword-only
        Deck name ``<jobname>.inp``.
    timeout : float, keyword-only
        Seconds before ccx is killed.
    threads : int, keyword-only
        ``OMP_NUM_THREADS`` for ccx.
    cavities : sequence of Cavity or None, keyword-only
        Fluid-filled cavities of the deck, as :func:`vbfem.output.inp.to_inp` (None: those
        ``materials`` declares, e.g. a spinal unit's fluid nuclei).

    Returns
    -------
    PlatenResponse
        ``(reaction, motion, cavities)``: the force (N) and moment about the reference
        point (N·mm) the platen exerts on its nodes, and the reference point's
        translation (mm) and rotation (rad), with the sign conventions of
        :attr:`vbfem.records.Result.platen_reaction` and ``platen_motion``; each
        cavity's volume change and pressure (:class:`CavityResponse`).

    Notes
    -----
    CalculiX reports the internal force ``K u`` as ``RF`` of the tied
    (dependent) nodes and nothing at the reference node, so the reaction is
    ``sum_i (RF_i - f_i)`` and ``sum_i r_i x (RF_i - f_i)`` over the platen
    nodes, with ``f_i`` the nodal forces applied to them. The force uses
    ccx's double-precision total; see the module notes on precision.
    """
    platen = load.platen(platen_name)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cavities = deck_cavities(mesh, materials) if cavities is None else tuple(cavities)  # to_inp says a drop
    deck = to_inp(workdir / f"{jobname}.inp", mesh, materials, load, title=f"vbfem platen {platen_name!r}",
                  cavities=cavities)
    run = run_ccx(deck, timeout=timeout, threads=threads)
    tables = read_dat(run.dat)
    pn = platen_nodes(mesh, load)[platen_name]
    u_ref = _get(tables, ("displacements", pn.ref_set), run.dat)["value"][0]
    u_rot = _get(tables, ("displacements", pn.rot_set), run.dat)["value"][0]
    rf = _get(tables, ("forces", pn.nodes_set), run.dat)
    total = _get(tables, ("total force", pn.nodes_set), run.dat)
    nodes = rf["node"] - 1
    if not np.array_equal(np.sort(nodes), platen.nodes):
        raise RuntimeError(f"{run.dat}: the reactions of set {pn.nodes_set} do not cover platen {platen_name!r}")
    f = np.bincount(load.force_dofs, weights=load.force_values, minlength=mesh.n_dofs).reshape(-1, 3)
    reaction = rf["value"] - f[nodes]
    arm = mesh.points[nodes] - platen.ref_point
    force = total - f[platen.nodes].sum(axis=0)
    moment = np.cross(arm, reaction).sum(axis=0)
    fluid = {}
    for name, cn in cavity_nodes(mesh, load, cavities).items():
        dv = float(_get(tables, ("displacements", cn.node_set), run.dat)["value"][0][0])
        spring = float(_get(tables, ("forces", cn.node_set), run.dat)["value"][0][0])
        fluid[name] = CavityResponse(dv, -spring)
    return PlatenResponse(np.concatenate([force, moment]), np.concatenate([u_ref, u_rot]), MappingProxyType(fluid))
