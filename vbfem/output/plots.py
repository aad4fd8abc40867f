"""Reproducible matplotlib figures (Agg back end, PNG): load-displacement
curves, injection pressure and volume against time, stiffness restored
against cement volume, and a tornado chart of a sensitivity study.

Every function takes plain arrays, writes one PNG at a fixed size and dpi
with no time stamp or software tag in the metadata (so the same inputs give
the same file), and returns its path. matplotlib is imported inside the
functions; the core package does not need it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .atomic import atomic_path

log = logging.getLogger(__name__)

#: Figure size in inches and resolution of every figure.
FIGSIZE = (6.4, 4.2)
DPI = 100
#: Line colours in plotting order (colour-blind safe, Okabe-Ito).
COLORS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442")
#: Line styles of the needles' pressures in :func:`plot_injection` (none in the volume's blue).
NEEDLE_STYLES = ({"color": "#D55E00", "ls": "-"}, {"color": "#E69F00", "ls": (0, (4, 2))},
                 {"color": "#CC79A7", "ls": "-."}, {"color": "#009E73", "ls": ":"})
#: Colour of the injected and leaked volume in :func:`plot_injection`.
VOLUME_COLOR = "#0072B2"


def _figure(figsize=FIGSIZE):
    # a bare Figure (no pyplot) renders with the Agg canvas and leaves the user's backend alone
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    return fig


def _save(fig, path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end with .png, got {str(path)!r}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, metadata={"Software": None}, facecolor="white")
    log.info("wrote %s", path)
    return path


def _finish(fig, ax, path, title, *, legend_loc: str = "best") -> Path:
    """Grid, legend (at ``legend_loc``) and optional title of a one-axes plot, then :func:`_save`."""
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=9, loc=legend_loc)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _curve(values, name) -> np.ndarray:
    a = np.asarray(values, float).ravel()
    if a.size < 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must hold at least two finite values, got {a.size}")
    return a


def yield_point(displacement, force, *, offset: float = 0.002, height: float | None = None):
    """Yield point of a load-displacement curve by the offset method.

    The yield point is where the curve crosses a line parallel to its initial
    (elastic) slope shifted by ``offset`` times the specimen ``height``
    (the 0.2 % offset rule of Keaveny et al. 1994, J Biomech 27:1137, used
    for vertebral bodies e.g. by Crawford et al. 2003, Spine 28:1207). Without
    ``height`` the shift is ``offset`` times the largest displacement.

    Parameters
    ----------
    displacement, force : array_like
        Curve points (mm, N), displacement increasing from 0.
    offset : float, default 0.002
        Offset strain (dimensionless).
    height : float, optional
        Specimen height in mm.

    Returns
    -------
    (float, float) or None
        Displacement (mm) and force (N) at yield, or None if the curve never
        crosses the offset line (a linear curve).
    """
    d, f = _curve(displacement, "displacement"), _curve(force, "force")
    if d.shape != f.shape:
        raise ValueError(f"displacement and force must have equal length, got {d.size} and {f.size}")
    slope = f[1] / d[1] if d[1] != 0 else np.nan
    if not np.isfinite(slope) or slope <= 0:
        return None
    shift = offset * (height if height is not None else np.abs(d).max())
    g = f - slope * (d - shift)  # > 0 above the offset line
    cross = np.flatnonzero((g[:-1] > 0) & (g[1:] <= 0))
    if cross.size == 0:
        return None
    i = cross[0]
    t = g[i] / (g[i] - g[i + 1])
    return float(d[i] + t * (d[i + 1] - d[i])), float(f[i] + t * (f[i + 1] - f[i]))


def plot_load_displacement(curves, path, *, labels=None, mark_yield: bool = True, height: float | None = None,
                           title: str | None = None, xlabel="platen displacement (mm)",
                           ylabel="compressive force (N)") -> Path:
    """Load-displacement curves of several states on one axes, peak (strength) and yield marked.

    Parameters
    ----------
    curves : sequence of (displacement, force) pairs, or mapping label -> pair
        Displacement in mm and force in N (magnitudes, compression positive).
    path : str or Path
        PNG file to write.
    labels : sequence of str, optional
        One per curve (taken from the mapping keys if ``curves`` is a mapping).
    mark_yield : bool, default True
        Mark the 0.2 %-offset yield point (:func:`yield_point`) with an open circle.
    height : float, optional
        Specimen height in mm for the offset rule.
    title, xlabel, ylabel : str
    """
    if isinstance(curves, dict):
        labels = list(curves) if labels is None else labels
        curves = list(curves.values())
    curves = list(curves)
    if not curves:
        raise ValueError("curves is empty: give at least one (displacement, force) pair")
    labels = [f"state {i + 1}" for i in range(len(curves))] if labels is None else list(labels)
    if len(labels) != len(curves):
        raise ValueError(f"labels must have one entry per curve ({len(curves)}), got {len(labels)}")
    fig = _figure()
    ax = fig.add_subplot()
    for k, ((d, f), lab) in enumerate(zip(curves, labels)):
        d, f = _curve(d, f"curves[{k}] displacement"), _curve(f, f"curves[{k}] force")
        if d.shape != f.shape:
            raise ValueError(f"curves[{k}]: displacement and force must have equal length")
        c = COLORS[k % len(COLORS)]
        ax.plot(d, f, color=c, lw=1.8, label=lab)
        i = int(np.argmax(f))
        ax.plot(d[i], f[i], marker="v", color=c, ms=8, ls="none")
        if mark_yield:
            y = yield_point(d, f, height=height)
            if y is not None:
                ax.plot(*y, marker="o", mfc="white", mec=c, ms=7, ls="none")
    ax.plot([], [], marker="v", color="grey", ls="none", label="peak (strength)")
    if mark_yield:
        ax.plot([], [], marker="o", mfc="white", mec="grey", ls="none", label="yield (0.2 % offset)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    # a fixed place, below the curves (they rise from the origin and flatten): "best" depends on the text's
    # width, so another FreeType build moved the legend to the upper left (tests/output/_images.py)
    return _finish(fig, ax, path, title, legend_loc="lower right")


def plot_injection(time, pressure, volume, path, *, leaked=None, title: str | None = None,
                   pressure_unit: str = "kPa") -> Path:
    """Needle pressure (left axis) and injected volume (right axis) against time.

    Parameters
    ----------
    time : array_like
        Time in s, increasing.
    pressure : array_like
        Needle-tip pressure in Pa (the API unit); drawn in ``pressure_unit``.
        Several needles: shape (n_times, n_needles), one line each, in its own colour and dash
        (:data:`NEEDLE_STYLES`), none in the volume's colour. NaN (a time with no resolved needle
        pressure, e.g. the kyphoplasty cavity fill) leaves a gap. The pressure axis starts at 0 and
        shows plain values (no offset), so a nearly constant pressure is a flat line at its value.
    volume : array_like
        Injected volume in mm³ (drawn in mL = 1000 mm³), same length as ``time``.
    path : str or Path
        PNG file to write.
    leaked : array_like, optional
        Leaked volume in mm³ against time (dashed, right axis).
    title : str, optional
    pressure_unit : {"Pa", "kPa", "MPa"}, default "kPa"
    """
    return _save(injection_figure(time, pressure, volume, leaked=leaked, title=title, pressure_unit=pressure_unit),
                 path)


def injection_figure(time, pressure, volume, *, leaked=None, title: str | None = None, pressure_unit: str = "kPa"):
    """The matplotlib ``Figure`` of :func:`plot_injection` (same arguments but ``path``), unsaved;
    its first axes are the pressure's, its second the volume's."""
    scale = {"Pa": 1.0, "kPa": 1e-3, "MPa": 1e-6}
    if pressure_unit not in scale:
        raise ValueError(f"pressure_unit must be one of {sorted(scale)}, got {pressure_unit!r}")
    t = _curve(time, "time")
    if np.any(np.diff(t) < 0):
        raise ValueError("time must be non-decreasing")
    p = np.asarray(pressure, float)
    p = p[:, None] if p.ndim == 1 else p
    if p.shape[0] != t.size or np.any(np.isinf(p)):
        raise ValueError(f"pressure must be finite or NaN with {t.size} rows (one per time), got shape {p.shape}")
    v = _curve(volume, "volume")
    if v.size != t.size:
        raise ValueError(f"volume must have one value per time ({t.size}), got {v.size}")
    fig = _figure()
    ax = fig.add_subplot()
    shown = p * scale[pressure_unit]
    for j in range(p.shape[1]):
        lab = "needle pressure" if p.shape[1] == 1 else f"needle {j + 1} pressure"
        # each needle its own colour and dash, drawn thinner over thicker: equal pressures (a symmetric
        # bipedicular injection) show both lines instead of the second hiding the first
        style = NEEDLE_STYLES[j % len(NEEDLE_STYLES)]
        ax.plot(t, shown[:, j], lw=max(3.0 - 0.9 * j, 1.2), label=lab, **style)
        # a value between gaps (NaN on both sides, e.g. the pressure resolved only at some steps of a
        # kyphoplasty cavity fill) draws no line segment: a marker shows it
        ok = np.isfinite(shown[:, j])
        alone = ok & ~np.r_[False, ok[:-1]] & ~np.r_[ok[1:], False]
        if alone.any():
            ax.plot(t[alone], shown[alone, j], ls="none", marker="o" if j == 0 else "x", ms=6 - j, color=style["color"])
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"pressure ({pressure_unit})")
    ax.ticklabel_format(axis="y", useOffset=False)  # never "1e-6 + 1.3892": the pressures as they are
    finite = shown[np.isfinite(shown)]
    if finite.size and finite.min() >= 0:
        # from 0 with 10 % headroom: a nearly constant pressure is a visible flat line, not a noisy axis
        ax.set_ylim(0.0, 1.1 * finite.max() if finite.max() > 0 else 1.0)
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(t, v / 1000.0, color=VOLUME_COLOR, lw=1.6, label="injected volume")
    if leaked is not None:
        lk = _curve(leaked, "leaked")
        if lk.size != t.size:
            raise ValueError(f"leaked must have one value per time ({t.size}), got {lk.size}")
        ax2.plot(t, lk / 1000.0, color=VOLUME_COLOR, lw=1.2, ls=":", label="leaked volume")
    ax2.set_ylabel("volume (mL)")
    ax2.set_ylim(bottom=0)
    ax2.ticklabel_format(axis="y", useOffset=False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, frameon=False, fontsize=9, loc="upper left")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_restoration(volume, restored, path, *, groups=None, reference: float | None = 100.0,
                     ylabel: str = "stiffness restored (% of intact)", title: str | None = None) -> Path:
    """Stiffness (or strength) restored against cement volume, from a sweep table.

    Parameters
    ----------
    volume : array_like
        Cement volume per case in mL.
    restored : array_like
        Restored fraction per case in % of the intact value.
    path : str or Path
        PNG file to write.
    groups : array_like of str, optional
        Group label per case (e.g. "VP" / "KP", or uni- / bipedicular): one
        line per group, cases sorted by volume. Repeated volumes within a
        group are drawn as their mean with the range as an error bar.
    reference : float or None, default 100
        Horizontal reference line (the intact value); None for none.
    ylabel, title : str
    """
    v = _curve(volume, "volume")
    r = _curve(restored, "restored")
    if v.size != r.size:
        raise ValueError(f"volume and restored must have equal length, got {v.size} and {r.size}")
    g = np.full(v.size, "", object) if groups is None else np.asarray(groups, object)
    if g.shape != v.shape:
        raise ValueError(f"groups must have one label per case ({v.size}), got {g.shape}")
    fig = _figure()
    ax = fig.add_subplot()
    for k, name in enumerate(sorted(set(g.tolist()), key=str)):
        sel = g == name
        uv = np.unique(v[sel])
        mean = np.array([r[sel][v[sel] == x].mean() for x in uv])
        lo = np.array([r[sel][v[sel] == x].min() for x in uv])
        hi = np.array([r[sel][v[sel] == x].max() for x in uv])
        c = COLORS[(k + 1) % len(COLORS)]
        ax.errorbar(uv, mean, yerr=[mean - lo, hi - mean], color=c, marker="o", ms=5, lw=1.6, capsize=3,
                    label=str(name) if name != "" else None)
    if reference is not None:
        ax.axhline(reference, color="grey", lw=1, ls="--", label="intact")
    ax.set_xlabel("cement volume (mL)")
    ax.set_ylabel(ylabel)
    return _finish(fig, ax, path, title)


def plot_tornado(names, low, high, baseline: float, path, *, xlabel: str = "stiffness restored (%)",
                 labels=("low input", "high input"), title: str | None = None) -> Path:
    """Tornado chart of a one-at-a-time sensitivity study.

    Each bar spans the output with one input at its low and at its high
    value, the others at baseline; bars are sorted by their span, largest on top.

    Parameters
    ----------
    names : sequence of str
        Input names.
    low, high : array_like
        Output with each input at its low / high value.
    baseline : float
        Output with every input at baseline (vertical line).
    path : str or Path
        PNG file to write.
    xlabel : str
    labels : pair of str
        Legend entries of the low and high bars.
    title : str, optional
    """
    names = [str(n) for n in names]
    lo = np.asarray(low, float).ravel()
    hi = np.asarray(high, float).ravel()
    if not names or lo.size != len(names) or hi.size != len(names):
        raise ValueError(f"names, low and high must have the same non-zero length, got "
                         f"{len(names)}, {lo.size}, {hi.size}")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.isfinite(baseline)):
        raise ValueError("low, high and baseline must be finite")
    order = np.argsort(np.abs(hi - lo), kind="stable")  # smallest first = bottom
    fig = _figure((FIGSIZE[0], max(2.5, 0.45 * len(names) + 1.2)))
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y, lo[order] - baseline, left=baseline, color=COLORS[2], label=labels[0])
    ax.barh(y, hi[order] - baseline, left=baseline, color=COLORS[1], label=labels[1], alpha=0.9)
    ax.axvline(baseline, color="black", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels([names[i] for i in order])
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


#: Pounds per square inch in one MPa (balloon gauges read psi or atm).
PSI_PER_MPA = 145.0377


def plot_balloon(volume, pressure, path, *, rated_pressure: float | None = None, n_balloons: int | None = None,
                 title: str | None = None) -> Path:
    """Balloon pressure–volume curve of a kyphoplasty inflation.

    Parameters
    ----------
    volume : array_like
        Cavity volume along the inflation in mL (all balloons together), non-decreasing, from
        :attr:`vbfem.treatment.kyphoplasty.KyphoplastyResult.pv_curve` ``[:, 0]``.
    pressure : array_like
        Balloon pressure in MPa at each volume (non-decreasing), ``pv_curve[:, 1]``; drawn in MPa on the
        left axis and in psi on the right one.
    path : str or Path
        PNG file to write.
    rated_pressure : float, optional, keyword-only
        The balloon's rated (maximum) pressure in MPa, drawn as a dashed line.
    n_balloons : int, optional
        Number of balloons inflated together, named in the x-axis label.
    title : str, optional

    Returns
    -------
    Path

    Notes
    -----
    The curve starts at the origin (an empty cavity at zero pressure) and ends at the inflation's final
    volume and pressure, marked with a dot (its values in the legend). A rated pressure more than 1.5
    times the highest pressure of the curve is named in the legend instead of drawn, so the curve keeps
    the height of the axes.
    """
    return _save(balloon_figure(volume, pressure, rated_pressure=rated_pressure, n_balloons=n_balloons,
                                title=title), path)


def balloon_figure(volume, pressure, *, rated_pressure: float | None = None, n_balloons: int | None = None,
                   title: str | None = None):
    """The matplotlib ``Figure`` of :func:`plot_balloon` (same arguments but ``path``), unsaved."""
    v = np.asarray(volume, float).ravel()
    p = np.asarray(pressure, float).ravel()
    if v.size == 0 or v.shape != p.shape or not (np.all(np.isfinite(v)) and np.all(np.isfinite(p))):
        raise ValueError(f"volume and pressure must be finite, non-empty and of equal length, got {v.size} and {p.size}")
    if np.any(np.diff(v) < 0) or np.any(v < 0) or np.any(p < 0):
        raise ValueError("volume must be non-decreasing and volume and pressure >= 0 along an inflation")
    if rated_pressure is not None and not (np.isfinite(rated_pressure) and rated_pressure > 0):
        raise ValueError(f"rated_pressure must be > 0 MPa, got {rated_pressure!r}")
    v, p = np.r_[0.0, v], np.r_[0.0, p]
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(v, p, color=COLORS[5], lw=1.8, drawstyle="steps-pre", label="balloon pressure")
    ax.plot(v[-1], p[-1], marker="o", color=COLORS[5], ls="none",
            label=f"end: {v[-1]:.2f} mL at {p[-1]:.2f} MPa ({p[-1] * PSI_PER_MPA:.0f} psi)")
    top = p.max()
    if rated_pressure is not None:
        rated = f"rated pressure {rated_pressure:.2f} MPa ({rated_pressure * PSI_PER_MPA:.0f} psi)"
        if rated_pressure <= 1.5 * top:
            ax.axhline(rated_pressure, color=COLORS[4], lw=1.2, ls="--", label=rated)
            top = max(top, rated_pressure)
        else:  # a line far above the curve would flatten it: the rating is named instead
            ax.plot([], [], ls="none", label=f"{rated}, above the axis")
    ax.set_xlim(0, 1.05 * v[-1] if v[-1] > 0 else 1.0)
    ax.set_ylim(0, 1.12 * top if top > 0 else 1.0)
    what = ("cavity volume (mL)" if not n_balloons else "cavity volume of the balloon (mL)" if n_balloons == 1
            else f"cavity volume of the {int(n_balloons)} balloons together (mL)")
    ax.set_xlabel(what)
    ax.set_ylabel("balloon pressure (MPa)")
    ax.ticklabel_format(axis="y", useOffset=False)
    right = ax.secondary_yaxis("right", functions=(lambda x: x * PSI_PER_MPA, lambda x: x / PSI_PER_MPA))
    right.set_ylabel("balloon pressure (psi)")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=9, loc="upper left")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_pressures(histories, path, *, title: str | None = None, pressure_unit: str = "kPa") -> Path:
    """Syringe pressure (top) and needle-tip pressure (bottom) against time, one line per treatment.

    Parameters
    ----------
    histories : mapping
        ``{label: (time, syringe, tip)}``: time in s (non-decreasing), syringe and tip pressure in Pa
        (the API unit; :attr:`vbfem.records.CementFill.syringe_pressure`, ``needle_pressure``), each of
        shape (n_times,) or (n_times, n_needles) (the largest needle is drawn). NaN leaves a gap (the
        kyphoplasty cavity fill has no resolved tip pressure).
    path : str or Path
        PNG file to write.
    title : str, optional
    pressure_unit : {"Pa", "kPa", "MPa"}, default "kPa"

    Returns
    -------
    Path
    """
    scale = {"Pa": 1.0, "kPa": 1e-3, "MPa": 1e-6}
    if pressure_unit not in scale:
        raise ValueError(f"pressure_unit must be one of {sorted(scale)}, got {pressure_unit!r}")
    if not histories:
        raise ValueError("histories must hold at least one (time, syringe, tip) entry")
    curves = []
    for label, (time, syringe, tip) in histories.items():
        t = _curve(time, f"{label}: time")
        if np.any(np.diff(t) < 0):
            raise ValueError(f"{label}: time must be non-decreasing")
        pair = []
        for name, p in (("syringe", syringe), ("tip", tip)):
            p = np.asarray(p, float)
            p = p[:, None] if p.ndim == 1 else p
            if p.shape[0] != t.size or np.any(np.isinf(p)):
                raise ValueError(f"{label}: {name} pressure must be finite or NaN with {t.size} rows, got {p.shape}")
            pair.append(np.fmax.reduce(p, axis=1) * scale[pressure_unit])  # the largest needle; NaN if none
        curves.append((label, t, *pair))
    fig = _figure((FIGSIZE[0], FIGSIZE[1] * 1.4))
    axes = fig.subplots(2, 1, sharex=True)
    for k, (label, t, syr, tip) in enumerate(curves):
        style = {"color": COLORS[k % len(COLORS)], "lw": 1.8}
        for ax, p in ((axes[0], syr), (axes[1], tip)):
            few = np.count_nonzero(np.isfinite(p)) < 3  # a short pumping phase (a kyphoplasty's overflow): show its points
            ax.plot(t, p, label=label, **style, **({"marker": "o", "ms": 4} if few else {}))
    for ax, name in zip(axes, ("syringe", "needle tip")):
        ax.set_ylabel(f"{name} pressure ({pressure_unit})")
        ax.set_ylim(bottom=0)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(True, alpha=0.3)
        ax.legend(frameon=False, fontsize=9, loc="best")
    axes[1].set_xlabel("time (s after mixing)")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    return _save(fig, path)
