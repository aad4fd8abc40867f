"""Frozen data records passed between the stages of the pipeline.

Units throughout: mm, N, MPa (N/mm²), s, g/cm³. Axes: +x anterior, +y left,
+z superior (cranial). Strain and stress vectors use Voigt order
``(xx, yy, zz, yz, xz, xy)`` with engineering shear strains.

The records hold numpy arrays only and are immutable: arrays are made
read-only and mappings are wrapped in read-only proxies. "Changes" return
new records (``Mesh.with_points`` ...).

One module per concept: :mod:`.mesh` (the mesh), :mod:`.materials` (per-cell
materials and tissue labels), :mod:`.loads` (platens and load cases),
:mod:`.results` (solves and cement fills); every record is importable from
``vbfem.records`` itself.
"""

from .loads import RIGID_MODE_NAMES, LoadCase, Platen
from .materials import ANISOTROPIC_TISSUES, TISSUES, MaterialMap, tissue_code
from .mesh import CELL_NODES, Mesh
from .results import CementFill, Result, SolverInfo

__all__ = ["ANISOTROPIC_TISSUES", "CELL_NODES", "RIGID_MODE_NAMES", "TISSUES", "CementFill", "LoadCase",
           "MaterialMap", "Mesh", "Platen", "Result", "SolverInfo", "tissue_code"]
