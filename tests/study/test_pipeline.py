"""A whole study end to end (run_study) and the command line on top of it (issue 7)."""

import csv
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import vbfem
from vbfem.cli import main
from vbfem.output.vtu import read_vtu
from vbfem.study.pipeline import run_study, table_columns
from vbfem.study.schema import Study, load_study

CCX_MISSING = "CalculiX `ccx` is not on PATH: install it with `apt-get install calculix-ccx` (CI does)."


def _study(**kw):
    """Coarse L1 (about 1000 hex8 cells): osteoporotic, grade-2 wedge, bipedicular VP and KP (the defaults)."""
    return Study(name="e2e", mesh={"size": 4.0}, **kw)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    return run_study(_study(), out=out), out


def test_states_rows_and_physics(e2e):
    res, _ = e2e
    assert [s.name for s in res.states] == ["intact", "fractured", "VP", "KP"]
    rows = {r["state"]: r for r in res.rows}
    # all states share one mesh topology
    assert len({s.mesh.n_cells for s in res.states}) == 1
    assert rows["intact"]["stiffness_pct_intact"] == pytest.approx(100.0)
    assert rows["fractured"]["stiffness"] < 0.8 * rows["intact"]["stiffness"]
    assert rows["fractured"]["anterior_height_mm"] < 0.8 * rows["intact"]["anterior_height_mm"]
    for name in ("VP", "KP"):
        r = rows[name]
        assert r["cement_ml"] == 4.0 and r["fill_pct"] > 0
        assert r["stiffness"] > rows["fractured"]["stiffness"]  # cement stiffens the fractured body
        k_i, k_f = rows["intact"]["stiffness"], rows["fractured"]["stiffness"]
        assert r["stiffness_pct_restored"] == pytest.approx(100 * (r["stiffness"] - k_f) / (k_i - k_f))
    # kyphoplasty lifts the endplate; vertebroplasty keeps the recovery of the rested body (31 % of the
    # loss, Wegrzyn 2011) and the (negligible) lift of the injection pressure
    fr = rows["fractured"]
    vp_lift = fr["rested_anterior_height_mm"] - fr["anterior_height_mm"] + rows["VP"]["injection_lift_mm"]
    assert rows["VP"]["height_restored_mm"] == pytest.approx(vp_lift)
    assert rows["KP"]["height_restored_mm"] > 2 * rows["VP"]["height_restored_mm"] > 0
    assert rows["KP"]["anterior_height_mm"] > rows["VP"]["anterior_height_mm"]
    cols = table_columns(res.rows)
    assert cols[:3] == ["state", "stiffness", "strength"] and "fill_pct" in cols


def test_outputs_are_written_and_repeatable(e2e, tmp_path):
    res, out = e2e
    for name in ("study.toml", "provenance.json", "results.csv", "report.html", "cement.png", "fracture.png",
                 "intact.vtu", "fractured.vtu", "VP.vtu", "KP.vtu", "injection_VP.png", "stress_KP.png",
                 "deformed_fractured.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["study"]["mesh"]["size"] == 4.0 and len(prov["input_hash"]) == 64
    # every stage's time, the output stage's included, and the total over them
    stages = {"geometry", "mesh", "bone", "fracture", "VP", "KP", "mechanics", "outputs"}
    assert set(prov["timings_s"]) == stages and prov["timings_s"]["outputs"] > 0
    assert prov["total_s"] >= sum(prov["timings_s"].values()) * 0.99
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "stiffness" in html
    # the report (issue 23): the main columns with units and readable digits, the others in a second table,
    # a caption per picture, the study as TOML, the provenance; the curves of every state on one plot
    assert "<th>stiffness N/mm</th>" in html and "<td>middle_height_mm</td><td>mm</td>" in html
    # the other columns a line each, a column per state: no table wider than the main one
    assert "<th>column</th><th>unit</th><th>intact</th><th>fractured</th><th>VP</th><th>KP</th>" in html
    assert max(head.count("<th>") for head in re.findall(r"<thead>.*?</thead>", html)) <= 11
    assert f"<td>{res.rows[0]['stiffness']:.0f}</td>" in html and "<td>stiffness_pct_intact</td>" not in html
    assert '<pre>version = 1\nname = &quot;e2e&quot;' in html and "# balloon_volume = 2.0" in html
    assert html.count("<figcaption>") >= html.count("data:image/png") and "percentiles 2 to 98" in html
    captions = dict(re.findall(r"<figcaption>(\w+): minimum principal strain(.*?)</figcaption>", html))
    assert sorted(captions) == ["KP", "VP", "fractured", "intact"]  # the cement outline only where there is cement
    assert ["outlines the cement" in captions[n] for n in ("intact", "fractured", "VP", "KP")] == [0, 0, 1, 1]
    assert "<h2>Provenance</h2>" in html and "<td>input_hash</td>" in html
    assert "Compression to failure of every state (intact, fractured, VP, KP)" in html
    assert (out / "load_displacement.png").stat().st_size > 0
    # the VTU of a state carries its materials and the solved fields
    mesh, mats = read_vtu(out / "VP.vtu")
    vp = res.state("VP")
    assert np.allclose(mats.E, vp.materials.E) and "superior" in mesh.node_sets
    # the resolved study written beside the results repeats the run
    again = run_study(load_study(out / "study.toml"))
    # (to rounding: parallel assembly sums in a thread-dependent order)
    assert [r["stiffness"] for r in again.rows] == pytest.approx([r["stiffness"] for r in res.rows], rel=1e-9)
    assert [r["fill_pct"] for r in again.rows[2:]] == pytest.approx([r["fill_pct"] for r in res.rows[2:]], rel=1e-9)


def test_every_state_round_trips_through_its_vtu(e2e):
    """Issue 22: ``read_vtu`` gives back every mesh and material field the study wrote, bit for bit, for
    every state (NaN density of shell, endplate and cement cells included), so a read state can be
    treated again (``require_density`` passes)."""
    res, out = e2e
    for state in res.states:
        mesh, mats = read_vtu(out / f"{state.name}.vtu")
        np.testing.assert_array_equal(mesh.points, state.mesh.points)
        np.testing.assert_array_equal(mesh.cells, state.mesh.cells)
        assert mesh.cell_type == state.mesh.cell_type
        for written, back in ((state.mesh.node_sets, mesh.node_sets), (state.mesh.cell_sets, mesh.cell_sets)):
            assert {k for k, v in written.items() if len(v)} == set(back), state.name
            for k in back:
                np.testing.assert_array_equal(back[k], np.unique(written[k]), err_msg=f"{state.name}: {k}")
        for k, v in state.mesh.cell_data.items():
            np.testing.assert_array_equal(mesh.cell_data[k], v, err_msg=f"{state.name}: {k}")
        m = state.materials
        assert m.stiffness is None  # per-cell matrices (spinal-unit annulus) have no VTU field
        for name in ("E", "nu", "tissue", "density", "yield_stress", "anisotropy"):
            a, b = getattr(m, name), getattr(mats, name)
            assert (a is None) == (b is None), f"{state.name}: {name}"
            if a is not None:
                np.testing.assert_array_equal(b, a, err_msg=f"{state.name}: {name}")
        mats.require_density(f"{state.name} read back")


def test_failure_leaves_nothing_written(tmp_path, monkeypatch):
    from vbfem.output import viz
    from vbfem.study.schema import StudyError

    out = tmp_path / "out"
    # the cement sets at 20 min, before 2 mL per needle at 3 mL/min from 1170 s on are in (1210 s):
    # refused when the study is built, before anything runs
    with pytest.raises(StudyError, match=r"treatments\[0\]\.start_time = 1170\.0: .* sets \(1200 s\); start by 1160 s"):
        _study(treatments=[{"name": "VP", "start_time": 1170.0}])
    # a failure while the outputs are written (here the stress pictures) leaves no file behind
    def broken(*args, **kw):
        raise RuntimeError("renderer lost")

    monkeypatch.setattr(viz, "plot_cuts", broken)
    with pytest.raises(RuntimeError, match="renderer lost"):
        run_study(_study(treatments=[{"name": "VP"}]), out=out)
    assert not list(tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match="missing.stl"):
        run_study(_study(geometry={"surface": str(tmp_path / "missing.stl")}), out=out)
    assert not out.exists()


def test_cli_demo_write_study_then_run(tmp_path, capsys):
    study = tmp_path / "demo.toml"
    assert main(["demo", "--write-study", str(study)]) == 0
    s = load_study(study)
    assert s.name == "demo" and s.geometry.level == "L1" and s.bone.bmd == "osteoporotic"
    assert s.fracture.kind == "wedge" and s.fracture.grade == 2
    vp, kp = s.treatments
    assert (vp.kind, vp.approach, vp.volume) == ("vertebroplasty", "bipedicular", 4.0)
    assert (kp.kind, kp.approach, kp.volume, kp.balloon_volume_ml) == ("kyphoplasty", "bipedicular", 4.0, 2.0)
    text = study.read_text().replace("size = 2.0", "size = 4.0").replace("pictures = true", "pictures = false")
    study.write_text(text.replace("report = true", "report = false"))
    capsys.readouterr()
    assert main(["-q", "run", str(study)]) == 0
    printed = capsys.readouterr().out
    # the demo's readable table (issue 23), not the raw columns
    lines = printed.splitlines()
    header = next(line for line in lines if line.startswith("state "))
    assert "stiffness N/mm" in header and "strength N" in header and "str. % restored" in header
    assert "stiffness_pct_intact" not in printed and "|" not in printed
    assert [line.split()[0] for line in lines[lines.index(header) + 2:][:4]] == ["intact", "fractured", "VP", "KP"]
    assert lines[0].startswith("vbfem run demo.toml: L1, osteoporotic bone, wedge fracture grade 2; hex8 mesh 4 mm")
    assert "balloons 2 mL each" in printed
    assert "results_units.json" in lines[-1]
    out = tmp_path / "vbfem-demo"
    assert (out / "results.csv").is_file()
    units = json.loads((out / "results_units.json").read_text())
    assert units["stiffness"] == "N/mm" and units["anterior_height_mm"] == "mm" and units["cement_ml"] == "mL"
    with open(out / "results.csv") as fh:
        assert list(units) == next(csv.reader(fh))  # one unit per column, in the table's order


@pytest.mark.parametrize("text, code, message", [
    ("version = 1\n[mesh]\nsise = 2.0\n", 2, "mesh.sise: unknown key"),
    ("version = 1\n[mesh]\nsize = 'fine'\n", 2, "mesh.size = 'fine'"),
    ("version = 1\n[mesh]\nsize = 50.0\n", 2, "mesh.size = 50.0: must be a number in [0.3, 10.0]"),
    ("version = 1\n[output]\nfolder = '../../x'\n", 2, "output.folder = '../../x'"),
    ("version = 1\n[geometry]\nsurface = 'nope.stl'\n", 2, "nope.stl"),
])
def test_cli_bad_study_is_one_line_exit_2(tmp_path, capsys, text, code, message):
    path = tmp_path / "sub" / "study.toml"
    path.parent.mkdir()
    path.write_text(text)
    assert main(["run", str(path)]) == code
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["study.toml"]  # nothing written


def test_cli_help_and_usage_errors(capsys):
    assert main(["--help"]) == 0
    for cmd in ("demo", "run", "sweep", "mesh", "export", "info"):
        assert main([cmd, "--help"]) == 0
        assert "Example" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2


def test_cli_export_inp_runs_in_calculix(e2e, tmp_path, capsys):
    """The exported deck of a treated state, solved by CalculiX, gives vbfem's stiffness."""
    from vbfem.fem.static import solve_static
    from vbfem.mechanics.loadcases import make_load_case
    from vbfem.output.ccx import read_dat, run_ccx
    from vbfem.output.inp import platen_nodes

    res, out = e2e
    for fmt in ("inp", "feb", "xdmf"):
        assert main(["export", str(out / "VP.vtu"), str(tmp_path / f"VP.{fmt}"), "--displacement", "0.1"]) == 0
    import meshio

    x = meshio.read(tmp_path / "VP.xdmf")  # XDMF + HDF5 heavy data, read back by meshio
    assert np.allclose(x.cell_data["E"][0], res.state("VP").materials.E)
    assert np.array_equal(x.cells[0].data, res.state("VP").mesh.cells)
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert main(["export", str(out / "VP.vtu"), str(tmp_path / "VP.txt")]) == 2
    if shutil.which("ccx") is None:
        if os.environ.get("VBFEM_REQUIRE_CCX") == "1":
            pytest.fail(CCX_MISSING)
        pytest.skip(CCX_MISSING)
    mesh, mats = read_vtu(out / "VP.vtu")
    load = make_load_case(mesh, "compression_test", displacement=0.1)
    ours = solve_static(mesh, mats, load, solver="direct").platen_reaction["platen"][2]
    dat = read_dat(run_ccx(tmp_path / "VP.inp").dat)
    theirs = dat[("total force", platen_nodes(mesh, load)["platen"].nodes_set.upper())][2]
    assert theirs == pytest.approx(ours, rel=1e-6)
    vp_row = next(r for r in res.rows if r["state"] == "VP")
    assert abs(ours) / 0.1 == pytest.approx(vp_row["stiffness"], rel=1e-6)


def test_cli_output_paths_and_unreadable_inputs(e2e, tmp_path, monkeypatch, capsys):
    _, out = e2e
    monkeypatch.chdir(tmp_path)
    # a relative XDMF target (its folder is '.'): the .xdmf and its .h5 land side by side, nothing else
    assert main(["export", str(out / "VP.vtu"), "VP.xdmf"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VP.h5", "VP.xdmf"]
    # an output folder that is a file, and a file that is not a mesh: one line, exit 2, before any work
    (tmp_path / "taken").write_text("x")
    study = tmp_path / "s.toml"
    study.write_text("version = 1\n[mesh]\nsize = 4.0\n")
    capsys.readouterr()
    assert main(["run", str(study), "--out", "taken"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main(["export", str(study), "x.inp"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not a mesh file meshio can read" in err and len(err.splitlines()) == 1


def test_study_refuses_treatments_without_fracture_and_bending_without_axial_force():
    from vbfem.study.schema import StudyError

    with pytest.raises(StudyError, match="treatments: a treatment needs a fractured body"):
        Study(fracture={"kind": "none"})
    assert Study(fracture={"kind": "none"}, treatments=[]).fracture.grade is None
    with pytest.raises(StudyError, match=r"load\.force = 0\.0: the flexion case reports axial"):
        Study(load={"case": "flexion", "force": 0.0})


def test_treatment_viscosity_reaches_the_flow_model():
    """A ten times more viscous cement needs about ten times the needle pressure (Darcy), same fill volume."""
    base = dict(name="visc", mesh={"size": 4.0}, output={"vtu": False, "pictures": False, "report": False})
    rows = {}
    for mu in (50.0, 500.0):
        study = Study(**base, treatments=[{"name": "VP", "viscosity": mu}])
        rows[mu] = next(r for r in run_study(study).rows if r["state"] == "VP")
    ratio = rows[500.0]["needle_pressure_kPa"] / rows[50.0]["needle_pressure_kPa"]
    assert 5.0 < ratio <= 10.0 + 1e-9
    assert rows[500.0]["cement_ml"] == rows[50.0]["cement_ml"]
    # the syringe pressure adds the cannula's Hagen–Poiseuille drop, ten times larger too (issue 19)
    for r in rows.values():
        assert r["syringe_pressure_kPa"] > 10.0 * r["needle_pressure_kPa"]
    assert 9.0 < rows[500.0]["syringe_pressure_kPa"] / rows[50.0]["syringe_pressure_kPa"] <= 10.0 + 1e-9


def test_a_curve_that_stops_converging_keeps_its_part_and_the_states_go_on(caplog):
    """The strength of a state whose Newton iterations stop converging is the peak of the curve up to the
    last converged step (a warning names where it stopped); the other states are still computed."""
    import logging

    import vbfem
    from vbfem.mechanics.failure import STRENGTH_STRAIN, compression_curves, endplate_height

    g = vbfem.build_vertebra("L1")
    mesh = vbfem.mesh_vertebra(g, size=5.0)
    bone = vbfem.assign_bone(mesh, bmd="osteoporotic")
    fm, fb = vbfem.apply_fracture(mesh, bone, "wedge", grade=2)
    with caplog.at_level(logging.WARNING, logger="vbfem.mechanics.failure"):
        curves = compression_curves({"intact": (mesh, bone), "fractured": (fm, fb)}, n_steps=3, max_iter=2,
                                    max_cutbacks=0)
    assert list(curves) == ["intact", "fractured"]
    stopped = [name for name, c in curves.items()
               if c.displacement[-1] < STRENGTH_STRAIN * endplate_height(mesh) - 1e-9]
    assert stopped and all(f"{name}: Newton did not converge" in caplog.text for name in stopped)
    for c in curves.values():
        assert np.isfinite(c.peak_force) and c.peak_force == c.force.max()


def test_nonlinear_strength_study_writes_its_curves(tmp_path):
    """``strength = "nonlinear"``: every state compressed by the same travel (3 % of the intact height);
    the peak forces, the 0.2 % offset yield forces and the curves (CSV) are written."""
    import csv

    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import Study

    study = Study(name="nl", mesh={"size": 5.0}, load={"strength": "nonlinear"}, treatments=[],
                  output={"vtu": False, "pictures": False, "report": False})
    steps = []
    res = run_study(study, out=tmp_path / "nl", progress=lambda done, total, label: steps.append((done, total, label)))
    # the progress has a step as each state's curve finishes, inside the mechanics stage (issue 23)
    labels = [label for _, _, label in steps]
    assert labels == ["geometry", "mesh", "bone", "fracture", "strength curve intact", "strength curve fractured",
                      "mechanics", "outputs"]
    assert [d for d, _, _ in steps] == list(range(1, 9)) and {t for _, t, _ in steps} == {8}
    rows = {r["state"]: r for r in res.rows}
    travel = {r["curve_travel_mm"] for r in rows.values()}
    assert len(travel) == 1  # the same platen travel for every state
    assert rows["fractured"]["strength"] < rows["intact"]["strength"]
    assert all(0 < r["yield_N"] <= r["strength"] for r in rows.values())
    with open(tmp_path / "nl" / "load_displacement.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert {c["state"] for c in curve} == set(rows)
    peak = max(float(c["force_N"]) for c in curve if c["state"] == "fractured")
    assert peak == pytest.approx(rows["fractured"]["strength"], rel=1e-5)


def test_softening_keys_give_each_curve_a_true_peak(tmp_path):
    """With the three softening keys the intact body's force peaks inside the travel and falls after it
    (``peak_travel_mm`` < ``curve_travel_mm``), below the hardening curve's end force; without them the
    strength is the force at the end of the travel (``peak_travel_mm`` = ``curve_travel_mm``)."""
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import Study

    common = dict(mesh={"size": 8.0}, fracture={"kind": "none"}, treatments=[],
                  output={"vtu": False, "pictures": False, "report": False})
    hard = run_study(Study(name="hard", load={"strength": "nonlinear"}, **common)).rows[0]
    soft = run_study(Study(name="soft", load={"strength": "nonlinear", "ultimate_strain": 0.002,
                                              "softening_ratio": -0.2, "residual_ratio": 0.5}, **common)).rows[0]
    assert hard["peak_travel_mm"] == hard["curve_travel_mm"]
    assert soft["curve_travel_mm"] == pytest.approx(hard["curve_travel_mm"])
    assert 0 < soft["peak_travel_mm"] < soft["curve_travel_mm"]
    assert soft["strength"] < hard["strength"]
    assert soft["stiffness"] == pytest.approx(hard["stiffness"], rel=1e-12)  # elastic: the law acts past yield


def test_heights_follow_the_ex_vivo_protocol():
    """With the strength test, the fractured body is unloaded from its strength and recovers elastically,
    then, resting, 31 % of its loss (never less than the elastic part); VP's restored height is that
    recovery plus the injection-lift bound, over the crush's loss; KP keeps at least the recovered height.
    With ``recovery = 0`` only the elastic part. With the linear screen there is no crushing force: VP's
    restored height is unknown (NaN), never a silent 0."""
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import Study

    res = run_study(Study(name="protocol", mesh={"size": 5.0}))
    rows = {r["state"]: r for r in res.rows}
    intact, fr, vp, kp = rows["intact"], rows["fractured"], rows["VP"], rows["KP"]
    recovery = fr["elastic_recovery_mm"]
    assert recovery == pytest.approx(fr["strength"] / fr["stiffness"], rel=0.02)
    loss = intact["anterior_height_mm"] - fr["anterior_height_mm"]
    rested = max(0.31 * loss, recovery)
    assert fr["rested_anterior_height_mm"] == pytest.approx(fr["anterior_height_mm"] + rested)
    assert vp["height_restored_pct"] == pytest.approx(100 * (rested + vp["injection_lift_mm"]) / loss)
    assert 0 < vp["height_restored_pct"] < 100 and 0 <= vp["injection_lift_mm"] < recovery
    assert kp["anterior_height_mm"] >= fr["rested_anterior_height_mm"] - 1e-12
    assert kp["height_restored_pct"] > vp["height_restored_pct"]
    at_once = run_study(Study(name="at_once", mesh={"size": 5.0}, fracture={"recovery": 0.0},
                              treatments=[{"name": "VP"}]))
    vp0 = next(r for r in at_once.rows if r["state"] == "VP")
    assert vp0["height_restored_pct"] == pytest.approx(100 * (recovery + vp0["injection_lift_mm"]) / loss, rel=1e-6)
    linear = run_study(Study(name="screen", mesh={"size": 5.0}, load={"strength": "linear"},
                             treatments=[{"name": "VP"}]))
    assert np.isnan(next(r for r in linear.rows if r["state"] == "VP")["height_restored_pct"])


def test_strength_curves_in_a_warm_pool_give_the_serial_rows():
    """``workers=2`` starts a pool before the states are built and runs the curves there: the same rows,
    to the bit, as the curves computed one after the other in this process."""
    from vbfem.study.pipeline import run_study
    from vbfem.study.schema import Study

    study = Study(name="pool", mesh={"size": 6.0}, treatments=[{"name": "VP"}])
    serial = run_study(study).rows
    pooled = run_study(study, workers=2).rows
    assert [r["state"] for r in pooled] == ["intact", "fractured", "VP"]
    for a, b in zip(serial, pooled):
        assert a["strength"] == b["strength"] and a["yield_N"] == b["yield_N"]
        assert a.get("height_restored_pct") == b.get("height_restored_pct") or np.isnan(a["height_restored_pct"])


def test_provenance_names_versions_commit_command_and_time(monkeypatch, tmp_path):
    """provenance.json: the versions of the numerical and picture packages, the git commit of a checkout,
    the command line and a UTC timestamp (issue 23)."""
    import datetime
    import importlib.metadata as md
    import subprocess
    import sys

    from vbfem.study.pipeline import git_revision, provenance

    monkeypatch.setattr(sys, "argv", ["vbfem", "run", "study.toml", "--out", "x"])
    prov = provenance(_study(), timings={"mesh": 1.5}, seconds=2.0)
    for name in ("numpy", "scipy", "numba", "pyvista", "pyamg", "meshio"):
        assert prov[name] == md.version(name), name
    assert prov["command"] == ["vbfem", "run", "study.toml", "--out", "x"]
    when = datetime.datetime.fromisoformat(prov["started_utc"])
    assert when.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 60
    assert prov["timings_s"] == {"mesh": 1.5} and prov["total_s"] == 2.0
    package = Path(vbfem.__file__).parent
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", "__init__.py"], cwd=package, check=False,
                             capture_output=True).returncode == 0 if shutil.which("git") else False
    if tracked:  # run from a checkout (as the tests usually are): its commit
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=package, capture_output=True, text=True, check=True)
        assert prov["git_commit"] == head.stdout.strip() and isinstance(prov["git_dirty"], bool)
    else:
        assert "git_commit" not in prov
    # a folder outside any checkout, and no git at all: no commit, and no error
    outside = tmp_path
    (outside / "__init__.py").write_text("")
    assert git_revision(outside) == {}
    monkeypatch.setenv("PATH", str(outside))
    assert git_revision(package) == {}
    assert "git_commit" not in provenance(_study())


def test_provenance_keeps_the_start_of_the_run_not_the_time_of_writing():
    """run_study takes the start time and the commit before its first stage (run_start): a checkout that
    moves on during a long run (as docs/validation's did in stop 19) does not put the later commit, nor the
    time of writing, into the run's provenance."""
    from vbfem.study.pipeline import provenance, run_start

    start = {"started_utc": "2026-01-02T03:04:05+00:00", "git_commit": "a" * 40, "git_dirty": False}
    prov = provenance(_study(), start=start)
    assert prov["started_utc"] == start["started_utc"]
    assert prov["git_commit"] == "a" * 40 and prov["git_dirty"] is False
    assert "git_commit" not in provenance(_study(), start={"started_utc": "2026-01-02T03:04:05+00:00"})
    now = run_start()
    assert set(now) <= {"started_utc", "git_commit", "git_dirty"} and "started_utc" in now


def test_cli_tables_read_like_the_demo_and_name_what_was_not_written():
    """``vbfem sweep``'s table: a case's number and swept keys (with units) once, then a line per state;
    the closing line says when results.parquet was not written (no pyarrow)."""
    from types import SimpleNamespace

    from vbfem.cli.common import files_line, sweep_table

    rows = [{"case": 0, "case_id": "a", "treatments[0].volume": 2.0, "state": "intact", "stiffness": 15060.5},
            {"case": 0, "case_id": "a", "treatments[0].volume": 2.0, "state": "VP", "stiffness": 14000.25,
             "stiffness_pct_restored": 86.4, "bridging": False},
            {"case": 1, "case_id": "b", "treatments[0].volume": 4.0, "error": "ValueError: x"},
            {"case": 2, "case_id": "c", "treatments[0].volume": 6.0, "state": "intact", "stiffness": 15060.5}]
    lines = sweep_table(rows, ["treatments[0].volume"], strength="linear").splitlines()
    assert re.split(r"\s{2,}", lines[0])[:3] == ["case", "treatments[0].volume mL", "state"]
    assert "stiffness N/mm" in lines[0] and "stiff. % restored" in lines[0]
    assert [line.split() for line in lines[2:]] == [["0", "2", "intact", "15060", "-", "-"],
                                                    ["VP", "14000", "86", "no"],
                                                    ["2", "6", "intact", "15060", "-", "-"]]
    files = {"table": "results.csv", "units": "results_units.json", "vtu:VP": "VP.vtu"}
    line = files_line(SimpleNamespace(files=files), "out", seconds=3.04)
    assert line == ("3.0 s; wrote out/ (results.csv, results_units.json, *.vtu); results.parquet not written: "
                    "pyarrow is not installed (pip install pyarrow)")
    line = files_line(SimpleNamespace(files={**files, "parquet": "p", "report": "r"}), "out", seconds=1.0)
    assert line == "1.0 s; wrote out/ (results.csv, results_units.json, results.parquet, *.vtu, report.html)"


def test_cli_export_xdmf_without_h5py_says_what_to_install(tmp_path, monkeypatch, capsys):
    """No h5py: ``vbfem export VP.vtu VP.xdmf`` is one line naming ``vbfem[xdmf]``, exit 2, nothing written."""
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.materials.bone import assign_bone
    from vbfem.output.vtu import to_vtu

    mesh = mesh_vertebra(build_vertebra("L1"), size=6.0)
    to_vtu(tmp_path / "VP.vtu", mesh, materials=assign_bone(mesh))
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py raises ImportError
    monkeypatch.chdir(tmp_path)
    assert main(["export", "VP.vtu", "VP.xdmf"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "needs h5py" in err and "pip install 'vbfem[xdmf]'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VP.vtu"]


def test_cli_broken_installation_is_a_failure_not_bad_input(monkeypatch, capsys):
    """A part of vbfem that cannot be imported is exit 1 (a broken installation, issue 23: the old numba
    cache made ``vbfem demo`` fail with exit 2, the code for bad input); a missing optional package stays 2."""
    from vbfem import cli

    def broken(args):
        raise ImportError("cannot import name 'elasticity' from 'vbfem._kernels' (unknown location)",
                          name="vbfem._kernels")

    def optional(args):
        raise ModuleNotFoundError("No module named 'h5py'", name="h5py")

    monkeypatch.setattr(cli.info, "run", broken)
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert "failed" in err and "broken vbfem installation" in err
    monkeypatch.setattr(cli.info, "run", optional)
    assert main(["info"]) == 2
    assert "error: No module named 'h5py'" in capsys.readouterr().err


def test_stress_colour_range_is_set_by_bone_and_cement_not_the_shell():
    """stress_*.png: one colour range for all states, percentiles 2-98 of trabecular bone and cement;
    a cortex a hundred times more stressed moves it not at all (issue 23)."""
    from types import SimpleNamespace

    from vbfem.records import tissue_code
    from vbfem.study.pipeline import STRESS_RANGE_PERCENTILES, load_text, stress_range
    from vbfem.study.schema import LoadSpec

    tissue = np.array([tissue_code("trabecular")] * 100 + [tissue_code("cortical")] * 50 + [tissue_code("cement")] * 10)
    bone = np.linspace(0.1, 1.0, 100)
    states = [SimpleNamespace(name=n, materials=SimpleNamespace(tissue=tissue)) for n in ("intact", "VP")]
    stresses = {"intact": np.concatenate([bone, np.full(50, 100.0), np.full(10, 3.0)]),
                "VP": np.concatenate([bone, np.full(50, 500.0), np.full(10, 3.0)])}
    lo, hi = stress_range(states, stresses)
    inner = np.concatenate([bone, np.full(10, 3.0), bone, np.full(10, 3.0)])
    assert (lo, hi) == pytest.approx(tuple(np.percentile(inner, STRESS_RANGE_PERCENTILES)))
    assert 0.1 < lo < 0.2 and hi == 3.0
    with pytest.raises(ValueError, match="names none of the states"):
        stress_range(states, {"KP": bone})
    assert load_text(LoadSpec()) == "compression test, 0.1 mm platen travel"
    assert load_text(LoadSpec(case="lateral_bending")) == "lateral bending, 500 N axial force and 7.5 N m moment"


def test_progress_counts_the_spine_stage(monkeypatch):
    """With a functional spinal unit the progress has one more step, and its count ends at its total
    (it went to 8 of 7)."""
    from vbfem.study import spine

    monkeypatch.setattr(spine, "study_unit_solutions", lambda study, states: [])
    monkeypatch.setattr(spine, "study_unit_columns", lambda study, states, solutions=None: {})
    steps = []
    study = _study(treatments=[], load={"strength": "linear"}, spine={"levels": 2, "disc_height": 10.0})
    run_study(study, progress=lambda *step: steps.append(step))
    assert [label for _, _, label in steps] == ["geometry", "mesh", "bone", "fracture", "mechanics", "spine"]
    assert [(done, total) for done, total, _ in steps] == [(k, 6) for k in range(1, 7)]
