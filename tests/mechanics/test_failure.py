"""Strength curves of several states: the same curves in worker processes as here, records that pickle."""

import pickle

import numpy as np
import pytest

import vbfem
from vbfem.mechanics.failure import compression_curves


@pytest.fixture(scope="module")
def states():
    mesh = vbfem.mesh_vertebra(vbfem.build_vertebra("L1"), size=5.0)
    bone = vbfem.assign_bone(mesh, bmd="osteoporotic")
    fm, fb = vbfem.apply_fracture(mesh, bone, "wedge", grade=2)
    return {"intact": (mesh, bone), "fractured": (fm, fb)}


def test_records_pickle_to_equal_records(states):
    """Worker processes receive meshes and material maps by pickle: the copies hold the same arrays and
    sets and stay read-only."""
    mesh, bone = states["fractured"]
    m2, b2 = pickle.loads(pickle.dumps((mesh, bone)))
    assert np.array_equal(m2.points, mesh.points) and np.array_equal(m2.cells, mesh.cells)
    assert set(m2.node_sets) == set(mesh.node_sets) and set(m2.cell_data) == set(mesh.cell_data)
    assert all(np.array_equal(m2.node_sets[k], v) for k, v in mesh.node_sets.items())
    assert np.array_equal(b2.E, bone.E) and np.array_equal(b2.tissue, bone.tissue)
    assert dict(b2.params) == dict(bone.params)
    with pytest.raises(TypeError):
        m2.node_sets["new"] = np.arange(3)
    assert not m2.points.flags.writeable


def test_curves_in_worker_processes_equal_the_serial_ones(states):
    """Two spawned worker processes give bit-for-bit the curves of the serial run (the same solver, the same
    inputs), in the order of the states."""
    travel = 0.4
    serial = compression_curves(states, displacement=travel, n_steps=4)
    parallel = compression_curves(states, displacement=travel, n_steps=4, workers=2)
    assert list(parallel) == list(states)
    for name in states:
        assert np.array_equal(parallel[name].force, serial[name].force)
        assert parallel[name].displacement[-1] == pytest.approx(travel)
    assert parallel["fractured"].peak_force < parallel["intact"].peak_force


@pytest.mark.parametrize("kw, match", [({"workers": 0}, "workers"), ({"workers": 1.5}, "workers"),
                                       ({"displacement": -1.0}, "displacement")])
def test_bad_options_are_refused_before_any_solve(states, kw, match):
    with pytest.raises(ValueError, match=match):
        compression_curves(states, **{"displacement": 0.4, **kw})
