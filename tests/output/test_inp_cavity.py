"""Fluid-filled cavities in the CalculiX deck (vbfem.output.inp): an auxiliary node whose dof 1 is the volume
change b^T u (one *EQUATION), a grounded SPRING1 of stiffness K_f / V on it. The deck's structure without
ccx; with ccx, a confined fluid layer against its analytic pressure and a cavity whose wall holds rigid-platen
nodes (cascaded equations) against vbfem's Sherman-Morrison-Woodbury solve.

The ccx tests skip without ``ccx`` and fail when ``VBFEM_REQUIRE_CCX=1`` (tests/conftest.py).
"""

import dataclasses
import logging
import re

import numpy as np
import pytest

from vbfem.fem.cavity import CAVITIES_PARAM, cavity, material_cavities, solve_static_cavities
from vbfem.fem.cells import cell_centroids
from vbfem.fem.loads import fixed, load_case, rigid_platen
from vbfem.fem.primitives import box_mesh
from vbfem.output.ccx import ccx_platen_reaction
from vbfem.output.inp import cavity_nodes, inp_text
from vbfem.records import MaterialMap

K_WATER = 2200.0
A, H, F = 6.0, 4.0, 500.0  # column side, layer height (mm), force (N)


def _column(layer="middle"):
    """A 6 x 6 x 12 mm column of 3 x 3 x 6 hexes, a fluid-filled layer (soft skeleton) in its middle or top
    third; the material map declares the layer's cavity."""
    mesh = box_mesh((A, A, 3 * H), (3, 3, 6))
    zc = cell_centroids(mesh)[:, 2]
    cells = np.flatnonzero((zc > H) & (zc < 2 * H)) if layer == "middle" else np.flatnonzero(zc > 2 * H)
    mesh = mesh.with_cell_set("fluid layer", cells)
    E = np.full(mesh.n_cells, 100.0)
    nu = np.full(mesh.n_cells, 0.3)
    E[cells], nu[cells] = 0.1, 0.2
    mat = MaterialMap(E=E, nu=nu, params={CAVITIES_PARAM: {"layer": {"cell_set": "fluid layer",
                                                                     "bulk_modulus": K_WATER}}})
    return mesh, mat


def _confined_load(mesh):
    """Bottom fixed, sides on rollers, force F through a platen on top free along z only (uniaxial strain)."""
    side = {s: np.setdiff1d(mesh.node_set(s), mesh.node_set("top")) for s in ("xmin", "xmax", "ymin", "ymax")}
    return load_case("confined", fixed=[fixed(mesh, "bottom"), fixed(mesh, side["xmin"], components=(0,)),
                                       fixed(mesh, side["xmax"], components=(0,)),
                                       fixed(mesh, side["ymin"], components=(1,)),
                                       fixed(mesh, side["ymax"], components=(1,))],
                     platens=[rigid_platen(mesh, "top", displacement=(0.0, 0.0, None), force=(0.0, 0.0, -F))])


def _free_load(mesh):
    """Bottom fixed; a free platen on top with a force and a moment."""
    return load_case("free", fixed=[fixed(mesh, "bottom")],
                     platens=[rigid_platen(mesh, "top", displacement=(None, None, None), rotation=None,
                                           force=(20.0, -10.0, -F), moment=(300.0, -200.0, 50.0))])


def _equation(lines, start):
    """Terms (node, dof, coefficient) of the *EQUATION whose keyword is ``lines[start]``; its last line."""
    n = int(lines[start + 1])
    tokens, i = [], start + 2
    while len(tokens) < 3 * n:
        tokens += [t.strip() for t in lines[i].split(",")]
        i += 1
    return [(int(tokens[k]), int(tokens[k + 1]), float(tokens[k + 2])) for k in range(0, 3 * n, 3)], i - 1


def test_deck_holds_the_declared_cavity():
    """Written by default from the material map: the auxiliary node after the platen's two nodes, its spring
    K_f / V, the equation dV - b^T u = 0 with the auxiliary dof first and one term per wall dof (exactly -b,
    none inside the cavity), its dofs 2 and 3 fixed, U and RF printed; no line beyond 132 characters."""
    mesh, mat = _column()
    load = _confined_load(mesh)
    (cav,) = material_cavities(mesh, mat)
    text = inp_text(mesh, mat, load)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 132
    cn = cavity_nodes(mesh, load, [cav])["layer"]
    assert (cn.node, cn.element) == (mesh.n_points + 3, mesh.n_cells + 1)
    i = lines.index(f"*ELEMENT, TYPE=SPRING1, ELSET={cn.spring_set}")
    assert lines[i + 1] == f"{cn.element}, {cn.node}"
    i = lines.index(f"*SPRING, ELSET={cn.spring_set}")
    assert lines[i + 1] == "1" and "." in lines[i + 2]
    assert float(lines[i + 2]) == cav.stiffness == K_WATER / cav.volume
    eqs = [k for k, ln in enumerate(lines) if ln == "*EQUATION"]
    found = [_equation(lines, k) for k in eqs]
    ours = [(terms, end) for terms, end in found if terms[0][0] == cn.node]
    assert len(ours) == 1
    terms, end = ours[0]
    assert terms[0] == (cn.node, 1, 1.0)
    dofs = np.array([3 * (n - 1) + d - 1 for n, d, _ in terms[1:]])
    coef = np.array([c for _, _, c in terms[1:]])
    np.testing.assert_array_equal(dofs, cav.wall_dofs())
    np.testing.assert_array_equal(coef, -cav.vector[dofs])
    inside = np.setdiff1d(np.flatnonzero(cav.vector), dofs)
    assert inside.size and np.abs(cav.vector[inside]).max() < 1e-12 * np.abs(cav.vector).max()
    assert lines[end + 1: end + 3] == ["*BOUNDARY", f"{cn.node}, 2, 3"]
    assert f"*NODE PRINT, NSET={cn.node_set}" in lines
    node_line = next(ln for ln in lines if ln.startswith(f"{cn.node}, ") and ln.count(",") == 3)
    centre = [float(x) for x in node_line.split(",")[1:]]
    np.testing.assert_allclose(centre, [A / 2, A / 2, 1.5 * H])  # the wall's centre
    assert "1 fluid-filled cavity" in text


def test_explicit_cavities_and_dropping_them_is_said(caplog):
    mesh, mat = _column()
    load = _confined_load(mesh)
    plain = dataclasses.replace(mat, params={})
    (cav,) = material_cavities(mesh, mat)
    assert inp_text(mesh, plain, load, cavities=[cav]) == inp_text(mesh, mat, load)
    assert "SPRING1" not in inp_text(mesh, plain, load)
    with caplog.at_level(logging.WARNING, logger="vbfem.output.inp"):
        text = inp_text(mesh, mat, load, cavities=())
    assert "SPRING1" not in text
    assert "declares fluid-filled cavities layer" in caplog.text


def test_bad_cavities_are_refused():
    mesh, mat = _column()
    load = _confined_load(mesh)
    (cav,) = material_cavities(mesh, mat)
    with pytest.raises(ValueError, match="distinct"):
        inp_text(mesh, mat, load, cavities=[cav, cav])
    small = box_mesh((A, A, A), (2, 2, 2))
    other = cavity(small, [0, 1], bulk_modulus=K_WATER, name="other")
    with pytest.raises(ValueError, match="shape"):
        inp_text(mesh, mat, load, cavities=[other])
    missing = dataclasses.replace(mat, params={CAVITIES_PARAM: {"x": {"cell_set": "nothing", "bulk_modulus": 1.0}}})
    with pytest.raises(ValueError, match="no cell set 'nothing'"):
        inp_text(mesh, missing, load)
    unclear = dataclasses.replace(mat, params={CAVITIES_PARAM: {"x": {"cell_set": "fluid layer"}}})
    with pytest.raises(ValueError, match="bulk_modulus"):
        material_cavities(mesh, unclear)


def test_confined_fluid_layer_in_calculix_carries_the_analytic_pressure(ccx, tmp_path):
    """Uniaxial strain through solid, fluid layer, solid: p = K_f F / (A² (K_f + M_s)) exactly; CalculiX's
    spring force and volume change give it to its 7 printed digits, and the top moves as in vbfem."""
    mesh, mat = _column()
    load = _confined_load(mesh)
    out = ccx_platen_reaction(mesh, mat, load, "platen", tmp_path)
    (cav,) = material_cavities(mesh, mat)
    M_s = 0.1 * 0.8 / (1.2 * 0.6)  # the skeleton's constrained modulus
    expected = K_WATER * F / (A * A * (K_WATER + M_s))
    got = out.cavities["layer"]
    assert got.pressure == pytest.approx(expected, rel=1e-6)
    assert -cav.stiffness * got.volume_change == pytest.approx(expected, rel=1e-6)
    (res,), _ = solve_static_cavities(mesh, mat, [load], [cav], solver="direct")
    assert out.motion[2] == pytest.approx(res.platen_motion["platen"][2], rel=1e-6)


def test_cavity_on_platen_nodes_matches_vbfem(ccx, tmp_path):
    """The top third is the fluid layer, so its wall holds the platen's nodes (dependent terms of the platen
    equations that CalculiX eliminates in cascade); a force and a moment on the free platen: motion and
    pressure agree with vbfem to 1e-6."""
    mesh, mat = _column("top")
    load = _free_load(mesh)
    (cav,) = material_cavities(mesh, mat)
    assert np.isin(cav.wall_dofs() // 3, load.platen("platen").nodes).any()
    out = ccx_platen_reaction(mesh, mat, load, "platen", tmp_path)
    (res,), (p,) = solve_static_cavities(mesh, mat, [load], [cav], solver="direct")
    ref = res.platen_motion["platen"]
    assert np.linalg.norm(out.motion - ref) / np.linalg.norm(ref) < 1e-6
    assert out.cavities["layer"].pressure == pytest.approx(p["layer"], rel=1e-6)
    assert p["layer"] > 0
    assert re.search(r"1 fluid-filled cavity", (tmp_path / "vbfem_platen.inp").read_text())
