"""The study's pressure chart and first-leak picture (issue 19): written by the outputs stage when they apply."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pyvista")
pytest.importorskip("matplotlib")

from vbfem.fem.cells import cell_centroids
from vbfem.fem.primitives import box_mesh
from vbfem.records import MaterialMap, Mesh
from vbfem.study.pipeline import _pressure_and_leak_pictures, first_leak_picture
from vbfem.treatment.needles import Needle
from vbfem.treatment.outlets import LEAK_DETECTION
from vbfem.treatment.vertebroplasty import simulate_vertebroplasty


def _block(*, outlet: bool):
    """A 24 mm block of bone (3 mm cells), optionally a cortical-breach outlet on its +x face."""
    L, nd = 24.0, 8
    m = box_mesh((L, L, L), (nd, nd, nd), origin=(-L / 2, -L / 2, -L / 2))
    c = cell_centroids(m)
    if outlet:
        sets = dict(m.cell_sets)
        sets["outlet_breach_lateral"] = np.flatnonzero((c[:, 0] > L / 2 - 3.0) & (np.abs(c[:, 1]) < 4)
                                                       & (np.abs(c[:, 2]) < 4))
        m = Mesh(points=m.points, cells=m.cells, cell_type=m.cell_type, cell_sets=sets, node_sets=m.node_sets)
    mat = MaterialMap.uniform(m.n_cells, 100.0, 0.3).replace(density=np.full(m.n_cells, 0.12))
    needle = Needle("left", entry=(-20.0, 0.0, 0.0), tip=(3.0, 0.0, 0.0), volume=1.5, rate=3.0, start=240.0)
    return m, simulate_vertebroplasty(m, mat, needles=needle, cement="pmma", open_boundary=not outlet)


@pytest.fixture(scope="module")
def leaking():
    return _block(outlet=True)


def test_the_fill_records_the_outlets_and_what_each_had_leaked_at_the_first_leak(leaking):
    mesh, fill = leaking
    assert fill.metrics["leak"]
    cells = fill.params["outlet_cells"]["outlet_breach_lateral"]
    np.testing.assert_array_equal(np.sort(cells), np.sort(mesh.cell_sets["outlet_breach_lateral"]))
    at = fill.params["leaked_outlets_at_first_leak"]
    assert sum(at.values()) > LEAK_DETECTION
    assert sum(at.values()) <= fill.leaked_total + 1e-9


def test_outputs_stage_writes_the_pressure_chart_and_the_first_leak_picture(leaking, tmp_path):
    mesh, fill = leaking
    files, captions = {}, {}
    state = SimpleNamespace(name="VP", mesh=mesh, treatment=fill)
    _pressure_and_leak_pictures([state], tmp_path, files, captions)
    assert files["plot:pressures"] == tmp_path / "pressures.png"
    assert files["picture:first_leak:VP"] == tmp_path / "first_leak_VP.png"
    for role, path in files.items():
        assert path.stat().st_size > 5_000, role  # a drawn picture, not an empty canvas
        assert captions[role]
    assert "outlet_breach_lateral" in captions["picture:first_leak:VP"]


def test_no_first_leak_picture_without_a_leak(tmp_path):
    mesh, fill = _block(outlet=False)  # open boundary far from the tip: nothing leaves
    assert not fill.metrics["leak"]
    assert first_leak_picture(mesh, fill, tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()


def test_the_first_leak_is_seen_from_the_outlets_side(leaking, tmp_path, monkeypatch):
    """An outlet on the body's left (+y) is drawn from anterior-left-above, one on the right from the right."""
    from vbfem.output import viz

    mesh, fill = leaking
    seen = []
    monkeypatch.setattr(viz, "plot_first_leak", lambda *a, view, **k: seen.append(view) or a[5])
    for shift, expected in ((+30.0, "oblique_left"), (-30.0, "oblique")):
        moved = Mesh(points=mesh.points + [0.0, shift, 0.0], cells=mesh.cells, cell_type=mesh.cell_type,
                     cell_sets=mesh.cell_sets, node_sets=mesh.node_sets)
        first_leak_picture(moved, fill, tmp_path / "x.png")
        assert seen[-1] == expected
