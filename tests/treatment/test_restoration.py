"""The collapsed endplate's area that KP's lift works against: the same whether the endplates are the
body's boundary (parametric body) or interfaces under caps (the image route); issue 24's 0 % lift at 1 mm."""

import numpy as np
import pytest

from vbfem.fem.primitives import box_mesh
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.loadcases import PMMA_E, PMMA_NU, add_layer
from vbfem.treatment.restoration import collapsed_endplate_area


def _body():
    m = box_mesh((20.0, 30.0, 24.0), (5, 6, 6))
    z = m.points[:, 2]
    return m.replace(node_sets={**m.node_sets, "superior": np.flatnonzero(np.isclose(z, z.max())),
                                "inferior": np.flatnonzero(np.isclose(z, z.min()))})


def _anterior_sink(m, x_cut=8.0):
    """Displacement fractured -> intact of a wedge-like collapse: superior nodes with x >= x_cut moved."""
    disp = np.zeros_like(m.points)
    sup = np.zeros(m.n_points, bool)
    sup[m.node_sets["superior"]] = True
    disp[sup & (m.points[:, 0] >= x_cut - 1e-9), 2] = 1.5
    return disp


@pytest.mark.parametrize("n_layers", [1, 3])
def test_collapsed_area_is_the_moved_endplate_bare_or_under_caps(n_layers):
    body = _body()
    bare = collapsed_endplate_area(body, _anterior_sink(body))
    assert bare == pytest.approx(12.0 * 30.0, rel=1e-12)  # the top faces anterior of x = 8 mm (x = 8..20)
    # caps cast on both endplates: the endplates become bone / cap interfaces (inner faces), any cap thickness
    mats = assign_bone(body, heterogeneity=0.0)
    capped, _ = add_layer(body, mats, surface="superior", side="above", thickness=5.0, E=PMMA_E, nu=PMMA_NU,
                          tissue="potting", name="cs", n_layers=n_layers)
    capped, _ = add_layer(capped, _, surface="inferior", side="below", thickness=5.0, E=PMMA_E, nu=PMMA_NU,
                          tissue="potting", name="ci", n_layers=n_layers)
    disp = np.zeros_like(capped.points)
    disp[: body.n_points] = _anterior_sink(body)  # add_layer keeps the old nodes' indices
    assert collapsed_endplate_area(capped, disp) == pytest.approx(bare, rel=1e-12)
    assert collapsed_endplate_area(capped, np.zeros_like(capped.points)) == 0.0
