"""solve_static_cases: several load cases of one mesh give solve_static's results, sharing one reduced
matrix (and multigrid hierarchy) between cases with the same constraints."""

import numpy as np
import pytest

from vbfem import solve_static
from vbfem.fem.primitives import box_mesh
from vbfem.fem.static import solve_static_cases
from vbfem.mechanics.loadcases import physiological
from vbfem.records import MaterialMap


@pytest.fixture(scope="module")
def column():
    mesh = box_mesh((20.0, 16.0, 30.0), (5, 4, 8), origin=(-10.0, -8.0, 0.0))  # node sets top, bottom
    # a soft layer between two stiff blocks: the contrast of a disc between bodies
    z = mesh.points[mesh.cells].mean(axis=1)[:, 2]
    E = np.where((z > 12) & (z < 18), 4.0, 1000.0)
    return mesh, MaterialMap.uniform(mesh.n_cells, 1.0, 0.3).replace(E=E)


@pytest.mark.parametrize("solver", ["direct", "amg-cg"])
def test_cases_equal_single_solves(column, solver):
    mesh, mat = column
    cases = ("compression", "flexion", "lateral_bending", "axial_rotation")
    loads = [physiological(mesh, c, superior="top", inferior="bottom") for c in cases]
    many = solve_static_cases(mesh, mat, loads, solver=solver)
    for load, r in zip(loads, many):
        one = solve_static(mesh, mat, load, solver=solver)
        scale = np.abs(one.displacement).max()
        np.testing.assert_allclose(r.displacement, one.displacement, rtol=0, atol=1e-7 * scale)
        np.testing.assert_allclose(r.platen_reaction["platen"], one.platen_reaction["platen"], rtol=1e-6, atol=1e-6)
    assert many[0].timings["assembly"] > 0 and all(r.timings["assembly"] == 0 for r in many[1:])


def test_cases_with_other_constraints_get_their_own_matrix(column):
    from vbfem.fem.loads import platen_compression

    mesh, mat = column
    loads = [physiological(mesh, "flexion", superior="top", inferior="bottom"),
             platen_compression(mesh, displacement=0.1)]
    many = solve_static_cases(mesh, mat, loads, solver="direct")
    for load, r in zip(loads, many):
        np.testing.assert_allclose(r.displacement, solve_static(mesh, mat, load, solver="direct").displacement,
                                   rtol=0, atol=1e-12)


def test_no_cases_is_an_error(column):
    mesh, mat = column
    with pytest.raises(ValueError, match="loads"):
        solve_static_cases(mesh, mat, [])
