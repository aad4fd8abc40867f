"""Write Abaqus / CalculiX input decks (``.inp``) of a linear static analysis.

The deck holds the mesh (``*NODE``, ``*ELEMENT`` of type C3D8, C3D4 or
C3D10, whose node orders equal the meshio / VTK orders used by vbfem), every
node and cell set, one ``*MATERIAL`` / ``*SOLID SECTION`` per distinct
``(E, nu)`` pair (``*ELASTIC, TYPE=ENGINEERING CONSTANTS`` for the cells of
an anisotropic material map, :meth:`MaterialMap.anisotropic_cells`, whose
axes 1, 2, 3 are x, y, z), and the constraints and loads of a
:class:`~vbfem.records.LoadCase` in one ``*STEP`` / ``*STATIC``.

Rigid platens
-------------
Each platen gets two extra nodes placed at its reference point, in the style
of CalculiX's ``*RIGID BODY``: a *reference node* whose translational dofs
1-3 are the platen translation ``U`` (mm) and a *rotation node* whose
translational dofs 1-3 are the small rotation ``theta`` (rad). Every platen
node is tied to them by three linear ``*EQUATION`` constraints encoding
exactly the constraint of :mod:`vbfem.fem.constraints`,

    u_i - U - theta x (x_i - x_ref) = 0,

with the platen node's dof as the dependent (first) term. ``*RIGID BODY`` is
not used: CalculiX treats it as a nonlinear (finite-rotation) constraint.
Prescribed platen components become ``*BOUNDARY`` entries and platen loads
``*CLOAD`` entries on the reference node (force, N) and the rotation node
(moment about the reference point, N·mm).

Fluid-filled cavities
---------------------
A cavity of :mod:`vbfem.fem.cavity` (e.g. a spinal unit's fluid nucleus) adds the energy
``K_f (b^T u)² / (2 V)``. Each gets an auxiliary node whose dof 1 is the volume change,
``dV - sum_j b_j u_j = 0`` (one ``*EQUATION`` with the auxiliary dof as the dependent, first, term and
one term per dof of the cavity wall; the entries of ``b`` at the nodes inside the cavity are round-off
and dropped), and a grounded one-dof spring on it (``SPRING1``, ``*SPRING`` of stiffness ``K_f / V``):
the spring's energy is the fluid's, and its force ``K_f dV / V`` is minus the fluid pressure (MPa). Its
dofs 2 and 3 are fixed. A wall node may be a rigid-platen node (CalculiX then eliminates the cascaded
equations; checked against vbfem). The cavities a material map declares (``params["fluid_cavities"]``,
:func:`vbfem.fem.cavity.material_cavities`) are written by default, so a spinal unit's deck holds its
fluid nuclei.

Output requests
---------------
``*NODE PRINT`` writes to the ``.dat`` file ``U`` and ``RF`` of every
platen's reference and rotation node and ``RF`` of every platen node (with
totals), and ``U`` and ``RF`` of every cavity's auxiliary node: CalculiX 2.20 reports the constraint force of a linear
``*EQUATION`` at the dependent node, not at the independent reference node,
so the platen reaction is the sum over the platen nodes (see
:func:`vbfem.output.ccx.ccx_platen_reaction`).

Names
-----
CalculiX upper-cases names and allows at most 80 characters. Mesh set names
are converted by :func:`inp_name` (characters other than letters, digits and
``_`` become ``_``); sets generated here start with ``VBFEM_``.

Numbers are written with at most 20 characters (CalculiX reads real numbers
from 20-character fields): the shortest round-trip representation when it
fits, else 14 significant digits.
"""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..records import LoadCase, MaterialMap, Mesh
from .atomic import atomic_path

log = logging.getLogger(__name__)

#: CalculiX / Abaqus element type of each vbfem cell type (node orders agree).
CCX_TYPES = {"hex8": "C3D8", "tet4": "C3D4", "tet10": "C3D10"}

#: Element set holding every cell, node set holding every mesh node.
ALL_CELLS = "VBFEM_EALL"
ALL_NODES = "VBFEM_NALL"
#: Node set of every mesh node with a prescribed displacement.
FIXED_NODES = "VBFEM_FIXED"

_MAX_NAME = 80
_IDS_PER_LINE = 10  # keeps data lines well below CalculiX's 132 characters
_TERMS_PER_LINE = 3  # *EQUATION terms per line: 3 x (node, dof, <= 20-character real) < 132 characters
_FIELD = 20  # CalculiX reads reals from 20-character fields


class PlatenNodes(NamedTuple):
    """CalculiX names and numbers of one platen's constraint nodes.

    Attributes
    ----------
    nodes_set : str
        Node set of the mesh nodes tied to the platen.
    ref_set, rot_set : str
        One-node sets of the reference and rotation node.
    ref_node, rot_node : int
        1-based CalculiX node numbers of the reference node (dofs 1-3 =
        translation, mm) and rotation node (dofs 1-3 = rotation, rad).
    """

    nodes_set: str
    ref_set: str
    rot_set: str
    ref_node: int
    rot_node: int


class CavityNodes(NamedTuple):
    """CalculiX names and numbers of one fluid-filled cavity's auxiliary node and spring.

    Attributes
    ----------
    node_set : str
        One-node set of the auxiliary node.
    spring_set : str
        One-element set of its ``SPRING1`` element.
    node : int
        1-based CalculiX node number; its dof 1 is the volume change ``b^T u`` (mm³).
    element : int
        1-based CalculiX element number of the spring.
    """

    node_set: str
    spring_set: str
    node: int
    element: int


def inp_name(name: str) -> str:
    """The CalculiX name (upper case, letters, digits and ``_``) of a set called ``name``.

    Raises
    ------
    ValueError
        If the result is longer than 80 characters.
    """
    out = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).upper()
    if not out or not out[0].isalpha():
        out = "S_" + out
    if len(out) > _MAX_NAME:
        raise ValueError(f"set name {name!r} is longer than CalculiX's {_MAX_NAME} characters")
    return out


def platen_nodes(mesh: Mesh, load: LoadCase) -> dict[str, PlatenNodes]:
    """Set names and node numbers that :func:`to_inp` uses for each platen of ``load``.

    Platen ``k`` (0-based, in the order of ``load.platens``) gets the
    reference node ``n_points + 2 k + 1`` and the rotation node
    ``n_points + 2 k + 2`` (1-based CalculiX numbers).
    """
    out = {}
    for k, p in enumerate(load.platens):
        stem = f"VBFEM_P{k + 1}"
        out[p.name] = PlatenNodes(
            f"{stem}_NODES", f"{stem}_REF", f"{stem}_ROT", mesh.n_points + 2 * k + 1, mesh.n_points + 2 * k + 2
        )
    return out


def deck_cavities(mesh: Mesh, materials: MaterialMap, cavities=None) -> tuple:
    """The fluid-filled cavities a deck of ``mesh`` and ``materials`` holds.

    ``cavities=None`` (the default of :func:`to_inp`): those ``materials`` declares
    (:func:`vbfem.fem.cavity.material_cavities`; none for most maps). A sequence of
    :class:`~vbfem.fem.cavity.Cavity`: those; ``()`` writes none, and says so in the log when the map
    declares some (the skeleton alone is then exported, as asked).
    """
    from ..fem.cavity import CAVITIES_PARAM, material_cavities

    if cavities is None:
        return material_cavities(mesh, materials)
    cavities = tuple(cavities)
    declared = materials.params.get(CAVITIES_PARAM)
    if declared and not cavities:
        log.warning("the material map declares fluid-filled cavities %s; the deck is written without them "
                    "(cavities=()): it holds their skeleton only", ", ".join(map(str, declared)))
    return cavities


def cavity_nodes(mesh: Mesh, load: LoadCase, cavities) -> dict[str, CavityNodes]:
    """Set names and numbers that :func:`to_inp` uses for each cavity (in the order of ``cavities``).

    Cavity ``k`` (0-based) gets the node ``n_points + 2 n_platens + k + 1`` and the element
    ``n_cells + k + 1`` (1-based CalculiX numbers).
    """
    base = mesh.n_points + 2 * len(load.platens)
    return {c.name: CavityNodes(f"VBFEM_C{k + 1}", f"VBFEM_C{k + 1}_SPRING", base + k + 1, mesh.n_cells + k + 1)
            for k, c in enumerate(cavities)}


# --------------------------------------------------------------------------- formatting
def _reals(values) -> list[str]:
    """Short decimal strings of ``values`` that CalculiX reads back (<= 20 characters)."""
    vals = np.asarray(values, float).ravel()
    if not np.all(np.isfinite(vals)):
        raise ValueError("cannot write non-finite numbers to an .inp deck")
    out = list(map(repr, vals.tolist()))
    for i in [i for i, s in enumerate(out) if len(s) > _FIELD]:
        s = f"{vals[i]:.13e}"
        out[i] = s if len(s) <= _FIELD else f"{vals[i]:.12e}"
    return out


def _real_point(value: float) -> str:
    """A real number with a decimal point (<= 20 characters): CalculiX tells a ``*SPRING`` constant from a
    degree of freedom by it."""
    s = _reals([value])[0]
    return s if "." in s else f"{float(value):.13e}"


def _ints(values) -> list[str]:
    return list(map(str, np.asarray(values, np.int64).ravel().tolist()))


def _rows(*columns: list[str]) -> str:
    """Lines ``c0, c1, ...`` from equally long columns of strings."""
    return "\n".join(map(", ".join, zip(*columns)))


def _id_lines(ids) -> str:
    """Data lines of a *NSET / *ELSET: 1-based ids, ``_IDS_PER_LINE`` per line."""
    s = _ints(ids)
    return "\n".join(", ".join(s[i:i + _IDS_PER_LINE]) for i in range(0, len(s), _IDS_PER_LINE))


def _keyword_safe(text: str) -> str:
    """One line that CalculiX does not mistake for a keyword or comment."""
    return " ".join(str(text).split()).lstrip("*").strip()


# --------------------------------------------------------------------------- sections
def _check_cavities(mesh: Mesh, cavities) -> None:
    names = [c.name for c in cavities]
    if len(set(names)) != len(names):
        raise ValueError(f"cavity names must be distinct, got {names}")
    for c in cavities:
        if np.shape(c.vector) != (mesh.n_dofs,):
            raise ValueError(f"cavity {c.name!r} has a vector of shape {np.shape(c.vector)}, the mesh needs "
                             f"({mesh.n_dofs},)")
        if not (np.isfinite(c.stiffness) and c.stiffness > 0):
            raise ValueError(f"cavity {c.name!r}: stiffness K_f / V = {c.stiffness!r} must be finite and > 0")


def _check(mesh: Mesh, materials: MaterialMap, load: LoadCase) -> None:
    if mesh.cell_type not in CCX_TYPES:
        raise ValueError(f"cell type {mesh.cell_type!r} has no CalculiX element; allowed: {', '.join(CCX_TYPES)}")
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    n = mesh.n_dofs
    for name, dofs in (("fixed_dofs", load.fixed_dofs), ("force_dofs", load.force_dofs)):
        if dofs.size and (dofs.min() < 0 or dofs.max() >= n):
            raise ValueError(f"{name} must lie in [0, {n - 1}] (3 x node + component)")
    owner = np.full(mesh.n_points, -1, np.int64)
    fixed_nodes = np.zeros(mesh.n_points, bool)
    fixed_nodes[load.fixed_dofs // 3] = True
    for k, p in enumerate(load.platens):
        if p.nodes.max() >= mesh.n_points:
            raise ValueError(f"platen {p.name!r} references nodes beyond {mesh.n_points - 1}")
        if np.any(owner[p.nodes] >= 0):
            raise ValueError(f"platen {p.name!r} shares nodes with another platen")
        if np.any(fixed_nodes[p.nodes]):
            raise ValueError(f"platen {p.name!r} has nodes that also carry prescribed displacements")
        owner[p.nodes] = k


def _set_names(mesh: Mesh, load: LoadCase) -> tuple[dict, dict]:
    """CalculiX names of the node and cell sets; raises on clashes."""
    generated = {ALL_CELLS, ALL_NODES, FIXED_NODES}
    generated |= {s for pn in platen_nodes(mesh, load).values() for s in pn[:3]}
    out = []
    for kind, sets in (("node", mesh.node_sets), ("cell", mesh.cell_sets)):
        names = {}
        for name in sets:
            ccx = inp_name(name)
            if ccx in generated or ccx.startswith("VBFEM_"):
                raise ValueError(f"{kind} set {name!r} clashes with the generated CalculiX names (VBFEM_*)")
            other = [k for k, v in names.items() if v == ccx]
            if other:
                raise ValueError(f"{kind} sets {other[0]!r} and {name!r} both become {ccx!r} in CalculiX")
            names[name] = ccx
        out.append(names)
    return out[0], out[1]


def _material_groups(materials: MaterialMap):
    """Cells grouped by identical ``(E, nu, anisotropic, own)``; a cell with its own ``stiffness`` is a group
    of its own (``own`` is its index + 1, else 0).

    Returns (unique keys (g, 4), cells sorted by group, group starts).
    """
    own = materials.stiffness_cells()
    keys = np.column_stack([materials.E, materials.nu, materials.anisotropic_cells(),
                            np.where(own, np.arange(materials.n_cells) + 1, 0)])
    keys, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(keys)))])
    return keys, order, starts


#: Longest data line CalculiX reads (characters).
_LINE = 132


def engineering_constants(D: np.ndarray) -> np.ndarray:
    """``E1, E2, E3, nu12, nu13, nu23, G12, G13, G23`` (MPa) of an orthotropic Voigt matrix.

    ``D`` is in vbfem's order (xx, yy, zz, yz, xz, xy), engineering shear;
    ``nu_ij = -eps_j / eps_i`` under uniaxial stress along i (the Abaqus and
    CalculiX convention). Raises ``ValueError`` if ``D`` couples normal and
    shear strains or two shear strains (not orthotropic in x, y, z).
    """
    D = np.asarray(D, float)
    coupling = np.abs(D[:3, 3:]).max(initial=0.0), np.abs(D[3:, 3:] - np.diag(np.diag(D[3:, 3:]))).max()
    if max(coupling) > 1e-12 * np.abs(D).max():
        raise ValueError("the elasticity matrix is not orthotropic in the x, y, z axes; "
                         "TYPE=ENGINEERING CONSTANTS cannot hold it")
    S = np.linalg.inv(D)
    E = 1.0 / np.diag(S)[:3]
    nu12, nu13, nu23 = -S[1, 0] * E[0], -S[2, 0] * E[0], -S[2, 1] * E[1]
    return np.array([*E, nu12, nu13, nu23, 1.0 / S[5, 5], 1.0 / S[4, 4], 1.0 / S[3, 3]])


#: Order of the 21 constants of CalculiX's ``*ELASTIC, TYPE=ANISO`` as (row, column) of vbfem's Voigt
#: matrix (xx, yy, zz, yz, xz, xy): D1111, D1122, D2222, D1133, D2233, D3333, D1112, D2212, D3312, D1212,
#: D1113, D2213, D3313, D1213, D1313, D1123, D2223, D3323, D1223, D1323, D2323 (CalculiX User's Manual,
#: ``*ELASTIC``; the shear terms multiply engineering shear strains, as vbfem's do).
ANISO_ORDER = ((0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 5), (1, 5), (2, 5), (5, 5),
               (0, 4), (1, 4), (2, 4), (5, 4), (4, 4), (0, 3), (1, 3), (2, 3), (5, 3), (4, 3), (3, 3))


def _aniso_text(D: np.ndarray) -> str:
    """``*ELASTIC, TYPE=ANISO`` of a full Voigt matrix (MPa): 21 constants, 8 per line, with as many digits
    (15 down to 9) as keep every line within :data:`_LINE` characters (CalculiX drops the rest of a
    longer line)."""
    values = [float(D[i, j]) for i, j in ANISO_ORDER]
    for digits in range(15, 8, -1):
        c = [f"{x:.{digits}g}" for x in values]
        lines = [",".join(c[k:k + 8]) for k in range(0, 21, 8)]
        if max(map(len, lines)) <= _LINE:
            break
    return "*ELASTIC, TYPE=ANISO\n" + "\n".join(lines)


def _elastic_text(E: float, nu: float, anisotropic: bool, anisotropy) -> str:
    if not anisotropic:
        e, v = _reals([E, nu])
        return f"*ELASTIC\n{e}, {v}"
    c = engineering_constants(E * anisotropy)
    for digits in range(15, 8, -1):  # the 8-value line must fit in _LINE characters
        first = ",".join(f"{x:.{digits}g}" for x in c[:8])
        if len(first) <= _LINE:
            break
    return f"*ELASTIC, TYPE=ENGINEERING CONSTANTS\n{first}\n{c[8]:.15g}"


def _materials_text(materials: MaterialMap) -> str:
    keys, order, starts = _material_groups(materials)
    eids = _ints(order + 1)
    if np.all(np.diff(starts) == 1):  # one cell per material: no slicing needed
        elsets = eids
    else:
        elsets = [
            "\n".join(", ".join(eids[i:min(i + _IDS_PER_LINE, b)]) for i in range(a, b, _IDS_PER_LINE))
            for a, b in itertools.pairwise(starts)
        ]
    blocks = [
        f"*ELSET, ELSET=VBFEM_M{g}\n{ids}\n*MATERIAL, NAME=VBFEM_M{g}\n"
        + (_aniso_text(materials.stiffness[int(own) - 1]) if own else
           _elastic_text(E, nu, bool(a), materials.anisotropy))
        + f"\n*SOLID SECTION, ELSET=VBFEM_M{g}, MATERIAL=VBFEM_M{g}"
        for g, ids, (E, nu, a, own) in zip(range(1, len(keys) + 1), elsets, keys)
    ]
    log.debug("%d cells use %d distinct materials", materials.n_cells, len(keys))
    return f"** {len(keys)} distinct material(s): (E [MPa], nu) or engineering constants\n" + "\n".join(blocks)


def _equations_text(mesh: Mesh, load: LoadCase, pnodes: dict[str, PlatenNodes]) -> str:
    """``*EQUATION`` u_i - U - theta x r_i = 0 for every node and component of every platen."""
    blocks = []
    # (theta x r)_c = sum of sign * theta_a * r_k over the entries (a = rotation-node dof 1-3, k, sign) of c:
    #   (theta x r)_x = theta_y r_z - theta_z r_y, _y = theta_z r_x - theta_x r_z, _z = theta_x r_y - theta_y r_x
    rot_terms = {0: ((2, 2, +1.0), (3, 1, -1.0)), 1: ((3, 0, +1.0), (1, 2, -1.0)), 2: ((1, 1, +1.0), (2, 0, -1.0))}
    for p in load.platens:
        pn = pnodes[p.name]
        node = _ints(p.nodes + 1)
        r = mesh.points[p.nodes] - p.ref_point
        ref, rot = str(pn.ref_node), str(pn.rot_node)
        label = _keyword_safe(p.name)
        blocks.append(f"** platen {label!r}: {p.nodes.size} nodes tied to nodes {ref} (U) and {rot} (theta)")
        for c in range(3):
            dof = str(c + 1)
            head = [f"{nd}, {dof}, 1., {ref}, {dof}, -1." for nd in node]
            # the equation reads u_c - U_c - sum_a (d(theta x r)_c / d theta_a) theta_a = 0
            parts = []
            for a, k, sign in rot_terms[c]:
                coef = -sign * r[:, k]
                s = _reals(coef)
                parts.append([f"{rot}, {a}, {x}" if v != 0.0 else "" for x, v in zip(s, coef.tolist())])
            for h, t1, t2 in zip(head, *parts):
                tail = ", ".join(t for t in (t1, t2) if t)
                n_terms = 2 + bool(t1) + bool(t2)
                blocks.append(f"*EQUATION\n{n_terms}\n{h}" + (f"\n{tail}" if tail else ""))
    return "\n".join(blocks)


def _cavities_text(cavities, cnodes: dict[str, CavityNodes]) -> str:
    """Per cavity: the auxiliary node's set, its SPRING1 of stiffness K_f / V, the equation
    dV - b^T u = 0 (dependent first) and its dofs 2, 3 fixed."""
    blocks = []
    for c in cavities:
        cn = cnodes[c.name]
        dofs = c.wall_dofs()
        terms = [f"{cn.node}, 1, 1."] + [f"{n}, {d}, {x}" for n, d, x in
                                         zip(_ints(dofs // 3 + 1), _ints(dofs % 3 + 1), _reals(-c.vector[dofs]))]
        lines = [", ".join(terms[i:i + _TERMS_PER_LINE]) for i in range(0, len(terms), _TERMS_PER_LINE)]
        longest = max(map(len, lines))
        if longest > _LINE:  # cannot happen with <= 20-character reals, kept as a guard
            raise ValueError(f"cavity {c.name!r}: an *EQUATION line has {longest} characters (> {_LINE})")
        blocks += [
            (f"** fluid cavity {_keyword_safe(c.name)[:40]!r}: {c.cells.size} cells, volume {c.volume:.10g} mm3, "
             f"fluid bulk modulus {c.bulk_modulus:.10g} MPa"),
            f"** node {cn.node} dof 1 = volume change (mm3); spring K_f / V",
            f"*NSET, NSET={cn.node_set}", str(cn.node),
            f"*ELEMENT, TYPE=SPRING1, ELSET={cn.spring_set}", f"{cn.element}, {cn.node}",
            f"*SPRING, ELSET={cn.spring_set}", "1", _real_point(c.stiffness),
            "*EQUATION", str(len(terms)), *lines,
            "*BOUNDARY", f"{cn.node}, 2, 3",
        ]
    return "\n".join(blocks)


def _boundary_text(mesh: Mesh, load: LoadCase, pnodes: dict[str, PlatenNodes]) -> str:
    nodes = load.fixed_dofs // 3 + 1
    dofs = load.fixed_dofs % 3 + 1
    lines = []
    if nodes.size:
        d = _ints(dofs)
        lines.append(_rows(_ints(nodes), d, d, _reals(load.fixed_values)))
    for p in load.platens:
        pn = pnodes[p.name]
        for j in np.flatnonzero(~np.isnan(p.prescribed)):
            node = pn.ref_node if j < 3 else pn.rot_node
            dof = j % 3 + 1
            lines.append(f"{node}, {dof}, {dof}, {_reals([p.prescribed[j]])[0]}")
    return "*BOUNDARY\n" + "\n".join(lines) if lines else ""


def _cload_text(mesh: Mesh, load: LoadCase, pnodes: dict[str, PlatenNodes]) -> str:
    f = np.bincount(load.force_dofs, weights=load.force_values, minlength=mesh.n_dofs)
    dofs = np.flatnonzero(f)
    lines = []
    if dofs.size:
        lines.append(_rows(_ints(dofs // 3 + 1), _ints(dofs % 3 + 1), _reals(f[dofs])))
    for p in load.platens:
        pn = pnodes[p.name]
        for j in np.flatnonzero(p.load):
            node = pn.ref_node if j < 3 else pn.rot_node
            lines.append(f"{node}, {j % 3 + 1}, {_reals([p.load[j]])[0]}")
    return "*CLOAD\n" + "\n".join(lines) if lines else ""


# --------------------------------------------------------------------------- writer
def inp_text(mesh: Mesh, materials: MaterialMap, load: LoadCase, *, title: str = "vbfem linear static analysis",
             reaction_sets=(), field_output: bool = False, cavities=None) -> str:
    """The input deck written by :func:`to_inp`, as a string."""
    _check(mesh, materials, load)
    cavities = deck_cavities(mesh, materials, cavities)
    _check_cavities(mesh, cavities)
    node_names, cell_names = _set_names(mesh, load)
    pnodes = platen_nodes(mesh, load)
    cnodes = cavity_nodes(mesh, load, cavities)
    out = [
        "*HEADING",
        _keyword_safe(title) or "vbfem",
        "** written by vbfem.output.inp.to_inp; units mm, N, MPa; rotations in rad",
        (
            f"** load case {_keyword_safe(load.name)!r}: {load.fixed_dofs.size} prescribed dofs, "
            f"{load.force_dofs.size} nodal forces, {len(load.platens)} rigid platen(s)"
        ),
    ]
    if cavities:
        out.append(f"** {len(cavities)} fluid-filled cavit{'y' if len(cavities) == 1 else 'ies'}")
    # nodes: mesh nodes, the reference and rotation node of each platen, the auxiliary node of each cavity
    # (at the centre of its wall)
    walls = [mesh.points[np.unique(c.wall_dofs() // 3)].mean(axis=0)[None] for c in cavities]
    pts = np.vstack([mesh.points] + [np.repeat(p.ref_point[None], 2, axis=0) for p in load.platens] + walls)
    coords = _reals(pts)
    node_ids = _ints(np.arange(1, len(pts) + 1))
    out += [f"*NODE, NSET={ALL_NODES}", _rows(node_ids, coords[0::3], coords[1::3], coords[2::3])]
    connectivity = [_ints(mesh.cells[:, j] + 1) for j in range(mesh.cells.shape[1])]
    out += [f"*ELEMENT, TYPE={CCX_TYPES[mesh.cell_type]}, ELSET={ALL_CELLS}"]
    out += [_rows(_ints(np.arange(1, mesh.n_cells + 1)), *connectivity)]
    for name, ccx in node_names.items():
        idx = mesh.node_sets[name]
        if idx.size == 0:
            log.debug("node set %r is empty: not written", name)
            continue
        out += [f"*NSET, NSET={ccx}", _id_lines(idx + 1)]
    for name, ccx in cell_names.items():
        idx = mesh.cell_sets[name]
        if idx.size == 0:
            log.debug("cell set %r is empty: not written", name)
            continue
        out += [f"*ELSET, ELSET={ccx}", _id_lines(idx + 1)]
    fixed_nodes = np.unique(load.fixed_dofs // 3)
    if fixed_nodes.size:
        out += [f"*NSET, NSET={FIXED_NODES}", _id_lines(fixed_nodes + 1)]
    for p in load.platens:
        pn = pnodes[p.name]
        out += [f"** platen {_keyword_safe(p.name)!r}, reference point {p.ref_point.tolist()} mm"]
        out += [f"*NSET, NSET={pn.nodes_set}", _id_lines(p.nodes + 1)]
        out += [f"*NSET, NSET={pn.ref_set}", str(pn.ref_node), f"*NSET, NSET={pn.rot_set}", str(pn.rot_node)]
    out.append(_materials_text(materials))
    if cavities:
        out.append(_cavities_text(cavities, cnodes))
    if load.platens:
        out.append(_equations_text(mesh, load, pnodes))
    out += ["*STEP", "*STATIC"]
    for text in (_boundary_text(mesh, load, pnodes), _cload_text(mesh, load, pnodes)):
        if text:
            out.append(text)
    for p in load.platens:
        pn = pnodes[p.name]
        out += [f"*NODE PRINT, NSET={pn.ref_set}", "U, RF", f"*NODE PRINT, NSET={pn.rot_set}", "U, RF"]
        out += [f"*NODE PRINT, NSET={pn.nodes_set}, TOTALS=YES", "RF"]
    for cn in cnodes.values():
        out += [f"*NODE PRINT, NSET={cn.node_set}", "U, RF"]
    if fixed_nodes.size:
        out += [f"*NODE PRINT, NSET={FIXED_NODES}, TOTALS=ONLY", "RF"]
    for name in reaction_sets:
        if name not in node_names:
            raise KeyError(f"reaction set {name!r} not in mesh; available: {sorted(node_names) or 'none'}")
        if mesh.node_sets[name].size:
            out += [f"*NODE PRINT, NSET={node_names[name]}, TOTALS=ONLY", "RF"]
    if field_output:
        out += ["*NODE FILE", "U, RF", "*EL FILE", "S, E"]
    out += ["*END STEP", ""]
    return "\n".join(out)


def to_inp(path, mesh: Mesh, materials: MaterialMap, load: LoadCase, *, title: str = "vbfem linear static analysis",
           reaction_sets=(), field_output: bool = False, cavities=None) -> Path:
    """Write an Abaqus / CalculiX input deck of a linear static analysis.

    Parameters
    ----------
    path : str or Path
        Output file, conventionally ``<job>.inp``. Written to a temporary
        name first and renamed, so a failure never leaves a partial deck.
    mesh : Mesh
        Nodes (mm) and cells; node ``i`` and cell ``j`` become CalculiX node
        ``i + 1`` and element ``j + 1``. Every node and cell set is written as
        ``*NSET`` / ``*ELSET`` named by :func:`inp_name`.
    materials : MaterialMap
        Per-cell Young's modulus (MPa) and Poisson's ratio. Cells with the
        same ``(E, nu)`` share one material ``VBFEM_M<k>`` and its element set.
    load : LoadCase
        Prescribed displacements (mm, ``*BOUNDARY``), nodal forces (N,
        ``*CLOAD``) and rigid platens (``*EQUATION``; see the module notes).
    title : str, keyword-only
        ``*HEADING`` text (one line).
    reaction_sets : iterable of str, keyword-only
        Mesh node sets whose total reaction force (N) is printed to the ``.dat`` file.
    field_output : bool, keyword-only
        Also request ``U``, ``RF`` and element ``S``, ``E`` in the ``.frd`` file.
    cavities : sequence of Cavity or None, keyword-only
        Fluid-filled cavities (:mod:`vbfem.fem.cavity`) written as an auxiliary node, an equation and a
        spring each (module notes; numbers in :func:`cavity_nodes`). None (default): those ``materials``
        declares, e.g. a spinal unit's fluid nuclei; ``()``: none (logged when the map declares some).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValueError
        On an unsupported cell type, mismatched material map, degrees of
        freedom out of range, a platen node that is prescribed or tied to two
        platens, set names that clash in CalculiX, or cavities with equal names or a vector that does not
        fit the mesh.

    Notes
    -----
    The deck contains the same linear constraints as
    :func:`vbfem.fem.constraints.constraint_map`, so CalculiX and
    :func:`vbfem.solve_static` solve the same discrete problem (C3D8 with full
    2 x 2 x 2 integration, C3D4, C3D10 with four points); with cavities, the
    problem of :func:`vbfem.fem.cavity.solve_static_cavities`.
    """
    path = Path(path)
    text = inp_text(mesh, materials, load, title=title, reaction_sets=reaction_sets, field_output=field_output,
                    cavities=cavities)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="ascii", errors="replace", newline="\n") as fh:
        fh.write(text)
    log.info("wrote %s: %d nodes, %d %s elements, %d platen(s), %d fluid-filled cavities", path, mesh.n_points,
             mesh.n_cells, CCX_TYPES[mesh.cell_type], len(load.platens), text.count("*ELEMENT, TYPE=SPRING1"))
    return path
