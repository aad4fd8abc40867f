"""Write meshes, materials and results to VTU through meshio."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..fem.post import principal_strains, von_mises
from ..records import MaterialMap, Mesh, Result
from .atomic import atomic_path

MESHIO_TYPES = {"hex8": "hexahedron", "tet4": "tetra", "tet10": "tetra10"}


def to_meshio(mesh: Mesh, *, materials: MaterialMap | None = None, result: Result | None = None):
    """A ``meshio.Mesh`` of ``mesh`` with its sets (0/1 arrays ``set_<name>``), materials and result fields."""
    import meshio

    cell_data = {k: v for k, v in mesh.cell_data.items() if v.ndim <= 2}
    for name, idx in mesh.cell_sets.items():
        flag = np.zeros(mesh.n_cells, np.int8)
        flag[idx] = 1
        cell_data[f"set_{name}"] = flag
    point_data = {}
    for name, idx in mesh.node_sets.items():
        flag = np.zeros(mesh.n_points, np.int8)
        flag[idx] = 1
        point_data[f"set_{name}"] = flag
    if materials is not None:
        cell_data.update(E=materials.E, nu=materials.nu, tissue=materials.tissue, density=materials.density)
        if materials.yield_stress is not None:
            cell_data["yield_stress"] = materials.yield_stress
        if materials.anisotropy is not None:
            # meshio's VTU has no field data: the (6, 6) matrix per unit E goes on the cells that take
            # it (zeros elsewhere; zlib makes the repetition cheap)
            aniso = np.zeros((mesh.n_cells, 36))
            aniso[materials.anisotropic_cells()] = np.asarray(materials.anisotropy).ravel()
            cell_data["anisotropy"] = aniso
        if materials.stiffness is not None:
            # per-cell Voigt matrices (the annulus' fibres), NaN rows on the cells that follow E and nu
            cell_data["stiffness"] = np.asarray(materials.stiffness, float).reshape(mesh.n_cells, 36)
    if result is not None:
        point_data["displacement"] = result.displacement
        point_data["reaction"] = result.reaction
        cell_data.update(
            strain=result.strain,
            stress=result.stress,
            von_mises=von_mises(result.stress),
            min_principal_strain=principal_strains(result.strain)[:, 0],
        )
    cell_data = {k: [np.asarray(v)] for k, v in cell_data.items() if v is not None}
    return meshio.Mesh(mesh.points, [(MESHIO_TYPES[mesh.cell_type], mesh.cells)], point_data=point_data,
                       cell_data=cell_data)


def to_vtu(path, mesh: Mesh, *, materials: MaterialMap | None = None, result: Result | None = None) -> Path:
    """Write ``mesh`` with its cell sets (as 0/1 cell arrays), materials and result fields as VTU (ParaView).

    The file is written to a temporary name and renamed, so a crash never
    leaves a half-written file behind. Returns the path written.
    """
    import meshio

    path = Path(path)
    with atomic_path(path) as tmp:
        meshio.write(tmp, to_meshio(mesh, materials=materials, result=result), file_format="vtu", binary=True,
                     compression="zlib")
    return path


def to_xdmf(path, mesh: Mesh, *, materials: MaterialMap | None = None, result: Result | None = None) -> Path:
    """The same fields as :func:`to_vtu` as XDMF (``.xdmf`` with its heavy data in ``.h5``; needs h5py).

    Both files are written under temporary names and renamed, the ``.h5``
    first. Returns the ``.xdmf`` path.
    """
    import meshio

    path = Path(path)
    if path.suffix != ".xdmf":
        raise ValueError(f"path must end with .xdmf, got {str(path)!r}")
    require_h5py()
    # meshio names the heavy-data file after the XDMF file: write both under the final names in a
    # temporary folder beside them, then move the .h5 and the .xdmf into place
    import shutil
    import tempfile

    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.stem}.tmp-", dir=path.parent))
    try:
        meshio.write(stage / path.name, to_meshio(mesh, materials=materials, result=result), file_format="xdmf")
        for entry in sorted(stage.iterdir(), key=lambda p: p.suffix == ".xdmf"):  # the .xdmf last
            os.replace(entry, path.parent / entry.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return path


def require_h5py() -> None:
    """ImportError saying how to install h5py (XDMF keeps its heavy data in HDF5) when it is missing."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        raise ImportError("writing .xdmf needs h5py (XDMF keeps its arrays in an HDF5 .h5 file), which is not "
                          "installed: pip install 'vbfem[xdmf]' (or pip install h5py), or export .vtu instead",
                          name="h5py") from None


def _volume_block(m) -> int:
    """Index of the one supported volume cell block of a ``meshio.Mesh`` (boundary blocks are skipped)."""
    inverse = {v: k for k, v in MESHIO_TYPES.items()}
    blocks = [i for i, b in enumerate(m.cells) if b.type in inverse]
    if len(blocks) != 1:
        found = sorted({b.type for b in m.cells})
        raise ValueError(f"expected exactly one volume cell block of type {sorted(inverse)}, found {found}")
    return blocks[0]


def from_meshio(m) -> Mesh:
    """A :class:`Mesh` from a ``meshio.Mesh`` holding one supported volume cell type."""
    inverse = {v: k for k, v in MESHIO_TYPES.items()}
    b = m.cells[_volume_block(m)]
    return Mesh(np.asarray(m.points, float)[:, :3], b.data, inverse[b.type])


#: Cell arrays that :func:`to_vtu` writes for a MaterialMap or a Result, not mesh cell data.
_MATERIAL_FIELDS = ("E", "nu", "tissue", "density", "anisotropy", "yield_stress", "stiffness")
_RESULT_FIELDS = ("strain", "stress", "von_mises", "min_principal_strain")


def read_mesh(path) -> tuple[Mesh, MaterialMap | None]:
    """Read a volume mesh in any format meshio reads (VTU, XDMF, Gmsh ``.msh``, Abaqus, Exodus ...).

    Node and cell sets come back from ``set_<name>`` 0/1 arrays (as
    :func:`to_vtu` and :func:`to_xdmf` write them), materials from ``E`` and
    ``nu`` cell arrays; see :func:`read_vtu`.
    """
    return read_vtu(path)


def read_vtu(path) -> tuple[Mesh, MaterialMap | None]:
    """Read a VTU written by :func:`to_vtu` (or another meshio format) back into a mesh and its materials.

    Node and cell sets come back from the ``set_<name>`` arrays, the other
    cell arrays (except result fields) as ``Mesh.cell_data``; a
    :class:`MaterialMap` is rebuilt when ``E`` and ``nu`` are present
    (``None`` otherwise).
    """
    import meshio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {str(path)!r} does not exist")
    try:
        m = meshio.read(path)
    except (meshio.ReadError, SystemExit, KeyError, ValueError) as exc:  # meshio exits on some broken files
        raise ValueError(f"{str(path)!r} is not a mesh file meshio can read ({type(exc).__name__}: {exc})") from None
    mesh = from_meshio(m)
    block = _volume_block(m)
    node_sets = {k[4:]: np.flatnonzero(v) for k, v in m.point_data.items() if k.startswith("set_")}
    cell_arrays = {k: np.asarray(v[block]) for k, v in m.cell_data.items()}
    cell_sets = {k[4:]: np.flatnonzero(v) for k, v in cell_arrays.items() if k.startswith("set_")}
    cell_data = {k: v for k, v in cell_arrays.items()
                 if not k.startswith("set_") and k not in _MATERIAL_FIELDS + _RESULT_FIELDS}
    mesh = mesh.replace(node_sets=node_sets, cell_sets=cell_sets, cell_data=cell_data)
    materials = None
    if "E" in cell_arrays and "nu" in cell_arrays:
        aniso = cell_arrays.get("anisotropy")
        if aniso is not None:
            rows = np.unique(aniso[np.any(aniso != 0, axis=1)], axis=0)
            if rows.shape[0] > 1:
                raise ValueError(f"{str(path)!r}: cell array 'anisotropy' holds {rows.shape[0]} different "
                                 "matrices; vbfem maps have one per unit E")
            aniso = rows[0] if rows.shape[0] else None
        stiffness = cell_arrays.get("stiffness")
        if stiffness is not None:
            stiffness = np.asarray(stiffness, float).reshape(-1, 6, 6)
        materials = MaterialMap(E=cell_arrays["E"], nu=cell_arrays["nu"], tissue=cell_arrays.get("tissue"),
                                density=cell_arrays.get("density"), yield_stress=cell_arrays.get("yield_stress"),
                                law="from-file",
                                params={"source": str(path)},
                                anisotropy=None if aniso is None else np.asarray(aniso, float).reshape(6, 6),
                                stiffness=stiffness)
    return mesh, materials
