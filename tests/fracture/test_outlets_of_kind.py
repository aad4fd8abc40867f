"""Outlets that follow from the fracture kind, and the fluid-filled fracture line (issue 19)."""

import numpy as np
import pytest

from vbfem.fem.cells import cell_centroids
from vbfem.fem.faces import mesh_faces
from vbfem.fracture.defects import FRACTURE_LINE_HALF_WIDTH, WEDGE_CRACK_POSITION, crack_point, typical_breaches
from vbfem.fracture.deformity import KINDS, apply_fracture
from vbfem.records import tissue_code


def test_typical_breaches_of_every_kind():
    # a wedge (AO A1 wedge-compression) breaks its anterior wall and one endplate
    expected = {"wedge": {"anterior", "endplate_crack"}, "biconcave": {"endplate_crack"},
                "crush": {"anterior", "endplate_crack"}}
    for kind in KINDS:
        union = set().union(*(expected[c] for c in kind.split("+")))
        assert set(typical_breaches(kind)) == union, kind
        assert len(typical_breaches(kind)) == len(union)
    with pytest.raises(ValueError, match="'burst'"):
        typical_breaches("burst")


@pytest.mark.parametrize("kind, outlets", [
    ("wedge", {"outlet_breach_anterior", "outlet_endplate_crack"}),
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


def _shared_faces(mesh, a, b):
    """Number of faces between the cell sets ``a`` and ``b``."""
    f = mesh_faces(mesh)
    in_a, in_b = np.zeros(mesh.n_cells, bool), np.zeros(mesh.n_cells, bool)
    in_a[a], in_b[b] = True, True
    return int(np.sum(in_a[f.inner_i] & in_b[f.inner_j]) + np.sum(in_b[f.inner_i] & in_a[f.inner_j]))


def test_a_wedges_crack_lies_in_the_anterior_endplate_a_biconcaves_in_the_middle(l1_3mm):
    """Wang 2020 (PMC7647501): the most depressed point of superior endplate fractures is mostly in the second
    of five segments from the front (a2); a biconcave deformity's depression is central."""
    _, m, mat = l1_3mm
    fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches="typical")
    rec = fmat.params["fracture"]
    xa, xm, xp = rec["stations_x"]
    point = rec["outlets"]["outlet_endplate_crack"]["point"]
    assert point[0] == pytest.approx(xa - WEDGE_CRACK_POSITION * (xa - xp)) and point[1] == pytest.approx(rec["mid_sagittal_y"])
    crack = fm.cell_sets["outlet_endplate_crack"]
    x = cell_centroids(fm)[crack, 0]
    assert np.all(np.isin(crack, fm.cell_sets["superior_endplate"]))  # the wedge's collapsed endplate
    assert np.all(x > xm) and np.all(x < xa)  # anterior of the middle station, behind the anterior rim
    _bm, bmat = apply_fracture(m, mat, "biconcave", grade=2, breaches="typical")
    assert bmat.params["fracture"]["outlets"]["outlet_endplate_crack"]["point"][0] == pytest.approx(xm)
    assert crack_point("wedge+crush", (xa, xm, xp)) == pytest.approx(point[0])
    assert crack_point("biconcave+wedge", (xa, xm, xp)) == xm and crack_point("crush", (xa, xm, xp)) == xm
    with pytest.raises(ValueError, match="anterior rim"):
        crack_point("wedge", (xp, xm, xa))
    with pytest.raises(ValueError, match="3 values"):
        crack_point("wedge", (xa, xp))
    with pytest.raises(ValueError, match="'burst'"):
        crack_point("burst", (xa, xm, xp))


def test_a_wedges_cleft_opens_into_its_endplate_crack(l1_3mm):
    """The cleft lies beneath the anterior half of the collapsed endplate and the wedge's crack in the anterior
    endplate: they share faces, so cement in the cleft can reach the disc (at the middle station they did not)."""
    _, m, mat = l1_3mm
    fm, _ = apply_fracture(m, mat, "wedge", grade=2, breaches="typical", cleft=True)
    assert _shared_faces(fm, fm.cell_sets["cleft"], fm.cell_sets["outlet_endplate_crack"]) > 0


def test_the_fracture_line_runs_to_the_endplate_crack(l1_3mm):
    _, m, mat = l1_3mm
    fm, fmat = apply_fracture(m, mat, "wedge", grade=2, breaches="typical", fracture_line=True)
    info = fmat.params["fracture"]["fracture_line"]
    crack = fmat.params["fracture"]["outlets"]["outlet_endplate_crack"]["point"]
    assert len(info["ends"]) == 2 and info["ends"][1][:2] == pytest.approx(crack)
    assert _shared_faces(fm, fm.cell_sets["fracture_line"], fm.cell_sets["outlet_endplate_crack"]) > 0
    # a biconcave fracture has no cortical breach: its line runs to the crack under both endplates
    bm, bmat = apply_fracture(m, mat, "biconcave", grade=2, breaches="typical", fracture_line=True)
    ends = np.asarray(bmat.params["fracture"]["fracture_line"]["ends"])
    assert ends.shape == (2, 3) and ends[0, 2] < ends[1, 2]  # inferior, then superior (sorted sides)
    assert _shared_faces(bm, bm.cell_sets["fracture_line"], bm.cell_sets["outlet_endplate_crack"]) > 0
    # each endplate's crack is reached from the band under that endplate: the line leaves the middle between
    # the two cracks empty (a line from the superior band to the inferior crack ran straight through it: cells
    # at z = -1.6 and 0.4 mm, midway 0.4 mm; now the nearest are 3.5 mm away)
    z = cell_centroids(bm)[bm.cell_sets["fracture_line"], 2]
    mid = 0.5 * (ends[0, 2] + ends[1, 2])
    assert not np.any(np.abs(z - mid) < 2.5)
    assert np.any(z > mid) and np.any(z < mid)  # and it serves both endplates


def test_fracture_line_bad_input(l1_3mm):
    _, m, mat = l1_3mm
    with pytest.raises(ValueError, match="cortical breach or an endplate crack"):
        apply_fracture(m, mat, "biconcave", grade=2, fracture_line=True)
    with pytest.raises(ValueError, match="fracture_line=-1"):
        apply_fracture(m, mat, "wedge", grade=2, breaches="anterior", fracture_line=-1.0)
