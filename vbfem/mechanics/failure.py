"""Failure of a body: its elastic–plastic load–displacement curve from a material map.

:func:`load_displacement` gives the tissues their strengths
(:func:`vbfem.materials.strength.plastic_material`) and follows the curve with
:func:`vbfem.fem.nonlinear.elastoplastic_curve`.
"""

from __future__ import annotations

from ..fem.nonlinear import LoadDisplacementCurve, elastoplastic_curve
from ..fem.plasticity import PlasticMaterial
from ..materials.strength import HARDENING_RATIO, plastic_material
from ..records import LoadCase, MaterialMap, Mesh

__all__ = ["load_displacement"]


def load_displacement(mesh: Mesh, materials: MaterialMap, load: LoadCase, *,
                      hardening_ratio: float = HARDENING_RATIO, plastic: PlasticMaterial | None = None,
                      **options) -> LoadDisplacementCurve:
    """Elastic–plastic load–displacement curve of ``mesh`` with ``materials`` under ``load``.

    Parameters
    ----------
    mesh : Mesh
    materials : MaterialMap
        Per-cell moduli (MPa) and tissues; each tissue yields as
        :func:`vbfem.materials.strength.plastic_material` says.
    load : LoadCase
    hardening_ratio : float, keyword-only
        Post-yield tangent ratio ``E_t / E``, see :func:`~vbfem.materials.strength.plastic_material`.
    plastic : PlasticMaterial, optional
        Explicit material parameters (overrides ``materials``' strengths and ``hardening_ratio``).
    **options
        Keyword options of :func:`vbfem.fem.nonlinear.elastoplastic_curve` (``platen``,
        ``max_displacement`` in mm, ``n_steps``, ``tol``, ``max_iter``, ``max_cutbacks``,
        ``solver``, ``rtol``).

    Returns
    -------
    LoadDisplacementCurve

    Raises
    ------
    vbfem.fem.nonlinear.NonlinearSolveError
        Carries the curve up to the last converged step in ``.partial``.
    """
    if not isinstance(materials, MaterialMap):
        raise TypeError(f"materials must be a MaterialMap, got {type(materials).__name__}")
    if materials.n_cells != mesh.n_cells:
        raise ValueError(f"material map has {materials.n_cells} cells but the mesh has {mesh.n_cells}")
    if plastic is None:
        plastic = plastic_material(materials, hardening_ratio=hardening_ratio)
    return elastoplastic_curve(mesh, plastic, load, **options)
