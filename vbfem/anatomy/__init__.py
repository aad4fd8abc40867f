"""Anatomy: the vertebral body's shape and its mesh.

Takes a level name (``"T10"`` … ``"L5"``, published morphometry), a closed surface (STL)
or a labelled image; returns a :class:`~vbfem.anatomy.geometry.Geometry` (implicit body
and landmarks) and a :class:`~vbfem.records.Mesh` with named node and cell sets.

Modules: ``morphometry`` (per-level dimensions and their sources), ``geometry``
(the parametric body), ``surface`` (the STL route), ``image`` (the voxel route),
``mesher`` (boundary-fitted hex8 with cortical and endplate layers), ``heights``
(anterior / middle / posterior heights as radiologists measure them), ``quality``.
"""

from .geometry import Geometry, build_vertebra
from .heights import Heights, measure_heights
from .image import mesh_from_image
from .mesher import mesh_vertebra
from .quality import MeshQuality, mesh_quality
from .surface import from_surface

__all__ = ["Geometry", "Heights", "MeshQuality", "build_vertebra", "from_surface", "measure_heights",
           "mesh_from_image", "mesh_quality", "mesh_vertebra"]
