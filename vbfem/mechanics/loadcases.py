"""Named load cases on a vertebra mesh: the ex vivo compression test and the
physiological force/moment cases, plus a registry to ask for them by name.

Axes and signs (right-handed, DESIGN.md): +x anterior, +y left, +z superior.
A positive rotation about +y turns +z towards +x, so the superior endplate
tilts forward: **flexion is a moment about +y** (it compresses the anterior
body), **extension about -y**. A positive rotation about +x turns +z towards
-y (right), so **right lateral bending is a moment about +x** and **left
lateral bending about -x**. **Left axial rotation** (the anterior surface
turning towards +y) is a moment about +z, right axial rotation about -z.
Compression acts along -z.

Default magnitudes: 500 N axial compression with a 7.5 N·m (7500 N·mm) pure
moment, the usual set in vertebral FE studies (REFERENCE.md, "common FE
loads": several FE studies; Spine J 2022).

Potting and discs: :func:`add_layer` extrudes a layer of hex8 cells from an
endplate to a flat plane (``with_potting`` a PMMA layer under the inferior
endplate, ``with_discs`` soft disc-like layers above and below); the load
cases then act on the layers' flat outer faces (node sets ``potting_base``,
``disc_superior_top``, ``disc_inferior_bottom``). Layers need a hex8 mesh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ..fem.elements import element
from ..fem.loads import fixed, load_case, rigid_platen
from ..materials.cement import PMMA_E, PMMA_NU
from ..records import LoadCase, MaterialMap, Mesh, tissue_code

log = logging.getLogger(__name__)

#: Default axial force of the physiological cases, N (REFERENCE.md, "common FE loads").
DEFAULT_FORCE = 500.0
#: Default pure moment of the physiological cases, N·mm (7.5 N·m; REFERENCE.md, "common FE loads").
DEFAULT_MOMENT = 7.5e3

#: Unit moment direction of each physiological case (see the module docstring for the signs).
PHYSIOLOGICAL_CASES = {
    "compression": (0.0, 0.0, 0.0),
    "flexion": (0.0, 1.0, 0.0),
    "extension": (0.0, -1.0, 0.0),
    "lateral_bending_left": (-1.0, 0.0, 0.0),
    "lateral_bending_right": (1.0, 0.0, 0.0),
    "axial_rotation_left": (0.0, 0.0, 1.0),
    "axial_rotation_right": (0.0, 0.0, -1.0),
}

#: Potting options of :func:`compression_test`: ``"fixed"`` fixes the inferior endplate nodes;
#: ``"pmma"`` fixes the flat base (node set ``potting_base``) of a layer added by :func:`with_potting`.
POTTING = ("fixed", "pmma")

#: Homogeneous disc layer: Young's modulus (MPa) and Poisson's ratio of the annulus ground substance,
#: E = 4.2 MPa, nu = 0.45 (Shirazi-Adl, Ahmed & Shrivastava 1986, Spine 11:914; **unverified**, not in
#: REFERENCE.md). A homogeneous layer has neither the nucleus pressurisation nor the annulus fibres.
DISC_E = 4.2
DISC_NU = 0.45

#: Name of the platen on the superior endplate in every load case built here.
PLATEN = "platen"


def _magnitude(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    ok = np.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite magnitude {rel}, got {value!r}")
    return v


def _require_set(mesh: Mesh, name: str, parameter: str) -> np.ndarray:
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a vbfem Mesh, got {type(mesh).__name__}")
    if name not in mesh.node_sets:
        raise ValueError(
            f"{parameter}={name!r}: node set {name!r} not in mesh; available: {sorted(mesh.node_sets) or 'none'}"
        )
    nodes = mesh.node_sets[name]
    if nodes.size == 0:
        raise ValueError(f"{parameter}={name!r}: node set {name!r} is empty")
    return nodes


def superior_reference_point(mesh: Mesh, *, superior: str = "superior") -> np.ndarray:
    """Reference point of the superior platen: centroid of the ``superior`` nodes, mm, shape (3,)."""
    return mesh.points[_require_set(mesh, superior, "superior")].mean(axis=0)


def compression_test(mesh: Mesh, *, displacement: float | None = None, force: float | None = None,
                     potting: str = "fixed", superior: str = "superior", inferior: str = "inferior",
                     name: str = "compression_test") -> LoadCase:
    """Ex vivo axial compression test of the cement-augmentation literature.

    The inferior endplate is potted (all its nodes fixed); the superior
    endplate is tied to a rigid platen that cannot tilt or slide and is
    driven along -z by a displacement or a force.

    Parameters
    ----------
    mesh : Mesh
    displacement : float, keyword-only
        Platen shortening in mm (> 0).
    force : float, keyword-only
        Compressive platen force in N (> 0). Give exactly one of the two.
    potting : {"fixed", "pmma"}, keyword-only
        ``"fixed"``: the ``inferior`` nodes are fixed in all directions;
        ``"pmma"``: the flat base ``potting_base`` of a PMMA layer added by
        :func:`with_potting` is fixed (``inferior`` is then ignored).
    superior, inferior : str, keyword-only
        Node-set names (defaults from :func:`vbfem.anatomy.mesher.mesh_vertebra`).
    name : str, keyword-only

    Returns
    -------
    LoadCase
        With one platen named ``"platen"``.
    """
    if potting not in POTTING:
        raise ValueError(f"potting={potting!r} is not available; allowed: {', '.join(POTTING)}")
    if (displacement is None) == (force is None):
        raise ValueError(
            f"give exactly one of displacement (mm) or force (N), got displacement={displacement!r}, force={force!r}"
        )
    if force is None:
        d = _magnitude(displacement, "displacement")
        kw = {"displacement": (0.0, 0.0, -d)}
    else:
        f = _magnitude(force, "force")
        kw = {"displacement": (0.0, 0.0, None), "force": (0.0, 0.0, -f)}
    top = _require_set(mesh, superior, "superior")
    if potting == "pmma":
        if "potting_base" not in mesh.node_sets:
            raise ValueError("potting='pmma' needs node set 'potting_base'; add the layer with "
                             "with_potting(mesh, materials) first")
        bottom = mesh.node_sets["potting_base"]
    else:
        bottom = _require_set(mesh, inferior, "inferior")
    platen = rigid_platen(mesh, top, name=PLATEN, rotation=(0.0, 0.0, 0.0), **kw)
    return load_case(name, fixed=[fixed(mesh, bottom)], platens=[platen])


def physiological(mesh: Mesh, case: str, *, force: float = DEFAULT_FORCE, moment: float = DEFAULT_MOMENT,
                  superior: str = "superior", inferior: str = "inferior") -> LoadCase:
    """A physiological force/moment case through the superior platen's reference point.

    The inferior endplate is fixed; the superior endplate is tied to a rigid
    platen whose six motions are all free, loaded at its reference point (the
    centroid of the superior nodes) by a compressive force ``force`` along -z
    and, except for ``"compression"``, a pure moment ``moment`` whose
    direction is given by :data:`PHYSIOLOGICAL_CASES`.

    Parameters
    ----------
    mesh : Mesh
    case : str
        One of :data:`PHYSIOLOGICAL_CASES` (``"compression"``, ``"flexion"``,
        ``"extension"``, ``"lateral_bending_left"``, ``"lateral_bending_right"``,
        ``"axial_rotation_left"``, ``"axial_rotation_right"``);
        ``"lateral_bending"`` and ``"axial_rotation"`` mean the left variants.
    force : float, keyword-only
        Axial compressive force in N (>= 0), default 500 N.
    moment : float, keyword-only
        Moment magnitude in N·mm (>= 0), default 7500 N·mm = 7.5 N·m.

    Returns
    -------
    LoadCase
        Named ``case``, with one platen named ``"platen"``.
    """
    key = {"lateral_bending": "lateral_bending_left", "axial_rotation": "axial_rotation_left"}.get(case, case)
    if key not in PHYSIOLOGICAL_CASES:
        raise ValueError(
            f"unknown physiological case {case!r}; valid: {', '.join(PHYSIOLOGICAL_CASES)}, "
            "lateral_bending, axial_rotation"
        )
    f = _magnitude(force, "force", allow_zero=True)
    m = _magnitude(moment, "moment", allow_zero=True)
    direction = np.asarray(PHYSIOLOGICAL_CASES[key])
    if f == 0 and (m == 0 or not direction.any()):
        raise ValueError(f"case {case!r} with force={force!r} and moment={moment!r} applies no load")
    top = _require_set(mesh, superior, "superior")
    bottom = _require_set(mesh, inferior, "inferior")
    platen = rigid_platen(mesh, top, name=PLATEN, displacement=None, rotation=None,
                          force=(0.0, 0.0, -f), moment=m * direction)
    return load_case(key, fixed=[fixed(mesh, bottom)], platens=[platen])


def _physiological_factory(case: str) -> Callable[..., LoadCase]:
    def make(mesh: Mesh, **kw) -> LoadCase:
        return physiological(mesh, case, **kw)

    make.__doc__ = f"``physiological(mesh, {case!r}, **kw)``"
    return make


_REGISTRY: dict[str, Callable[..., LoadCase]] = {"compression_test": compression_test}
_REGISTRY.update({c: _physiological_factory(c) for c in PHYSIOLOGICAL_CASES})


def load_case_names() -> tuple[str, ...]:
    """Names accepted by :func:`make_load_case`."""
    return tuple(_REGISTRY)


def make_load_case(mesh: Mesh, name: str, **kw) -> LoadCase:
    """Build the load case called ``name`` (see :func:`load_case_names`) with options ``kw``.

    ``"compression_test"`` without ``displacement`` or ``force`` uses a
    compressive platen force of :data:`DEFAULT_FORCE` N.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown load case {name!r}; valid: {', '.join(_REGISTRY)}")
    if name == "compression_test" and "displacement" not in kw and "force" not in kw:
        kw = {**kw, "force": DEFAULT_FORCE}
    return _REGISTRY[name](mesh, **kw)


# ------------------------------------------------------------------ added layers
def add_layer(mesh: Mesh, materials: MaterialMap, *, surface: str, side: str, thickness: float, E: float,
              nu: float, tissue: str, name: str, n_layers: int = 2) -> tuple[Mesh, MaterialMap]:
    """Extrude hex8 cells from the faces on node set ``surface`` to a flat plane.

    Every surface node gets ``n_layers`` new nodes straight below
    (``side="below"``) or above (``"above"``) it, evenly spaced down/up to the
    plane ``z = min(z_surface) - thickness`` (or ``max + thickness``), so the
    layer is ``thickness`` thick at its thinnest and fills the endplate's
    concavity as potting or a disc does.

    Returns
    -------
    mesh : Mesh
        Old nodes and cells keep their indices; new cell set ``name``, node set
        ``name + "_bottom"`` / ``"_top"`` on the flat face; every cell-data
        array is extended (``region`` with the tissue code, others with NaN/0).
    materials : MaterialMap
        Extended with ``E`` (MPa), ``nu`` and ``tissue`` on the new cells.
    """
    from .response import surface_faces

    if mesh.cell_type != "hex8":
        raise ValueError(f"added layers need a hex8 mesh, got cell_type={mesh.cell_type!r}")
    if side not in ("below", "above"):
        raise ValueError(f"side must be 'below' or 'above', got {side!r}")
    t = _magnitude(thickness, "thickness")
    _magnitude(E, "E")
    if not (-1.0 < float(nu) < 0.5):
        raise ValueError(f"nu must be in (-1, 0.5), got {nu!r}")
    n = int(n_layers)
    if n < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers!r}")
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    code = tissue_code(tissue)
    nodes = _require_set(mesh, surface, "surface")
    faces, _ = surface_faces(mesh, nodes)
    if faces.shape[0] == 0:
        raise ValueError(f"surface={surface!r}: no cell face lies on this node set")
    p = mesh.points[faces]
    normal = np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1])
    vertical = np.abs(normal[:, 2]) <= 1e-6 * np.linalg.norm(normal, axis=1)
    if vertical.any():  # a staircase (a voxel model's endplate): extruded along z these faces give flat cells
        raise ValueError(
            f"surface={surface!r} has {int(vertical.sum())} vertical faces (a staircase, e.g. a voxel model's "
            "endplate): a layer cannot be extruded from it along z. For image models cast the layers in the "
            "image: vbfem.anatomy.ct.ct_mesh(caps=True, cap_thickness=...) with "
            "vbfem.materials.image.ct_materials(cap_E=..., cap_nu=...) (e.g. DISC_E, DISC_NU for disc-like "
            "layers), or add the layer on the caps' flat outer faces ('superior' / 'inferior')")
    surf = np.unique(faces)
    z0 = mesh.points[surf, 2]
    plane = z0.min() - t if side == "below" else z0.max() + t
    local = np.full(mesh.n_points, -1, np.int64)
    local[surf] = np.arange(surf.size)
    frac = np.arange(1, n + 1) / n  # (n,)
    new_pts = np.repeat(mesh.points[surf][None], n, axis=0)  # (n, s, 3)
    new_pts[..., 2] = z0[None] + frac[:, None] * (plane - z0)[None]
    ids = mesh.n_points + np.arange(n * surf.size).reshape(n, surf.size)
    layer_nodes = np.vstack([surf[None], ids])  # (n + 1, s): layer 0 is the surface itself
    lf = local[faces]  # (f, 4)
    hexes = np.concatenate([np.concatenate([layer_nodes[k][lf], layer_nodes[k + 1][lf]], axis=1)
                            for k in range(n)])
    points = np.vstack([mesh.points, new_pts.reshape(-1, 3)])
    # orient: det J at the cell centre must be positive, otherwise reverse both quads
    dN = element("hex8").grad(np.zeros((1, 3)))[0]  # (8, 3)
    det = np.linalg.det(np.einsum("cai,aj->cij", points[hexes], dN))
    flip = det < 0
    hexes[flip] = hexes[flip][:, [0, 3, 2, 1, 4, 7, 6, 5]]
    cells = np.vstack([mesh.cells, hexes])
    new_cells = np.arange(mesh.n_cells, cells.shape[0])
    cell_data = {}
    for key, val in mesh.cell_data.items():
        val = np.asarray(val)
        fill = code if key == "region" else (np.nan if np.issubdtype(val.dtype, np.floating) else 0)
        cell_data[key] = np.concatenate([val, np.full((hexes.shape[0],) + val.shape[1:], fill, val.dtype)])
    outer = f"{name}_bottom" if side == "below" else f"{name}_top"
    new_mesh = Mesh(points, cells, "hex8", node_sets={**mesh.node_sets, outer: ids[-1]},
                    cell_sets={**mesh.cell_sets, name: new_cells}, cell_data=cell_data)
    m = hexes.shape[0]
    new_mat = materials.replace(
        E=np.concatenate([materials.E, np.full(m, float(E))]),
        nu=np.concatenate([materials.nu, np.full(m, float(nu))]),
        tissue=np.concatenate([materials.tissue, np.full(m, code, np.int8)]),
        density=np.concatenate([materials.density, np.full(m, np.nan)]),
        yield_stress=(None if materials.yield_stress is None
                      else np.concatenate([materials.yield_stress, np.full(m, np.nan)])),
        params={**materials.params, f"layer:{name}": {"surface": surface, "side": side, "thickness": t,
                                                      "E": float(E), "nu": float(nu), "tissue": tissue}},
    )
    return new_mesh, new_mat


def with_potting(mesh: Mesh, materials: MaterialMap, *, thickness: float = 5.0, E: float = PMMA_E,
                 nu: float = PMMA_NU, inferior: str = "inferior", n_layers: int = 2) -> tuple[Mesh, MaterialMap]:
    """Add a PMMA potting layer under the inferior endplate (node set ``potting_base`` on its flat base).

    ``thickness`` (mm) is measured at the lowest point of the endplate; E in MPa
    (default 2 GPa, :data:`PMMA_E`). Use with ``compression_test(..., potting="pmma")``.
    """
    m, mat = add_layer(mesh, materials, surface=inferior, side="below", thickness=thickness, E=E, nu=nu,
                       tissue="potting", name="potting", n_layers=n_layers)
    return m.replace(node_sets={**m.node_sets, "potting_base": m.node_sets["potting_bottom"]}), mat


def with_discs(mesh: Mesh, materials: MaterialMap, *, thickness: float = 5.0, E: float = DISC_E,
               nu: float = DISC_NU, superior: str = "superior", inferior: str = "inferior",
               n_layers: int = 2) -> tuple[Mesh, MaterialMap]:
    """Add homogeneous disc layers above and below (tissue ``"disc"``, :data:`DISC_E`, :data:`DISC_NU`).

    Load through them with ``superior="disc_superior_top", inferior="disc_inferior_bottom"``.
    """
    m, mat = add_layer(mesh, materials, surface=superior, side="above", thickness=thickness, E=E, nu=nu,
                       tissue="disc", name="disc_superior", n_layers=n_layers)
    return add_layer(m, mat, surface=inferior, side="below", thickness=thickness, E=E, nu=nu,
                     tissue="disc", name="disc_inferior", n_layers=n_layers)
