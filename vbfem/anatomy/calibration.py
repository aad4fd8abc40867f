"""Calibration of a CT image as a record: CT numbers or calibrated values -> equivalent mineral density.

A QCT image is either in Hounsfield units (HU), turned into an equivalent
mineral density by the linear fit of a calibration phantom scanned with the
patient (``rho = slope * HU + intercept``, mg/cm³ of the phantom's material
per HU), or already calibrated in mg/cm³ (``unit = "mg/cm3"``, slope 1,
intercept 0). The phantom fit is read from a small JSON or ``key = value``
text file (:func:`read_calibration`).

The phantom's material (K2HPO4 or hydroxyapatite equivalent) is kept for
provenance. Equivalent mineral density is converted to the density kind of a
modulus law with :data:`vbfem.materials.laws.DENSITY_RATIOS` (QCT ≈ ash = 0.6
apparent; ash/apparent 0.598, Schileo et al., J Biomech 2008;41:356). The
published linear QCT(K2HPO4) -> ash relations used in CT-FE (Keyak et al.
1994; Kaneko et al. 2004) could NOT be verified against the papers for this
module, so they are not defaults: pass ``ash_slope`` / ``ash_intercept`` of
the relation you trust (the default 1, 0 is the project's QCT ≈ ash
approximation).

The density-type conversion and the clipping of values outside a law's
density range (how many voxels, where; never a crash) are material questions:
:func:`vbfem.materials.image.apparent_from_mineral`.

Units: mg/cm³ in files and records (as scanners report them), g/cm³ in the
returned densities (the project's unit).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["CALIBRATED", "Calibration", "mineral_density", "read_calibration"]

#: Units of the image values a :class:`Calibration` accepts.
UNITS = ("HU", "mg/cm3")
#: Phantom materials (equivalent mineral density kinds).
PHANTOMS = ("K2HPO4", "HA")


@dataclass(frozen=True)
class Calibration:
    """How the image values become equivalent mineral density.

    Attributes
    ----------
    unit : {"HU", "mg/cm3"}
        Unit of the image values: Hounsfield units (then ``slope`` and
        ``intercept`` are the phantom fit) or already calibrated mg/cm³
        (``slope`` 1 and ``intercept`` 0).
    slope : float
        mg/cm³ of equivalent mineral per HU (> 0).
    intercept : float
        mg/cm³ at 0 HU.
    phantom : {"K2HPO4", "HA"}
        Material of the calibration phantom (provenance).
    ash_slope, ash_intercept : float
        Linear conversion ``rho_ash = ash_slope * rho_mineral + ash_intercept``
        (g/cm³). Default 1, 0: the project's QCT ≈ ash approximation
        (module docstring); a published relation must be passed explicitly.
    source : str
        Where the calibration comes from (file name, scanner, note).
    """

    unit: str = "mg/cm3"
    slope: float = 1.0
    intercept: float = 0.0
    phantom: str = "K2HPO4"
    ash_slope: float = 1.0
    ash_intercept: float = 0.0
    source: str = ""

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"calibration unit={self.unit!r} is not known; allowed: {', '.join(UNITS)}")
        if self.phantom not in PHANTOMS:
            raise ValueError(f"calibration phantom={self.phantom!r} is not known; allowed: {', '.join(PHANTOMS)}")
        for name in ("slope", "intercept", "ash_slope", "ash_intercept"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"calibration {name}={v!r} must be a finite number")
            object.__setattr__(self, name, float(v))
        if self.slope <= 0 or self.ash_slope <= 0:
            raise ValueError(f"calibration slope={self.slope!r} and ash_slope={self.ash_slope!r} must be > 0")
        if self.unit == "mg/cm3" and (self.slope != 1.0 or self.intercept != 0.0):
            raise ValueError(f"an image already in mg/cm3 takes slope 1 and intercept 0, got slope={self.slope!r}, "
                             f"intercept={self.intercept!r}; use unit='HU' for a phantom fit")

    def to_dict(self) -> dict:
        """Plain dict (for provenance and study files)."""
        return {"unit": self.unit, "slope": self.slope, "intercept": self.intercept, "phantom": self.phantom,
                "ash_slope": self.ash_slope, "ash_intercept": self.ash_intercept, "source": self.source}


#: An image already calibrated in mg/cm³ of K2HPO4.
CALIBRATED = Calibration()

_KEYS = {"unit", "slope", "intercept", "phantom", "ash_slope", "ash_intercept", "source"}


def read_calibration(path) -> Calibration:
    """Read a :class:`Calibration` from a JSON file or a ``key = value`` text file.

    Keys: ``unit`` ("HU" or "mg/cm3"), ``slope`` (mg/cm³ per HU), ``intercept``
    (mg/cm³), ``phantom``, ``ash_slope``, ``ash_intercept``. Lines starting
    with ``#`` are comments in the text form. Example::

        unit = HU
        slope = 0.81      # mg/cm3 per HU, from the phantom fit
        intercept = -1.2  # mg/cm3
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"calibration file not found: {path}")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    data: dict
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"calibration file {path}: invalid JSON ({exc})") from None
    else:
        data = {}
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if "=" not in line:
                raise ValueError(f"calibration file {path}, line {n}: expected 'key = value', got {line!r}")
            key, value = (s.strip().strip("\"'") for s in line.split("=", 1))
            data[key] = value
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"calibration file {path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    kw = {}
    for key, value in data.items():
        if key in ("unit", "phantom", "source"):
            kw[key] = str(value)
        else:
            try:
                kw[key] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"calibration file {path}: {key}={value!r} is not a number") from None
    kw.setdefault("source", path)
    if kw.get("unit") == "HU" and "slope" not in kw:
        raise ValueError(f"calibration file {path}: unit HU needs the phantom fit's slope (mg/cm3 per HU)")
    return Calibration(**kw)


def mineral_density(values, calibration: Calibration = CALIBRATED) -> np.ndarray:
    """Equivalent mineral density in g/cm³ from image values (HU or mg/cm³)."""
    if not isinstance(calibration, Calibration):
        raise TypeError(f"calibration must be a Calibration record, got {type(calibration).__name__}")
    v = np.asarray(values, float)
    return (calibration.slope * v + calibration.intercept) * 1e-3
