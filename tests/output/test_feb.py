"""FEBio 4 export: exact round trip of mesh, sets and materials; structure of the document
against the FEBio 4 user manual (sections, required attributes, cross references)."""

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from vbfem.fem.loads import fixed, load_case, nodal_force, platen_compression, rigid_platen
from vbfem.fem.primitives import box_mesh, perturbed
from vbfem.output.feb import PREFIX, REQUIRED_SECTIONS, read_feb, to_feb
from vbfem.records import MaterialMap


def _model(cell_type, seed=0):
    mesh = perturbed(box_mesh((10.0, 8.0, 12.0), (3, 2, 3), cell_type=cell_type), 0.3, seed=seed)
    rng = np.random.default_rng(seed)
    n = mesh.n_cells
    tissue = rng.integers(0, 3, n)
    nu = np.where(tissue == 1, 0.3, 0.2)
    E = np.where(tissue == 1, 12000.0, 300.0 * rng.uniform(0.5, 1.5, n))  # cortical uniform, others mapped
    mats = MaterialMap(E=E, nu=nu, tissue=tissue)
    mesh = mesh.with_cell_set("core", np.arange(0, n, 3)).with_cell_set("shell layer", np.arange(1, n, 4))
    mesh = mesh.with_cell_set("empty", np.zeros(0, np.int64))
    return mesh, mats


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_round_trip_is_exact(tmp_path, cell_type):
    mesh, mats = _model(cell_type)
    load = platen_compression(mesh, top="zmax", bottom="zmin", displacement=0.12)
    back = read_feb(to_feb(tmp_path / "m.feb", mesh, mats, load))
    assert back.version == "4.0"
    assert back.mesh.cell_type == cell_type
    np.testing.assert_array_equal(back.mesh.points, mesh.points)
    np.testing.assert_array_equal(back.mesh.cells, mesh.cells)  # FEBio node order = vbfem order
    assert set(back.mesh.node_sets) == set(mesh.node_sets)
    for k, v in mesh.node_sets.items():
        np.testing.assert_array_equal(back.mesh.node_sets[k], np.unique(v))
    # the empty set is skipped (FEBio rejects empty element sets); the name with a space is sanitised
    assert set(back.mesh.cell_sets) == {"core", "shell_layer"}
    np.testing.assert_array_equal(back.mesh.cell_sets["core"], mesh.cell_sets["core"])
    np.testing.assert_array_equal(back.mesh.cell_sets["shell_layer"], mesh.cell_sets["shell layer"])
    np.testing.assert_array_equal(back.materials.E, mats.E)
    np.testing.assert_array_equal(back.materials.nu, mats.nu)
    np.testing.assert_array_equal(back.materials.tissue, mats.tissue)
    # one part per (tissue, nu) group, each holding exactly its cells
    assert len(back.parts) == len(np.unique(np.column_stack([mats.tissue, mats.nu]), axis=0))
    for cells in back.parts.values():
        assert np.unique(mats.nu[cells]).size == 1 and np.unique(mats.tissue[cells]).size == 1
    assert sorted(np.concatenate(list(back.parts.values())).tolist()) == list(range(mesh.n_cells))


def _structure_errors(root):
    """Check a document against the FEBio 4 rules this writer relies on (user manual chapter 3)."""
    errors = []
    tags = [c.tag for c in root if isinstance(c.tag, str)]
    if root.tag != "febio_spec" or root.get("version") != "4.0":
        errors.append("root must be <febio_spec version='4.0'>")
    for sec in REQUIRED_SECTIONS:
        if sec not in tags:
            errors.append(f"missing section {sec}")
    order = [t for t in tags if t in REQUIRED_SECTIONS]
    if order != [s for s in REQUIRED_SECTIONS if s in order]:
        errors.append(f"sections out of order: {order}")
    if root.find("Module").get("type") != "solid":
        errors.append("Module type must be solid")
    ctrl = root.find("Control")
    for req in ("analysis", "time_steps", "step_size"):
        if ctrl.find(req) is None:
            errors.append(f"Control lacks {req}")
    mats = root.find("Material").findall("material")
    if [int(m.get("id")) for m in mats] != list(range(1, len(mats) + 1)):
        errors.append("material ids must be 1..n")
    names = {m.get("name"): m for m in mats}
    rigid = {n for n, m in names.items() if m.get("type") == "rigid body"}
    mesh = root.find("Mesh")
    node_ids = [int(n.get("id")) for n in mesh.iter("node")]
    if node_ids != sorted(node_ids) or len(set(node_ids)) != len(node_ids):
        errors.append("node ids must be unique and increasing")
    parts = {}
    for el in mesh.findall("Elements"):
        if el.get("type") not in ("hex8", "tet4", "tet10") or not el.get("name"):
            errors.append("Elements needs a solid type and a name")
        parts[el.get("name")] = [e.get("id") for e in el.findall("elem")]
    node_sets = {ns.get("name") for ns in mesh.findall("NodeSet")}
    for ns in mesh.findall("NodeSet") + mesh.findall("ElementSet"):
        if not ns.get("name") or not (ns.text or "").strip():
            errors.append(f"{ns.tag} needs a name and ids")
    domains = root.find("MeshDomains").findall("SolidDomain")
    if sorted(d.get("name") for d in domains) != sorted(parts):
        errors.append("every Elements part needs exactly one SolidDomain")
    for d in domains:
        if d.get("mat") not in names or d.get("mat") in rigid:
            errors.append(f"SolidDomain {d.get('name')} references unknown material {d.get('mat')}")
    for m in mats:
        e = m.find("E")
        if e is not None and e.get("type") == "map":
            data = [d for d in root.iter("ElementData") if d.get("name") == e.text]
            if len(data) != 1 or data[0].get("elem_set") not in parts:
                errors.append(f"map {e.text} must be one ElementData on a part")
            elif [int(x.get("lid")) for x in data[0]] != list(range(1, len(parts[data[0].get("elem_set")]) + 1)):
                errors.append(f"map {e.text} must give lids 1..n of its part")
    for bc in root.iter("bc"):
        if bc.get("node_set") not in node_sets:
            errors.append(f"bc {bc.get('name')} references missing node set {bc.get('node_set')}")
        if bc.get("type") == "rigid" and bc.find("rb").text not in rigid:
            errors.append("rigid bc must reference a rigid body material")
    for tag in ("rigid_bc", "rigid_load"):
        for rb in root.iter(tag):
            if rb.find("rb").text not in rigid:
                errors.append(f"{tag} references unknown rigid body")
    lcs = {lc.get("id") for lc in root.iter("load_controller")}
    for el in root.iter():
        if el.get("lc") is not None and el.get("lc") not in lcs:
            errors.append(f"<{el.tag}> uses undefined load controller {el.get('lc')}")
    return errors


def test_structure_follows_febio4_manual(tmp_path):
    mesh, mats = _model("hex8")
    load = platen_compression(mesh, top="zmax", bottom="zmin", displacement=0.12)
    root = ET.parse(to_feb(tmp_path / "m.feb", mesh, mats, load)).getroot()
    assert _structure_errors(root) == []
    # the checker does catch a broken document
    root.find("MeshDomains")[0].set("mat", "nonexistent")
    root.remove(root.find("LoadData"))
    errs = _structure_errors(root)
    assert any("missing section LoadData" in e for e in errs) and any("unknown material" in e for e in errs)


def test_platen_becomes_rigid_body(tmp_path):
    mesh, mats = _model("hex8")
    load = platen_compression(mesh, top="zmax", bottom="zmin", displacement=0.12)
    back = read_feb(to_feb(tmp_path / "m.feb", mesh, mats, load))
    root = ET.parse(tmp_path / "m.feb").getroot()
    (com,) = back.rigid_bodies.values()
    np.testing.assert_array_equal(com, load.platens[0].ref_point)
    fixed_bc = root.find("Rigid").find("rigid_bc[@type='rigid_fixed']")
    flags = {c.tag: int(c.text) for c in fixed_bc if c.tag.endswith("_dof")}
    assert flags == {"Rx_dof": 1, "Ry_dof": 1, "Rz_dof": 0, "Ru_dof": 1, "Rv_dof": 1, "Rw_dof": 1}
    disp = root.find("Rigid").find("rigid_bc[@type='rigid_displacement']")
    assert disp.find("dof").text == "z" and float(disp.find("value").text) == -0.12
    tie = root.find("Boundary").find("bc[@type='rigid']")
    tied = next(ns for ns in root.find("Mesh").findall("NodeSet") if ns.get("name") == tie.get("node_set"))
    ids = np.array([int(t) for t in tied.text.replace("\n", "").split(",")])
    np.testing.assert_array_equal(ids - 1, load.platens[0].nodes)


def test_free_tilt_platen_and_partial_rotation(tmp_path):
    mesh, mats = _model("hex8")
    free = rigid_platen(mesh, "zmax", displacement=(0.0, 0.0, None), rotation=None, force=(0, 0, -100.0),
                        moment=(50.0, 0, 0))
    load = load_case("tilt", fixed=[fixed(mesh, "zmin")], platens=[free])
    root = ET.parse(to_feb(tmp_path / "t.feb", mesh, mats, load)).getroot()
    assert _structure_errors(root) == []
    fixed_bc = root.find("Rigid").find("rigid_bc[@type='rigid_fixed']")
    assert {c.tag: int(c.text) for c in fixed_bc if c.tag.endswith("_dof")} == {
        "Rx_dof": 1, "Ry_dof": 1, "Rz_dof": 0, "Ru_dof": 0, "Rv_dof": 0, "Rw_dof": 0}
    loads = {(ld.get("type"), ld.find("dof").text): float(ld.find("value").text) for ld in root.iter("rigid_load")}
    assert loads == {("rigid_force", "Rz"): -100.0, ("rigid_moment", "Ru"): 50.0}
    partial = rigid_platen(mesh, "zmax", displacement=(0, 0, -0.1), rotation=(0.0, None, 0.0))
    with pytest.raises(ValueError, match="all three rotations"):
        to_feb(tmp_path / "p.feb", mesh, mats, load_case("p", fixed=[fixed(mesh, "zmin")], platens=[partial]))
    assert not (tmp_path / "p.feb").exists()


def test_prescribed_values_and_forces_round_trip(tmp_path):
    """Rebuild the prescribed dofs and nodal forces from the file and compare with the load case."""
    mesh, mats = _model("tet4")
    rng = np.random.default_rng(1)
    top = mesh.node_sets["zmax"]
    load = load_case("mixed", fixed=[fixed(mesh, "zmin"), fixed(mesh, "xmin", components=(0,)),
                                     fixed(mesh, top, components=(2,), value=-0.05),
                                     fixed(mesh, top[:3], components=(0,), value=rng.uniform(size=(3, 1)))],
                     forces=[nodal_force(mesh, "xmax", (0.0, 30.0, 0.0))])
    root = ET.parse(to_feb(tmp_path / "m.feb", mesh, mats, load)).getroot()
    assert _structure_errors(root) == []
    sets = {ns.get("name"): np.array([int(t) for t in ns.text.replace("\n", "").split(",")]) - 1
            for ns in root.find("Mesh").findall("NodeSet")}
    u = {}
    for bc in root.find("Boundary").findall("bc"):
        nodes = sets[bc.get("node_set")]
        if bc.get("type") == "zero displacement":
            for c, comp in enumerate("xyz"):
                if int(bc.find(f"{comp}_dof").text):
                    u.update({3 * n + c: 0.0 for n in nodes})
        else:
            c = "xyz".index(bc.find("dof").text)
            u.update({3 * n + c: float(bc.find("value").text) for n in nodes})
    expected = dict(zip(load.fixed_dofs.tolist(), load.fixed_values.tolist()))
    assert u == expected
    f = np.zeros(mesh.n_dofs)
    for nl in root.find("Loads").findall("nodal_load"):
        c = "xyz".index(nl.find("dof").text)
        f[3 * sets[nl.get("node_set")] + c] += float(nl.find("scale").text)
    np.testing.assert_allclose(f, np.bincount(load.force_dofs, load.force_values, minlength=mesh.n_dofs),
                               rtol=0, atol=1e-12)


def _febio_shape(cell_type, r, s, t):
    """FEBio's shape functions, transcribed from FECore (FEHex8 / FETet4 / FETet10 shape_fnc)."""
    if cell_type == "hex8":
        return 0.125 * np.array([(1 - r) * (1 - s) * (1 - t), (1 + r) * (1 - s) * (1 - t),
                                 (1 + r) * (1 + s) * (1 - t), (1 - r) * (1 + s) * (1 - t),
                                 (1 - r) * (1 - s) * (1 + t), (1 + r) * (1 - s) * (1 + t),
                                 (1 + r) * (1 + s) * (1 + t), (1 - r) * (1 + s) * (1 + t)])
    u = 1 - r - s - t
    if cell_type == "tet4":
        return np.array([u, r, s, t])
    return np.array([u * (2 * u - 1), r * (2 * r - 1), s * (2 * s - 1), t * (2 * t - 1),
                     4 * r * u, 4 * r * s, 4 * s * u, 4 * t * u, 4 * r * t, 4 * s * t])


@pytest.mark.parametrize("cell_type", ["hex8", "tet4", "tet10"])
def test_febio_node_order_equals_vbfem(cell_type):
    """Same shape function per node index => connectivity can be written unchanged."""
    from vbfem.fem.elements import element

    rng = np.random.default_rng(5)
    xi = rng.uniform(-1, 1, (20, 3)) if cell_type == "hex8" else rng.dirichlet(np.ones(4), 20)[:, :3]
    np.testing.assert_allclose(element(cell_type).shape(xi), _febio_shape(cell_type, *xi.T).T, atol=1e-14)


def test_tet10_uses_vbfem_quadrature(tmp_path):
    mesh, mats = _model("tet10")
    load = platen_compression(mesh, top="zmax", bottom="zmin", displacement=0.1)
    root = ET.parse(to_feb(tmp_path / "m.feb", mesh, mats, load)).getroot()
    assert {d.get("elem_type") for d in root.iter("SolidDomain")} == {"TET10G4"}


def test_bad_input(tmp_path):
    mesh, mats = _model("hex8")
    load = platen_compression(mesh, top="zmax", bottom="zmin", displacement=0.1)
    with pytest.raises(ValueError, match="material map has"):
        to_feb(tmp_path / "x.feb", mesh, MaterialMap.uniform(3, 100.0, 0.3), load)
    with pytest.raises(ValueError, match="clashes"):
        to_feb(tmp_path / "x.feb", mesh.with_node_set(PREFIX + "fixed_xyz", [0]), mats, load)
    with pytest.raises(ValueError, match="both become"):
        to_feb(tmp_path / "x.feb", mesh.with_cell_set("a b", [0]).with_cell_set("a_b", [1]), mats, load)
    with pytest.raises(TypeError, match="MaterialMap"):
        to_feb(tmp_path / "x.feb", mesh, mats.E, load)
    fluid = dataclasses.replace(mats, params={"fluid_cavities": {"core": {"cell_set": "x", "bulk_modulus": 2.2e3}}})
    with pytest.raises(ValueError, match="fluid-filled cavities .core."):  # never exported without its fluid
        to_feb(tmp_path / "x.feb", mesh, fluid, load)
    with pytest.raises(FileNotFoundError):
        read_feb(tmp_path / "none.feb")
    (tmp_path / "bad.feb").write_text("<other/>")
    with pytest.raises(ValueError, match="febio_spec"):
        read_feb(tmp_path / "bad.feb")
    assert not (tmp_path / "x.feb").exists()


def test_vertebra_with_heterogeneous_bone_round_trips(tmp_path):
    """A real L1 mesh, seeded heterogeneous bone and a fracture: every cell keeps its own modulus."""
    from vbfem.anatomy.geometry import build_vertebra
    from vbfem.anatomy.mesher import mesh_vertebra
    from vbfem.fracture.deformity import apply_fracture
    from vbfem.materials.bone import assign_bone

    mesh = mesh_vertebra(build_vertebra("L1"), size=3.0)
    bone = assign_bone(mesh, seed=2)
    mesh, bone = apply_fracture(mesh, bone, "wedge", grade=2)
    load = platen_compression(mesh, top="superior", bottom="inferior", displacement=0.1)
    path = to_feb(tmp_path / "l1.feb", mesh, bone, load)
    root = ET.parse(path).getroot()
    assert _structure_errors(root) == []
    back = read_feb(path)
    np.testing.assert_array_equal(back.mesh.points, mesh.points)
    np.testing.assert_array_equal(back.mesh.cells, mesh.cells)
    np.testing.assert_array_equal(back.materials.E, bone.E)
    np.testing.assert_array_equal(back.materials.nu, bone.nu)
    np.testing.assert_array_equal(back.materials.tissue, bone.tissue)
    for name, cells in mesh.cell_sets.items():
        if cells.size:
            np.testing.assert_array_equal(back.mesh.cell_sets[name], np.unique(cells))
    assert len(back.parts) <= 2 * len(np.unique(bone.tissue))  # few domains despite per-cell moduli
