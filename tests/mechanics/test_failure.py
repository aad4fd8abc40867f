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


def test_each_collected_curve_is_reported_in_this_thread(states):
    """``on_curve(name)`` once per state, in the calling thread (a progress bar may redraw there), from the
    serial path and from worker processes alike."""
    import threading

    for workers in (1, 2):
        seen = []

        def report(name, seen=seen):
            seen.append((name, threading.current_thread()))

        compression_curves(states, displacement=0.2, n_steps=2, workers=workers, on_curve=report)
        assert sorted(n for n, _ in seen) == sorted(states)
        assert all(t is threading.current_thread() for _, t in seen)


@pytest.mark.parametrize("kw, match", [({"workers": 0}, "workers"), ({"workers": 1.5}, "workers"),
                                       ({"displacement": -1.0}, "displacement")])
def test_bad_options_are_refused_before_any_solve(states, kw, match):
    with pytest.raises(ValueError, match=match):
        compression_curves(states, **{"displacement": 0.4, **kw})


def test_a_script_without_main_guard_is_told_what_to_do(tmp_path):
    """Worker processes are spawned and import the main script again; a script that asks for two workers
    without the ``if __name__ == "__main__":`` guard gets an error that says so, not a bare broken pool."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import vbfem\n"
        "from vbfem.mechanics.failure import compression_curves\n"
        "mesh = vbfem.mesh_vertebra(vbfem.build_vertebra('L1'), size=8.0)\n"
        "bone = vbfem.assign_bone(mesh, bmd='osteoporotic')\n"
        "compression_curves({'a': (mesh, bone), 'b': (mesh, bone)}, displacement=0.1, n_steps=1, workers=2)\n")
    run = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "if __name__ == '__main__':" in run.stderr and "workers=1" in run.stderr
