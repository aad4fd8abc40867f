"""Every picture the demo writes, checked against a stored reference (tests/data/images/demo/).

The demo's study (L1, grade-2 wedge, VP and KP) on a 5 mm mesh with the linear strength screen, its
outputs written by the pipeline's own writer; the load-displacement curves, which the fast screen does
not compute, are those `vbfem demo --size 3` wrote (tests/data/load_displacement_demo_3mm.csv).
A picture added to the demo without a reference, a broken axis or an empty panel fails here.
Regenerate the references with ``VBFEM_UPDATE_IMAGES=1 python -m pytest tests/output`` (_images.py).
"""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pyvista")
pytest.importorskip("matplotlib")

from _images import ImageCheck

from vbfem.cli.demo import demo_study
from vbfem.mechanics.compare import compare_states
from vbfem.study.pipeline import run_study, write_outputs

check_image = ImageCheck()

CURVES = Path(__file__).parents[1] / "data" / "load_displacement_demo_3mm.csv"
#: The pictures of the demo, in the order the report shows them.
PICTURES = ("fracture.png", "cement.png", "injection_VP.png", "injection_KP.png", "balloon_KP.png",
            "pressures.png", "stress_intact.png", "stress_fractured.png", "stress_VP.png", "stress_KP.png",
            "deformed_fractured.png", "load_displacement.png")


def _curves():
    """The demo's curves as recorded: state -> record with the arrays the writers read."""
    data = np.genfromtxt(CURVES, delimiter=",", names=True, dtype=None, encoding="utf-8")
    out = {}
    for name in dict.fromkeys(data["state"]):
        sel = data[data["state"] == name]
        out[str(name)] = SimpleNamespace(displacement=sel["displacement_mm"], force=sel["force_N"],
                                         plastic_fraction=sel["plastic_fraction"],
                                         iterations=sel["newton_iterations"])
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    study = demo_study(size=5.0).replace(load={"strength": "linear"}, output={"vtu": False})
    result = run_study(study)
    comparison = compare_states({s.name: (s.mesh, s.materials) for s in result.states}, load="compression_test",
                                load_options={"displacement": study.load.displacement}, strength="linear")
    out = tmp_path_factory.mktemp("demo_pictures")
    files = write_outputs(study, result.states, comparison, result.rows, out, curves=_curves())
    return SimpleNamespace(out=out, files=files, states={s.name: s for s in result.states}, comparison=comparison)


def test_the_demo_writes_these_pictures(demo):
    out, files = demo.out, demo.files
    assert sorted(p.name for p in out.glob("*.png")) == sorted(PICTURES)
    assert {p.name for role, p in files.items() if role.startswith(("picture:", "plot:"))} == set(PICTURES)


@pytest.mark.parametrize("name", PICTURES)
def test_picture_matches_its_reference(demo, name):
    out = demo.out
    size = (out / name).stat().st_size
    assert size < 100_000, f"{name} is {size} bytes; keep the references small"
    check_image(out / name, f"demo/{name}")


def test_report_shows_every_picture_with_a_caption_and_the_limits(demo):
    out = demo.out
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(PICTURES)
    assert html.count("<figcaption>") >= len(PICTURES)
    assert "balloon pressure (MPa, left; psi, right)" in html and "minimum principal strain" in html
    # the known limits sit under the table, their numbers in the cells they qualify
    assert "<ol class='limits'>" in html and "Pistoia 2002" in html and "Kosmopoulos" in html
    assert html.count("<sup>") >= 6


def test_a_missing_cement_outline_fails_the_comparison(demo, tmp_path):
    """The tolerance catches a thin change: the VP strain picture without its cement outline."""
    from vbfem.fem.post import principal_strains
    from vbfem.output import viz

    vp = demo.states["VP"]
    eps = 1e6 * principal_strains(demo.comparison.results["VP"].strain)[:, 0]
    kw = {"clim": (-8000.0, -1000.0), "title": "VP", "note": "range"}
    a = viz.plot_cuts(vp.mesh, eps, tmp_path / "a.png", cement=vp.treatment.saturation, **kw)
    b = viz.plot_cuts(vp.mesh, eps, tmp_path / "b.png", **kw)
    _, tile = check_image.difference(check_image.read(a), check_image.read(b))
    assert tile > 2 * check_image.tile_tol, f"a missing outline changed a tile by only {tile:.1f}"


def test_an_anti_aliased_render_passes(demo, tmp_path, monkeypatch):
    """The VP strain cuts drawn with VTK's super-sampled anti-aliasing, as a machine whose OpenGL
    multisamples draws them, still match the reference (their edges and text differ: 50 grey levels in a
    tile by the previous measure)."""
    from vbfem.output import viz
    from vbfem.study.pipeline import _pictures

    bottom_row = viz._bottom_row

    def smoothed(*args, **kw):
        p, row = bottom_row(*args, **kw)
        p.enable_anti_aliasing("ssaa", all_renderers=True)
        return p, row

    monkeypatch.setattr(viz, "_bottom_row", smoothed)
    monkeypatch.setattr(viz, "plot_side_by_side", lambda *a, **k: None)  # only the strain cuts are drawn again
    monkeypatch.setattr(viz, "plot_overlay", lambda *a, **k: None)
    monkeypatch.setattr(viz, "plot_deformed", lambda *a, **k: None)
    states = list(demo.states.values())
    files, _ = _pictures(states, demo.comparison, tmp_path, {}, load_text="compression test, 0.1 mm platen travel")
    path = files["picture:stress:VP"]
    ref = check_image.read(check_image.folder / "demo" / "stress_VP.png")
    img = check_image.read(path)
    assert np.abs(img - ref).max() > 100  # the render did change
    mean, tile = check_image.difference(img, ref)
    assert mean < check_image.mean_tol and tile < check_image.tile_tol, (mean, tile)


def test_an_axis_offset_fails_the_comparison(demo, tmp_path):
    """The tolerance catches the old injection_KP.png bug: the pressure axis with an offset
    ("1e-12+1.405") and autoscaled around a nearly constant pressure instead of plain values from 0."""
    from vbfem.output import plots

    fill = demo.states["KP"].treatment.fill
    args = (fill.times, 1e6 * fill.needle_pressure, fill.injected_history)
    plots.plot_injection(*args, tmp_path / "a.png", leaked=fill.leaked_history, title="KP")
    fig = plots.injection_figure(*args, leaked=fill.leaked_history, title="KP")
    ax = fig.axes[0]
    ax.ticklabel_format(axis="y", useOffset=True)
    ax.autoscale(axis="y")
    fig.savefig(tmp_path / "b.png", dpi=plots.DPI, metadata={"Software": None}, facecolor="white")
    _, tile = check_image.difference(check_image.read(tmp_path / "a.png"), check_image.read(tmp_path / "b.png"))
    assert tile > check_image.tile_tol, f"a changed pressure axis changed a tile by only {tile:.1f}"


def test_an_empty_panel_fails_the_comparison(demo, tmp_path, caplog):
    """The demo's cement.png with no cement in the VP panel differs from its reference beyond both tolerances."""
    from vbfem.output import viz

    vp, kp = demo.states["VP"], demo.states["KP"]
    vf, kf = vp.treatment, kp.treatment.fill
    path = viz.plot_side_by_side(
        None, (0.0 * vf.saturation, kf.saturation), tmp_path / "cement.png", titles=("VP", "KP"),
        arrival_times=(vf.arrival_time, kf.arrival_time), cavities=(None, kp.treatment.cavity),
        shells=(None, kp.treatment.compacted), meshes=(vp.mesh, kp.mesh))
    assert "no cell has a cement fraction" in caplog.text
    ref = check_image.read(check_image.folder / "demo" / "cement.png")
    mean, tile = check_image.difference(check_image.read(path), ref)
    assert mean > check_image.mean_tol and tile > 2 * check_image.tile_tol, (mean, tile)
