"""Parametric vertebral body: implicit shape, volume and needle landmarks.

The body is centred on the z axis with its mid-height plane at z = 0.
Axes: +x anterior, +y left, +z superior (cranial); units mm.

Shape
-----
*Cross-section* (the endplate outline): a star-shaped curve ``r = R(phi)``
about the body centre. The anterior half is an ellipse with semi-axes
``depth/2`` (x) and ``width/2`` (y); the posterior half is a superellipse of
exponent 4 (a flat wall with rounded posterolateral corners) reaching
``depth/2 + posterior_concavity`` behind the centre, from which a smooth
dent of depth ``posterior_concavity`` is taken at the midline, spanning the
spinal canal. The midsagittal depth is therefore exactly ``depth`` and a
zero ``posterior_concavity`` gives a flat posterior wall.

*Height*: the rims of the endplates are planes tilted in the sagittal plane,
``z = +-h(x)/2`` with ``h`` linear from ``posterior_height`` at the posterior
wall (x = -depth/2) to ``anterior_height`` at the anterior wall
(x = +depth/2): a wedge when the two differ.

*Endplates*: each is concave over its central ``concave_fraction`` of the
outline (Wang, Battie & Videman 2012), with depth profile
``d (1 - (rho/rho_c)^2)^2`` in the normalised radius ``rho = r / R(phi)``,
so ``z_sup = h/2 - d_sup f(rho)`` and ``z_inf = -h/2 + d_inf f(rho)``.

*Waist*: the lateral walls are hourglass-shaped: at normalised height
``zeta`` (0 on the inferior endplate, 1 on the superior one, measured along
each vertical column) the outline is scaled by
``s(zeta) = 1 - omega sin^2(pi zeta)`` with ``omega = waist / (width/2)``.

A point is inside when ``z_inf(x, y) <= z <= z_sup(x, y)`` and
``r <= s(zeta) R(phi)``. The volume has a closed form in two periodic
integrals of ``R(phi)`` (see :meth:`Geometry.volume`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np

from . import morphometry as _morph

logger = logging.getLogger(__name__)

__all__ = ["POSTERIOR_EXPONENT", "Geometry", "build_vertebra"]

#: Superellipse exponent of the posterior half of the outline (2 = ellipse,
#: larger = flatter posterior wall with tighter posterolateral corners).
#: Shape choice of this model, not a measured value.
POSTERIOR_EXPONENT = 4.0

_SIDES = {"left": 1.0, "right": -1.0}


@dataclass(frozen=True)
class Geometry:
    """A parametric vertebral body (see the module docstring for the shape).

    Parameters
    ----------
    level : str
        Spinal level label, e.g. ``"L1"`` (informative).
    width : float
        Lateral (y) endplate width, mm.
    depth : float
        Antero-posterior (x) endplate depth in the midsagittal plane, mm.
    anterior_height, posterior_height : float
        Rim-to-rim body height at the anterior and posterior wall, mm.
    shell_thickness : float
        Cortical shell thickness, mm (measured in the transverse plane,
        normal to the outline).
    endplate_thickness : float
        Bony endplate thickness, mm (measured along z).
    concavity_superior, concavity_inferior : float
        Depth of the superior / inferior endplate concavity at its centre, mm.
    concave_fraction : float
        Diameter of the central concave region over the endplate diameter, in (0, 1).
    waist : float
        Inset of the lateral walls at mid-height, mm (0: straight walls).
    posterior_concavity : float
        Depth of the posterior-wall dent at the midline, mm (0: flat wall).
    pedicle_width, pedicle_height : float
        Pedicle width and height, mm.
    pedicle_transverse_angle : float
        Medial convergence of the pedicle axis, degrees.
    pedicle_sagittal_angle : float
        Caudal inclination of the pedicle axis going anteriorly, degrees.
    canal_width : float
        Spinal-canal width, mm; places the pedicles and sizes the posterior dent.
    source : str
        Where the dimensions came from.

    Notes
    -----
    Construction validates every dimension and raises ``ValueError`` naming
    the parameter, its value and the allowed range. Use
    :func:`build_vertebra` to build one from the morphometry table, and
    ``dataclasses.replace`` (or :meth:`replace`) to change dimensions.
    """

    level: str
    width: float
    depth: float
    anterior_height: float
    posterior_height: float
    shell_thickness: float
    endplate_thickness: float
    concavity_superior: float
    concavity_inferior: float
    concave_fraction: float
    waist: float
    posterior_concavity: float
    pedicle_width: float
    pedicle_height: float
    pedicle_transverse_angle: float
    pedicle_sagittal_angle: float
    canal_width: float
    source: str = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name in ("level", "source"):
                object.__setattr__(self, f.name, str(getattr(self, f.name)))
                continue
            value = getattr(self, f.name)
            try:
                fvalue = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"{f.name} must be a number, got {value!r}") from None
            if not math.isfinite(fvalue):
                raise ValueError(f"{f.name}={value!r} must be finite")
            object.__setattr__(self, f.name, fvalue)
        self._validate()

    # ------------------------------------------------------------ validation
    def _validate(self):
        for name in ("width", "depth", "anterior_height", "posterior_height",
                     "pedicle_width", "pedicle_height", "canal_width"):
            _check(name, getattr(self, name), 0.0, math.inf)
        h_min = min(self.anterior_height, self.posterior_height)
        _check("shell_thickness", self.shell_thickness, 0.0, min(self.width, self.depth) / 2.0,
               why="must be thinner than half the body's width and depth")
        _check("endplate_thickness", self.endplate_thickness, 0.0, h_min / 4.0,
               why="must be thinner than a quarter of the smaller body height")
        for name in ("concavity_superior", "concavity_inferior"):
            _check(name, getattr(self, name), 0.0, h_min / 5.0, lo_open=False,
                   why="must be shallower than a fifth of the smaller body height")
        _check("waist", self.waist, 0.0, 0.2 * self.width / 2.0, lo_open=False,
               why="must be under 20 % of the half-width")
        _check("concave_fraction", self.concave_fraction, 0.0, 1.0 - self.waist_fraction, hi_open=False,
               why="the concave region must lie inside the waisted outline (<= 1 - waist/(width/2))")
        _check("posterior_concavity", self.posterior_concavity, 0.0, self.depth / 4.0, lo_open=False,
               why="must be under a quarter of the depth")
        _check("canal_width", self.canal_width, 0.0, self.width,
               why="the canal must be narrower than the body")
        _check("pedicle_transverse_angle", self.pedicle_transverse_angle, -45.0, 60.0, unit="deg")
        _check("pedicle_sagittal_angle", self.pedicle_sagittal_angle, -45.0, 45.0, unit="deg")
        # the wedge must keep a positive height over the whole outline
        x_back = -(self.depth / 2.0 + self.posterior_concavity)
        h_back = self.height(x_back)
        if not h_back > 4.0 * self.endplate_thickness:
            raise ValueError(
                f"anterior_height={self.anterior_height} mm and posterior_height={self.posterior_height} mm "
                f"are inconsistent: the wedge leaves {h_back:.3g} mm at the posterolateral corners "
                f"(x = {x_back:.3g} mm), which must exceed 4 x endplate_thickness = "
                f"{4.0 * self.endplate_thickness:.3g} mm"
            )

    def replace(self, **changes) -> Geometry:
        """A copy with the given dimensions changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------- derived
    @property
    def waist_fraction(self) -> float:
        """``omega = waist / (width/2)``: relative inset of the outline at mid-height."""
        return self.waist / (self.width / 2.0)

    @property
    def concavity_half_angle(self) -> float:
        """Half-angle (rad) of the posterior dent about the -x axis; it spans the canal."""
        return math.atan2(self.canal_width / 2.0, self.depth / 2.0)

    # ----------------------------------------------------------- outline
    def radius(self, phi) -> np.ndarray:
        """Endplate outline ``R(phi)`` in mm at polar angle ``phi`` (rad, 0 = anterior, pi/2 = left)."""
        phi = np.asarray(phi, float)
        c, s = np.cos(phi), np.sin(phi)
        a, b = self.depth / 2.0, self.width / 2.0
        ap = a + self.posterior_concavity
        n = POSTERIOR_EXPONENT
        anterior = 1.0 / np.sqrt((c / a) ** 2 + (s / b) ** 2)
        posterior = (np.abs(c / ap) ** n + np.abs(s / b) ** n) ** (-1.0 / n)
        R = np.where(c >= 0.0, anterior, posterior)
        if self.posterior_concavity > 0.0:
            w = self.concavity_half_angle
            dphi = np.abs(np.angle(np.exp(1j * (phi - np.pi))))
            bump = np.where(dphi < w, np.cos(0.5 * np.pi * np.minimum(dphi / w, 1.0)) ** 2, 0.0)
            R = R - self.posterior_concavity * bump
        return R

    def outline(self, phi) -> np.ndarray:
        """Points ``(x, y)`` of the endplate outline at angles ``phi``, shape (..., 2), mm."""
        phi = np.asarray(phi, float)
        R = self.radius(phi)
        return np.stack([R * np.cos(phi), R * np.sin(phi)], axis=-1)

    def outline_normal(self, phi) -> np.ndarray:
        """Outward unit normals of the outline at angles ``phi``, shape (..., 2)."""
        phi = np.asarray(phi, float)
        eps = 1e-6
        dR = (self.radius(phi + eps) - self.radius(phi - eps)) / (2.0 * eps)
        R = self.radius(phi)
        c, s = np.cos(phi), np.sin(phi)
        tx, ty = dR * c - R * s, dR * s + R * c
        norm = np.hypot(tx, ty)
        return np.stack([ty / norm, -tx / norm], axis=-1)

    def curvature(self, phi) -> np.ndarray:
        """Signed curvature (1/mm) of the endplate outline at angles ``phi``; > 0 where convex."""
        phi = np.asarray(phi, float)
        eps = 1e-4
        R = self.radius(phi)
        dR = (self.radius(phi + eps) - self.radius(phi - eps)) / (2.0 * eps)
        d2R = (self.radius(phi + eps) - 2.0 * R + self.radius(phi - eps)) / eps**2
        return (R**2 + 2.0 * dR**2 - R * d2R) / (R**2 + dR**2) ** 1.5

    def perimeter(self, n: int = 4096) -> float:
        """Length of the endplate outline, mm."""
        p = self.outline(np.linspace(0.0, 2.0 * np.pi, n + 1))
        return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())

    def waist_scale(self, zeta) -> np.ndarray:
        """Outline scale ``s(zeta) = 1 - omega sin^2(pi zeta)`` at normalised height ``zeta`` in [0, 1]."""
        zeta = np.asarray(zeta, float)
        return 1.0 - self.waist_fraction * np.sin(np.pi * zeta) ** 2

    # ----------------------------------------------------------- heights
    def height(self, x) -> np.ndarray:
        """Rim-to-rim height ``h(x)`` in mm (linear in x: the wedge)."""
        x = np.asarray(x, float)
        slope = (self.anterior_height - self.posterior_height) / self.depth
        return 0.5 * (self.anterior_height + self.posterior_height) + slope * x

    def _concavity_profile(self, x, y) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        rho = np.hypot(x, y) / self.radius(np.arctan2(y, x))
        t = np.minimum(rho / self.concave_fraction, 1.0)
        return (1.0 - t**2) ** 2

    def z_superior(self, x, y) -> np.ndarray:
        """z (mm) of the superior endplate surface above ``(x, y)``."""
        return 0.5 * self.height(x) - self.concavity_superior * self._concavity_profile(x, y)

    def z_inferior(self, x, y) -> np.ndarray:
        """z (mm) of the inferior endplate surface below ``(x, y)``."""
        return -0.5 * self.height(x) + self.concavity_inferior * self._concavity_profile(x, y)

    def zeta(self, points) -> np.ndarray:
        """Normalised height (0 inferior endplate, 1 superior) of points along their column."""
        p = np.asarray(points, float)
        zi = self.z_inferior(p[..., 0], p[..., 1])
        zs = self.z_superior(p[..., 0], p[..., 1])
        return (p[..., 2] - zi) / (zs - zi)

    # ----------------------------------------------------------- queries
    def contains(self, points, *, tol: float = 0.0) -> np.ndarray:
        """Whether each point lies inside the body (boundary included).

        Parameters
        ----------
        points : array_like, shape (..., 3)
            Coordinates in mm.
        tol : float, keyword-only
            Points up to about ``tol`` mm outside still count as inside.

        Returns
        -------
        ndarray of bool, shape (...)
        """
        p = np.asarray(points, float)
        if p.shape[-1] != 3:
            raise ValueError(f"points must have shape (..., 3), got {p.shape}")
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        zi, zs = self.z_inferior(x, y), self.z_superior(x, y)
        zeta = np.clip((z - zi) / (zs - zi), 0.0, 1.0)
        r_max = self.radius(np.arctan2(y, x)) * self.waist_scale(zeta)
        return (z >= zi - tol) & (z <= zs + tol) & (np.hypot(x, y) <= r_max + tol)

    def volume(self, *, n: int = 1 << 14) -> float:
        """Volume of the body in mm³ (closed form up to two periodic quadratures).

        With ``A = 1/2 int R^2 dphi`` (endplate area), ``M = 1/3 int R^3 cos(phi) dphi``
        (its first moment about the y axis), ``h(x) = h0 + h1 x`` and the waist
        scale ``s(zeta)``::

            V = h0 A int s^2 + h1 M int s^3 - (d_sup + d_inf) A rho_c^2 / 3

        The phi integrals use the trapezoidal rule on ``n`` points (spectrally
        accurate for the periodic integrand away from its few C1 joints).
        """
        phi = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        R = self.radius(phi)
        dphi = 2.0 * np.pi / n
        area = 0.5 * np.sum(R**2) * dphi
        moment = np.sum(R**3 * np.cos(phi)) * dphi / 3.0
        w = self.waist_fraction
        int_s2 = 1.0 - w + 3.0 * w**2 / 8.0
        int_s3 = 1.0 - 1.5 * w + 9.0 * w**2 / 8.0 - 5.0 * w**3 / 16.0
        h0 = 0.5 * (self.anterior_height + self.posterior_height)
        h1 = (self.anterior_height - self.posterior_height) / self.depth
        dent = (self.concavity_superior + self.concavity_inferior) * area * self.concave_fraction**2 / 3.0
        return float(h0 * area * int_s2 + h1 * moment * int_s3 - dent)

    def endplate_area(self) -> float:
        """Area enclosed by the endplate outline, mm²."""
        n = 1 << 14
        R = self.radius(np.linspace(0.0, 2.0 * np.pi, n, endpoint=False))
        return float(0.5 * np.sum(R**2) * 2.0 * np.pi / n)

    # --------------------------------------------------------- landmarks
    @property
    def canal_direction(self) -> np.ndarray:
        """Unit vector from the body towards the spinal canal (posterior, -x)."""
        return np.array([-1.0, 0.0, 0.0])

    @property
    def basivertebral_foramen(self) -> np.ndarray:
        """Centre of the basivertebral foramen, mm: posterior wall, midline, mid-height."""
        x = -0.5 * self.depth * float(self.waist_scale(0.5))
        return np.array([x, 0.0, 0.0])

    def _pedicle_centre(self, side: str):
        sign = _side_sign(side)
        y = sign * min(0.5 * (self.canal_width + self.pedicle_width), 0.75 * 0.5 * self.width)
        z_rim = 0.5 * float(self.height(-0.5 * self.depth))
        # pedicles join the upper part of the posterior wall: top of the pedicle
        # just below the superior bony endplate, never below mid-height
        z = max(z_rim - self.endplate_thickness - 0.5 * self.pedicle_height, 0.0)
        return y, z

    def pedicle_entry(self, side: str) -> np.ndarray:
        """Point (mm) where the pedicle axis enters the body through the posterior wall.

        Parameters
        ----------
        side : {"left", "right"}
            Left is +y.
        """
        y, z = self._pedicle_centre(side)
        lo = -(0.5 * self.depth + self.posterior_concavity + 1.0)  # outside
        hi = 0.0  # inside
        lo, hi = np.float64(lo), np.float64(hi)
        for _ in range(80):  # bisection on the wall along the line (., y, z)
            mid = 0.5 * (lo + hi)
            if self.contains(np.array([mid, y, z])):
                hi = mid
            else:
                lo = mid
        return np.array([0.5 * (lo + hi), y, z])

    def needle_axis(self, side: str) -> np.ndarray:
        """Unit direction of a transpedicular needle on ``side``, pointing into the body.

        Anterior, turned medially by ``pedicle_transverse_angle`` and tilted
        caudally by ``pedicle_sagittal_angle``.
        """
        sign = _side_sign(side)
        t = math.radians(self.pedicle_transverse_angle)
        s = math.radians(self.pedicle_sagittal_angle)
        return np.array([math.cos(s) * math.cos(t), -sign * math.cos(s) * math.sin(t), -math.sin(s)])

    def landmarks(self) -> dict:
        """All landmarks by name: entries and needle axes per side, foramen, canal direction."""
        out = {}
        for side in _SIDES:
            out[f"pedicle_entry_{side}"] = self.pedicle_entry(side)
            out[f"needle_axis_{side}"] = self.needle_axis(side)
        out["basivertebral_foramen"] = self.basivertebral_foramen
        out["canal_direction"] = self.canal_direction
        return out


def _side_sign(side: str) -> float:
    try:
        return _SIDES[side]
    except KeyError:
        raise ValueError(f"side={side!r} is not valid; allowed: 'left' (+y), 'right' (-y)") from None


def _check(name, value, lo, hi, *, lo_open=True, hi_open=True, unit="mm", why=""):
    ok_lo = value > lo if lo_open else value >= lo
    ok_hi = value < hi if hi_open else value <= hi
    if not (ok_lo and ok_hi):
        left = "<" if lo_open else "<="
        right = "<" if hi_open else "<="
        raise ValueError(
            f"{name}={value:g} {unit} is outside the allowed range {lo:g} {left} {name} {right} {hi:.4g} {unit}"
            + (f" ({why})" if why else "")
        )


_TABLE_FIELDS = (
    "width", "depth", "anterior_height", "posterior_height", "pedicle_width", "pedicle_height",
    "pedicle_transverse_angle", "pedicle_sagittal_angle", "canal_width",
)


def build_vertebra(level: str, **overrides) -> Geometry:
    """Build the vertebral body of ``level`` from the morphometry table.

    Parameters
    ----------
    level : str
        ``"T1"`` ... ``"L5"`` (see :data:`vbfem.anatomy.morphometry.LEVELS`).
    **overrides
        Any :class:`Geometry` field, e.g. ``width=42.0`` (mm) or
        ``posterior_concavity=0.0``. Defaults and their sources:
        ``width``, ``depth``, heights, pedicle and canal dimensions from
        :data:`vbfem.anatomy.morphometry.MORPHOMETRY` (Panjabi 1991 / 1992, approximate);
        ``shell_thickness`` 0.38 mm (Eswaran 2006/2007; Silva 1994);
        ``endplate_thickness`` 0.5 mm (Silva 1994);
        ``concavity_superior`` 0.7 mm and ``concavity_inferior`` 1.5 mm,
        ``concave_fraction`` 0.7 (Wang, Battie & Videman 2012);
        ``waist`` and ``posterior_concavity`` are modelling assumptions
        (:data:`vbfem.anatomy.morphometry.WAIST_FRACTION`,
        :data:`vbfem.anatomy.morphometry.POSTERIOR_CONCAVITY_FRACTION`).

    Returns
    -------
    Geometry

    Raises
    ------
    ValueError
        Unknown level (lists the valid ones) or a dimension out of range
        (names the parameter, its value and the allowed range).
    TypeError
        An override that is not a :class:`Geometry` field.

    Examples
    --------
    >>> g = build_vertebra("L1", shell_thickness=0.5)
    >>> round(g.width, 1), g.shell_thickness
    (40.0, 0.5)
    """
    row = _morph.morphometry(level)
    params = {
        "level": row.level,
        "width": row.endplate_width,
        "depth": row.endplate_depth,
        "anterior_height": row.anterior_height,
        "posterior_height": row.posterior_height,
        "shell_thickness": _morph.SHELL_THICKNESS,
        "endplate_thickness": _morph.ENDPLATE_THICKNESS,
        "concavity_superior": _morph.CONCAVITY_SUPERIOR,
        "concavity_inferior": _morph.CONCAVITY_INFERIOR,
        "concave_fraction": _morph.CONCAVE_FRACTION,
        "waist": _morph.WAIST_FRACTION * row.endplate_width / 2.0,
        "posterior_concavity": _morph.POSTERIOR_CONCAVITY_FRACTION * row.endplate_depth,
        "pedicle_width": row.pedicle_width,
        "pedicle_height": row.pedicle_height,
        "pedicle_transverse_angle": row.pedicle_transverse_angle,
        "pedicle_sagittal_angle": row.pedicle_sagittal_angle,
        "canal_width": row.canal_width,
        "source": row.source,
    }
    allowed = set(params) - {"level"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise TypeError(
            f"build_vertebra() got unknown dimension(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
        )
    changed = {k: v for k, v in overrides.items() if k != "source"}
    params.update(overrides)
    if changed and "source" not in overrides:
        params["source"] = row.source + "; overridden: " + ", ".join(f"{k}={v}" for k, v in changed.items())
    geometry = Geometry(**params)
    logger.debug("built %s vertebral body: volume %.0f mm^3", geometry.level, geometry.volume())
    return geometry
