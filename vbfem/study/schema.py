"""Study definitions: one schema for TOML files and Python scripts.

A study names every input of the pipeline (geometry, mesh, bone, fracture,
treatments, load, outputs). It is a frozen record of frozen sections; every
value is checked on construction, and a TOML file is read with the same
checks, so an error names the key path, the value and what is allowed::

    fracture.grade = 5: must be an integer in [1, 3]

Unknown keys are errors (a typo never silently falls back to a default).
:meth:`Study.to_dict` gives the fully resolved study, defaults included,
which :func:`run_study` writes next to the results so a run can be repeated
exactly.

Schema version 1::

    version = 1
    name = "demo"
    seed = 0

    [geometry]           # level = "L1" | surface = "path/to/vertebra.stl" | image, labels, tissues, calibration
    [mesh]               # size (mm), cell_type
    [bone]               # bmd ("normal" | "osteopenic" | "osteoporotic" | g/cm3), law, heterogeneity
    [fracture]           # kind ("none", "wedge", ...), grade | height_loss
    [[treatments]]       # name, kind ("vertebroplasty" | "kyphoplasty"), approach, volume (mL), ...
    [load]               # case, displacement (mm) | force (N), moment (N mm), strength
    [output]             # folder, vtu, pictures, report
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ..anatomy.mesher import SIZE_RANGE
from ..mechanics.protocol import RECOVERY_FRACTION
from ..treatment.balloon import BALLOON_CAPACITY, BALLOON_LENGTHS

#: Version of the study schema this module reads and writes.
SCHEMA_VERSION = 1

#: Bound (mm) of a needle-tip offset along each body axis (``treatments.tip_offset_x/y/z``): a check of
#: the number only, about the half-width of the widest body in vbfem.anatomy.morphometry (L5, 47.3 mm);
#: the placed tip is checked against the body's trabecular core (vbfem.study.pipeline.check_placement).
MAX_TIP_OFFSET = 20.0

#: Bound (mm) of ``treatments.balloon_start`` (the balloon's proximal end past the pedicle entry): more
#: than the deepest body in vbfem.anatomy.morphometry (L5, 35.3 mm); whether the balloon fits is checked
#: on the body (vbfem.study.pipeline.check_placement).
MAX_BALLOON_START = 40.0


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


class StudyError(ValueError):
    """A study value is invalid; the message starts with its key path."""


def _spec(default, *, doc, lo=None, hi=None, lo_open=False, hi_open=False, choices=None, unit=""):
    """A dataclass field with its validation rule kept in ``metadata``."""
    meta = {"doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices, "unit": unit}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(tp) -> str:
    args = typing.get_args(tp)
    if args:
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + (
            " (or omitted)" if type(None) in args else ""
        )
    return {float: "a number", int: "an integer", str: "a string", bool: "true/false"}.get(tp, str(tp))


def _coerce(value, tp, path):
    """Check ``value`` against the annotation ``tp`` (float, int, str, bool or an Optional/union of them)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, path)
            except StudyError:
                pass
        raise StudyError(f"{path} = {value!r}: must be {_type_name(tp)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise StudyError(f"{path} = {value!r}: must be finite")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - schema author error
        raise TypeError(f"unsupported schema type {tp!r} at {path}")
    raise StudyError(f"{path} = {value!r}: must be {_type_name(tp)}")


def _check_range(value, meta, path):
    if value is None or isinstance(value, bool):
        return
    choices = meta.get("choices")
    if choices is not None and isinstance(value, str):
        if value not in choices:
            raise StudyError(f"{path} = {value!r}: must be one of {', '.join(map(repr, choices))}")
        return
    if isinstance(value, (int, float)):
        lo, hi = meta.get("lo"), meta.get("hi")
        bad_lo = lo is not None and (value <= lo if meta["lo_open"] else value < lo)
        bad_hi = hi is not None and (value >= hi if meta["hi_open"] else value > hi)
        if bad_lo or bad_hi:
            left = "(" if meta["lo_open"] else "["
            right = ")" if meta["hi_open"] else "]"
            unit = f" {meta['unit']}" if meta.get("unit") else ""
            what = "an integer" if isinstance(value, int) else "a number"
            rng = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
            raise StudyError(f"{path} = {value!r}: must be {what} in {rng}{unit}")


class _Section:
    """Mixin: validation on construction and construction from a plain mapping."""

    _path = ""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            path = f"{self._path}.{f.name}" if self._path else f.name
            value = _coerce(getattr(self, f.name), hints[f.name], path)
            _check_range(value, f.metadata, path)
            object.__setattr__(self, f.name, value)
        self._check()

    def _check(self):
        """Checks that involve several keys (overridden by sections)."""

    @classmethod
    def from_dict(cls, data, path: str | None = None):
        path = cls._path if path is None else path
        if not isinstance(data, dict):
            raise StudyError(f"{path or 'study'}: must be a table, got {data!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise StudyError(
                f"{path + '.' if path else ''}{unknown[0]}: unknown key; allowed keys: {', '.join(sorted(names))}"
            )
        try:
            return cls(**data)
        except StudyError as exc:
            msg = str(exc)
            if path != cls._path and msg.startswith(cls._path + "."):
                msg = path + msg[len(cls._path):]
            raise StudyError(msg) from None

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class GeometrySpec(_Section):
    """Which vertebra: a parametric level or a real surface."""

    _path = "geometry"
    level: str = _spec("L1", doc="spinal level T1-L5 of the parametric body (morphometry table)")
    surface: str | None = _spec(None, doc="path of a closed vertebra surface (STL, PLY, OBJ, VTK); overrides level; "
                                "a relative path resolves against the study file's folder")
    image: str | None = _spec(None, doc="path of a calibrated CT scan (NIfTI, needs the 'image' extra): the image "
                              "route (vbfem.anatomy.ct); needs labels and tissues; relative to the study file")
    labels: str | None = _spec(None, doc="path of the label image (NIfTI) on the scan's grid")
    tissues: str | None = _spec(None, doc="label -> tissue table, e.g. '1:body, 2:posterior, 3:cortex, 9:exclude'")
    calibration: str = _spec("mg/cm3", doc="'mg/cm3' (scan already calibrated) or the path of a phantom fit file "
                             "(vbfem.anatomy.calibration.read_calibration)")
    coarsen: int = _spec(1, doc="image coarsening factor (2: 2x2x2 averaging)", lo=1, hi=8)
    cut_x: float | None = _spec(None, doc="image route: x of a frontal cut plane at the pedicles, along +x (anterior) "
                                "in the scan's frame (voxel i centred at (i + 0.5) x spacing, after reorientation "
                                "and coarsening); body-label voxels behind it become posterior elements, for label "
                                "images that do not separate them (vbfem.anatomy.ct.ct_mesh)", unit="mm")

    def _check(self):
        from ..anatomy.morphometry import LEVELS

        if str(self.level).strip().upper() not in LEVELS:  # build_vertebra's table, checked before anything runs
            raise StudyError(f"geometry.level = {self.level!r}: must be one of the morphometry table's levels "
                             f"{', '.join(LEVELS)}")
        if self.image is None:
            if self.labels is not None or self.tissues is not None or self.cut_x is not None:
                raise StudyError("geometry.labels, geometry.tissues and geometry.cut_x need geometry.image")
            return
        if self.surface is not None:
            raise StudyError("geometry.image and geometry.surface exclude each other: give one")
        if self.labels is None or self.tissues is None:
            raise StudyError("geometry.image needs geometry.labels (label image) and geometry.tissues "
                             "(e.g. '1:body, 2:posterior')")
        self.tissue_table()

    def tissue_table(self) -> dict:
        """``geometry.tissues`` as ``{label: tissue}``."""
        table = {}
        for item in (self.tissues or "").split(","):
            key, sep, value = item.partition(":")
            try:
                table[int(key)] = value.strip()
            except ValueError:
                raise StudyError(f"geometry.tissues = {self.tissues!r}: each item must be 'label:tissue', "
                                 f"got {item.strip()!r}") from None
            if not sep or table[int(key)] not in ("body", "cortex", "posterior", "exclude"):
                raise StudyError(f"geometry.tissues = {self.tissues!r}: tissue of {item.strip()!r} must be one of "
                                 "'body', 'cortex', 'posterior', 'exclude'")
        return table


@dataclass(frozen=True)
class MeshSpec(_Section):
    """Mesh resolution and element type."""

    _path = "mesh"
    size: float = _spec(2.0, doc="target element size (vbfem.anatomy.mesher.SIZE_RANGE)", lo=SIZE_RANGE[0],
                        hi=SIZE_RANGE[1], unit="mm")
    cell_type: str = _spec("hex8", doc="element type", choices=("hex8", "tet4", "tet10"))


@dataclass(frozen=True)
class BoneSpec(_Section):
    """Bone quality and the density-modulus law."""

    _path = "bone"
    bmd: str | float = _spec("osteoporotic", doc="bone-quality level or mean trabecular apparent density (g/cm3)")
    law: str = _spec("morgan2003", doc="density-modulus law (vbfem.materials.laws.MODULUS_LAWS)")
    heterogeneity: float = _spec(0.0, doc="coefficient of variation of the random density field", lo=0.0, hi=1.0,
                                 hi_open=True)

    def _check(self):
        from ..materials.laws import MODULUS_LAWS

        if isinstance(self.bmd, str):
            _check_range(self.bmd, {"choices": ("normal", "osteopenic", "osteoporotic")}, "bone.bmd")
        else:
            _check_range(self.bmd, {"lo": 0.0, "hi": 2.0, "lo_open": True, "hi_open": False, "unit": "g/cm3"},
                         "bone.bmd")
        _check_range(self.law, {"choices": tuple(MODULUS_LAWS)}, "bone.law")


@dataclass(frozen=True)
class FractureSpec(_Section):
    """Fracture morphology and severity (Genant grade or explicit height loss)."""

    _path = "fracture"
    kind: str = _spec("wedge", doc="fracture morphology: 'none' or a kind of vbfem.fracture.deformity.KINDS")
    grade: int | None = _spec(2, doc="Genant grade", lo=1, hi=3)
    height_loss: float | None = _spec(None, doc="height loss fraction (instead of grade)", lo=0.0, hi=0.8,
                                      lo_open=True, hi_open=True)
    recovery: float = _spec(RECOVERY_FRACTION, doc="share of the crush's height loss the unloaded body recovers "
                            "before it is treated (vbfem.mechanics.protocol.RECOVERY_FRACTION: Wegrzyn 2011, "
                            "31 % after 30 min; 0 = treated at once, elastic recovery only)", lo=0.0, hi=1.0,
                            hi_open=True)

    def _check(self):
        if self.kind == "none":
            object.__setattr__(self, "grade", None)
            object.__setattr__(self, "height_loss", None)
        if self.kind != "none":
            from ..fracture.deformity import fracture_kind

            try:
                object.__setattr__(self, "kind", fracture_kind(self.kind))
            except ValueError as exc:
                raise StudyError(f"fracture.kind = {self.kind!r}: {exc}") from None
        if self.kind != "none" and self.height_loss is not None and self.grade is not None:
            # an explicit height loss replaces the grade's representative value
            object.__setattr__(self, "grade", None)


@dataclass(frozen=True)
class TreatmentSpec(_Section):
    """One cement treatment of the fractured body."""

    _path = "treatments"
    name: str = _spec("VP", doc="label of the treated state in tables and pictures")
    kind: str = _spec("vertebroplasty", doc="treatment", choices=("vertebroplasty", "kyphoplasty"))
    approach: str = _spec("bipedicular", doc="needle approach", choices=("unipedicular", "bipedicular"))
    volume: float = _spec(4.0, doc="total cement volume", lo=0.0, hi=20.0, lo_open=True, unit="mL")
    rate: float = _spec(3.0, doc="injection rate per needle", lo=0.0, hi=60.0, lo_open=True, unit="mL/min")
    start_time: float = _spec(240.0, doc="injection start after mixing", lo=0.0, unit="s")
    cement: str = _spec("pmma", doc="cement preset (vbfem.materials.cement.CEMENTS; Newtonian except 'pmma_shear_thinning', "
                        "a power-law fluid with flow index 0.5)")
    balloon_volume: float | None = _spec(None, doc="kyphoplasty: inflation volume per balloon (default: the cement "
                                         "volume shared by the balloons; at most the capacity of its length, "
                                         "vbfem.treatment.balloon.BALLOON_CAPACITY)", lo=0.0,
                                         hi=max(BALLOON_CAPACITY.values()), lo_open=True, unit="mL")
    balloon_length: float = _spec(15.0, doc="kyphoplasty: nominal balloon length, one of "
                                  "vbfem.treatment.balloon.BALLOON_LENGTHS", unit="mm")
    balloon_start: float | None = _spec(None, doc="kyphoplasty: the balloon's position along its needle path, the "
                                        "distance of its proximal end past the pedicle entry (default "
                                        "vbfem.treatment.balloon.BALLOON_START)", lo=0.0, hi=MAX_BALLOON_START,
                                        unit="mm")
    tip_offset_x: float | None = _spec(None, doc="needle-tip offset along the body's x axis (anterior) from the "
                                       "default placement rule (vbfem.treatment.needles); kyphoplasty: the balloons "
                                       "move with the cannula's tip. The tip must stay in the body's trabecular "
                                       "core (checked before any computation); unset: 0", lo=-MAX_TIP_OFFSET,
                                       hi=MAX_TIP_OFFSET, unit="mm")
    tip_offset_y: float | None = _spec(None, doc="needle-tip offset along the body's y axis (to the left), as "
                                       "tip_offset_x; the same offset moves every needle of the approach",
                                       lo=-MAX_TIP_OFFSET, hi=MAX_TIP_OFFSET, unit="mm")
    tip_offset_z: float | None = _spec(None, doc="needle-tip offset along the body's z axis (cranial), as "
                                       "tip_offset_x", lo=-MAX_TIP_OFFSET, hi=MAX_TIP_OFFSET, unit="mm")
    viscosity: float | None = _spec(None, doc="cement viscosity at the preset's reference time after mixing "
                                    "(default: the preset's, vbfem.materials.cement.Cement.viscosity_ref)", lo=0.0,
                                    lo_open=True, unit="Pa s")
    flow_index: float | None = _spec(None, doc="power-law flow index n of the cement, 1 = Newtonian (default: the "
                                     "preset's)", lo=0.1, hi=1.0, unit="")
    cannula_gauge: int = _spec(11, doc="vertebroplasty: gauge of the injection cannula (vbfem.treatment.cannula)",
                               lo=8, hi=15, unit="G")
    cannula_length: float = _spec(120.0, doc="vertebroplasty: length of the injection cannula", lo=50.0, hi=200.0,
                                  unit="mm")
    permeability_sd: float = _spec(0.0, doc="standard deviation of the log of a seeded random permeability factor "
                                   "(the study's seed; 0: none; 0.37 is the scatter between lumbar cores, Baroud "
                                   "2004)", lo=0.0, hi=3.0, unit="")
    permeability_correlation: float = _spec(0.0, doc="correlation length of that factor (0: independent cell by "
                                            "cell; vbfem.materials.random_field)", lo=0.0, hi=100.0, unit="mm")
    vein_radius: float = _spec(0.0, doc="radius of the basivertebral veins as flow channels from the foramen to "
                               "venous openings on the front and sides of the body (vbfem.treatment.veins; 0: "
                               "none; no published vein diameter was found: the sampled patients of the leakage "
                               "study use He 2023's foramen height, an upper bound)", lo=0.0, hi=5.0, unit="mm")

    def cement_record(self):
        """The :class:`vbfem.materials.cement.Cement` of this treatment: the preset with ``viscosity`` and ``flow_index``."""
        from ..materials.cement import cement_preset

        c = cement_preset(self.cement)
        changes = {k: v for k, v in (("viscosity_ref", self.viscosity), ("flow_index", self.flow_index))
                   if v is not None}
        return dataclasses.replace(c, **changes) if changes else c

    @property
    def tip_offset(self) -> tuple:
        """``(tip_offset_x, tip_offset_y, tip_offset_z)`` mm, an unset one as 0."""
        return tuple(0.0 if v is None else v for v in (self.tip_offset_x, self.tip_offset_y, self.tip_offset_z))

    def _check(self):
        from ..materials.cement import CEMENTS

        if self.balloon_start is not None and self.kind != "kyphoplasty":
            raise StudyError(f"{self._path}.balloon_start = {self.balloon_start!r}: a balloon position needs "
                             f"kind = 'kyphoplasty' (this treatment is {self.kind!r}); remove the key")

        _check_range(self.cement, {"choices": tuple(CEMENTS)}, f"{self._path}.cement")
        if self.balloon_length not in BALLOON_LENGTHS:
            raise StudyError(f"{self._path}.balloon_length = {self.balloon_length!r}: must be one of the nominal "
                             f"lengths {', '.join(f'{v:g}' for v in BALLOON_LENGTHS)} mm")
        cap = BALLOON_CAPACITY[self.balloon_length]
        if self.kind == "kyphoplasty" and self.balloon_volume_ml > cap:
            # the inflation refuses it too (vbfem.treatment.balloon.inflate): refused here, before anything runs
            longer = [f"{v:g}" for v in BALLOON_LENGTHS if BALLOON_CAPACITY[v] >= self.balloon_volume_ml]
            hint = f"balloon_length = {' or '.join(longer)} mm, or " if longer else ""
            key = (f"balloon_volume = {self.balloon_volume!r}" if self.balloon_volume is not None else
                   f"volume = {self.volume!r} (the default balloon_volume: {self.balloon_volume_ml:g} mL per balloon)")
            raise StudyError(f"{self._path}.{key}: more than the {cap:g} mL capacity of a {self.balloon_length:g} mm "
                             f"balloon (vbfem.treatment.balloon.BALLOON_CAPACITY); use {hint}"
                             f"balloon_volume <= {cap:g} mL")
        n = 2 if self.approach == "bipedicular" else 1
        # each needle injects volume / n at rate: the cement must not set before the end
        stop = self.start_time + 60.0 * self.volume / n / self.rate
        setting = self.cement_record().setting_time
        if stop > setting:
            raise StudyError(f"{self._path}.start_time = {self.start_time!r}: the injection would end {stop:.0f} s "
                             f"after mixing, after cement {self.cement!r} sets ({setting:.0f} s); start by "
                             f"{setting - 60.0 * self.volume / n / self.rate:.0f} s")

    @property
    def balloon_volume_ml(self) -> float:
        """Inflation volume per balloon, mL: as given, else the cement volume shared by the balloons
        (derived, not stored, so that a sweep over ``volume`` moves it along)."""
        if self.balloon_volume is not None:
            return self.balloon_volume
        return round(self.volume / (2 if self.approach == "bipedicular" else 1), 6)


@dataclass(frozen=True)
class LoadSpec(_Section):
    """The load case that measures stiffness and strength."""

    _path = "load"
    case: str = _spec("compression", doc="load case",
                      choices=("compression", "flexion", "extension", "lateral_bending"))
    displacement: float = _spec(0.1, doc="platen displacement of the stiffness test", lo=0.0, hi=5.0,
                                lo_open=True, unit="mm")
    force: float = _spec(500.0, doc="axial force of physiological cases", lo=0.0, unit="N")
    moment: float = _spec(7500.0, doc="moment of bending cases", lo=0.0, unit="N mm")
    strength: str = _spec("nonlinear", doc="strength: peak of the elastic-plastic compression test (nonlinear), "
                          "the fast linear screen (linear, a ranking aid, not a failure load) or none",
                          choices=("linear", "nonlinear", "none"))
    platens: str = _spec("bonded", doc="platens of the compression case: bonded (all displacements prescribed) or "
                         "sliding (axial displacement only, rigid-body modes removed; vbfem.mechanics.sliding; the compression "
                         "case, with the linear or the nonlinear strength)",
                         choices=("bonded", "sliding"))
    ultimate_strain: float | None = _spec(None, doc="bone's post-ultimate softening in the nonlinear strength test: "
                                          "plastic strain at the ultimate stress (vbfem.materials.strength.Softening; "
                                          "no default, none published: give all three softening keys or none)",
                                          lo=0.0, hi=0.5, lo_open=True)
    softening_ratio: float | None = _spec(None, doc="post-ultimate tangent over the elastic modulus (< 0)",
                                          lo=-1e6, hi=0.0, hi_open=True)
    residual_ratio: float | None = _spec(None, doc="residual over ultimate stress where the softening stops",
                                         lo=0.0, hi=1.0)

    def softening(self):
        """The :class:`~vbfem.materials.strength.Softening` law of the three keys, or None."""
        if self.ultimate_strain is None:
            return None
        from ..materials.strength import Softening

        return Softening(ultimate_plastic_strain=self.ultimate_strain, softening_ratio=self.softening_ratio,
                         residual_ratio=self.residual_ratio)

    def _check(self):
        keys = {k: getattr(self, k) for k in ("ultimate_strain", "softening_ratio", "residual_ratio")}
        given = [k for k, v in keys.items() if v is not None]
        if given and len(given) < 3:
            raise StudyError(f"load: softening keys {given} given without {[k for k in keys if k not in given]}: "
                             "give ultimate_strain, softening_ratio and residual_ratio together, or none of them")
        if given and self.strength != "nonlinear":
            raise StudyError(f"load: the softening keys act on the nonlinear strength test only (strength = "
                             f"{self.strength!r}); set strength = 'nonlinear' or remove them")
        if self.platens == "sliding" and self.case != "compression":
            raise StudyError(f"load.platens = 'sliding' with case = {self.case!r}: sliding platens prescribe the "
                             "axial displacement of the loaded faces (the frictionless platens of the compression "
                             "protocol); a bending case loads the body by a force and a moment through a rigid platen "
                             "bonded to its superior face, and a frictionless platen under a moment lifts off on one "
                             "side (contact, not modelled in vbfem); use platens = 'bonded' (or case = 'compression')")
        # stiffness and strength are axial (platen force over axial travel) for every case: a bending case
        # needs its axial force for them to mean anything
        if self.case in ("flexion", "extension", "lateral_bending") and self.force == 0:
            raise StudyError(f"load.force = 0.0: the {self.case} case reports axial stiffness and strength, which "
                             "need an axial force > 0 N (e.g. the usual 500 N with 7.5 N m)")


@dataclass(frozen=True)
class OutputSpec(_Section):
    """What to write and where."""

    _path = "output"
    folder: str = _spec("vbfem-output", doc="output folder; a relative path resolves against the study file's "
                        "folder and must stay inside it")
    vtu: bool = _spec(True, doc="write a VTU of every state")
    pictures: bool = _spec(True, doc="render PNG pictures")
    report: bool = _spec(True, doc="write the HTML report")


@dataclass(frozen=True)
class SpineSpec(_Section):
    """The treated body in a functional spinal unit (:mod:`vbfem.mechanics.spinal_unit`); ``levels = 0``: off."""

    _path = "spine"
    levels: int = _spec(0, doc="bodies in the unit: 0 (no unit), 2 (with the cranial neighbour) or 3 "
                        "(both neighbours)", choices=(0, 2, 3))
    segments: str | None = _spec(None, doc="explicit neighbouring levels, e.g. ['L2', 'L3', 'L4'] (overrides levels)")
    disc_height: float | None = _spec(None, doc="disc height (default vbfem.mechanics.spinal_unit.DISC_HEIGHT of the level)",
                                      lo=0.0, lo_open=True, unit="mm")
    nucleus_fraction: float = _spec(0.4096, doc="nucleus share of the disc's cross-section "
                                    "(vbfem.mechanics.spinal_unit.NUCLEUS_FRACTION)", lo=0.0, hi=1.0, lo_open=True,
                                    hi_open=True)
    nucleus: str = _spec("fluid", doc="nucleus model: 'fluid' (a fluid-filled cavity in a soft skeleton, "
                         "vbfem.fem.cavity) or 'solid' (nearly incompressible)", choices=("fluid", "solid"))
    nucleus_bulk: float = _spec(2200.0, doc="bulk modulus of a fluid nucleus (water; "
                                "vbfem.materials.disc.NUCLEUS_FLUID_BULK)", lo=0.0, lo_open=True, unit="MPa")
    nucleus_E: float | None = _spec(None, doc="Young's modulus of the nucleus cells' solid: the skeleton of a fluid "
                                    "nucleus (default vbfem.materials.disc.NUCLEUS_SKELETON_E) or the solid nucleus "
                                    "(default NUCLEUS_E)", lo=0.0, lo_open=True, unit="MPa")
    nucleus_nu: float | None = _spec(None, doc="Poisson's ratio of the nucleus cells' solid (default "
                                     "NUCLEUS_SKELETON_NU or NUCLEUS_NU), below 0.5: the linear solver has no mixed "
                                     "or penalty formulation for an incompressible solid", lo=-1.0, hi=0.5,
                                     lo_open=True, hi_open=True)
    fibre_angle: float = _spec(30.0, doc="annulus fibre angle from the transverse plane", lo=0.0, hi=90.0,
                               unit="deg")

    def __post_init__(self):
        seg = self.segments
        if isinstance(seg, (list, tuple)):
            if not all(isinstance(x, str) for x in seg):
                raise StudyError(f"spine.segments = {seg!r}: must be a list of level names")
            object.__setattr__(self, "segments", ",".join(seg))
        super().__post_init__()

    @property
    def on(self) -> bool:
        """True when the study puts the treated body in a unit."""
        return bool(self.levels or self.segments)

    def segment_list(self):
        """``segments`` as a list of level names, or None."""
        return None if self.segments is None else [x.strip() for x in self.segments.split(",") if x.strip()]


_SECTIONS = {
    "geometry": GeometrySpec, "mesh": MeshSpec, "bone": BoneSpec, "fracture": FractureSpec,
    "load": LoadSpec, "output": OutputSpec,
}


@dataclass(frozen=True)
class Study:
    """A complete, validated study.

    Build it in Python with keyword sections (plain dicts or section records)
    or read it from TOML with :func:`load_study`; both go through the same
    checks. ``Study().to_dict()`` shows every default.
    """

    version: int = SCHEMA_VERSION
    name: str = "study"
    seed: int = 0
    geometry: GeometrySpec = field(default_factory=GeometrySpec)
    mesh: MeshSpec = field(default_factory=MeshSpec)
    bone: BoneSpec = field(default_factory=BoneSpec)
    fracture: FractureSpec = field(default_factory=FractureSpec)
    treatments: tuple = field(default_factory=lambda: (
        TreatmentSpec(name="VP", kind="vertebroplasty"),
        TreatmentSpec(name="KP", kind="kyphoplasty"),
    ))
    load: LoadSpec = field(default_factory=LoadSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    spine: SpineSpec = field(default_factory=SpineSpec)

    def __post_init__(self):
        if not (isinstance(self.version, int) and self.version == SCHEMA_VERSION):
            raise StudyError(f"version = {self.version!r}: this vbfem reads study schema version {SCHEMA_VERSION}")
        _coerce(self.name, str, "name")
        if not _SAFE_NAME.match(self.name):
            raise StudyError(f"name = {self.name!r}: use letters, digits, '-' and '_' only (it names output files)")
        _coerce(self.seed, int, "seed")
        _check_range(self.seed, {"lo": 0, "hi": None, "lo_open": False, "hi_open": False}, "seed")
        for key, cls in _SECTIONS.items():
            value = getattr(self, key)
            if not isinstance(value, cls):
                object.__setattr__(self, key, cls.from_dict(value, key))
        treatments = self.treatments
        if isinstance(treatments, dict) or not isinstance(treatments, (list, tuple)):
            raise StudyError(f"treatments: must be a list of tables ([[treatments]]), got {treatments!r}")
        resolved = []
        for i, t in enumerate(treatments):
            resolved.append(t if isinstance(t, TreatmentSpec) else TreatmentSpec.from_dict(t, f"treatments[{i}]"))
        for i, t in enumerate(resolved):
            if not _SAFE_NAME.match(t.name):
                raise StudyError(f"treatments[{i}].name = {t.name!r}: use letters, digits, '-' and '_' only "
                                 "(it names files in the output folder)")
        if resolved and self.fracture.kind == "none":
            raise StudyError("treatments: a treatment needs a fractured body, but fracture.kind = 'none' "
                             "(give treatments = [] or a fracture kind)")
        if self.load.strength == "nonlinear":
            from ..materials.laws import get_law

            if get_law(self.bone.law, quantity="modulus").anisotropy is not None:
                raise StudyError(f"load.strength = 'nonlinear' with bone.law = {self.bone.law!r}: the law is "
                                 "transversely isotropic and the elastic-plastic model is isotropic; use "
                                 "strength = 'linear' or an isotropic law such as 'morgan2003'")
        names = [t.name for t in resolved]
        dup = sorted({n for n in names if names.count(n) > 1} | ({"intact", "fractured"} & set(names)))
        if dup:
            raise StudyError(f"treatments: name {dup[0]!r} is used twice or reserved (intact, fractured)")
        object.__setattr__(self, "treatments", tuple(resolved))
        if not isinstance(self.spine, SpineSpec):
            object.__setattr__(self, "spine", SpineSpec.from_dict(self.spine, "spine"))
        if self.spine.on:
            self._check_spine()

    def _check_spine(self):
        """The unit's levels, disc height and mesh, before any meshing (vbfem.mechanics.spinal_unit)."""
        from ..mechanics.spinal_unit import DISC_HEIGHT, unit_levels

        sp = self.spine
        if self.geometry.image is not None:
            raise StudyError(
                "spine: a functional spinal unit joins the treated body to parametric neighbours through discs "
                "lofted node to node between endplate grids that match (vbfem.mechanics.spinal_unit); the caps of "
                "an image model end in a voxel grid that no parametric neighbour's endplate matches, so [spine] is "
                "not available with geometry.image. Load the scanned body through disc-like layers instead: "
                "vbfem.mechanics.loadcases.with_discs on its caps' flat faces, or caps of disc material "
                "(vbfem.materials.image.ct_materials(cap_E=DISC_E, cap_nu=DISC_NU)); or remove [spine]")
        try:
            names = unit_levels(self.geometry.level, levels=sp.levels or 3, segments=sp.segment_list())
        except ValueError as exc:
            raise StudyError(f"spine: {exc}") from None
        if self.mesh.cell_type != "hex8":
            raise StudyError(f"spine: a spinal unit needs mesh.cell_type = 'hex8', got {self.mesh.cell_type!r}")
        for up, lo in itertools.pairwise(names):
            h = sp.disc_height if sp.disc_height is not None else DISC_HEIGHT.get(up)
            if h is None:
                raise StudyError(f"spine.disc_height: no published height of the {up}/{lo} disc in vbfem; give "
                                 "disc_height (mm)")
            if h < 0.5 * self.mesh.size:
                raise StudyError(f"spine.disc_height = {h!r}: the disc is thinner than half an element "
                                 f"(mesh.size = {self.mesh.size!r} mm)")

    def replace(self, **changes) -> Study:
        """A copy with top-level keys replaced (sections as records or dicts)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The resolved study as plain data (what :func:`dump_study` writes)."""
        out = {"version": self.version, "name": self.name, "seed": self.seed}
        for key in _SECTIONS:
            out[key] = getattr(self, key).to_dict()
        out["treatments"] = [t.to_dict() for t in self.treatments]
        if self.spine.on:  # omitted when off, so that studies without a unit keep their text and hash
            out["spine"] = self.spine.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Study:
        """Build from plain data, rejecting unknown keys with their path."""
        if not isinstance(data, dict):
            raise StudyError(f"study: must be a table, got {type(data).__name__}")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise StudyError(f"{unknown[0]}: unknown key; allowed top-level keys: {', '.join(sorted(allowed))}")
        return cls(**data)


def output_folder(study: Study, base) -> Path:
    """The study's output folder: absolute as given, or relative to ``base`` and inside it.

    Raises
    ------
    StudyError
        If a relative ``output.folder`` leaves ``base`` (e.g. ``"../../x"``).
    """
    folder = Path(study.output.folder)
    if folder.is_absolute():
        return folder
    base = Path(base).resolve()
    resolved = (base / folder).resolve()
    if resolved != base and base not in resolved.parents:
        raise StudyError(f"output.folder = {study.output.folder!r}: a relative output folder must stay inside "
                         f"{str(base)!r}; give an absolute path to write elsewhere")
    return resolved


def load_study(path) -> Study:
    """Read and validate a study TOML file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    StudyError
        On a TOML syntax error or an invalid value (the message names the key path).
    """
    path = Path(path)
    return Study.from_dict(with_paths_from(read_toml(path, what="study file"), path.parent))


def resolve_path(value: str, base) -> str:
    """``value`` as given when absolute, else joined to the folder ``base`` (made absolute)."""
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else Path(base).absolute() / p)


def with_paths_from(data: dict, base) -> dict:
    """Study data whose relative file paths (``geometry.surface``) resolve against the folder ``base``
    (the study file's), as ``output.folder`` does (:func:`output_folder`); other values unchanged."""
    geometry = data.get("geometry") if isinstance(data, dict) else None
    if isinstance(geometry, dict):
        paths = {k: resolve_path(geometry[k], base) for k in ("surface", "image", "labels", "calibration")
                 if isinstance(geometry.get(k), str) and not (k == "calibration" and geometry[k] == "mg/cm3")}
        if paths:
            return {**data, "geometry": {**geometry, **paths}}
    return data


def read_toml(path, *, what: str = "file") -> dict:
    """The table of a TOML file; FileNotFoundError or StudyError naming ``what`` and the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(f"{what} {str(path)!r}: not a TOML text file (byte {exc.start} is not UTF-8; a TOML file "
                         "is UTF-8 text)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{what} {str(path)!r}: not valid TOML: {exc}") from None


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return repr(v)
    return str(v)


def dumps_study(study: Study) -> str:
    """The resolved study as TOML text (defaults included); :func:`load_study` reads it back."""
    d = study.to_dict()
    lines = [f"version = {d['version']}", f"name = {_toml_value(d['name'])}", f"seed = {d['seed']}"]
    if not d["treatments"]:  # written out, or reading it back would give the default treatments
        lines.append("treatments = []")
    lines.append("")
    for key in _SECTIONS:
        lines.append(f"[{key}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in d[key].items()]
        lines.append("")
    for t, spec in zip(d["treatments"], study.treatments):
        lines.append("[[treatments]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in t.items()]
        lines += [f"# {k} = {_toml_value(v)}  # {why}" for k, v, why in _derived_defaults(spec)]
        lines.append("")
    if "spine" in d:
        lines.append("[spine]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in d["spine"].items()]
        lines.append("")
    return "\n".join(lines)


def _derived_defaults(spec: TreatmentSpec) -> list[tuple[str, object, str]]:
    """``(key, value, why)`` of the treatment keys left unset whose value is derived from others.

    :func:`dumps_study` writes them as comments: the reader sees every value the run used, and the key
    stays unset, so that it keeps following what it derives from (a sweep over ``volume`` moves the
    balloon volume along; a changed ``cement`` brings its own viscosity). Uncomment one to fix it.
    The placement keys (``tip_offset_x/y/z``, ``balloon_start``) are written only when set: unset, the
    default placement rule places the tips, and a study that does not use them keeps its text and so its
    sweep hash (:func:`vbfem.study.sweep.study_hash`); the results columns ``tip_offset_*_mm`` and
    ``balloon_start_mm`` carry the values used.
    """
    out = []
    if spec.kind == "kyphoplasty" and spec.balloon_volume is None:
        n = 2 if spec.approach == "bipedicular" else 1
        out.append(("balloon_volume", spec.balloon_volume_ml,
                    f"mL per balloon; unset, it is the cement volume shared by the {n} balloon{'s' if n > 1 else ''}"))
    cement = spec.cement_record()
    if spec.viscosity is None:
        out.append(("viscosity", float(cement.viscosity_ref), f"Pa s at {cement.t_ref:g} s after mixing; unset, the {spec.cement!r} preset's"))
    if spec.flow_index is None:
        out.append(("flow_index", float(cement.flow_index), f"unset, the {spec.cement!r} preset's"))
    return out
