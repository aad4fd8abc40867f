"""Outlets that follow from the fracture kind, and the fluid-filled fracture line (issue 19)."""

import numpy as np
import pytest

from vbfem.fem.cells import cell_centroids
from vbfem.fracture.defects import FRACTURE_LINE_HALF_WIDTH, typical_breaches
from vbfem.fracture.deformity import KINDS, apply_fracture
from vbfem.records import tissue_code


def test_typical_breaches_of_every_kind():
    expected = {"wedge": {"anterior"}, "biconcave": {"endplate_crack"}, "crush": {"anterior", "endplate_crack"}}
    for kind in KINDS:
        union = set().union(*(expected[c] for c in kind.split("+")))
        assert set(typical_breaches(kind)) == union, kind
        assert len(typical_breaches(kind)) == len(union)
    with pytest.raises(ValueError, match="'burst'"):
        typical_breaches("burst")


@pytest.mark.parametrize("kind, outlets", [
    ("wedge", {"outlet_breach_anterior"}),
    ("biconcave", {"outlet_endplate_crack"}),
    ("wedge+crush", {"outlet_breach_anterior", "outlet_endplate_crack"}),
])
def test_apply_fracture_opens_the_typical_outlets(l1_3mm, kind, outlets):
    _, m, mat = l1_3mm
    fm, fmat = apply_fracture(m, mat, kind, grade=2, breaches="typical")
    assert {k for k in fm.cell_sets if k.startswith("outlet_")} - set(m.cell_sets) == outlets
    assert set(fmat.params["fracture"]["outlets"]) == outlets


def test_fracture_line_runs_from_the_band_to_the_breach(l1_3mm):
    _, m, mat = l1_3mm
    fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches="lateral_left", fracture_line=True)
    info = fmat.params["fracture"]["fracture_line"]
    line = fm.cell_sets["fracture_line"]
    assert info["half_width"] == FRACTURE_LINE_HALF_WIDTH and info["n_cells"] == line.size > 0
    a, b = np.asarray(info["start"]), np.asarray(info["ends"][0])
    x = cell_centroids(fm)[line]
    t = np.clip((x - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
    assert np.all(np.linalg.norm(x - (a + t[:, None] * (b - a)), axis=1) <= FRACTURE_LINE_HALF_WIDTH + 1e-9)
    assert t.max() > 0.8 and t.min() < 0.2  # it spans the whole way
    flow = np.isin(fmat.tissue[line], [tissue_code(s) for s in ("trabecular", "damaged", "void")])
    assert flow.all() and not np.isin(line, fm.cell_sets["cortex"]).any()
    wider, _ = apply_fracture(m, mat, "wedge", grade=2, breaches="lateral_left", fracture_line=3.5)
    assert wider.cell_sets["fracture_line"].size > line.size


def test_fracture_line_bad_input(l1_3mm):
    _, m, mat = l1_3mm
    with pytest.raises(ValueError, match="cortical breach"):
        apply_fracture(m, mat, "biconcave", grade=2, breaches="typical", fracture_line=True)
    with pytest.raises(ValueError, match="fracture_line=-1"):
        apply_fracture(m, mat, "wedge", grade=2, breaches="anterior", fracture_line=-1.0)
