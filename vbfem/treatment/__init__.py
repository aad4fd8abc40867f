"""Treatment: where the cement goes in vertebroplasty and kyphoplasty.

Takes the fractured :class:`~vbfem.records.Mesh` and :class:`~vbfem.records.MaterialMap`,
the :class:`~vbfem.anatomy.geometry.Geometry` (pedicles, needle paths) and the
treatment's options; returns a :class:`~vbfem.records.CementFill` (cement fraction per
cell, cavity and compacted shell, leaked volume per outlet, pressure history), which
:func:`vbfem.materials.cement.with_cement` turns into a material map.

Modules: ``needles`` (transpedicular paths), ``source`` (the needle tip as a source
spread over cells), ``network`` (the finite-volume graph), ``flow`` (two-phase Darcy
flow, IMPES), ``vertebroplasty``; ``balloon`` (inflation and the crushed cavity),
``restoration`` (the endplate's lift), ``kyphoplasty`` (compaction and the fill); ``cannula``
(the syringe-to-tip pressure drop), ``outlets`` (leakage per outlet class, first leak), ``leakage``
(leak probability over seeded permeability fields).
"""

from .balloon import Balloon, Inflation, inflate, place_balloons
from .cannula import Cannula
from .kyphoplasty import KyphoplastyResult, simulate_kyphoplasty
from .leakage import LeakageRisk, leakage_risk
from .needles import Needle, bipedicular, unipedicular
from .restoration import HeightRestoration, restore_height
from .vertebroplasty import simulate_vertebroplasty

__all__ = ["Balloon", "Cannula", "HeightRestoration", "Inflation", "KyphoplastyResult", "LeakageRisk", "Needle",
           "bipedicular", "inflate", "leakage_risk", "place_balloons", "restore_height", "simulate_kyphoplasty",
           "simulate_vertebroplasty", "unipedicular"]
