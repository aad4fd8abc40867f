"""Materials: bone, cement and their composites, as per-cell fields of a mesh.

Takes a :class:`~vbfem.records.Mesh` and a bone quality (or an image's density) and
returns a :class:`~vbfem.records.MaterialMap`; :func:`with_cement` adds a
:class:`~vbfem.records.CementFill` to a map.

Modules: ``laws`` (density–modulus and density–strength laws, cited), ``bone``
(tissues and the trabecular density field), ``image`` (bone from calibrated QCT),
``cement`` (PMMA presets, the cement–bone mix), ``laminate`` (cells cut by an
interface), ``porous`` (porosity and permeability for the flow model), ``strength``
(yield of each tissue for the elastic–plastic analysis).
"""

from .bone import assign_bone, void_modulus
from .cement import CEMENTS, cement_preset, with_cement
from .image import bone_from_image
from .laws import DensityLaw, get_law, modulus_from_density, register_law, strength_from_density
from .porous import PorousMedium, porous_medium
from .strength import plastic_material

__all__ = ["CEMENTS", "DensityLaw", "PorousMedium", "assign_bone", "bone_from_image", "cement_preset",
           "get_law", "modulus_from_density", "plastic_material", "porous_medium", "register_law",
           "strength_from_density", "void_modulus", "with_cement"]
