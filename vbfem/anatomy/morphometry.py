"""Published morphometry of the thoracic and lumbar vertebral bodies, T1-L5.

One row per level: endplate width and depth, anterior and posterior body
height, pedicle width, height and angles, and spinal-canal width, with the
row's source. :func:`vbfem.anatomy.geometry.build_vertebra` turns a row into a
:class:`~vbfem.anatomy.geometry.Geometry`.

Provenance, stated honestly
---------------------------
Lumbar rows (L1-L5):

- endplate width (upper endplate, EPWu, Table 2), spinal-canal width (SCW,
  Table 3) and pedicle width (the mean of the right and left PDW of Table 4)
  are the means of Panjabi et al., Spine 1992;17(3):299-306 (12 cadaveric
  spines, mean +- SEM printed). They were taken from a published
  transcription of the scanned tables (github.com/Gregory-Schwing-MD-PhD/
  CTSpinoPelvic1K, ``morphometrics/panjabi1992_lumbar.csv``), not read off the
  printed page here.
- anterior and posterior body heights are the pooled means of the
  meta-analysis of Bonczar et al., Surg Radiol Anat 2024;47(1):22 (18
  studies, 1481 subjects, Panjabi 1992 among them), from the same
  transcription (``morphometrics/level_references.csv``). Panjabi 1992 prints
  no anterior height, and its posterior heights (23.8, 24.3, 23.8, 24.1,
  22.9 mm at L1-L5) are 1.5-2.8 mm below the pooled means: a matched pair
  from one source keeps the body's wedge angle meaningful.
- endplate depth, pedicle height and the pedicle angles are approximate
  means consistent with Panjabi 1992 (smooth level-to-level trends), not
  verified against a table.

Thoracic rows follow Panjabi et al., Spine 1991;16(8):888-901 the same
approximate way, except the T11 and T12 canal widths (Table 4) and the T12
pedicle width (mean of right and left, Table 5), taken from the same
transcription. Every row's ``source`` says which of its numbers are which.
The tests rely on the anatomical trends (size grows caudally, thoracic
bodies are kyphotic wedges, L5 is a lordotic wedge) and, at the lumbar
levels, on the cited values. For L5, a CT cohort (Int J Spine Surg) gives
anterior 30.3 +- 1.9 mm, posterior 26.3 +- 1.9 mm and depth 35.7 +- 3.5 mm.

Tissue-scale constants (cortical shell, bony endplate, endplate concavity)
are module constants with their sources next to them.

Units: mm and degrees. Pedicle angle conventions (used by
:meth:`vbfem.anatomy.geometry.Geometry.needle_axis`): the transverse angle is
positive when the pedicle axis converges medially going anteriorly; the
sagittal angle is positive when the axis descends (caudally) going
anteriorly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MappingProxyType

__all__ = [
    "CONCAVE_FRACTION",
    "CONCAVITY_INFERIOR",
    "CONCAVITY_SUPERIOR",
    "ENDPLATE_THICKNESS",
    "LEVELS",
    "MORPHOMETRY",
    "POSTERIOR_CONCAVITY_FRACTION",
    "SHELL_THICKNESS",
    "WAIST_FRACTION",
    "Morphometry",
    "morphometry",
]

#: Cortical shell thickness, mm: 0.38 +- 0.06 mm by micro-CT (Eswaran et al.,
#: J Bone Miner Res 2006;21:307, listed as "Eswaran 2007" in the project's
#: reference sheet); about 0.35 mm, thicker anteriorly, in L1 (Silva et al.,
#: Bone 1994;15:409).
SHELL_THICKNESS = 0.38

#: Bony endplate thickness, mm. Silva et al. (Bone 1994;15:409) measured the
#: L1 shell and endplates as thin (< 0.5 mm, about 0.35 mm on average); 0.5 mm
#: is the upper end of that range, chosen so that the endplate layer is not
#: thinner than the shell.
ENDPLATE_THICKNESS = 0.5

#: Depth of the concavity of the vertebra's *inferior* endplate, mm.
#: Wang, Battie & Videman (Eur Spine J 2012;21:2316) report a mean concavity
#: depth of 1.5 mm for the endplate *cranial to the disc* and 0.7 mm for the
#: endplate *caudal to the disc*. "Cranial/caudal" is relative to the disc:
#: the cranial endplate of a disc is the inferior endplate of the vertebra
#: above it. Hence the vertebra's inferior endplate is the deeper one (also
#: found by Sun et al. on CT of L3-S1: inferior > superior concavity within
#: one vertebra).
CONCAVITY_INFERIOR = 1.5

#: Depth of the concavity of the vertebra's *superior* endplate (the endplate
#: caudal to the disc above), mm; Wang, Battie & Videman, Eur Spine J
#: 2012;21:2316.
CONCAVITY_SUPERIOR = 0.7

#: Diameter of the central concave endplate region as a fraction of the
#: endplate diameter; the rest is the flat epiphyseal rim (3-7 mm wide).
#: Wang, Battie & Videman, Eur Spine J 2012;21:2316.
CONCAVE_FRACTION = 0.7

#: Inset of the lateral walls at mid-height (the "waist" of the hourglass-shaped
#: body) as a fraction of the endplate half-width. Modelling assumption: the
#: concave lateral walls are described qualitatively (e.g. Panjabi 1992,
#: figures) but no per-level measurement was checked; 0.04 gives about 0.8 mm
#: at L1.
WAIST_FRACTION = 0.04

#: Depth of the posterior-wall concavity (at the midline, facing the spinal
#: canal) as a fraction of the endplate depth. Modelling assumption, not a
#: measured value: about 1.3 mm at L1; use 0 for a flat posterior wall.
POSTERIOR_CONCAVITY_FRACTION = 0.04


@dataclass(frozen=True)
class Morphometry:
    """Morphometry of one vertebral body level.

    Attributes
    ----------
    level : str
        ``"T1"`` ... ``"L5"``.
    endplate_width : float
        Lateral (y) width of the upper endplate, mm.
    endplate_depth : float
        Antero-posterior (x) depth of the upper endplate in the midsagittal plane, mm.
    anterior_height, posterior_height : float
        Body height at the anterior and posterior wall in the midsagittal plane, mm.
    pedicle_width, pedicle_height : float
        Outer pedicle width (transverse) and height (sagittal), mm.
    pedicle_transverse_angle : float
        Medial convergence of the pedicle axis in the transverse plane, degrees.
    pedicle_sagittal_angle : float
        Caudal inclination of the pedicle axis going anteriorly, degrees.
    canal_width : float
        Spinal-canal width (interpedicular distance), mm.
    source : str
        Citation of the row, with its status (approximate / verified).
    """

    level: str
    endplate_width: float
    endplate_depth: float
    anterior_height: float
    posterior_height: float
    pedicle_width: float
    pedicle_height: float
    pedicle_transverse_angle: float
    pedicle_sagittal_angle: float
    canal_width: float
    source: str

    def as_dict(self) -> dict:
        """The row as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_THORACIC = (
    "approximate, after Panjabi et al. 1991, Spine 16(8):888-901 (thoracic vertebral-body, "
    "spinal-canal and pedicle tables); values not verified against the printed tables"
)
_T11_T12 = (
    "canal width (and, T12, pedicle width: mean of right and left) from Panjabi et al. 1991, Spine "
    "16(8):888-901, Tables 4-5, as transcribed in github.com/Gregory-Schwing-MD-PhD/CTSpinoPelvic1K "
    "(morphometrics/panjabi_reference.csv); the other values approximate, after the same paper, unverified"
)
_LUMBAR = (
    "endplate width (EPWu), canal width (SCW) and pedicle width (mean of PDWr, PDWl): Panjabi et al. "
    "1992, Spine 17(3):299-306, Tables 2-4 (n = 12, mean of SEM-reported values), as transcribed in "
    "github.com/Gregory-Schwing-MD-PhD/CTSpinoPelvic1K (morphometrics/panjabi1992_lumbar.csv); anterior "
    "and posterior heights: pooled means of Bonczar et al. 2024, Surg Radiol Anat 47(1):22 (same "
    "transcription, morphometrics/level_references.csv); endplate depth, pedicle height and angles "
    "approximate, unverified"
)
_LOWER_LUMBAR = (
    _LUMBAR + "; CT dimensions of the lower lumbar levels in Zhou et al. 2000, Eur Spine J "
    "9:242-248 are of the same order"
)

# level: EPW, EPD, VBHa, VBHp, PDW, PDH, transverse angle, sagittal angle, canal width
_ROWS = {
    "T1": (25.5, 15.8, 14.6, 15.4, 7.9, 9.9, 27.0, 16.0, 17.2, _THORACIC),
    "T2": (25.8, 17.0, 15.3, 16.4, 7.0, 12.0, 20.0, 16.0, 16.0, _THORACIC),
    "T3": (26.0, 18.4, 15.6, 17.1, 5.6, 12.8, 15.0, 16.0, 15.3, _THORACIC),
    "T4": (26.5, 20.1, 15.9, 17.5, 4.7, 12.1, 12.0, 16.5, 15.0, _THORACIC),
    "T5": (27.6, 22.0, 16.3, 18.1, 4.5, 11.8, 11.0, 17.0, 15.0, _THORACIC),
    "T6": (28.6, 24.0, 16.9, 18.7, 5.2, 12.0, 10.0, 17.0, 15.0, _THORACIC),
    "T7": (29.9, 25.8, 17.5, 19.3, 5.3, 12.2, 9.0, 16.5, 15.2, _THORACIC),
    "T8": (31.2, 27.0, 18.1, 19.9, 5.9, 12.5, 8.0, 16.0, 15.5, _THORACIC),
    "T9": (32.6, 28.3, 18.8, 20.5, 6.1, 13.2, 7.0, 15.0, 15.8, _THORACIC),
    "T10": (34.5, 29.4, 19.7, 21.6, 6.3, 14.4, 5.0, 13.0, 16.5, _THORACIC),
    "T11": (37.3, 30.5, 21.0, 22.8, 7.8, 16.3, 4.0, 10.0, 19.4, _T11_T12),
    "T12": (39.6, 31.0, 22.8, 24.1, 8.7, 15.6, 4.0, 8.0, 22.2, _T11_T12),
    "L1": (41.2, 31.6, 24.54, 26.57, 8.6, 15.4, 11.0, 5.0, 23.7, _LUMBAR),
    "L2": (42.6, 33.2, 25.75, 27.02, 8.25, 15.0, 12.0, 4.0, 23.8, _LUMBAR),
    "L3": (44.1, 34.3, 26.83, 26.67, 10.15, 14.9, 14.0, 3.0, 24.3, _LOWER_LUMBAR),
    "L4": (46.6, 35.0, 26.86, 25.76, 14.05, 14.8, 18.0, 2.0, 25.4, _LOWER_LUMBAR),
    "L5": (47.3, 35.3, 27.44, 24.11, 18.6, 14.0, 30.0, 1.0, 27.1, _LOWER_LUMBAR),
}

#: Levels in cranio-caudal order.
LEVELS = tuple(_ROWS)

#: Level name -> :class:`Morphometry` (read-only).
MORPHOMETRY = MappingProxyType({lvl: Morphometry(lvl, *row) for lvl, row in _ROWS.items()})


def morphometry(level: str) -> Morphometry:
    """The morphometry row of ``level`` (``"T1"`` ... ``"L5"``, case-insensitive).

    Raises
    ------
    ValueError
        For an unknown level; the message lists the valid ones.

    Examples
    --------
    >>> morphometry("L1").endplate_width
    40.0
    """
    key = str(level).strip().upper()
    try:
        return MORPHOMETRY[key]
    except KeyError:
        raise ValueError(
            f"level={level!r} is not in the morphometry table; valid levels: {', '.join(LEVELS)}"
        ) from None
