"""The compaction band beneath a collapsed endplate: the column map that forms it and its damage.

:func:`vbfem.fracture.deformity.apply_fracture` builds the collapse of each endplate
(``d_sup``, ``d_inf`` at every node) and calls :func:`column_map` for the
deformation, :func:`damaged_fraction` for the damaged volume of each cell
and the normal of the band's edge, and :func:`band_moduli` for the moduli.

Deformation
-----------
The map moves every node along z only, column by column, so the transverse
geometry (and the cortical shell's thickness) is unchanged. The bony
endplate layers translate rigidly (their thickness is kept); the collapse of
an endplate by ``Δ(x, y)`` is taken up by a *compaction band* of trabecular
bone beneath it, which shrinks from ``damage_depth + Δ`` to ``damage_depth``
along z; the rest of the core is not deformed. Within each column the map is
continuous, piecewise linear and strictly increasing, so for columns of
hexahedra with (nearly) vertical edges no element can invert; every result
is checked with :func:`vbfem.fem.assembly.check_mesh`.

Damaged zone
------------
After an osteoporotic compression fracture the trabecular bone beneath the
collapsed endplate is crushed: trabeculae buckle and break (microdamage) and
the fragments are packed together (densification). Crushed trabecular bone
re-loads with a much lower modulus but keeps most of its strength
(:mod:`vbfem.materials.damage`: Keaveny, Wachtel & Kopperdahl 1999; Wolfram
et al. 2011; Fyhrie & Schaffler 1994). Here the cells compacted beyond the
apparent compressive yield strain
(:data:`vbfem.materials.laws.YIELD_STRAIN_COMPRESSION`, 0.84 %) are labelled
``"damaged"``. Their bone was overloaded to the band's compaction strain
(:func:`band_strain`, tens of per cent where the endplate collapsed by
millimetres, at least the yield strain), and reloads with
:func:`vbfem.materials.damage.residual_modulus_fraction` of its modulus and
:func:`vbfem.materials.damage.residual_strength_fraction` of its yield stress
(``MaterialMap.yield_stress``): material data, not a calibration. A cell that
the band boundary crosses is damaged in part:
``phi``, the fraction of its volume compacted beyond the yield strain, is
integrated from the column map (:data:`DAMAGE_SAMPLES` Gauss points per
direction), with the normal of the band's edge in that cell
(:func:`vbfem.fem.elements.cell_phase`; both in the pre-fracture configuration,
where the band's edge is defined: the z-only map tilts the edge by a few
degrees, median 2.5° on a grade-2 wedge). Its modulus is the axial (z) modulus of
the laminate of ``phi`` damaged and ``1 - phi`` intact bone layered along
that edge (:func:`vbfem.materials.laminate.axial_modulus`, the composite voxel of
Kabel et al. 2015): the parallel mix where the edge is vertical; where it
is horizontal, the series mix ``E / (1 - phi + phi / f)`` (``f`` the residual
modulus fraction) stiffened by the layers' lateral constraint on each other.
The band's lower edge is nearly horizontal, but its edge where the collapse
ends runs across the one-cell cortical wall; the series mix there made the
fractured stiffness rise with the in-plane resolution (2.1 % from 3 to 2 mm
on the grade-2 wedge of the L1; 0.5 % with the laminate). Without a
partial-volume rule, every cell the boundary touches would count as wholly
damaged and the damaged volume would grow with the element size. Its yield
stress is the volume average ``(1 - phi (1 - r)) σ_y`` of the two parts (``r``
the residual strength fraction; with ``r`` near 1 the bounds differ little).
Cells with ``phi >= 0.5`` get the tissue label ``"damaged"``. The apparent
density rises as mass is conserved (``rho' = rho V0 / V``, kept in
``MaterialMap.density`` for porosity and permeability). The densified density
is not fed back through the density-modulus law: the crushed lattice does not
carry load like intact bone of that density (a modelling choice). Only
``damage_depth``, the band's extent, is calibrated (see :data:`DAMAGE_DEPTH`), to
the stiffness loss of vertebral bodies compressed to a 25 % deformity (Wegrzyn
et al., J Bone Miner Res 2011;26:739: -53 ± 18 %); their strength loss
(-11 ± 19 %) is then a prediction.
"""

from __future__ import annotations

import numpy as np

from ..fem.elements import cell_phase
from ..materials.laminate import axial_modulus
from ..materials.laws import YIELD_STRAIN_COMPRESSION
from ..records import MaterialMap, Mesh

__all__ = ["DAMAGE_DEPTH", "DAMAGE_SAMPLES", "band_moduli", "band_normal", "band_strain", "column_map",
           "damaged_fraction"]

#: Default thickness (mm, measured in the fractured body along z) of the
#: compacted, damaged band beneath a collapsed endplate: the one calibrated
#: parameter of the fracture model. Fitted to the mean stiffness loss of
#: vertebral bodies compressed to a 25 % deformity, -53 ± 18 % (Wegrzyn et al.,
#: J Bone Miner Res 2011;26:739), with the damaged bone of
#: :mod:`vbfem.materials.damage`: on an osteoporotic L1
#: (``assign_bone(mesh, bmd="osteoporotic")``, hex8, size 2 mm, platen
#: compression) a 25 % wedge gives -49.0 % and a 25 % crush -56.4 % (mean
#: -52.7 %; 6 / 7 mm give means of -50.6 / -54.4 %;
#: ``python benchmarks/bench_fracture.py --calibration``). The strength loss of
#: the same bodies is not fitted (``vbfem validate``). A band of several mm is
#: the order of the sclerotic condensation zone seen beneath collapsed
#: endplates on radiographs; the value itself is a calibration, not a
#: measurement.
DAMAGE_DEPTH = 6.5

#: Gauss points per direction with which the damaged volume fraction of
#: each cell is integrated (a numerical choice: the fraction's error falls
#: as 1 / DAMAGE_SAMPLES for a band boundary crossing the cell).
DAMAGE_SAMPLES = 4


def column_map(z, z_core, core, d_sup, d_inf, depth):
    """Vertical displacement of points (mm): see the module docstring.

    ``s = z - z_core`` is the height above the inferior endplate layer and
    ``core`` the core height of the point's column. The band beneath a
    collapsing superior endplate spans ``B_s = depth + d_sup`` of intact
    height and shrinks by ``d_sup``; likewise above a collapsing inferior
    endplate (``depth`` must leave the two bands disjoint). ``depth = 0``
    spreads the collapse over the whole core instead, shared between the
    two sides in proportion to their collapse.
    """
    s = z - z_core
    if depth > 0:
        b_sup = np.where(d_sup > 0, depth + d_sup, 0.0)
        b_inf = np.where(d_inf > 0, depth + d_inf, 0.0)
    else:
        d_tot = d_sup + d_inf
        w = np.divide(d_sup, d_tot, out=np.zeros_like(d_tot), where=d_tot > 0)
        b_sup = np.where(d_sup > 0, d_sup + (core - d_tot) * w, 0.0)
        b_inf = np.where(d_inf > 0, d_inf + (core - d_tot) * (1.0 - w), 0.0)
    f_inf = np.clip(np.divide(s, b_inf, out=np.ones_like(s), where=b_inf > 0), 0.0, 1.0)
    f_sup = np.clip(np.divide(s - (core - b_sup), b_sup, out=np.zeros_like(s), where=b_sup > 0), 0.0, 1.0)
    return d_inf * (1.0 - f_inf) - d_sup * f_sup


def _band_strain(s, core, d_sup, d_inf, depth):
    """Compaction strain (> 0) of the column map at height ``s`` above the core's bottom (mm)."""
    b_sup = np.where(d_sup > 0, depth + d_sup, 0.0)
    b_inf = np.where(d_inf > 0, depth + d_inf, 0.0)
    in_sup = (b_sup > 0) & (s > core - b_sup)
    in_inf = (b_inf > 0) & (s < b_inf)
    return (np.where(in_sup, np.divide(d_sup, b_sup, out=np.zeros_like(s), where=b_sup > 0), 0.0)
            + np.where(in_inf, np.divide(d_inf, b_inf, out=np.zeros_like(s), where=b_inf > 0), 0.0))


def band_strain(mesh: Mesh, s, core, d_sup, d_inf, depth) -> np.ndarray:
    """Compaction strain (>= 0, dimensionless) the column map imposed on the damaged bone of every cell.

    The largest band strain at the cell's nodes (nodal fields as for :func:`damaged_fraction`):
    the band's strain is constant along a column within the band, so this is the overload
    of the cell's damaged part also where the band's edge cuts the cell
    (:mod:`vbfem.materials.damage`).
    """
    return _band_strain(*(np.asarray(f, float) for f in (s, core, d_sup, d_inf)), depth)[mesh.cells].max(axis=1)


def damaged_fraction(mesh: Mesh, s, core, d_sup, d_inf, depth) -> tuple[np.ndarray, np.ndarray]:
    """Volume fraction of every (intact) cell compacted beyond the yield strain by the column map,
    and the normal of the band's edge in the cells it cuts (:func:`vbfem.fem.elements.cell_phase`).

    The nodal fields ``s`` (height above the core's bottom), ``core``,
    ``d_sup`` and ``d_inf`` are interpolated to :data:`DAMAGE_SAMPLES`³
    Gauss points of each cell, weighted by det J. The fields vary smoothly
    within a cell, the band edge is a jump: the Gauss sum integrates its
    indicator.
    """
    def compacted(cells, N):
        s_q, core_q, sup_q, inf_q = (np.einsum("pa,ma->mp", N, f[cells]) for f in (s, core, d_sup, d_inf))
        return _band_strain(s_q, core_q, sup_q, inf_q, depth) > YIELD_STRAIN_COMPRESSION

    return cell_phase(mesh, compacted, DAMAGE_SAMPLES)


def band_moduli(materials: MaterialMap, phi, normal, f_cell) -> np.ndarray:
    """Moduli after damage (MPa): ``f E`` where a cell is wholly damaged, the laminate's axial modulus
    where the band's edge cuts it (module docstring), unchanged elsewhere."""
    E = materials.E.copy()
    whole, cut = phi >= 1.0, (phi > 0) & (phi < 1.0)
    E[whole] = f_cell[whole] * materials.E[whole]
    normal = band_normal(phi, normal)
    E[cut] = axial_modulus(f_cell[cut] * materials.E[cut], materials.nu[cut], materials.E[cut], materials.nu[cut],
                           phi[cut], normal[cut])
    return E


def band_normal(phi, normal) -> np.ndarray:
    """The normal of the band's edge in the cells it cuts (``0 < phi < 1``), as the laminate takes it.

    ``normal`` from :func:`damaged_fraction`; a cut cell whose edge gives no direction (the band's
    thin end crossing it twice) gets ``(0, 0, 1)``: the band is a horizontal layer, so its layers
    are taken normal to z (its sign is arbitrary there: right for the laminate, whose modulus does
    not depend on it, not a side; :func:`vbfem.fracture.deformity.apply_fracture` stores the normal
    without this fallback). Zero in the cells the edge does not cut.

    Parameters
    ----------
    phi : array_like (n_cells,)
        Damaged volume fraction of each cell (dimensionless, in [0, 1]).
    normal : array_like (n_cells, 3)
        Unit normal of the band's edge per cell (dimensionless; zero where it gives no direction).

    Returns
    -------
    ndarray (n_cells, 3)
        The normal in the cut cells (unit vectors), zero elsewhere.
    """
    phi = np.asarray(phi, float)
    out = np.where(((phi > 0) & (phi < 1.0))[:, None], np.asarray(normal, float), 0.0)
    out[(phi > 0) & (phi < 1.0) & ~np.any(out != 0.0, axis=1)] = (0.0, 0.0, 1.0)
    return out
