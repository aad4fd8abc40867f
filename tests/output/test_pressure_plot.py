"""Syringe and needle-tip pressure against time, VP beside KP (issue 19)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from _images import ImageCheck

from vbfem.output import plots

check_image = ImageCheck()


def _histories():
    t = np.linspace(240.0, 320.0, 41)
    vp_tip = np.c_[20e3 * (1 - np.exp(-(t - 240.0) / 10.0)), 18e3 * (1 - np.exp(-(t - 240.0) / 10.0))]
    vp_syr = vp_tip + 730e3 * (1 + 0.004 * (t - 240.0))[:, None]
    kp_tip = np.where(t < 280.0, np.nan, 1.4e3)  # the cavity fill has no resolved tip pressure
    kp_syr = np.where(t < 280.0, np.nan, 735e3)
    return {"vertebroplasty": (t, vp_syr, vp_tip), "kyphoplasty": (t, kp_syr, kp_tip)}


def test_pressure_image(tmp_path):
    path = plots.plot_pressures(_histories(), tmp_path / "p.png", title="syringe and tip pressure")
    check_image(path, "plot_pressures.png")


def test_pressure_bad_input(tmp_path):
    h = _histories()
    with pytest.raises(ValueError, match="pressure_unit"):
        plots.plot_pressures(h, tmp_path / "p.png", pressure_unit="bar")
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_pressures({}, tmp_path / "p.png")
    t, s, tip = h["vertebroplasty"]
    with pytest.raises(ValueError, match="vertebroplasty: tip pressure"):
        plots.plot_pressures({"vertebroplasty": (t, s, tip[:-1])}, tmp_path / "p.png")
