"""The model's known limits, tied to the cells of a results table they qualify.

Each limit is one finding of the README's "Model status" and of the validation report
(``docs/validation/validation.md``): which states and columns it qualifies and what a reader should
know. :func:`limit_marks` gives the footnote marks and texts of a study's table for
:meth:`vbfem.output.report.Report.add_table`, so each caveat sits under the numbers it affects.
The numbers quoted are those of the validation report (L1 of the demo; comparisons at 1.5 mm, mesh
convergence over 3 to 1.25 mm); rerun
``vbfem validate`` and update them here when the model changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One known limit of the model.

    Attributes
    ----------
    key : str
        Short name (the footnote key).
    kinds : tuple of str
        Kinds of state it qualifies: ``"intact"``, ``"fractured"``, ``"vertebroplasty"``, ``"kyphoplasty"``.
    columns : tuple of str
        Result columns it qualifies.
    strength : tuple of str
        The study's ``load.strength`` values under which it holds.
    text : str
        What a reader should know, with the evidence and where it is.
    """

    key: str
    kinds: tuple
    columns: tuple
    strength: tuple
    text: str


_STRENGTH = ("strength", "strength_pct_intact", "strength_pct_restored")
_STIFFNESS = ("stiffness", "stiffness_pct_intact", "stiffness_pct_restored")
_VALIDATION = "docs/validation/validation.md"

#: The known limits, in the order their footnotes are numbered when they mark the same cell.
KNOWN_LIMITS = (
    Limit("vp_height", ("vertebroplasty",), ("height_restored_pct", "height_restored_mm"),
          ("nonlinear", "linear", "none"),
          "Vertebroplasty height restored is the protocol's recovery (elastic on unloading, then 31 % of the loss "
          "while the body rests: Wegrzyn 2011's measured deformation recovery, not simulated) plus an upper bound "
          "of the injection pressure's lift: 31 % against Belkoff 2001's 30 %. It checks that recovery explains "
          "VP's height; it is not a prediction of the finite-element model "
          f"({_VALIDATION}, README 'Model status')."),
    Limit("cement_modulus", ("vertebroplasty", "kyphoplasty"), _STIFFNESS, ("nonlinear", "linear", "none"),
          "Cemented stiffness depends on the cement's modulus far more than in Kosmopoulos & Keller 2004's 2-D "
          "finite elements, in their setups: cement replacing 39 % of the fractured body's marrow (8.0 mL, touching "
          "the superior endplate through the damaged band, not the inferior one) +105 % from 1 to 9 GPa against "
          "'no appreciable effect'; the whole marrow replaced +250 % from 2.16 to 9 GPa against +42 %, and +243 % "
          "over intact with PMMA against +82 %. The partial fill's effect comes from its near-column: without the "
          "cement within one or two cells of the endplates it is +34 / +9 %, without the cement in the damaged band "
          "+5 % (3 mm). No published mechanism that would make the cemented bone's modulus saturate was found "
          f"(Kinzl 2011: it follows the cement's); the composite rule is unchanged ({_VALIDATION}, README 'Model "
          "status')."),
    Limit("vp_stiffness_edge", ("vertebroplasty",), ("stiffness_pct_intact",), ("nonlinear", "linear", "none"),
          "Belkoff 2001 found that vertebroplasty did not restore stiffness; the model's vertebroplasty sits just "
          "below intact (98 % in the validation study), at the edge of 'not restored' (README 'Model status')."),
    Limit("strength_travel", ("intact", "fractured", "vertebroplasty", "kyphoplasty"), _STRENGTH, ("nonlinear",),
          "Bone hardens after yield without end (5 %; no published post-ultimate softening of vertebral trabecular "
          "bone was found), so the strength is the force at the end of the test's travel (3 % of the intact "
          "height) on a curve that still rises, not a peak, and it depends on that travel (peak_travel_mm = "
          "curve_travel_mm). A softening law of your own gives a true peak: load.ultimate_strain, "
          "softening_ratio, residual_ratio (README 'Model status')."),
    Limit("vp_strength_mesh", ("vertebroplasty",), _STRENGTH, ("nonlinear",),
          "Vertebroplasty strength is not mesh-converged: 4741 / 4683 / 4610 / 4539 / 4502 N at 3 / 2.5 / 2 / 1.5 / "
          "1.25 mm (observed order 1.1 on the finest four, uncertainty 8.0 % at 2 mm against a 3 % target, Eca & "
          f"Hoekstra 2014); it falls as the mesh is refined, so read it as an upper estimate ({_VALIDATION}, "
          "README 'Model status'). The rule for partly cemented cells is not the cause: a fixed two-ball inclusion "
          "(no flow) loses strength with refinement under every rule tried (yield at s >= 0.5, at s > 0, at s >= "
          "0.99), and the bone's own yield up to s = 0.99 lowers the uncertainty by only a third. Nor is the "
          "element: the enhanced-strain hex8 and tet10 fall at about the same rate on that inclusion."),
    Limit("kp_strength_mesh", ("kyphoplasty",), _STRENGTH, ("nonlinear",),
          "Kyphoplasty strength scatters over the meshes (4025 / 4046 / 3995 / 3993 / 3974 N at 3 / 2.5 / 2 / 1.5 / "
          "1.25 mm) without an order a power series fits: its least-squares uncertainty at 2 mm is 4.9 % against "
          f"a 3 % target (Eca & Hoekstra 2014; {_VALIDATION})."),
    Limit("fractured_stiffness_mesh", ("fractured",), _STIFFNESS, ("nonlinear", "linear", "none"),
          "The fractured body's stiffness oscillates by +-0.25 % over the meshes (7713 / 7732 / 7694 / 7708 / 7694 "
          "N/mm at 3 / 2.5 / 2 / 1.5 / 1.25 mm; the damaged band's cells change with the mesh): its least-squares "
          f"uncertainty at 2 mm is 4.7 % against a 2 % target ({_VALIDATION})."),
    Limit("kp_stiffness_mesh", ("kyphoplasty",), _STIFFNESS, ("nonlinear", "linear", "none"),
          "Kyphoplasty stiffness scatters by 2 % over the meshes (12970 / 13210 / 13060 / 13090 / 12950 N/mm at "
          "3 / 2.5 / 2 / 1.5 / 1.25 mm; the cavity's cells change with the mesh); its least-squares uncertainty "
          f"at 2 mm is 7.3 % against a 2 % target ({_VALIDATION})."),
    Limit("recompression", ("vertebroplasty", "kyphoplasty"), _STRENGTH, ("nonlinear",),
          "The recompression of a treated body starts from its damage map, not from the plastic strains the "
          "crush left (README 'Model status')."),
    Limit("residual_strength", ("fractured", "vertebroplasty", "kyphoplasty"), ("strength",), ("nonlinear",),
          "Damaged bone keeps a residual strength whose value is recalled from the literature, not read from the "
          "papers (README 'Model status')."),
    Limit("spine_posterior", ("intact", "fractured", "vertebroplasty", "kyphoplasty"),
          ("spine_rotation_x_deg", "spine_rotation_y_deg", "spine_rotation_z_deg"), ("nonlinear", "linear", "none"),
          "The spinal unit is the bodies and discs only: no posterior elements, facet joints or ligaments, and a "
          "linear model rotates the same in flexion and extension. Its extension range of motion is 9.4 deg "
          "against 5.8 deg in vitro (Yamamoto 1989), outside the range; flexion, 9.4 against 8.9 deg, is inside "
          f"({_VALIDATION}, docs/spine.md). Read rotations under extension, lateral bending and axial rotation "
          "as the discs' upper bound (under compression they are near zero and the caveat does not bite)."),
    Limit("linear_screen", ("intact", "fractured", "vertebroplasty", "kyphoplasty"), _STRENGTH, ("linear",),
          "The linear strength screen (Pistoia 2002, unverified) is not a failure load and must not be read as "
          "the strength of a cement-augmented body; use load.strength = \"nonlinear\"."),
)


def limit_marks(rows, kinds, *, strength: str) -> tuple[dict, dict]:
    """Footnote marks of the known limits on a results table.

    Parameters
    ----------
    rows : sequence of dict
        The results rows (each with ``"state"``).
    kinds : mapping of str to str
        State name -> kind (``"intact"``, ``"fractured"``, ``"vertebroplasty"``, ``"kyphoplasty"``);
        a state not named is left unmarked.
    strength : {"nonlinear", "linear", "none"}, keyword-only
        The study's ``load.strength``.

    Returns
    -------
    marks : dict
        ``(row index, column) -> list of limit keys``, only where the row has a finite value.
    footnotes : dict
        ``limit key -> text`` of every limit in :data:`KNOWN_LIMITS`.

    Examples
    --------
    >>> marks, notes = limit_marks([{"state": "VP", "height_restored_pct": 6.0}], {"VP": "vertebroplasty"},
    ...                            strength="nonlinear")
    >>> marks[(0, "height_restored_pct")]
    ['vp_height']
    """
    if strength not in ("nonlinear", "linear", "none"):
        raise ValueError(f"strength = {strength!r}: must be 'nonlinear', 'linear' or 'none'")
    marks: dict = {}
    for i, row in enumerate(rows):
        kind = kinds.get(row.get("state"))
        for limit in KNOWN_LIMITS:
            if kind not in limit.kinds or strength not in limit.strength:
                continue
            for c in limit.columns:
                v = row.get(c)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    marks.setdefault((i, c), []).append(limit.key)
    return marks, {limit.key: limit.text for limit in KNOWN_LIMITS}
