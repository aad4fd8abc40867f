"""Needles for cement injection: transpedicular placement from the geometry's landmarks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .cannula import Cannula

#: The default cannula of a needle (11 G, 120 mm; :mod:`vbfem.treatment.cannula`).
DEFAULT_CANNULA = Cannula()

#: Default needle inner diameter, mm: 11-gauge vertebroplasty needle, outer
#: 3.05 mm (ISO 9626), inner about 2.4 mm (unverified).
NEEDLE_BORE = 2.4
#: Default injection rate, mL/min: about 3 mL/min in bench studies (JOSR 2015;10:20).
INJECTION_RATE = 3.0


@dataclass(frozen=True)
class Needle:
    """One needle and its injection.

    Parameters
    ----------
    name : str
    entry, tip : array_like (3,)
        Entry point on the posterior wall and tip, mm.
    bore : float
        Inner diameter, mm.
    rate : float
        Injection rate, mL/min.
    volume : float
        Injected volume, mL.
    start : float
        Start of the injection, s after mixing.
    cannula : Cannula
        The cannula the cement flows through from the syringe to the tip (default 11 G, 120 mm;
        :mod:`vbfem.treatment.cannula`): its pressure drop is added to the tip pressure to give the
        syringe pressure. ``bore`` stays the tip's own diameter for the near-tip correction.
    """

    name: str
    entry: tuple
    tip: tuple
    bore: float = NEEDLE_BORE
    rate: float = INJECTION_RATE
    volume: float = 3.0
    start: float = 300.0
    cannula: Cannula = DEFAULT_CANNULA

    def __post_init__(self):
        if not isinstance(self.cannula, Cannula):
            raise TypeError(f"needle {self.name!r}: cannula={self.cannula!r} must be a Cannula")
        for k in ("entry", "tip"):
            v = np.asarray(getattr(self, k), float)
            if v.shape != (3,) or not np.all(np.isfinite(v)):
                raise ValueError(f"needle {self.name!r}: {k}={getattr(self, k)!r} must be a finite point (x, y, z) mm")
            object.__setattr__(self, k, tuple(float(x) for x in v))
        for k in ("bore", "rate", "volume"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"needle {self.name!r}: {k}={v!r} must be > 0")
        if not (np.isfinite(self.start) and self.start >= 0):
            raise ValueError(f"needle {self.name!r}: start={self.start!r} must be >= 0 s after mixing")

    @property
    def stop(self) -> float:
        """End of the injection, s after mixing."""
        return self.start + 60.0 * self.volume / self.rate


def transpedicular(geometry, side: str, *, depth: float | None = None, bore: float = NEEDLE_BORE,
                   rate: float = INJECTION_RATE, volume: float = 3.0, start: float = 300.0,
                   cannula: Cannula = DEFAULT_CANNULA) -> Needle:
    """Needle along ``geometry.needle_axis(side)`` from ``pedicle_entry(side)``.

    ``depth`` (mm from the entry) defaults to half the body depth (tip in the
    middle of the body, short of the anterior third boundary).
    """
    entry = geometry.pedicle_entry(side)
    axis = geometry.needle_axis(side)
    if depth is None:
        depth = 0.5 * geometry.depth
    if not depth > 0:
        raise ValueError(f"depth={depth!r} must be > 0 mm")
    return Needle(f"transpedicular_{side}", entry, entry + depth * axis, bore, rate, volume, start, cannula)


def unipedicular(geometry, side: str = "left", *, x_tip: float | None = None, bore: float = NEEDLE_BORE,
                 rate: float = INJECTION_RATE, volume: float = 6.0, start: float = 300.0,
                 cannula: Cannula = DEFAULT_CANNULA) -> Needle:
    """Needle through one pedicle aimed at the midline (tip at y = 0, x = ``x_tip``, default 0)."""
    entry = geometry.pedicle_entry(side)
    x = 0.0 if x_tip is None else float(x_tip)
    axis = geometry.needle_axis(side)
    # keep the caudal tilt of the pedicle axis; aim medially to the midline
    run = np.hypot(x - entry[0], entry[1])
    tip = np.array([x, 0.0, entry[2] + axis[2] / np.hypot(axis[0], axis[1]) * run])
    return Needle(f"unipedicular_{side}", entry, tip, bore, rate, volume, start, cannula)


def bipedicular(geometry, *, volume: float = 6.0, **kw) -> tuple:
    """Left and right transpedicular needles sharing ``volume`` mL equally."""
    return tuple(transpedicular(geometry, side, volume=0.5 * volume, **kw) for side in ("left", "right"))


class TipPlacementError(ValueError):
    """A needle tip that is not in the body's trabecular bone (outside the body, in the spinal canal, or
    away from every flow cell of the fractured body)."""


def check_tip(needle: Needle, geometry) -> None:
    """TipPlacementError (a ValueError) if the tip is outside the body or in the spinal canal."""
    tip = np.asarray(needle.tip)
    if geometry is None:
        return
    if not bool(geometry.contains(tip[None])[0]):
        in_canal = tip[0] < 0 and abs(tip[1]) < 0.5 * geometry.canal_width
        where = "inside the spinal canal" if in_canal else "outside the vertebral body"
        raise TipPlacementError(f"needle {needle.name!r}: tip {np.round(tip, 2).tolist()} mm is {where}")


def offset_tip(needle: Needle, offset) -> Needle:
    """``needle`` with its tip moved by ``offset`` (dx, dy, dz) mm in the body's axes (x anterior, y left,
    z cranial); the entry stays. A zero offset returns ``needle`` itself (no arithmetic, so the tip keeps
    its bits, signed zeros included)."""
    d = _offset(offset)
    if not d.any():
        return needle
    return dataclasses.replace(needle, tip=tuple(float(v) for v in np.asarray(needle.tip) + d))


def _offset(offset) -> np.ndarray:
    d = np.zeros(3) if offset is None else np.asarray(offset, float)
    if d.shape != (3,) or not np.all(np.isfinite(d)):
        raise ValueError(f"offset={offset!r} must be a finite (dx, dy, dz) in mm")
    return d


def core_margin(geometry) -> float:
    """Depth (mm) below the body's surface where its trabecular core begins.

    The parametric body (:class:`vbfem.anatomy.geometry.Geometry`): the thicker of its cortical shell and
    its bony endplate (``shell_thickness``, ``endplate_thickness``); a voxel body
    (:class:`vbfem.anatomy.ct_landmarks.CTGeometry`): one voxel (its outer wall and endplate layers are one
    voxel thick, :func:`vbfem.anatomy.ct_landmarks.endplate_sets`).
    """
    if hasattr(geometry, "shell_thickness"):
        return float(max(geometry.shell_thickness, geometry.endplate_thickness))
    return float(geometry.voxel_size)


def in_core(geometry, points) -> np.ndarray:
    """Whether each point (n, 3) mm lies in the body's trabecular core: inside the body with the points
    :func:`core_margin` away from it along the six axis directions inside too."""
    p = np.asarray(points, float).reshape(-1, 3)
    m = core_margin(geometry)
    probes = p[:, None, :] + np.vstack([np.zeros(3), m * np.eye(3), -m * np.eye(3)])[None]
    return np.asarray(geometry.contains(probes.reshape(-1, 3)), bool).reshape(p.shape[0], 7).all(axis=1)
