"""The leak picture (cement at the first leak, the leak path highlighted) and the leak path it draws."""

from itertools import pairwise

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from _images import ImageCheck

from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.cells import cell_centroids
from vbfem.fem.faces import mesh_faces
from vbfem.output import viz
from vbfem.treatment.outlets import leak_path

check_image = ImageCheck()


@pytest.fixture(scope="module")
def leak():
    """L1 at 3 mm, cement spreading from a left needle tip (arrival ∝ distance), a lateral-left outlet."""
    mesh = mesh_vertebra(build_vertebra("L1"), size=3.0)
    c = cell_centroids(mesh)
    tip = np.array([2.0, 6.0, 0.0])
    d = np.linalg.norm(c - tip, axis=1)
    arrival = np.where(d <= 16.0, 240.0 + 3.0 * d, np.nan)  # s after mixing
    cortex = mesh.cell_sets["cortex"]
    outlet = cortex[np.linalg.norm(c[cortex] - [2.0, 20.0, 0.0], axis=1) <= 6.0]
    arrival[outlet] = np.nan  # outlets are not flow cells: cement leaves through their faces
    f = mesh_faces(mesh)
    near = np.union1d(f.inner_i[np.isin(f.inner_j, outlet)], f.inner_j[np.isin(f.inner_i, outlet)])
    leak_time = float(np.nanmin(arrival[near]))
    return mesh, arrival, outlet, leak_time


def test_leak_path_runs_from_the_source_to_the_first_reached_outlet_cell(leak):
    mesh, arrival, outlet, leak_time = leak
    path = leak_path(mesh, arrival, outlet, until=leak_time)
    assert path.size >= 3
    assert arrival[path[0]] == np.nanmin(arrival)  # where the cement entered
    f = mesh_faces(mesh)
    touches = np.union1d(f.inner_i[np.isin(f.inner_j, outlet)], f.inner_j[np.isin(f.inner_i, outlet)])
    assert path[-1] in touches and arrival[path[-1]] == leak_time  # the cement cell at the outlet reached first

    pairs = set(zip(f.inner_i.tolist(), f.inner_j.tolist())) | set(zip(f.inner_j.tolist(), f.inner_i.tolist()))
    assert all((a, b) in pairs for a, b in pairwise(path))  # face neighbours
    assert np.all(np.diff(arrival[path]) >= -1e-9)  # the front moved along it
    assert leak_path(mesh, arrival, outlet, until=leak_time - 1.0).size == 0  # not yet reached
    with pytest.raises(ValueError, match="arrival_time"):
        leak_path(mesh, arrival[:-1], outlet)


def test_first_leak_image(leak, tmp_path):
    mesh, arrival, outlet, leak_time = leak
    path = leak_path(mesh, arrival, outlet, until=leak_time)
    out = viz.plot_first_leak(mesh, arrival, leak_time, path, outlet, tmp_path / "leak.png", window_size=(800, 600),
                              title="first leak", note=f"{leak_time - 240.0:.0f} s after the start")
    check_image(out, "viz_first_leak.png")


def test_first_leak_bad_input(leak, tmp_path):
    mesh, arrival, outlet, leak_time = leak
    with pytest.raises(ValueError, match="leak_time"):
        viz.plot_first_leak(mesh, arrival, float("nan"), [], outlet, tmp_path / "x.png")
    with pytest.raises(ValueError, match="outlet_cells"):
        viz.plot_first_leak(mesh, arrival, leak_time, [], [mesh.n_cells], tmp_path / "x.png")
