"""The linear solvers: reproducible to the bit, and the BLAS thread limit put back."""

import numpy as np
import pytest

import vbfem
from vbfem.fem.assembly import assemble_stiffness
from vbfem.fem.constraints import constraint_map
from vbfem.fem.solvers import serial_blas, solve_spd
from vbfem.mechanics.loadcases import compression_test


@pytest.fixture(scope="module")
def system():
    mesh = vbfem.mesh_vertebra(vbfem.build_vertebra("L1"), size=3.0)
    bone = vbfem.assign_bone(mesh, bmd="osteoporotic")
    load = compression_test(mesh, displacement=0.1)
    cmap = constraint_map(mesh, load)
    K, _ = cmap.reduce(assemble_stiffness(mesh, bone))
    rhs = np.random.default_rng(3).standard_normal(K.shape[0])
    return K.tocsr(), rhs, cmap.near_null


def test_amg_cg_does_not_depend_on_numpy_global_random_state(system):
    """pyamg draws the start vector of its spectral-radius estimates from numpy's global generator; the
    hierarchy seeds it and puts its state back, so two solves agree to the bit whatever the caller seeded,
    and the caller's random stream goes on as if nothing had drawn from it."""
    K, rhs, B = system
    np.random.seed(11)
    x1, _ = solve_spd(K, rhs, method="amg-cg", near_null=B, rtol=1e-8)
    after = np.random.rand()
    np.random.seed(12345)
    x2, _ = solve_spd(K, rhs, method="amg-cg", near_null=B, rtol=1e-8)
    assert np.array_equal(x1, x2)
    np.random.seed(11)
    assert np.random.rand() == after


def test_serial_blas_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    with serial_blas():
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
        with serial_blas():
            pass
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == before
