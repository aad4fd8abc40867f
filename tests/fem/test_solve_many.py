"""solve_spd_many: the columns solved to the same tolerance as solve_spd, the later ones deflated by the
first solve's Ritz vectors in fewer iterations; bad input."""

import numpy as np
import pytest

from vbfem.fem.assembly import assemble_stiffness
from vbfem.fem.constraints import constraint_map
from vbfem.fem.primitives import box_mesh
from vbfem.fem.solvers import amg_hierarchy, solve_spd, solve_spd_many
from vbfem.mechanics.loadcases import physiological
from vbfem.records import MaterialMap


@pytest.fixture(scope="module")
def system():
    """A stiff-soft-stiff column (bone/disc/bone contrast 1000 : 4) under four load directions, reduced."""
    mesh = box_mesh((20.0, 16.0, 36.0), (10, 8, 24), origin=(-10.0, -8.0, 0.0))  # 6.8k dofs: a 2-level AMG
    z = mesh.points[mesh.cells].mean(axis=1)[:, 2]
    E = np.where((z > 15) & (z < 21), 4.0, 1000.0)
    K = assemble_stiffness(mesh, MaterialMap.uniform(mesh.n_cells, 1.0, 0.3).replace(E=E))
    cmaps = [constraint_map(mesh, physiological(mesh, c, superior="top", inferior="bottom"))
             for c in ("flexion", "extension", "lateral_bending", "axial_rotation")]
    A, _ = cmaps[0].reduce(K)
    return A, np.column_stack([c.reduce_rhs(K) for c in cmaps]), cmaps[0].near_null


def test_columns_match_single_solves_and_later_ones_take_fewer_iterations(system):
    A, B, null = system
    X, infos = solve_spd_many(A, B, near_null=null)
    plain, plain_infos = solve_spd_many(A, B, near_null=null, recycle=0)
    ml = amg_hierarchy(A, near_null=null)
    for j in range(B.shape[1]):
        x, info = solve_spd(A, B[:, j], method="amg-cg", hierarchy=ml)
        scale = np.abs(x).max()
        np.testing.assert_allclose(X[:, j], x, rtol=0, atol=1e-6 * scale)
        np.testing.assert_allclose(plain[:, j], x, rtol=0, atol=1e-6 * scale)
        assert infos[j].residual <= 1e-7 and plain_infos[j].iterations == pytest.approx(info.iterations, abs=2)
    assert infos[0].iterations == plain_infos[0].iterations
    assert all(i.iterations < infos[0].iterations for i in infos[1:])
    assert infos[0].setup_time > 0 and all(i.setup_time == 0 for i in infos[1:])


@pytest.mark.parametrize("kw, match", [({"B": np.zeros(5)}, "B must have shape"), ({"recycle": -1}, "recycle")])
def test_bad_input(system, kw, match):
    A, B, null = system
    args = {"B": B, "recycle": 30, **kw}
    with pytest.raises(ValueError, match=match):
        solve_spd_many(A, args["B"], near_null=null, recycle=args["recycle"])
