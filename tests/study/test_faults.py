"""Fault matrix of issue 22: every failure a tester found, as a case that must now fail early and clearly
(limits, paths, output folders, records without density) or stop cleanly (signals, shared folders).

Each fast case is one entry of :data:`FAULTS` (a callable that provokes the fault and the message it
must give); the cases with real processes and signals are below it, the long ones marked slow.
"""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import SIZE_RANGE, count_cells, count_nodes, estimate_memory, mesh_vertebra
from vbfem.cli import main
from vbfem.records import MaterialMap
from vbfem.study.schema import Study, StudyError, load_study
from vbfem.study.sweep import MAX_CASES, Sweep, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[2]


def _cube_stl(path: Path, edge: float) -> Path:
    """A closed cube surface of ``edge`` mm as STL (12 triangles)."""
    import meshio

    pts = edge * np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
                          float)
    quads = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    tris = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    meshio.write(path, meshio.Mesh(pts, [("triangle", np.array(tris))]), file_format="stl", binary=True)
    return path


# ------------------------------------------------------------ the fault cases (each returns nothing; raises)
def mesh_size_below_range(tmp):
    mesh_vertebra(build_vertebra("L1"), size=0.05)


def mesh_larger_than_memory(tmp):
    mesh_vertebra(build_vertebra("L1"), size=0.3, max_memory=14.0)


def study_larger_than_memory(tmp):
    from vbfem.study.pipeline import run_study

    os.environ["VBFEM_MAX_MEMORY"] = "0.05"  # restored by the test
    run_study(Study(name="big", mesh={"size": 1.0}, load={"strength": "linear"}), out=tmp / "out")


def monte_carlo_too_many(tmp):
    (tmp / "s.toml").write_text("version = 1\n[base]\nname = 'b'\n[monte_carlo]\nn = 1000000000\nseed = 1\n"
                                "[monte_carlo.sample]\n'bone.bmd' = { dist = 'uniform', low = 0.08, high = 0.2 }\n")
    load_sweep(tmp / "s.toml")


def grid_too_many(tmp):
    values = ", ".join(str(1.0 + i / 10) for i in range(32))
    keys = ("treatments[0].volume", "treatments[0].rate", "treatments[1].volume", "treatments[1].rate")
    (tmp / "s.toml").write_text("version = 1\n[base]\nname = 'b'\n[grid]\n"
                                + "".join(f"'{k}' = [{values}]\n" for k in keys))
    load_sweep(tmp / "s.toml")


def scaled_surface(tmp):
    from vbfem.anatomy.surface import from_surface

    from_surface(_cube_stl(tmp / "L3.stl", 40_000.0))  # a 40 mm body scaled by 1000


def material_map_without_density(tmp):
    from vbfem.treatment.kyphoplasty import simulate_kyphoplasty

    g = build_vertebra("L1")
    m = mesh_vertebra(g, size=4.0)
    simulate_kyphoplasty(m, MaterialMap.uniform(m.n_cells, 100.0, 0.3), g, volume=4.0, inflation_volume=2.0)


def porous_medium_without_density(tmp):
    from vbfem.fem.primitives import box_mesh
    from vbfem.materials.porous import porous_medium

    m = box_mesh((4.0, 4.0, 4.0), (2, 2, 2))
    porous_medium(m, MaterialMap.uniform(m.n_cells, 100.0, 0.3))


def balloon_length_not_nominal(tmp):
    Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_length": 30.0}])


def balloon_volume_above_capacity(tmp):
    Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "volume": 10.0}])  # 5 mL per 15 mm balloon


def level_not_in_the_table(tmp):
    Study(geometry={"level": "C7"})  # schema checked the type only; build_vertebra refused it


def binary_study_file(tmp):
    (tmp / "study.toml").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe binary")
    load_study(tmp / "study.toml")


#: (case, exception, message): the message names the parameter, the value and what is allowed.
FAULTS = [
    (mesh_size_below_range, ValueError, r"size=0\.05 mm is outside the allowed element sizes \[0\.3, 10\] mm"),
    (mesh_larger_than_memory, ValueError,
     r"size=0\.3 mm gives \d+ hex8 cells, about [\d.]+ GiB .* max_memory = 14 GiB; size >= [\d.]+ mm fits"),
    (study_larger_than_memory, ValueError, r"size=1 mm gives \d+ hex8 cells.*max_memory = 0\.05 GiB"),
    (monte_carlo_too_many, StudyError, rf"monte_carlo\.n = 1000000000: .* at most {MAX_CASES}"),
    (grid_too_many, StudyError, rf"grid: 32 x 32 x 32 x 32 = 1048576 cases; a sweep may have at most {MAX_CASES}"),
    (scaled_surface, ValueError, r"at spacing=0\.5 mm needs [\d.e+]+ voxels; allowed at most .* in mm"),
    (material_map_without_density, ValueError, r"simulate_kyphoplasty .* needs the apparent density"),
    (porous_medium_without_density, ValueError, r"porous_medium .* needs the apparent density"),
    (balloon_length_not_nominal, StudyError,
     r"treatments\[0\]\.balloon_length = 30\.0: must be one of the nominal lengths 10, 15, 20 mm"),
    (balloon_volume_above_capacity, StudyError,
     (r"treatments\[0\]\.volume = 10\.0 \(the default balloon_volume: 5 mL per balloon\): more than the 4 mL "
      r"capacity of a 15 mm balloon .*use balloon_length = 20 mm, or balloon_volume <= 4 mL")),
    (level_not_in_the_table, StudyError, r"geometry\.level = 'C7': must be one of the morphometry table's levels T1, "),
    (binary_study_file, StudyError, r"study file '.*study\.toml': not a TOML text file"),
]


#: Bad inputs the tester's matrix found refused already (a sample of its 99 passes), kept so they cannot regress:
#: (study keys, message).
REFUSED = [
    ({"mesh": {"sise": 2.0}}, r"mesh\.sise: unknown key; allowed keys: cell_type, size"),
    ({"mesh": {"size": float("nan")}}, r"mesh\.size = nan: must be finite"),
    ({"mesh": {"size": "big"}}, r"mesh\.size = 'big': must be a number"),
    ({"mesh": {"cell_type": "hex27"}}, r"mesh\.cell_type = 'hex27': must be one of 'hex8', 'tet4', 'tet10'"),
    ({"bone": {"bmd": "fragile"}}, r"bone\.bmd = 'fragile': must be one of 'normal', 'osteopenic', 'osteoporotic'"),
    ({"fracture": {"kind": "burst2"}}, r"fracture\.kind = 'burst2': unknown fracture kind"),
    ({"treatments": [{"name": "VP", "volume": -1.0}]}, r"treatments\[0\]\.volume = -1\.0: must be a number in"),
    ({"treatments": [{"name": "VP", "cement": "glue"}]}, r"treatments\[0\]\.cement = 'glue': must be one of"),
    ({"treatments": [{"name": "VP"}, {"name": "VP"}]}, r"treatments: name 'VP' is used twice"),
]


@pytest.mark.parametrize("keys, message", REFUSED, ids=[m.split(":")[0].replace("\\", "") for _, m in REFUSED])
def test_bad_study_values_stay_refused(keys, message):
    with pytest.raises(StudyError, match=message):
        Study(**keys)


@pytest.mark.parametrize("case, exc, message", FAULTS, ids=[f[0].__name__ for f in FAULTS])
def test_fault_is_refused_early_with_a_clear_message(tmp_path, monkeypatch, case, exc, message):
    monkeypatch.delenv("VBFEM_MAX_MEMORY", raising=False)
    t0 = time.perf_counter()
    try:
        with pytest.raises(exc, match=message):
            case(tmp_path)
    finally:
        os.environ.pop("VBFEM_MAX_MEMORY", None)
    assert time.perf_counter() - t0 < 30.0  # refused before any large allocation or computation
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------ limits: one source of truth
def test_schema_limits_come_from_the_stages():
    from vbfem.study.schema import MeshSpec
    from vbfem.treatment.balloon import BALLOON_CAPACITY, BALLOON_LENGTHS

    meta = {f.name: f.metadata for f in __import__("dataclasses").fields(MeshSpec)}
    assert (meta["size"]["lo"], meta["size"]["hi"]) == SIZE_RANGE
    for length in BALLOON_LENGTHS:  # every length the schema lets through, the kyphoplasty stage takes
        Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_length": length}])
    # every inflation volume the schema lets through, the inflation takes (its capacity check is the same
    # constant); one above it is refused by the schema, not after the mesh, bone and fracture
    kp = {f.name: f.metadata for f in __import__("dataclasses").fields(type(Study().treatments[1]))}
    assert kp["balloon_volume"]["hi"] == max(BALLOON_CAPACITY.values())
    for length, cap in BALLOON_CAPACITY.items():
        Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_length": length, "balloon_volume": cap}])
        above = rf"balloon_volume = {cap + 0.5:g}: (more than the {cap:g} mL capacity|must be a number in \(0\.0, {cap}\])"
        with pytest.raises(StudyError, match=above):
            Study(treatments=[{"name": "KP", "kind": "kyphoplasty", "balloon_length": length,
                               "balloon_volume": cap + 0.5}])


def test_cell_count_is_exact_and_memory_grows_with_it():
    g = build_vertebra("L1")
    assert count_cells(g, size=2.0) == mesh_vertebra(g, size=2.0).n_cells == 9600
    assert count_cells(g, size=3.0, cell_type="tet4") == mesh_vertebra(g, size=3.0, cell_type="tet4").n_cells
    assert estimate_memory(9600) < estimate_memory(count_cells(g, size=1.0)) < 24


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_node_count_is_exact(cell_type):
    for level, size in (("L1", 4.0), ("L3", 3.0)):
        g = build_vertebra(level)
        assert count_nodes(g, size=size, cell_type=cell_type) == mesh_vertebra(g, size=size,
                                                                               cell_type=cell_type).n_points


def test_verbose_mode_logs_the_estimate_before_building(tmp_path, monkeypatch, caplog):
    """``vbfem -v`` shows INFO records: cells, dofs and memory of the mesh, and the budget, before it is built."""
    import logging

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VBFEM_MAX_MEMORY", raising=False)
    caplog.set_level(logging.INFO, logger="vbfem")
    assert main(["-v", "mesh", "--size", "2", "--max-memory", "3", "--out", "m.vtu"]) == 0
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    line = "memory estimate: size=2 mm gives 9600 hex8 cells, 32304 dofs, about 0.38 GiB (max_memory 3 GiB)"
    assert line in messages
    assert messages.index(line) < next(i for i, m in enumerate(messages) if m.startswith("meshed L1"))


@pytest.mark.parametrize("argv, message", [
    (["mesh", "--size", "0.05"], "size=0.05 mm is outside the allowed element sizes [0.3, 10] mm"),
    (["mesh", "--size", "0.3", "--max-memory", "1"], "more than max_memory = 1 GiB; size >= "),
    (["mesh", "--max-memory", "-1"], "--max-memory -1.0: must be a number of GiB > 0"),
    (["demo", "--out", "/"], "is the file system root"),
    (["demo", "--out", "/proc/vbfem-out"], "cannot write into '/proc'"),
    (["demo", "--size", "0.3", "--max-memory", "2"], "more than max_memory = 2 GiB"),
])
def test_cli_refuses_before_computing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VBFEM_MAX_MEMORY", raising=False)
    t0 = time.perf_counter()
    try:
        assert main(argv) == 2
    finally:
        os.environ.pop("VBFEM_MAX_MEMORY", None)
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert time.perf_counter() - t0 < 20.0
    assert not list(tmp_path.iterdir())  # nothing written


def test_cli_unwritable_out_is_refused_before_computing(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders (the /proc case above covers it)")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["demo", "--out", str(locked / "out")]) == 2
    assert "cannot write into" in capsys.readouterr().err


# ------------------------------------------------------------ paths, rows, records
def test_surface_path_resolves_against_the_study_file(tmp_path, monkeypatch):
    sub = tmp_path / "studies"
    sub.mkdir()
    (sub / "study.toml").write_text("version = 1\n[geometry]\nsurface = 'L3.stl'\n")
    monkeypatch.chdir(tmp_path)
    assert load_study(sub / "study.toml").geometry.surface == str(sub / "L3.stl")
    (sub / "sweep.toml").write_text("version = 1\n[base]\n[base.geometry]\nsurface = 'a.stl'\n"
                                    "[grid]\n'geometry.surface' = ['b.stl']\n")
    sweep = load_sweep(sub / "sweep.toml")
    assert sweep.base.geometry.surface == str(sub / "a.stl")
    assert sweep.studies()[0].geometry.surface == str(sub / "b.stl")


def test_denormal_leakage_is_reported_as_zero():
    from vbfem.study.pipeline import _ml

    assert _ml(1.8e-277) == 0.0 and _ml(-1e-10) == 0.0 and _ml(50.0) == 0.05


def test_fractured_state_round_trips_density_through_vtu(tmp_path):
    import vbfem
    from vbfem.output.vtu import read_vtu, to_vtu

    mesh = mesh_vertebra(build_vertebra("L1"), size=4.0)
    fmesh, fbone = vbfem.apply_fracture(mesh, vbfem.assign_bone(mesh, bmd="osteoporotic"), "wedge", grade=2)
    assert np.isfinite(fbone.density).any()
    _, back = read_vtu(to_vtu(tmp_path / "fractured.vtu", fmesh, materials=fbone))
    np.testing.assert_array_equal(back.density, fbone.density)  # NaN (cortex, endplates) where the map has NaN
    back.require_density("round trip")


def test_staged_folder_is_removed_on_interrupt(tmp_path):
    from vbfem.output.atomic import staged_folder

    for exc in (KeyboardInterrupt, SystemExit):
        with pytest.raises(exc), staged_folder(tmp_path / "out") as stage:
            (stage / "results.csv").write_text("complete-looking\n")
            raise exc()
    assert not list(tmp_path.iterdir())


def _small_sweep():
    return Sweep(Study(name="t", mesh={"size": 4.0}, fracture={"kind": "none"}, treatments=[],
                       load={"strength": "linear"}, output={"vtu": False, "pictures": False, "report": False}))


def test_a_sweep_removes_only_its_own_staging_folders(tmp_path):
    other = tmp_path / "cases" / ".0123456789ab.tmp-999999999-deadbeef"  # another sweep's case, mid-way
    other.mkdir(parents=True)
    (other / "state.vtu").write_text("being written")
    res = run_sweep(_small_sweep(), tmp_path)
    assert res.computed == 1 and not res.failed
    assert other.is_dir() and (other / "state.vtu").is_file()
    assert [p.name for p in (tmp_path / "cases").glob(".*")] == [other.name]


# ------------------------------------------------------------ real signals to real processes
def _start(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("VBFEM_MAX_MEMORY", None)
    return subprocess.Popen([sys.executable, "-m", "vbfem.cli", "-q", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _leftovers(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp-*"))


STUDY = "version = 1\nname = 's'\n[mesh]\nsize = 4.0\n[load]\nstrength = 'linear'\n[output]\nfolder = 'out'\n"
SWEEP = ("version = 1\n[base]\nname = 's'\n[base.mesh]\nsize = 4.0\n[base.load]\nstrength = 'linear'\n"
         "[base.output]\nvtu = false\npictures = false\nreport = false\n"
         "[grid]\n'treatments[0].volume' = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]\n")


@pytest.mark.slow
@pytest.mark.parametrize("command, sig, code", [
    ("demo", signal.SIGINT, 130), ("demo", signal.SIGTERM, 143),
    ("run", signal.SIGINT, 130), ("run", signal.SIGTERM, 143),
    ("sweep", signal.SIGINT, 130), ("sweep", signal.SIGTERM, 143),
])
def test_signal_stops_cleanly(tmp_path, command, sig, code):
    """The signal arrives while the command works (demo: as soon as its staging folder appears, i.e.
    while it writes its outputs); exit 130 / 143, one line on stderr, no traceback, no staging folder."""
    if command == "demo":
        args, ready = ["demo", "--size", "4", "--workers", "1", "--out", "out"], \
            lambda: any(tmp_path.glob(".out.tmp-*"))
    elif command == "run":
        (tmp_path / "study.toml").write_text(STUDY)
        args, ready = ["run", "study.toml"], lambda: any(tmp_path.glob(".out.tmp-*"))
    else:
        (tmp_path / "sweep.toml").write_text(SWEEP)
        args, ready = ["sweep", "sweep.toml", "--out", "out"], lambda: any((tmp_path / "out").glob("cases/.*.tmp-*"))
    proc = _start(args, tmp_path)
    try:
        assert _wait_for(lambda: ready() or proc.poll() is not None, 240), "the command never started working"
        assert proc.poll() is None, f"finished before the signal: {proc.communicate()}"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert ("interrupted" if sig == signal.SIGINT else "terminated") in err
    assert _leftovers(tmp_path) == []


def test_results_are_reproducible_to_the_bit_in_fresh_processes(tmp_path):
    script = ("import sys, vbfem\n"
              "s = vbfem.Study(name='r', mesh={'size': 5.0}, load={'strength': 'linear'}, treatments=[{'name': 'VP'}],"
              " output={'vtu': False, 'pictures': False, 'report': False})\n"
              "vbfem.run_study(s, out=sys.argv[1])\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True, env=env, cwd=tmp_path,
                       timeout=600)
    a, b = ((tmp_path / run / "results.csv").read_bytes() for run in ("a", "b"))
    assert a == b and len(a.splitlines()) == 4  # header, intact, fractured, VP
    assert not math.isnan(float(a.splitlines()[1].split(b",")[1]))


def test_an_interrupted_sweep_writes_the_table_of_its_finished_cases(tmp_path):
    """Ctrl-C after the first finished case (raised from the progress callback, in the main process as a
    signal would be): the interrupt propagates, results.csv holds the finished case(s) only, no staging
    folder remains, and a rerun computes the rest."""
    import csv

    from vbfem.study.schema import Study
    from vbfem.study.sweep import Sweep, run_sweep

    base = Study(name="s", mesh={"size": 6.0}, load={"strength": "linear"},
                 output={"vtu": False, "pictures": False, "report": False})
    sweep = Sweep(base, cases=[{"treatments[0].volume": v} for v in (2.0, 3.0, 4.0, 5.0)])

    def stop(done, total):
        if done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path / "out", progress=stop)
    with open(tmp_path / "out" / "results.csv") as fh:
        finished = {row["case"] for row in csv.DictReader(fh)}
    assert 1 <= len(finished) < 4
    assert _leftovers(tmp_path) == []
    again = run_sweep(sweep, tmp_path / "out")
    assert {r["case"] for r in again.rows} == {0, 1, 2, 3} and 0 < again.computed <= 4 - len(finished)
