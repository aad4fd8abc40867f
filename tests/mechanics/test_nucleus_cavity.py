"""The fluid-filled nucleus of a spinal unit (vbfem.fem.cavity in vbfem.mechanics.spinal_unit): one cavity
per disc over its nucleus cells, its pressure as the intradiscal pressure, the fluid's share in the nucleus
stresses, and a plain solve without the fluid refused; mesh convergence of the L4-L5 pressure (slow)."""

import numpy as np
import pytest

from vbfem import solve_static
from vbfem.anatomy.geometry import build_vertebra
from vbfem.anatomy.mesher import mesh_vertebra
from vbfem.fem.cavity import material_cavities
from vbfem.fem.cells import cell_volumes
from vbfem.materials import disc as dm
from vbfem.materials.bone import assign_bone
from vbfem.mechanics.spinal_unit import assemble_unit, prepare_spine
from vbfem.mechanics.spine import intradiscal_pressure, solve_unit, unit_load_case, unit_response

SIZE = 6.0


def _l4_l5(size, **kw):
    mesh = mesh_vertebra(build_vertebra("L4"), size=size)
    bone = assign_bone(mesh, bmd="normal", seed=0)
    return assemble_unit(prepare_spine(mesh, level="L4", segments=("L4", "L5"), size=size, bmd="normal", seed=0,
                                       **kw), mesh, bone)


@pytest.fixture(scope="module")
def units():
    return {m: _l4_l5(SIZE, nucleus=m) for m in ("fluid", "solid")}


def test_fluid_nucleus_is_one_cavity_per_disc(units):
    fluid, solid = units["fluid"], units["solid"]
    assert solid.cavities == ()
    (c,) = fluid.cavities
    assert c.name == fluid.discs[0] == "L4_L5"
    cells = fluid.mesh.cell_set("nucleus_L4_L5")
    np.testing.assert_array_equal(c.cells, np.sort(cells))
    assert c.volume == pytest.approx(cell_volumes(fluid.mesh, cells).sum(), rel=1e-12)
    assert c.bulk_modulus == dm.NUCLEUS_FLUID_BULK
    np.testing.assert_allclose(fluid.materials.E[cells], dm.NUCLEUS_SKELETON_E)
    np.testing.assert_allclose(fluid.materials.nu[cells], dm.NUCLEUS_SKELETON_NU)
    np.testing.assert_allclose(solid.materials.nu[cells], dm.NUCLEUS_NU)
    assert fluid.materials.params["spine"]["nucleus_model"] == "fluid"
    # the material map declares the fluid (exports build it from there): the same cavity
    assert fluid.materials.params["fluid_cavities"] == {"L4_L5": {"cell_set": "nucleus_L4_L5",
                                                                  "bulk_modulus": dm.NUCLEUS_FLUID_BULK}}
    (again,) = material_cavities(fluid.mesh, fluid.materials)
    np.testing.assert_array_equal(again.vector, c.vector)
    assert (again.name, again.volume) == (c.name, c.volume)
    assert "fluid_cavities" not in solid.materials.params and material_cavities(solid.mesh, solid.materials) == ()


def test_intradiscal_pressure_is_the_fluid_pressure(units, caplog):
    """500 N on the L4-L5 unit: the force is carried, the reported pressure is -K_f b^T u / V and the nucleus
    cells' mean pressure (fluid plus skeleton) equals it up to the skeleton's K_s / K_f; the fluid's volume
    strain is -p / K_f; a plain solve without the fluid is refused by intradiscal_pressure."""
    unit = units["fluid"]
    load = unit_load_case(unit, "compression", force=500.0)
    (res,) = solve_unit(unit, load)
    assert res.platen_reaction["platen"][2] == pytest.approx(-500.0, rel=1e-8)
    (c,) = unit.cavities
    p = unit_response(unit, res).intradiscal_pressure["L4_L5"]
    assert p == c.pressure(res.displacement) > 0
    assert c.vector @ res.displacement.ravel() / c.volume == pytest.approx(-p / c.bulk_modulus, rel=1e-12)
    v = cell_volumes(unit.mesh)
    cells = c.cells
    mean = float((-res.stress[cells, :3].sum(axis=1) / 3 * v[cells]).sum() / v[cells].sum())
    ks = dm.NUCLEUS_SKELETON_E / (3 * (1 - 2 * dm.NUCLEUS_SKELETON_NU))
    assert mean == pytest.approx(p * (1 + ks / c.bulk_modulus), rel=1e-6)
    # b^T u is the first-order volume change of the nucleus moved by the solution (central difference)
    from vbfem.records import Mesh

    def volume(s):
        return cell_volumes(Mesh(unit.mesh.points + s * res.displacement, unit.mesh.cells, "hex8"), cells).sum()

    assert (volume(1e-3) - volume(-1e-3)) / 2e-3 == pytest.approx(c.vector @ res.displacement.ravel(), rel=1e-6)
    with caplog.at_level("WARNING", logger="vbfem.fem.static"):
        plain = solve_static(unit.mesh, unit.materials, load)
    assert "leaves out" in caplog.text  # a plain solve of a unit says that it ignores the fluid
    with pytest.raises(ValueError, match="solve_unit"):
        intradiscal_pressure(unit, plain.stress, displacement=plain.displacement)
    with pytest.raises(ValueError, match="displacement"):
        intradiscal_pressure(unit, res.stress)


def test_fluid_nucleus_raises_the_pressure_over_the_solid_one(units):
    """The fluid nucleus is stiffer in volume than the nu = 0.49 solid (K 2200 vs 16.7 MPa): it carries
    more of the force and its pressure is higher (6 mm: 0.346 vs 0.297 MPa measured)."""
    out = {}
    for m, unit in units.items():
        (res,) = solve_unit(unit, unit_load_case(unit, "compression", force=500.0))
        out[m] = unit_response(unit, res).intradiscal_pressure["L4_L5"]
    assert out["fluid"] > 1.1 * out["solid"] > 0


@pytest.mark.slow
def test_intradiscal_pressure_of_the_fluid_nucleus_converges():
    """L4-L5, 500 N, at 4 and 3 mm (about 15 s): the change is below 2 % (measured 0.55 %; 6 / 4 / 3 / 2.5 /
    2 mm: 0.3455 / 0.3645 / 0.3665 / 0.3676 / 0.3700 MPa)."""
    p = {}
    for size in (4.0, 3.0):
        unit = _l4_l5(size)
        (res,) = solve_unit(unit, unit_load_case(unit, "compression", force=500.0))
        p[size] = unit_response(unit, res).intradiscal_pressure["L4_L5"]
    assert p[3.0] == pytest.approx(p[4.0], rel=0.02)
